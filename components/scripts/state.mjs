// The state volume's release marker and migration (components/migration.py has the why):
//   node /state-script/state.mjs guard     first init container: refuse a downgrade across a migration
//   node /state-script/state.mjs migrate   after seed and plugins: migrate when due, then mark the volume
//
// Inputs (environment):
//   OPENCLAW_STATE_DIR     the state volume (/home/node/.openclaw)
//   OPENCLAW_RELEASE       this pod's release, e.g. 2026.9.6; OPENCLAW_STATE_EPOCH its state epoch
//   OPENCLAW_MIGRATION     (migrate) JSON list of openclaw CLI arguments that migrate an older epoch, or []
//   OPENCLAW_MIGRATION_TIMEOUT_SECONDS  (migrate) how long it may run; OPENCLAW_APP the release (/app)
//
// The marker, <state>/.state-release.json, is {"release", "stateEpoch", "at"}; it is read without
// following a link and written whole (temp file O_EXCL|O_NOFOLLOW, fsync, rename, fsync of the root).
// A volume without it was written by 2026.2.23 (epoch 1); an empty one is marked by the guard at once.
// Output: a few `state:` / `migrate:` lines (the migration's own output in between); a refusal or a
// failure is one `<step>: error: <what>; <fix>` line and exit 1, so the pod stops in Init:Error.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const ENV = process.env;
const MODE = process.argv[2];
const STATE = ENV.OPENCLAW_STATE_DIR || '/home/node/.openclaw';
const RELEASE = ENV.OPENCLAW_RELEASE || '';
const EPOCH = Number.parseInt(ENV.OPENCLAW_STATE_EPOCH || '', 10);
const MARKER = '.state-release.json';
const UNMARKED = { release: '2026.2.23 (unmarked)', stateEpoch: 1 };
const IGNORED = new Set(['lost+found']);   // what a fresh filesystem already holds
const RUNBOOK = 'docs/upgrade-runbook.md';
const C = fs.constants;
const STEP = MODE === 'migrate' ? 'migrate' : 'state';

class StateError extends Error {}
const fail = (what, fix) => { throw new StateError(`${what}; ${fix}`); };
const oneLine = (text) => String(text).replace(/[\x00-\x1f\x7f]/g, ' ');
const say = (line) => process.stdout.write(`${STEP}: ${line}\n`);
const markerPath = path.join(STATE, MARKER);

function readMarker() {
  const st = fs.lstatSync(markerPath, { throwIfNoEntry: false });
  if (!st) return null;
  const rewrite = `write it again as {"release": "<the release that last ran here>", "stateEpoch": <its epoch>} `
    + `(components/releases.py), or restore the volume from its last snapshot (${RUNBOOK})`;
  if (!st.isFile()) fail(`${markerPath}: a ${st.isSymbolicLink() ? 'symbolic link' : 'non-file'}, not the release marker`, rewrite);
  let marker;
  try {
    const fd = fs.openSync(markerPath, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    try { marker = JSON.parse(fs.readFileSync(fd, 'utf8')); } finally { fs.closeSync(fd); }
  } catch (err) {
    fail(`${markerPath}: unreadable (${oneLine(err.code || err.message)})`, rewrite);
  }
  if (typeof marker?.release !== 'string' || !Number.isInteger(marker?.stateEpoch) || marker.stateEpoch < 1) {
    fail(`${markerPath}: not a release marker (${oneLine(JSON.stringify(marker)).slice(0, 200)})`, rewrite);
  }
  return marker;
}

function writeMarker() {
  const tmp = path.join(STATE, `.${MARKER}.${crypto.randomBytes(8).toString('hex')}`);
  const text = `${JSON.stringify({ release: RELEASE, stateEpoch: EPOCH, at: new Date().toISOString() })}\n`;
  const st = fs.lstatSync(markerPath, { throwIfNoEntry: false });
  if (st && !st.isFile()) fail(`${markerPath}: a link or folder appeared`, 'restart the pod');
  const fd = fs.openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o644);
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, markerPath);
  const dir = fs.openSync(STATE, C.O_RDONLY | C.O_DIRECTORY);
  try { fs.fsyncSync(dir); } finally { fs.closeSync(dir); }
}

const isEmpty = () => fs.readdirSync(STATE).every((name) => IGNORED.has(name));

// What the volume holds, as one line, and whether this release may run on it.
function judge() {
  const marker = readMarker() ?? UNMARKED;
  if (marker.stateEpoch > EPOCH) {
    fail(`${markerPath}: this volume was last written by OpenClaw ${oneLine(marker.release)} (state epoch `
      + `${marker.stateEpoch}), which migrated it; ${RELEASE} (epoch ${EPOCH}) cannot read it`,
    `roll back by restoring the pre-upgrade snapshot with the earlier tag (${RUNBOOK}#roll-back), or set `
      + `openclaw:image.tag back to ${oneLine(marker.release)}`);
  }
  return marker;
}

