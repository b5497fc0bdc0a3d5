// Seed OpenClaw's state volume before the gateway starts (the Deployment's init container):
//   node /seed-script/seed.mjs        (Node 22, the OpenClaw image's; uid 1000, read-only root filesystem)
//
// Inputs (environment, with defaults):
//   OPENCLAW_STATE_DIR   the state volume                       (/home/node/.openclaw)
//   OPENCLAW_CONFIG_SRC  folder holding openclaw.json           (/config, the config ConfigMap)
//   OPENCLAW_SEED_SRC    folder with <agent id>/<FILE> seeds    (/seed, one projected volume)
//   OPENCLAW_AGENT_IDS   whitespace-separated agent ids         (the folders under OPENCLAW_SEED_SRC)
//   every ${VAR} that openclaw.json references, plus OPENCLAW_GATEWAY_TOKEN and OPENCLAW_DB_PASSWORD
//   OPENCLAW_SEED_CRASH_AFTER=n   tests only: SIGKILL itself right after the n-th change to the volume
//
// The rules (agents/README.md has them in full): nothing is written before the preflight passed;
// below the volume root every path the seeder uses is lstat'ed component by component and never
// followed; a link or wrong-type entry where the seeder needs its own folder (or openclaw.json) is
// moved, as it is, into this run's archive folder; an agent's own files (links included) are never
// opened unless they are regular files, never written through, and never deleted; every file is
// written to .seed-tmp/<random> (O_CREAT|O_EXCL|O_NOFOLLOW), fdatasync'ed, then renamed over a path
// whose lstat showed nothing or a regular file; .seed-state names each file's new checksum as pending
// before the file is renamed into place, and is rewritten last (then the root fsync'ed); it is read
// line by line, so that no record file can take more memory than the init container's 128 MiB.
// Exit 0 with one summary line, or exit 1 with one `seed: error: <path>: <problem>; <fix>` line.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// More threads for the concurrent fdatasyncs (libuv starts its pool at first use, after this line).
process.env.UV_THREADPOOL_SIZE ||= '32';

const ENV = process.env;
const ROOT = ENV.OPENCLAW_STATE_DIR || '/home/node/.openclaw';
const CONFIG_SRC = ENV.OPENCLAW_CONFIG_SRC || '/config';
const SEED_SRC = ENV.OPENCLAW_SEED_SRC || '/seed';
const CRASH_AFTER = Number.parseInt(ENV.OPENCLAW_SEED_CRASH_AFTER || '0', 10) || 0;
const STATE = '.seed-state';      // "[pending ]<sha256>  <path below ROOT>": see "Crash safety" in agents/README.md
const TMP = '.seed-tmp';          // the seeder's own scratch folder; emptied at start, removed at the end
const ARCHIVE = '.archive';
const STAGING = '.archive/.in-progress';   // this run's archive, renamed to .archive/<UTC time> at the end
const C = fs.constants;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const KEY = /^[-._a-zA-Z0-9]+$/;  // a ConfigMap key: what a seed file can be called
const RECORD = /^(pending )?([0-9a-f]{64}) {2}((?:workspace|workspaces\/[a-z0-9]([a-z0-9-]*[a-z0-9])?)\/[-._a-zA-Z0-9]+)$/;
const REMOVE_STATE = 'remove the file: the next run keeps every existing workspace file as it is and seeds only '
  + 'the missing ones';
// Files larger than these are never read (the init container has 128 MiB): no record file of
// thousands of agents comes near 64 MiB, and no seed file near 1 MiB (OpenClaw cuts at 20,000 chars).
// The record file is read and copied in chunks, and only the records of this run's seed files are
// kept: a record line is shorter than MAX_LINE (two names of at most 255 bytes), and a file has one
// checksum, plus one pending per run killed in a row (each of another catalog version).
const MAX_STATE_BYTES = 64 << 20;
const MAX_SEED_BYTES = 1 << 20;
const MAX_LINE = 1024;
const MAX_CHECKSUMS = 16;
const CHUNK = 1 << 20;
const counts = { seeded: 0, updated: 0, 'kept-edited': 0, archived: 0 };

