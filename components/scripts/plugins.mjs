// Install the release's pinned plugins before the gateway starts (the `plugins` init container):
//   node /plugin-source/plugins.mjs        (the gateway image's Node; uid 1000; read-only root)
//
// Inputs (environment, with defaults):
//   OPENCLAW_PLUGINS_SRC  the plugins ConfigMap: plugins.json and the tarballs it names (/plugin-source)
//   OPENCLAW_PLUGINS_DIR  an emptyDir only this container writes; the gateway mounts it read-only and
//                         openclaw.json's plugins.load.paths point into it            (/opt/openclaw-plugins)
//   OPENCLAW_STATE_DIR    the state volume                                            (/home/node/.openclaw)
//
// In order; any failure is one line `plugins: error: <what>: <problem>; <fix>` and exit 1 (Init:Error):
// 1. every tarball's sha512 is checked against the pinned integrity before anything looks inside it;
// 2. each tar is read in memory: regular files and folders below package/ only (no link, device or
//    FIFO, no absolute or `..` path, no duplicate), and package.json names the pinned package@version;
// 3. each plugin is written to <dir>/.partial-<random>/ (files O_EXCL|O_NOFOLLOW 0644, folders 0755),
//    then renamed over <dir>/<folder>, whatever was there removed without following links; anything
//    else in <dir> is removed: the gateway loads only what this run verified;
// 4. ~/.openclaw/extensions and ~/.openclaw/npm, when they hold anything, are moved as they are into
//    .archive/<UTC time>-plugins/: OpenClaw loads a plugin found there unpinned and enabled by default
//    (2026.9.6 dist/discovery-*.mjs, origin "global"), and the agents can write there. The pinned
//    plugins win over a same-id plugin anyway (origin "config" ranks first); this stops the others.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const ENV = process.env;
const SRC = ENV.OPENCLAW_PLUGINS_SRC || '/plugin-source';
const DIR = ENV.OPENCLAW_PLUGINS_DIR || '/opt/openclaw-plugins';
const STATE = ENV.OPENCLAW_STATE_DIR || '/home/node/.openclaw';
const FOREIGN_ROOTS = ['extensions', 'npm'];   // OpenClaw's own plugin install roots on the volume
const C = fs.constants;
const PACKAGE = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;
const INTEGRITY = /^sha512-[A-Za-z0-9+/]{86}==$/;
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_ENTRIES = 10000;
const MAX_BYTES = 24 << 20;   // unpacked, per plugin; the emptyDir holds 32 MiB

class PluginError extends Error {
  constructor(where, problem, fix) {
    super(`${where}: ${problem}; ${fix}`);
  }
}

const oneLine = (text) => String(text).replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
const REBUILD = 'the ConfigMap is rendered from components/releases.py and vendor/plugins/: render and apply again';

// --- 1. The manifest and the tarballs (the ConfigMap mount: read-only, the kubelet's links followed) --

function readManifest() {
  const file = path.join(SRC, 'plugins.json');
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new PluginError(file, err.code === 'ENOENT' ? 'not found' : `unreadable (${err.code || err.message})`,
      `is the plugins ConfigMap mounted at ${SRC}?`);
  }
  const plugins = Array.isArray(manifest?.plugins) ? manifest.plugins : null;
  if (!plugins) throw new PluginError(file, 'no "plugins" list', REBUILD);
  const folders = new Set();
  for (const p of plugins) {
    const bad = !PACKAGE.test(p?.package ?? '') || !/^[0-9A-Za-z.+-]+$/.test(p?.version ?? '')
      || !INTEGRITY.test(p?.integrity ?? '') || !FILE_NAME.test(p?.tarball ?? '') || !FILE_NAME.test(p?.folder ?? '')
      || folders.has(p.folder);
    if (bad) throw new PluginError(file, `bad entry ${oneLine(JSON.stringify(p))}`, REBUILD);
    folders.add(p.folder);
  }
  return plugins;
}

function verifiedTarball(plugin) {
  const file = path.join(SRC, plugin.tarball);
  let data;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    throw new PluginError(file, `cannot read the tarball (${err.code || err.message})`, REBUILD);
  }
  const found = `sha512-${crypto.createHash('sha512').update(data).digest('base64')}`;
  if (found !== plugin.integrity) {
    throw new PluginError(file, `integrity ${found} is not the pinned ${plugin.integrity} of `
      + `${plugin.package}@${plugin.version}`, `nothing was unpacked; ${REBUILD}`);
  }
  return data;
}

// --- 2. The tar, read in memory (POSIX ustar with pax or GNU long names, as npm pack writes it) --------

const field = (block, start, length) => {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
};

