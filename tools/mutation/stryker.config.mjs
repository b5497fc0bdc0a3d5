// StrykerJS for one Node script of the project at a time; tools/mutation/node.py runs it
// (`./run mutate agents/seed.mjs`) with the pinned Node 22 and fills the environment below.
//
// The scripts are tested from pytest (the tests run them as subprocesses), so the test runner is
// tools/mutation/stryker-pytest-runner.mjs: per-test coverage from a dry run of the selection of
// tools/mutation/targets.py, then each mutant runs only the tests that reached it, in a sandbox
// copy of the project where `agents.SEED_SCRIPT` and the preflight's path are the instrumented script.
const env = process.env;

export default {
  testRunner: 'pytest',
  plugins: [env.MUTATE_RUNNER],
  mutate: env.MUTATE_FILES.split(' '),
  coverageAnalysis: 'perTest',
  concurrency: Number(env.MUTATE_CONCURRENCY || 2),
  reporters: ['json', 'progress-append-only'],
  jsonReporter: { fileName: env.MUTATE_REPORT },
  incremental: true,
  incrementalFile: env.MUTATE_INCREMENTAL,
  tempDirName: env.MUTATE_TMP,
  // The sandbox needs the code the tests import (tools/, components/, policy/, agents/) and the
  // tests, not the virtualenv, the git folder or earlier results.
  ignorePatterns: ['/.venv', '/venv', '/.git', '/build', '/out', '/mutants', '/bench', '/docs', '**/__pycache__',
    '/.pytest_cache', '/.mypy_cache', '/.ruff_cache', '/.stryker-tmp'],
  // A mutant that makes the scripts loop is ended by the tests' own subprocess timeouts (60 s).
  timeoutFactor: 1.5,
  timeoutMS: 60000,
  dryRunTimeoutMinutes: 30,
  cleanTempDir: true,
  logLevel: 'warn',
};