class SeedError extends Error {
  constructor(where, problem, fix) {
    super(`${where}: ${problem}; ${fix}`);
  }
}

// One line, whatever the path holds (agents may name files with newlines or escape codes).
const oneLine = (text) => text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

const FIXES = {
  ENOSPC: ['no space left on the volume', 'free space on the PVC or grow it, then restart the pod: no file was '
    + 'half-written and the next run finishes the job'],
  EDQUOT: ['disk quota exceeded', 'raise the quota or free space on the PVC, then restart the pod'],
  EACCES: ['permission denied', 'the volume must be writable by uid 1000 (fsGroup 1000): chown -R 1000:1000 it '
    + 'or restore the mode of this path'],
  EPERM: ['operation not permitted', 'the volume must be writable by uid 1000: check its ownership and attributes'],
  EROFS: ['read-only filesystem', 'mount the state volume read-write'],
  EIO: ['I/O error', "check the node's disk"],
};

// A failed system call as a SeedError naming `where`: the path the seeder was working on (never
// its temp file), or for a permission error the folder at fault (uid 1000 may not search it, or not
// write in it). reach: the paths below ROOT the call went through; change: the folders whose
// entries it changes. Anything else (a bug) is passed on, as it is, to report().
function fsError(err, where, reach = [], change = []) {
  if (!err.syscall) return err;
  // libuv has no name for EDQUOT: Node reports it as "Unknown system error -122".
  const code = err.errno === -os.constants.errno.EDQUOT ? 'EDQUOT' : err.code;
  const fault = code === 'EACCES' || code === 'EPERM' ? folderAtFault(reach, change) : null;
  if (fault) return new SeedError(abs(fault.rel), `${FIXES[code][0]} (${err.syscall})`, fault.fix);
  const [problem, fix] = FIXES[code] || [`unexpected error ${code}`,
    'check the volume; the next run picks up where this one stopped'];
  return new SeedError(where, `${problem} (${err.syscall})`, fix);
}

const abs = (rel) => path.join(ROOT, rel);   // path.join(ROOT, '') is ROOT
const parent = (rel) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');
function sys(rel, fn, reach = [rel], change = []) {
  try {
    return fn(abs(rel));
  } catch (err) {
    throw fsError(err, abs(rel), reach, change);
  }
}

function may(rel, mode) {
  try {
    fs.accessSync(abs(rel), mode);
    return true;
  } catch {
    return false;
  }
}

function folderAtFault(reach, change) {
  const uid = process.getuid();
  const fix = (rel, need) => {
    const st = fs.lstatSync(abs(rel));
    const how = st.uid === uid ? `chmod u+rwx it (its mode is ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`
      : `it belongs to uid ${st.uid}: chown ${uid}:${uid} it`;
    return { rel, fix: `uid ${uid} must be able to ${need} this folder: ${how}` };
  };
  for (const rel of reach) {
    const parts = rel.split('/');
    for (let i = 0; i < parts.length; i += 1) {
      const dir = parts.slice(0, i).join('/');
      if (!may(dir, C.X_OK)) return fix(dir, 'search');
    }
  }
  for (const dir of change) if (!may(dir, C.W_OK | C.X_OK)) return fix(dir, 'write in');
  return null;
}

let changes = 0;
function changed() {  // after every change to the volume: the crash tests kill the run at each one
  changes += 1;
  if (CRASH_AFTER && changes >= CRASH_AFTER) process.kill(process.pid, 'SIGKILL');
}

function lst(rel) {
  try {
    return fs.lstatSync(abs(rel));
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw fsError(err, abs(rel), [rel]);
  }
}

const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');