function octal(block, start, length, where) {
  if (block[start] & 0x80) {   // base-256 (GNU): a size this large is refused anyway
    throw new PluginError(where, 'an entry larger than 8 GiB', 'this is not a plugin tarball');
  }
  const text = field(block, start, length).trim();
  if (!/^[0-7]*$/.test(text)) throw new PluginError(where, `bad number field ${JSON.stringify(text)}`, 'the tarball is corrupt');
  return text ? Number.parseInt(text, 8) : 0;
}

function paxRecords(data, where) {
  const records = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number.parseInt(data.subarray(at, space).toString('utf8'), 10);
    if (space < 0 || !(length > 0) || at + length > data.length) {
      throw new PluginError(where, 'a malformed pax header', 'the tarball is corrupt');
    }
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    records[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return records;
}

// The path below package/, checked segment by segment; null for the package/ folder itself.
function innerPath(name, where) {
  const parts = name.replace(/\/+$/, '').split('/');
  if (parts[0] !== 'package' || name.startsWith('/')) {
    throw new PluginError(where, `entry ${JSON.stringify(oneLine(name))} is not below package/`, 'this is not an npm package tarball');
  }
  const inner = parts.slice(1);
  if (inner.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0')) || inner.length > 32) {
    throw new PluginError(where, `entry ${JSON.stringify(oneLine(name))} has an unsafe path`, 'the tarball is refused as a whole');
  }
  return inner.length ? inner.join('/') : null;
}

function readTar(gz, where) {
  let tar;
  try {
    tar = zlib.gunzipSync(gz, { maxOutputLength: MAX_BYTES * 2 });
  } catch (err) {
    throw new PluginError(where, `not a gzip stream of a sane size (${err.code || err.message})`, 'the tarball is corrupt');
  }
  const files = new Map();   // inner path -> Buffer
  const dirs = new Set();
  let total = 0;
  let longName = null;
  let pax = {};
  for (let at = 0; at + 512 <= tar.length;) {
    const block = tar.subarray(at, at + 512);
    if (block.every((b) => b === 0)) break;   // the end-of-archive blocks
    const sum = block.reduce((acc, b, i) => acc + (i >= 148 && i < 156 ? 0x20 : b), 0);
    if (sum !== octal(block, 148, 8, where)) throw new PluginError(where, `header checksum mismatch at byte ${at}`, 'the tarball is corrupt');
    const type = String.fromCharCode(block[156] || 0x30);
    const size = octal(block, 124, 12, where);
    const data = tar.subarray(at + 512, at + 512 + size);
    if (data.length !== size) throw new PluginError(where, 'truncated', 'the tarball is corrupt');
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') { pax = paxRecords(data, where); continue; }
    if (type === 'g') continue;   // global pax defaults (times, owners): nothing this installer uses
    if (type === 'L') { longName = data.toString('utf8').replace(/\0+$/, ''); continue; }
    const prefix = field(block, 345, 155);
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
    pax = {};
    longName = null;
    const inner = innerPath(name, where);
    if (type !== '0' && type !== '5') {
      const what = { 1: 'a hard link', 2: 'a symbolic link', 3: 'a device', 4: 'a device', 6: 'a FIFO' }[type] || `type ${JSON.stringify(type)}`;
      throw new PluginError(where, `entry ${JSON.stringify(oneLine(name))} is ${what}`, 'only files and folders are installed: the tarball is refused as a whole');
    }
    if (inner === null) continue;
    if (files.has(inner)) {
      throw new PluginError(where, `entry ${JSON.stringify(oneLine(name))} appears twice`, 'the tarball is refused as a whole');
    }
    if (type === '0' && dirs.has(inner)) {
      throw new PluginError(where, `${JSON.stringify(oneLine(inner))} is both a file and a folder`, 'the tarball is refused as a whole');
    }
    if (files.size + dirs.size >= MAX_ENTRIES || (total += size) > MAX_BYTES) {
      throw new PluginError(where, `more than ${MAX_ENTRIES} entries or ${MAX_BYTES} bytes`, 'this is not a plugin tarball');
    }
    if (type === '5') dirs.add(inner);
    else files.set(inner, data);
    const segments = inner.split('/');
    for (let i = 1; i < segments.length; i += 1) dirs.add(segments.slice(0, i).join('/'));
  }
  for (const d of dirs) {
    if (files.has(d)) throw new PluginError(where, `${JSON.stringify(oneLine(d))} is both a file and a folder`, 'the tarball is refused as a whole');
  }
  return { files, dirs, total };
}

function checkPackage(plugin, files, where) {
  let meta;
  try {
    meta = JSON.parse(files.get('package.json')?.toString('utf8') ?? 'null');
  } catch { /* reported below */ }
  if (meta?.name !== plugin.package || meta?.version !== plugin.version) {
    throw new PluginError(where, `package.json names ${oneLine(`${meta?.name}@${meta?.version}`)}, not the pinned `
      + `${plugin.package}@${plugin.version}`, REBUILD);
  }
}

// --- 3. Writing into the emptyDir --------------------------------------------------------------------

function writeTree(target, { files, dirs }) {
  fs.mkdirSync(target, 0o755);
  for (const d of [...dirs].sort()) fs.mkdirSync(path.join(target, d), 0o755);
  for (const [rel, data] of files) {
    const fd = fs.openSync(path.join(target, rel), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o644);
    try {
      fs.writeFileSync(fd, data);
      fs.fchmodSync(fd, 0o644);   // whatever the umask: never group- or world-writable
    } finally {
      fs.closeSync(fd);
    }
  }
  fs.chmodSync(target, 0o755);
}

function install(plugin, tree) {
  const partial = path.join(DIR, `.partial-${crypto.randomBytes(8).toString('hex')}`);
  const target = path.join(DIR, plugin.folder);
  writeTree(partial, tree);
  fs.rmSync(target, { recursive: true, force: true });   // lstat-based: a link is removed, never followed
  fs.renameSync(partial, target);
}

function pruneOthers(keep) {
  for (const name of fs.readdirSync(DIR)) {
    if (!keep.has(name)) fs.rmSync(path.join(DIR, name), { recursive: true, force: true });
  }
}

// --- 4. Foreign plugins on the state volume -----------------------------------------------------------

const lst = (p) => fs.lstatSync(p, { throwIfNoEntry: false });
const kind = (st) => (st.isSymbolicLink() ? 'symbolic link' : st.isDirectory() ? 'folder' : st.isFile() ? 'file' : 'special file');
const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

function setAsideForeignPlugins() {
  const found = [];
  for (const name of FOREIGN_ROOTS) {
    const st = lst(path.join(STATE, name));
    if (!st || (st.isDirectory() && fs.readdirSync(path.join(STATE, name)).length === 0)) continue;
    found.push([name, st]);
  }
  if (!found.length) return [];
  const archive = path.join(STATE, '.archive');
  const ast = lst(archive);
  if (ast && !ast.isDirectory()) {
    throw new PluginError(archive, `a ${kind(ast)} where the archive folder belongs`, 'move it away, then restart the pod');
  }
  if (!ast) fs.mkdirSync(archive, 0o700);
  let dest = path.join(archive, `${stamp()}-plugins`);
  for (let n = 1; lst(dest); n += 1) dest = path.join(archive, `${stamp()}-plugins.${n}`);
  fs.mkdirSync(dest, 0o700);
  const lines = [];
  for (const [name, st] of found) {
    const entries = st.isDirectory() ? fs.readdirSync(path.join(STATE, name)).sort() : [];
    fs.renameSync(path.join(STATE, name), path.join(dest, name));   // rename(2) moves a link, never its target
    const what = entries.length ? entries.map((e) => `${name}/${oneLine(e)}`).join(', ') : `${name} (${kind(st)})`;
    lines.push(`plugins: moved ${what} to ${path.relative(STATE, dest)}/: OpenClaw would load it unpinned; `
      + 'a plugin the agents need is pinned in components/releases.py instead');
  }
  return lines;
}

// --- The run --------------------------------------------------------------------------------------------

function main() {
  const started = Date.now();
  const plugins = readManifest();
  // Everything is verified before anything is written.
  const trees = plugins.map((plugin) => {
    const where = path.join(SRC, plugin.tarball);
    const tree = readTar(verifiedTarball(plugin), where);
    checkPackage(plugin, tree.files, where);
    return tree;
  });
  const lines = [];
  plugins.forEach((plugin, i) => {
    install(plugin, trees[i]);
    lines.push(`plugins: ${plugin.package}@${plugin.version} ${plugin.integrity.slice(0, 19)}... verified, `
      + `${trees[i].files.size} files (${trees[i].total} bytes) at ${path.join(DIR, plugin.folder)}`);
  });
  pruneOthers(new Set(plugins.map((p) => p.folder)));
  lines.push(...setAsideForeignPlugins());
  lines.push(`plugins: ${plugins.length} pinned plugin(s) ready in ${Date.now() - started} ms`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

try {
  main();
} catch (err) {
  const line = err instanceof PluginError ? err.message
    : `${oneLine(err.path || DIR)}: ${err.code || 'error'} (${oneLine(err.message)}); check the volume and restart the pod`;
  process.stderr.write(`plugins: error: ${line}\n`);
  process.exit(1);
}