function guard() {
  if (!readMarker() && isEmpty()) {
    writeMarker();
    say(`a new volume: marked as written by OpenClaw ${RELEASE} (state epoch ${EPOCH})`);
    return;
  }
  const marker = judge();
  const due = marker.stateEpoch < EPOCH;
  say(`last written by OpenClaw ${oneLine(marker.release)} (state epoch ${marker.stateEpoch}); this pod runs `
    + `${RELEASE} (epoch ${EPOCH}): ${due ? 'a migration is due (migrate init container)' : 'no migration needed'}`);
}

function runMigration(args, timeoutSeconds) {
  const app = path.join(ENV.OPENCLAW_APP || '/app', 'openclaw.mjs');
  // doctor edits the config it migrates; the volume keeps the rendered one (the seeder wrote it).
  const config = path.join(STATE, 'openclaw.json');
  const st = fs.lstatSync(config, { throwIfNoEntry: false });
  if (!st?.isFile()) fail(`${config}: ${st ? 'not a regular file' : 'missing'}`, 'the seed init container writes it: check its log');
  const scratch = fs.mkdtempSync(path.join(ENV.TMPDIR || '/tmp', 'openclaw-migrate-'));
  fs.copyFileSync(config, path.join(scratch, 'openclaw.json'), C.COPYFILE_EXCL);
  const env = { ...ENV, OPENCLAW_CONFIG_PATH: path.join(scratch, 'openclaw.json') };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [app, ...args], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve({ code: null, timedOut: true }); }, timeoutSeconds * 1000);
    child.on('error', (err) => { clearTimeout(timer); resolve({ code: null, error: err }); });
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
  });
}

async function migrate() {
  const marker = judge();
  let args;
  try { args = JSON.parse(ENV.OPENCLAW_MIGRATION || '[]'); } catch { args = null; }
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
    fail(`OPENCLAW_MIGRATION: not a JSON list of arguments (${oneLine(ENV.OPENCLAW_MIGRATION).slice(0, 200)})`, 'render the stack again');
  }
  if (marker.stateEpoch < EPOCH) {
    if (!args.length) fail(`OpenClaw ${RELEASE} starts state epoch ${EPOCH} but names no migration`, 'add Release.migration in components/releases.py');
    const timeout = Number.parseInt(ENV.OPENCLAW_MIGRATION_TIMEOUT_SECONDS || '1800', 10);
    const command = `openclaw ${args.join(' ')}`;
    say(`migrating state epoch ${marker.stateEpoch} (OpenClaw ${oneLine(marker.release)}) to ${EPOCH} with \`${command}\``);
    const started = Date.now();
    const result = await runMigration(args, timeout);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (result.code !== 0) {
      const how = result.timedOut ? `did not finish within ${timeout} s` : result.error ? `could not start (${oneLine(result.error.message)})`
        : result.signal ? `was killed by ${result.signal} after ${secs} s` : `exited ${result.code} after ${secs} s`;
      fail(`\`${command}\` ${how} (its output is above); the volume is as the migration left it and still marked `
        + `${oneLine(marker.release)}`, `fix the cause and delete the pod to retry, or roll back: restore the pre-upgrade `
        + `snapshot with the earlier tag (${RUNBOOK}#a-migration-that-fails)`);
    }
    writeMarker();
    say(`state migrated to epoch ${EPOCH} in ${secs} s; marked as written by OpenClaw ${RELEASE}`);
    return;
  }
  if (marker.release !== RELEASE || marker === UNMARKED) writeMarker();
  say(`nothing to migrate (state epoch ${EPOCH}); marked as written by OpenClaw ${RELEASE}`);
}

async function main() {
  if (!RELEASE || !Number.isInteger(EPOCH) || EPOCH < 1) fail('OPENCLAW_RELEASE / OPENCLAW_STATE_EPOCH: missing or not a release and epoch', 'render the stack again');
  if (MODE === 'guard') guard();
  else if (MODE === 'migrate') await migrate();
  else fail(`unknown mode ${oneLine(MODE)}`, 'use `guard` or `migrate`');
}

main().catch((err) => {
  const line = err instanceof StateError ? err.message
    : `${oneLine(err.path || STATE)}: ${oneLine(err.code || err.message)}; check the volume (writable by uid 1000?) and restart the pod`;
  process.stderr.write(`${STEP}: error: ${line}\n`);
  process.exit(1);
});