// Reads a regular file below ROOT without following a link or blocking on a FIFO; null if it is
// not a regular file after all, or (lenient: an agent's file) one that uid 1000 may not read.
function readOwn(rel, lenient = false) {
  return sys(rel, (p) => {
    let fd;
    try {
      fd = fs.openSync(p, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    } catch (err) {
      if (lenient && (err.code === 'EACCES' || err.code === 'ELOOP')) return null;
      throw err;
    }
    try {
      if (!fs.fstatSync(fd).isFile()) return null;
      return fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  });
}

// --- 1. Preflight: nothing is written before these checks pass. -----------------------------------

function readSource(file, missingFix) {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if (err.code === 'ENOENT') throw new SeedError(file, 'not found', missingFix);
    throw fsError(err, file);
  }
}

function preflight() {
  const configPath = path.join(CONFIG_SRC, 'openclaw.json');
  const config = readSource(configPath, `is the config ConfigMap mounted at ${CONFIG_SRC}?`);
  // OpenClaw substitutes ${VAR} (upper-case names) and reads $${VAR} as a literal ${VAR}: skip those.
  const wanted = [];
  const text = config.toString('utf8');
  for (const match of text.matchAll(/(\$+)\{([A-Z_][A-Z0-9_]*)\}/g)) {
    if (match[1].length === 1) wanted.push(match[2]);
  }
  // Releases that take SecretRefs get {"source": "env", "provider": ..., "id": VAR} instead (the
  // gateway then refuses to start without VAR; the seeder says so first). JSON5 never carries them here.
  const refs = (node) => {
    if (Array.isArray(node)) node.forEach(refs);
    else if (node && typeof node === 'object') {
      if (node.source === 'env' && typeof node.provider === 'string' && typeof node.id === 'string') wanted.push(node.id);
      else Object.values(node).forEach(refs);
    }
  };
  try { refs(JSON.parse(text)); } catch { /* not JSON: placeholders only */ }
  wanted.push('OPENCLAW_GATEWAY_TOKEN', 'OPENCLAW_DB_PASSWORD');
  const missing = [...new Set(wanted)].filter((name) => !ENV[name]);
  if (missing.length) {
    throw new SeedError(configPath, `missing or empty environment variables: ${missing.join(' ')}`,
      'each comes from a Secret the Vault Secrets Operator syncs: check the VaultStaticSecret status and the Vault keys');
  }
  let given = (ENV.OPENCLAW_AGENT_IDS || '').split(/\s+/).filter(Boolean);
  if (!given.length) {
    let entries;
    try {
      entries = fs.readdirSync(SEED_SRC);
    } catch (err) {
      if (err.code === 'ENOENT') throw new SeedError(SEED_SRC, 'not found', 'is the seed volume mounted there, or OPENCLAW_AGENT_IDS set?');
      throw fsError(err, SEED_SRC);
    }
    // The projected volume's ..data entries are hidden; its agent folders are links into ..data.
    given = entries.filter((name) => !name.startsWith('.')).sort()
      .filter((name) => fs.statSync(path.join(SEED_SRC, name), { throwIfNoEntry: false })?.isDirectory());
    if (!given.length) {
      throw new SeedError(SEED_SRC, 'no agents: it holds no agent folders and OPENCLAW_AGENT_IDS is empty',
        'mount the seed ConfigMaps there (key FILE of agent X at X/FILE) or set OPENCLAW_AGENT_IDS');
    }
  }
  for (const id of given) {  // an id becomes a path on the volume
    if (!DNS_LABEL.test(id)) {
      throw new SeedError('OPENCLAW_AGENT_IDS', `bad agent id '${id}' (expected a DNS label: a-z, 0-9 and '-', `
        + "not starting or ending with '-')", "use the catalog's ids");
    }
  }
  return { config, ids: [...new Set(given)] };
}

// Calls each(text, number) for every line of a regular file below ROOT (the last one may lack its
// newline), reading it in chunks: a line longer than MAX_LINE comes cut, still longer than MAX_LINE.
function eachLine(rel, each) {
  sys(rel, (p) => {
    const fd = fs.openSync(p, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    try {
      if (!fs.fstatSync(fd).isFile()) throw new SeedError(p, 'not a regular file', REMOVE_STATE);
      const buf = Buffer.alloc(CHUNK);
      let partial = '';
      let number = 0;
      for (let n = fs.readSync(fd, buf, 0, CHUNK, null); n > 0; n = fs.readSync(fd, buf, 0, CHUNK, null)) {
        const chunk = buf.subarray(0, n);
        let start = 0;
        for (let end = chunk.indexOf(10); end !== -1; end = chunk.indexOf(10, start)) {
          number += 1;
          each(partial + chunk.toString('latin1', start, Math.min(end, start + MAX_LINE + 1)), number);
          partial = '';
          start = end + 1;
        }
        if (partial.length <= MAX_LINE) partial += chunk.toString('latin1', start, Math.min(n, start + MAX_LINE + 1));
      }
      if (partial !== '') each(partial, number + 1);
    } finally {
      fs.closeSync(fd);
    }
  });
}

// The records of this run's seed files (`wanted`): rel -> { written: its first written checksum,
// sums: every checksum, written or pending }; the records of a fresh workspace are left out, and
// `forget` tells whether the file holds any. Every line is checked: a corrupt file stops the run.
function readState(wanted, fresh) {
  const state = { records: new Map(), digest: sha256(''), forget: false };
  const st = lst(STATE);
  if (!st) return state;
  if (!st.isFile()) {
    throw new SeedError(abs(STATE), `a ${kind(st)}, not the seeder's record file`, REMOVE_STATE);
  }
  if (st.size > MAX_STATE_BYTES) {
    throw new SeedError(abs(STATE), `${st.size} bytes, far more than the seeder's records can be (the file is corrupt)`,
      REMOVE_STATE);
  }
  const digest = crypto.createHash('sha256');
  eachLine(STATE, (line, number) => {
    if (line === '') return;
    const match = line.length <= MAX_LINE ? RECORD.exec(line) : null;
    if (!match) {
      throw new SeedError(abs(STATE), `line ${number} is not "<sha256>  <workspace file>" (the file is corrupt)`, REMOVE_STATE);
    }
    digest.update(`${line}\n`, 'latin1');
    const [, pending, sum, rel] = match;
    if (fresh.has(parent(rel))) {
      state.forget = true;
      return;
    }
    if (!wanted.has(rel)) return;
    const record = state.records.get(rel) || { written: null, sums: new Set() };
    state.records.set(rel, record);
    if (!pending) record.written ||= sum;
    record.sums.add(sum);
    if (record.sums.size > MAX_CHECKSUMS) {
      throw new SeedError(abs(STATE), `more than ${MAX_CHECKSUMS} checksums for ${rel} (the file is corrupt)`, REMOVE_STATE);
    }
  });
  state.digest = digest.digest('hex');
  return state;
}

function kind(st) {
  if (st.isSymbolicLink()) return 'symbolic link';
  if (st.isDirectory()) return 'folder';
  if (st.isFile()) return 'file';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  return 'device';
}

// --- Safe primitives below ROOT ---------------------------------------------------------------------

const dirs = new Set(['']);   // folders checked (lstat: a real folder) or created by this run

function mkdir(rel) {
  sys(rel, (p) => fs.mkdirSync(p, 0o700), [rel], [parent(rel)]);  // mkdir(2) never follows a link at the last component
  changed();
  dirs.add(rel);
}

// Every component of rel is a real folder afterwards. Something else in the way is moved into the
// archive as it is, except inside .archive (the seeder cannot archive its archive into itself).
function ensureDir(rel) {
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i += 1) {
    const sub = parts.slice(0, i).join('/');
    if (dirs.has(sub)) continue;
    const st = lst(sub);
    if (st && st.isDirectory()) {
      dirs.add(sub);
      continue;
    }
    if (st) {
      if (sub === ARCHIVE || sub.startsWith(`${ARCHIVE}/`)) {
        throw new SeedError(abs(sub), `a ${kind(st)} where the seeder keeps its archive`,
          'move it out of the way (it is not the seeder\'s), then restart the pod');
      }
      archive(sub, sub);
    }
    mkdir(sub);
  }
}

function freeName(rel) {  // a name nothing occupies: rename(2) then never replaces nor lands inside
  if (!lst(rel)) return rel;
  for (let n = 1; ; n += 1) if (!lst(`${rel}.${n}`)) return `${rel}.${n}`;
}

function move(from, to, where = from) {
  // A folder moved to another folder rewrites its "..": uid 1000 must be able to write in it too.
  const rewrites = parent(from) !== parent(to) && lst(from)?.isDirectory() ? [from] : [];
  sys(where, () => fs.renameSync(abs(from), abs(to)), [from, to], [parent(from), parent(to), ...rewrites]);
  changed();
  for (const d of dirs) if (d === from || d.startsWith(`${from}/`)) dirs.delete(d);
}

// Moves rel (whatever it is: a link is moved, never followed) to <staging>/<as>.
function archive(rel, as) {
  ensureDir(parent(`${STAGING}/${as}`));
  move(rel, freeName(`${STAGING}/${as}`));
  counts.archived += 1;
}

// A file is written whole or not at all, in two steps: stage() writes its content (a Buffer, or
// a function writing to the file descriptor) to a fresh temp file; commit() fdatasyncs every staged
// file at once (concurrent syncs share journal commits), then renames each over its target, in
// order (`first`: before the others), which the caller found absent or a regular file (rename(2)
// of a file onto a folder fails: it never lands inside). Errors name the target (or the folder at
// fault), not its temp file.
const staged = [];

function stage(rel, data, first = false) {
  ensureDir(TMP);
  const tmp = `${TMP}/${crypto.randomBytes(16).toString('hex')}`;
  const fd = sys(rel, () => fs.openSync(abs(tmp), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600),
    [tmp], [TMP]);
  changed();
  if (first) staged.unshift({ rel, tmp });
  else staged.push({ rel, tmp });
  try {
    sys(rel, () => (typeof data === 'function' ? data(fd) : fs.writeFileSync(fd, data)));
  } finally {
    fs.closeSync(fd);
  }
  changed();
}

function syncFile(f) {
  return new Promise((resolve, reject) => {
    const fail = (err) => reject(fsError(err, abs(f.rel)));
    fs.open(abs(f.tmp), C.O_RDONLY | C.O_NOFOLLOW, (err, fd) => {
      if (err) return fail(err);
      return fs.fdatasync(fd, (err2) => fs.close(fd, () => (err2 ? fail(err2) : resolve())));
    });
  });
}

async function commit() {
  for (let i = 0; i < staged.length; i += 4096) await Promise.all(staged.slice(i, i + 4096).map(syncFile));
  while (staged.length) {
    const f = staged[0];
    const st = lst(f.rel);
    if (st && !st.isFile()) throw new SeedError(abs(f.rel), `a ${kind(st)} appeared`, 'restart the pod');
    move(f.tmp, f.rel, f.rel);
    staged.shift();
  }
}

function dropStaged() {  // after a failure: our own temp files (the next run would remove them anyway)
  for (const f of staged.splice(0)) {
    try { fs.unlinkSync(abs(f.tmp)); } catch { /* already gone */ }
  }
}

async function writeFile(rel, data) {
  stage(rel, data);
  await commit();
}

// Durability (agents/README.md, "Crash safety"): ext4 and xfs journal metadata in order, so one
// fsync of the root after .seed-state is renamed makes every earlier mkdir and rename durable too;
// file contents are not ordered with their names, hence the fdatasync of each file before its rename.
function syncRoot() {
  sys('', (p) => {
    const fd = fs.openSync(p, C.O_RDONLY | C.O_DIRECTORY);
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  });
}

const stateText = (records) => [...records].map(([rel, sum]) => `${sum}  ${rel}\n`).join('');

let stateDigest;   // of the record file on disk, as readState() reads it (main() sets it first)
async function writeState(records) {
  const text = stateText(records);
  await writeFile(STATE, Buffer.from(text));
  stateDigest = sha256(text);
  syncRoot();
}

// Stages the record file on disk, copied line by line without the records drop() names, then the
// extra lines: renamed into place by the next commit() (before the files staged with it).
function stageState(drop, extra) {
  const digest = crypto.createHash('sha256');
  stage(STATE, (fd) => {
    let out = [];
    let size = 0;
    const put = (line) => {
      out.push(line);
      size += line.length;
      digest.update(line, 'latin1');
      if (size < CHUNK) return;
      fs.writeSync(fd, out.join(''), null, 'latin1');
      out = [];
      size = 0;
    };
    if (lst(STATE)) {
      eachLine(STATE, (line) => {
        if (line !== '' && !drop(RECORD.exec(line)[3])) put(`${line}\n`);
      });
    }
    extra.forEach(put);
    fs.writeSync(fd, out.join(''), null, 'latin1');
  }, true);
  stateDigest = digest.digest('hex');
}

// --- The run ----------------------------------------------------------------------------------------

const wsOf = (id) => (id === 'main' ? 'workspace' : `workspaces/${id}`);

function chainIsOurs(rel) {  // every component a real folder, as this run will leave it
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i += 1) {
    if (!lst(parts.slice(0, i).join('/'))?.isDirectory()) return false;
  }
  return true;
}

