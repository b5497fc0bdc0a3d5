// A StrykerJS test runner plugin ("pytest") for scripts that the project tests from pytest, as
// subprocesses of the tests (agents/seed.mjs, components/scripts/preflight.mjs). The TestRunner
// interface is @stryker-mutator/api's (test-runner/test-runner.d.ts); the plugin needs no package.
//
// dryRun: runs the selection once, each node process reporting the mutants it reached and the test
//   that started it (tools/mutation/node_command.py --coverage): per-test coverage.
// mutantRun: runs only the tests that reached the mutant (Stryker's testFilter), fastest first,
//   stopping at the first failure, with every node process running the mutant.
// The selection and the Python interpreter come from tools/mutation/node.py (MUTATE_TESTS,
// MUTATE_PYTHON); it runs in Stryker's sandbox copy of the project (the working directory).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SUCCESS = 0;
const FAILED = 1;
const SKIPPED = 2;
const DURATIONS = '.stryker-pytest-durations.json';   // in the sandbox, the working directory

class PytestTestRunner {
  static inject = ['logger'];

  constructor(log) {
    this.log = log;
    this.tests = process.env.MUTATE_TESTS.split(' ');
    this.child = null;
    this.durations = null;
  }

  capabilities() {
    return { reloadEnvironment: true };   // every run is new processes
  }

  async run(args, tests) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openclaw-stryker-'));
    const result = path.join(dir, 'result.json');
    const coverage = path.join(dir, 'coverage');
    const extra = args.includes('--coverage') ? [coverage] : [];
    try {
      const code = await new Promise((resolve, reject) => {
        this.child = spawn(process.env.MUTATE_PYTHON,
          ['-m', 'tools.mutation.node_command', '--result', result, ...args, ...extra, ...tests],
          { stdio: ['ignore', 'ignore', 'pipe'], detached: true });   // its own process group: see dispose()
        let stderr = '';
        this.child.stderr.on('data', (chunk) => { stderr = (stderr + chunk).slice(-4000); });
        this.child.on('error', reject);
        this.child.on('exit', (exitCode) => resolve({ exitCode, stderr }));
      });
      this.child = null;
      const outcomes = fs.existsSync(result) ? JSON.parse(fs.readFileSync(result, 'utf8')) : null;
      const lines = fs.existsSync(coverage) ? fs.readFileSync(coverage, 'utf8').split('\n').filter(Boolean) : [];
      return { ...code, outcomes, lines };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  static status(outcome) {
    if (outcome === 'passed') return SUCCESS;
    return outcome === 'skipped' ? SKIPPED : FAILED;
  }

  async dryRun() {
    const { exitCode, stderr, outcomes, lines } = await this.run(['--coverage'], this.tests);
    if (!outcomes) return { status: 'error', errorMessage: `pytest wrote no results (exit ${exitCode}): ${stderr}` };
    const tests = new Map();
    for (const o of outcomes) {
      const known = tests.get(o.id);
      if (known && known.status !== SUCCESS) continue;
      tests.set(o.id, { id: o.id, name: o.id, status: PytestTestRunner.status(o.status), timeSpentMs: o.ms,
        failureMessage: o.message });
    }
    // Mutant runs happen in other workers (in the same sandbox): they order tests by these.
    fs.writeFileSync(DURATIONS, JSON.stringify(Object.fromEntries([...tests.values()].map((t) => [t.id, t.timeSpentMs]))));
    const perTest = {};
    for (const line of lines) {
      const [test, ids] = line.split('\t');
      if (!tests.has(test)) continue;     // a node process outside any test (none is expected)
      const covered = (perTest[test] ||= {});
      for (const id of ids.split(',')) covered[id] = (covered[id] || 0) + 1;
    }
    return { status: 'complete', tests: [...tests.values()], mutantCoverage: { static: {}, perTest } };
  }

  async mutantRun({ activeMutant, testFilter, disableBail }) {
    this.durations ||= fs.existsSync(DURATIONS) ? JSON.parse(fs.readFileSync(DURATIONS, 'utf8')) : {};
    const chosen = (testFilter || this.tests).slice()
      .sort((a, b) => (this.durations[a] ?? 0) - (this.durations[b] ?? 0));
    const args = ['--mutant', activeMutant.id, ...(disableBail ? [] : ['--bail'])];
    const { exitCode, stderr, outcomes } = await this.run(args, chosen);
    if (!outcomes) return { status: 'error', errorMessage: `pytest wrote no results (exit ${exitCode}): ${stderr}` };
    const failed = outcomes.filter((o) => o.status === 'failed');
    if (failed.length) {
      return { status: 'killed', killedBy: [...new Set(failed.map((o) => o.id))], failureMessage: failed[0].message,
        nrOfTests: outcomes.length };
    }
    return { status: 'survived', nrOfTests: outcomes.length };
  }

  async dispose() {   // a timeout: the bridge, pytest and every node process it started
    if (this.child) process.kill(-this.child.pid, 'SIGKILL');
  }
}

export const strykerPlugins = [{ kind: 'TestRunner', name: 'pytest', injectableClass: PytestTestRunner }];