function seedNames(id) {  // the seed files of an agent (read one agent at a time, later)
  const dir = path.join(SEED_SRC, id);
  let names;
  try {
    names = fs.readdirSync(dir).filter((name) => !name.startsWith('.')).sort();
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw fsError(err, dir);
  }
  return names.filter((name) => {
    const file = path.join(dir, name);
    if (!KEY.test(name)) throw new SeedError(file, 'not a ConfigMap key', 'rename the override in the catalog');
    try { return fs.statSync(file).isFile(); } catch (err) { throw fsError(err, file); }
  });
}

async function main() {
  const { config, ids } = preflight();
  let root;
  try { root = fs.statSync(ROOT); } catch (err) { if (err.code !== 'ENOENT') throw fsError(err, ROOT); }
  if (root && !root.isDirectory()) throw new SeedError(ROOT, 'not a folder', 'mount the state volume there');
  const seeds = ids.map((id) => ({ id, ws: wsOf(id), names: seedNames(id) }));
  const wanted = new Set(seeds.flatMap(({ ws, names }) => names.map((name) => `${ws}/${name}`)));
  // A workspace folder that is missing (an operator reset the agent) or not a real folder is seeded
  // afresh: its records are forgotten.
  const fresh = new Set(seeds.map(({ ws }) => ws).filter((ws) => !chainIsOurs(ws)));
  const { records, digest, forget } = readState(wanted, fresh);
  stateDigest = digest;
  if (root) {
    for (const rel of [ARCHIVE, STAGING]) {
      const st = lst(rel);
      if (!st) break;
      if (!st.isDirectory()) {
        throw new SeedError(abs(rel), `a ${kind(st)} where the seeder keeps its archive`,
          'move it out of the way (it is not the seeder\'s), then restart the pod');
      }
    }
  }

  // 2. The volume root (the mount point, trusted), and what a killed run left in the scratch folder.
  if (!root) {
    try { fs.mkdirSync(ROOT, { recursive: true, mode: 0o700 }); } catch (err) { throw fsError(err, ROOT); }
    changed();
  }
  const tmp = lst(TMP);
  if (tmp && tmp.isDirectory()) {
    dirs.add(TMP);
    for (const name of sys(TMP, (p) => fs.readdirSync(p))) {
      const rel = `${TMP}/${name}`;
      const st = lst(rel);
      if (!st) continue;             // gone since the listing: nothing to clear
      if (st.isFile()) {
        sys(rel, (p) => fs.unlinkSync(p), [rel], [TMP]);
        changed();
      } else {
        archive(rel, rel);
      }
    }
  } else if (tmp) {
    archive(TMP, TMP);
  }

  // A fresh workspace's records go first, on disk, so that a run killed after re-creating the
  // folder does not take every file for one the agent deleted.
  if (forget) {
    stageState((rel) => fresh.has(parent(rel)), []);
    await commit();
    syncRoot();
  }

  // 3. openclaw.json: always the ConfigMap's, written only when it differs.
  const current = lst('openclaw.json');
  if (current && !current.isFile()) archive('openclaw.json', 'openclaw.json');
  const have = current && current.isFile() && current.size === config.length ? readOwn('openclaw.json', true) : null;
  if (have === null || !have.equals(config)) await writeFile('openclaw.json', config);

  // 4. Each agent's workspace files. A file is the seeder's when its content is one the seeder
  // wrote there or was about to write (a killed run's pending checksum): never an agent's edit.
  const next = new Map();
  const pending = [];
  for (const { id, ws, names } of seeds) {
    ensureDir(ws);
    for (const name of names) {
      const data = readSource(path.join(SEED_SRC, id, name), 'remount the seed volume');
      const rel = `${ws}/${name}`;
      const want = sha256(data);
      const recorded = records.get(rel);
      const st = lst(rel);
      let write = false;
      if (!st) {
        // Seeded, then deleted (BOOTSTRAP.md): a deletion is an edit. Only pending: never created.
        if (recorded?.written) counts['kept-edited'] += 1;
        else { write = true; counts.seeded += 1; }
      } else if (st.isFile()) {
        const text = st.size === data.length || (recorded && st.size <= MAX_SEED_BYTES) ? readOwn(rel, true) : null;
        if (text !== null && text.equals(data)) next.set(rel, want);
        else if (recorded && text !== null && recorded.sums.has(sha256(text))) { write = true; counts.updated += 1; }
        else counts['kept-edited'] += 1;  // edited, or nothing proves the seeder wrote it
      } else {
        counts['kept-edited'] += 1;       // the agent's link, folder or FIFO: never followed
      }
      if (write) {
        stage(rel, data);
        next.set(rel, want);
        if (!recorded?.sums.has(want)) pending.push(`pending ${want}  ${rel}\n`);
      } else if (!next.has(rel) && recorded?.written) {
        next.set(rel, recorded.written);
      }
    }
  }
  // The new checksums are on disk before any file they describe is renamed into place.
  if (pending.length) stageState(() => false, pending);
  await commit();

  // 5. Each agent's own folders.
  for (const id of ids) {
    ensureDir(`agents/${id}/agent`);
    ensureDir(`agents/${id}/sessions`);
  }

  // 6. Retire what the catalog no longer has (or never had): moved aside, never deleted.
  const known = new Set(ids);
  for (const base of ['workspaces', 'agents']) {
    const st = lst(base);
    if (!st) continue;
    if (!st.isDirectory()) {
      archive(base, base);
      continue;
    }
    for (const name of sys(base, (p) => fs.readdirSync(p)).sort()) {
      if (name.startsWith('.') || known.has(name)) continue;
      const entry = lst(`${base}/${name}`);
      if (entry && (entry.isDirectory() || entry.isSymbolicLink())) archive(`${base}/${name}`, `${base}/${name}`);
    }
  }

  // 7. The records, last, and only when they changed: a run with nothing to do writes nothing.
  if (sha256(stateText(next)) !== stateDigest) await writeState(next);

  // 8. This run's archive gets its time; the scratch folder goes.
  if (lst(STAGING)) {
    if (sys(STAGING, (p) => fs.readdirSync(p)).length) {
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
      move(STAGING, freeName(`${ARCHIVE}/${stamp}`));
    } else {
      sys(STAGING, (p) => fs.rmdirSync(p), [STAGING], [ARCHIVE]);
      changed();
    }
  }
  if (lst(TMP)) {
    sys(TMP, (p) => fs.rmdirSync(p), [TMP], ['']);
    changed();
  }
  const summary = Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ');
  process.stdout.write(`seed: ${summary}\n`);
}

function report(err) {
  const line = err instanceof SeedError ? err.message
    : `${ROOT}: unexpected failure (${err && err.code ? err.code : 'bug'}); the next run picks up where this one `
      + 'stopped; report it with this line';
  process.stderr.write(`seed: error: ${oneLine(line)}\n`);
  process.exitCode = 1;
}

process.umask(0o077);
process.on('uncaughtException', (err) => { report(err); process.exit(1); });
main().catch((err) => { dropStaged(); report(err); });
