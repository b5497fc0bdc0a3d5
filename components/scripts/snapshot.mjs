// Consistent snapshot of the state volume: runs in the OpenClaw image (the release's own Node),
// before restic reads anything (docs/backup-runbook.md, "What a snapshot contains").
//
//   node --input-type=module -e "$(cat snapshot.mjs)"      (env below; the tests run this file)
//
// Builds, in SNAPSHOT_DEST (an emptyDir, or a folder on the volume before an upgrade), the tree
// restic backs up: every file of SNAPSHOT_SOURCE (the volume, mounted read-only) copied with
// `cp -a` (modes, nanosecond mtimes, links as links, hard links), except that each SQLite
// database (found by its 16-byte header, whatever its name) is replaced by a copy taken through
// SQLite's online backup API (node:sqlite `backup()`: one read transaction, so committed WAL
// content is included and a torn page never is), checked with PRAGMA integrity_check, and its
// -wal/-shm/-journal files are left out. A file that only looks like a database (its header, then
// garbage), or a database broken on the volume itself, is kept as it is, with a warning and an
// entry in the manifest: the rest of the volume is still worth storing, and the drill fails on it. OpenClaw's backup guide: never copy live .sqlite, -wal,
// -shm or -journal files (openclaw docs/install/backups.md, docs/cli/backup.md "SQLite snapshots").
// Then `.openclaw-snapshot.json` (release, kind, databases and how each was copied) at the root.
//
// Env: SNAPSHOT_SOURCE, SNAPSHOT_DEST, SNAPSHOT_RELEASE (the release that wrote the volume),
// SNAPSHOT_KIND (hourly | pre-upgrade), SNAPSHOT_LIMIT_BYTES (the scratch space's size; the free
// space of DEST's filesystem is checked too), SNAPSHOT_EXCLUDE (top-level names left out, space
// separated). Exit 0: the tree is complete; 1: one `snapshot: FAILED: <why>` line, and DEST holds
// nothing a later step could mistake for a snapshot (the manifest is written last).
// On the volume itself (before an upgrade with backups off): SNAPSHOT_PUBLISH=<release> with
// DEST `<dir>/<anything>.partial` renames the finished tree to `<dir>/<release>-<UTC stamp>` and
// keeps the newest SNAPSHOT_KEEP (default 2) of them; SNAPSHOT_RESERVE_BYTES is left free for the
// gateway after the copy. A `.partial` left by a killed run is removed first.
// SNAPSHOT_STATE_EPOCH (before an upgrade): refuse a volume whose marker is of another state epoch.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const MANIFEST = ".openclaw-snapshot.json";
const TMP = ".openclaw-snapshot-tmp";
const HEADER = Buffer.from("SQLite format 3\0", "latin1");
const SIDECARS = ["-wal", "-shm", "-journal"];
const PAGES_PER_STEP = 2 ** 31 - 1; // the whole database in one step: one read transaction, no restart

const log = (line) => process.stderr.write(`snapshot: ${line}\n`);
class Failure extends Error {}
const fail = (why) => { throw new Failure(why); };

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === "") fail(`${name} is not set (the Job's env lacks it)`);
  return value;
}

// Every file is opened (an unreadable one fails the run here, naming it, rather than leaving a
// snapshot without it), never through a link.
function isDatabase(full, st) {
  let fd;
  try {
    fd = fs.openSync(full, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    if (st.size < 512) return false; // a database has at least one 512-byte page
    const head = Buffer.alloc(16);
    return fs.readSync(fd, head, 0, 16, 0) === 16 && head.equals(HEADER);
  } catch (error) {
    fail(`cannot read ${full} (as uid ${process.getuid()}): ${error.code ?? error.message}`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return false;
}

// Every entry under root, never following a link; regular files with their size and identity.
function walk(root, exclude) {
  const files = [];
  const stack = [""];
  while (stack.length) {
    const rel = stack.pop();
    let names;
    try {
      names = fs.readdirSync(path.join(root, rel));
    } catch (error) {
      fail(`cannot list ${path.join(root, rel)} (as uid ${process.getuid()}): ${error.code}`);
    }
    for (const name of names) {
      if (rel === "" && (exclude.has(name) || name === TMP)) continue;
      const child = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(path.join(root, child));
      if (st.isDirectory()) stack.push(child);
      else if (st.isFile()) files.push({ rel: child, size: st.size, dev: st.dev, ino: st.ino, mode: st.mode });
    }
  }
  return files;
}

function checkSpace(dest, files, limit, reserve = 0) {
  const need = files.reduce((sum, f) => sum + f.size, 0);
  let free = Infinity;
  try {
    const st = fs.statfsSync(dest);
    free = st.bavail * st.bsize;
  } catch { /* statfs is advisory: the limit still applies */ }
  const room = Math.max(0, Math.min(limit, free - reserve));
  if (need > room) {
    const largest = [...files].sort((a, b) => b.size - a.size).slice(0, 3)
      .map((f) => `${f.rel} (${f.size} bytes)`).join(", ");
    fail(`the volume holds ${need} bytes to copy, the scratch space has room for ${room}: raise ` +
         `openclaw:backup.scratchSize or free the volume (largest: ${largest})`);
  }
  return need;
}

function run(command, args) {
  const done = spawnSync(command, args, { encoding: "utf8" });
  if (done.error) fail(`${command}: ${done.error.message}`);
  if (done.status !== 0) {
    fail(`${command} ${args[0]}: ${(done.stderr.trim().split("\n")[0] || `exit ${done.status}`)}`);
  }
}

async function onlineCopy(sqlite, from, to) {
  const db = new sqlite.DatabaseSync(from, { readOnly: true });
  try {
    db.exec("PRAGMA trusted_schema=OFF");
    await sqlite.backup(db, to, { rate: PAGES_PER_STEP });
  } finally {
    db.close();
  }
}

function integrity(sqlite, file) {
  let db;
  try {
    db = new sqlite.DatabaseSync(file, { readOnly: true });
    db.exec("PRAGMA trusted_schema=OFF");
    return db.prepare("PRAGMA integrity_check").all().map((row) => Object.values(row)[0]).join("; ");
  } catch (error) {
    return error.message;
  } finally {
    db?.close();
  }
}

// A database SQLite will not open read-only where it lies (a hot rollback journal, a WAL without
// its -shm): copy it with its journal or WAL into private scratch space and let SQLite recover it
// there, as the next writer would. Sound only while nothing writes it, which a hot journal means;
// the file identities are compared before and after so a writer that came back is noticed.
async function recoveredCopy(sqlite, source, tmp, f, to) {
  const dir = fs.mkdtempSync(path.join(tmp, "recover-"));
  const stamp = (p) => { try { const s = fs.statSync(p); return `${s.ino}:${s.size}:${s.mtimeMs}`; } catch { return "-"; } };
  const parts = ["", "-journal", "-wal"].map((suffix) => path.join(source, f.rel + suffix));
  const before = parts.map(stamp).join(",");
  for (const [i, suffix] of ["", "-journal", "-wal"].entries()) {
    if (fs.existsSync(parts[i])) fs.copyFileSync(parts[i], path.join(dir, "db" + suffix));
  }
  if (parts.map(stamp).join(",") !== before) throw new Error("it changed while it was copied for recovery");
  const db = new sqlite.DatabaseSync(path.join(dir, "db"));
  try {
    db.exec("PRAGMA trusted_schema=OFF");
    await sqlite.backup(db, to, { rate: PAGES_PER_STEP });
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function snapshotDatabase(sqlite, source, dest, tmp, f) {
  const to = path.join(tmp, `copy-${process.pid}.sqlite`);
  let method = "online-backup";
  let reason = "";
  try {
    await onlineCopy(sqlite, path.join(source, f.rel), to);
  } catch (error) {
    reason = error.message;
    fs.rmSync(to, { force: true });
    try {
      await recoveredCopy(sqlite, source, tmp, f, to);
      method = "recovered";
      log(`${f.rel}: not readable in place (${reason}): copied with its journal and recovered in scratch space`);
    } catch (again) {
      fs.rmSync(to, { force: true });
      return { path: f.rel, method: "raw", reason: `${reason}; ${again.message}` };
    }
  }
  // The file must still be the one classified: a link swapped in meanwhile is never followed twice.
  const now = fs.lstatSync(path.join(source, f.rel), { throwIfNoEntry: false });
  if (!now || !now.isFile() || now.ino !== f.ino || now.dev !== f.dev) {
    fs.rmSync(to, { force: true });
    return { path: f.rel, method: "raw", reason: "it was replaced while it was copied" };
  }
  const check = integrity(sqlite, to);
  if (check !== "ok") {
    // Broken on the volume itself (or torn there by a crash): the files stay as they are, with
    // their WAL or journal, as evidence; a "cleaned" copy would hide what happened.
    fs.rmSync(to, { force: true });
    return { path: f.rel, method: "raw", reason: `integrity_check: ${check.slice(0, 200)}` };
  }
  const target = path.join(dest, f.rel);
  // cp -a kept the folder's mode: one without write permission (an agent's chmod 555) is opened
  // for the swap and closed again.
  const folder = fs.statSync(path.dirname(target)).mode & 0o7777;
  if (!(folder & 0o200)) fs.chmodSync(path.dirname(target), folder | 0o700);
  for (const suffix of ["", ...SIDECARS]) fs.rmSync(target + suffix, { force: true });
  fs.renameSync(to, target);
  fs.chmodSync(target, f.mode & 0o7777);
  if (!(folder & 0o200)) fs.chmodSync(path.dirname(target), folder);
  const bytes = fs.statSync(target).size;
  return { path: f.rel, method, integrity: check, bytes };
}

// Before an upgrade (SNAPSHOT_STATE_EPOCH: the state epoch of SNAPSHOT_RELEASE): the volume must still
// be in that release's layout. Its marker (components/scripts/state.mjs; none = 2026.2.23's, epoch 1)
// saying a later epoch means the migration already ran: a copy now would hold migrated state under
// the old release's name (and, on the volume, push the real pre-upgrade snapshot out of the newest
// two). The Job is re-created whenever its spec changes, so this happens while releaseLock is stale.
function checkStateEpoch(source, release, expected) {
  if (!Number.isInteger(expected) || expected < 1) fail("SNAPSHOT_STATE_EPOCH must be a state epoch such as 1");
  const markerPath = path.join(source, ".state-release.json");
  let marker = { release: "2026.2.23 (no marker)", stateEpoch: 1 };
  if (fs.existsSync(markerPath)) {
    try {
      marker = JSON.parse(fs.readFileSync(markerPath, "utf8"));
    } catch (error) {
      fail(`${markerPath} is not readable JSON (${error.message}): cannot tell which release wrote the volume`);
    }
  }
  const name = String(marker.release).replace(/[^\w.() -]/g, "?").slice(0, 60);
  if (marker.stateEpoch !== expected) {
    fail(`the volume is marked as last written by OpenClaw ${name} (state epoch ${marker.stateEpoch}), not by ` +
         `${release}'s epoch ${expected}: its migration already ran, and a pre-upgrade snapshot of ${release} ` +
         `now would hold migrated state; set openclaw:kubernetes.releaseLock to ${name} ` +
         "(docs/upgrade-runbook.md#snapshot-of-the-state-volume-before-the-upgrade)");
  }
}

async function main() {
  const source = path.resolve(env("SNAPSHOT_SOURCE"));
  const dest = path.resolve(env("SNAPSHOT_DEST"));
  const release = env("SNAPSHOT_RELEASE");
  const kind = env("SNAPSHOT_KIND", "hourly");
  const limit = Number(env("SNAPSHOT_LIMIT_BYTES", String(Number.MAX_SAFE_INTEGER)));
  const exclude = new Set((process.env.SNAPSHOT_EXCLUDE ?? "").split(/\s+/).filter(Boolean));
  if (!["hourly", "pre-upgrade"].includes(kind)) fail(`SNAPSHOT_KIND must be hourly or pre-upgrade, not ${kind}`);
  if (!Number.isFinite(limit) || limit <= 0) fail("SNAPSHOT_LIMIT_BYTES must be a positive number of bytes");
  let sqlite;
  try {
    sqlite = await import("node:sqlite");
  } catch { /* below */ }
  if (typeof sqlite?.backup !== "function") {
    fail(`node ${process.version} has no node:sqlite backup() (Node >= 22.16): this release cannot take ` +
         "an online copy; stop the gateway and take the snapshot while it is down");
  }
  if (!fs.statSync(source, { throwIfNoEntry: false })?.isDirectory()) {
    fail(`source ${source} is not a directory: is the volume mounted?`);
  }
  const expectEpoch = process.env.SNAPSHOT_STATE_EPOCH ?? "";
  if (expectEpoch) checkStateEpoch(source, release, Number(expectEpoch));
  const publish = process.env.SNAPSHOT_PUBLISH ?? "";
  const reserve = Number(process.env.SNAPSHOT_RESERVE_BYTES ?? "0");
  if (publish) {
    if (!/^\d+\.\d+\.\d+$/.test(publish)) fail(`SNAPSHOT_PUBLISH must be a release such as 2026.2.23, not ${publish}`);
    if (!dest.endsWith(".partial")) fail(`SNAPSHOT_DEST must end in .partial with SNAPSHOT_PUBLISH (got ${dest})`);
    fs.rmSync(dest, { recursive: true, force: true }); // what a killed run left: never published
  }
  fs.mkdirSync(dest, { recursive: true });
  const left = fs.readdirSync(dest);
  if (left.length) fail(`destination ${dest} is not empty (${left.slice(0, 3).join(", ")}): refusing to mix snapshots`);

  const files = walk(source, exclude);
  const databases = files.filter((f) => isDatabase(path.join(source, f.rel), f));
  const need = checkSpace(dest, files, limit, reserve);
  log(`copying ${files.length} files (${need} bytes) of ${source}, ${databases.length} SQLite database(s) ` +
      `through the online backup API (release ${release}, ${kind})`);

  const top = fs.readdirSync(source).filter((name) => !exclude.has(name) && name !== TMP)
    .map((name) => path.join(source, name));
  if (top.length) run("cp", ["-a", "-t", dest, "--", ...top]);
  const tmp = path.join(dest, TMP);
  fs.mkdirSync(tmp, { mode: 0o700 });
  const results = [];
  const touched = new Set([""]);
  try {
    for (const f of databases) {
      const result = await snapshotDatabase(sqlite, source, dest, tmp, f);
      results.push(result);
      touched.add(path.dirname(f.rel) === "." ? "" : path.dirname(f.rel));
      if (result.method === "raw") {
        // Not a failure: the rest of the volume is still worth storing, and an agent can write such a
        // file. The manifest records it; the restore drill fails on OpenClaw's own databases.
        log(`WARNING: ${f.rel} starts like a SQLite database but could not be copied consistently ` +
            `(${result.reason}): kept as a plain copy`);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  // Directory mtimes as on the volume (sidecars removed, copies renamed in): touch keeps nanoseconds.
  for (const rel of touched) run("touch", ["-h", "-r", path.join(source, rel), path.join(dest, rel)]);
  const manifest = {
    format: 1, release, kind, takenAt: new Date().toISOString(), node: process.version,
    files: files.length, bytes: need, databases: results,
  };
  const manifestPath = path.join(dest, MANIFEST);
  fs.rmSync(manifestPath, { force: true });
  fs.writeFileSync(manifestPath + ".tmp", JSON.stringify(manifest, null, 2) + "\n", { mode: 0o600 });
  fs.renameSync(manifestPath + ".tmp", manifestPath);
  run("touch", ["-h", "-r", source, dest]);
  if (publish) {
    const parent = path.dirname(dest);
    const stamp = manifest.takenAt.replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
    const final = path.join(parent, `${publish}-${stamp}`);
    fs.renameSync(dest, final);
    const keep = Number(process.env.SNAPSHOT_KEEP ?? "2");
    const done = fs.readdirSync(parent).filter((n) => /^\d+\.\d+\.\d+-\d{8}T\d{6}Z$/.test(n))
      .sort((a, b) => a.split("-")[1].localeCompare(b.split("-")[1]));
    for (const old of done.slice(0, Math.max(0, done.length - keep))) {
      fs.rmSync(path.join(parent, old), { recursive: true, force: true });
      log(`removed the older snapshot ${old}`);
    }
    log(`published ${final}`);
  }
  const raw = results.filter((r) => r.method === "raw").length;
  log(`done: ${files.length} files, ${results.length - raw} database(s) copied consistently` +
      (raw ? `, ${raw} kept as plain copies (see the warnings)` : ""));
}

main().catch((error) => {
  log(`FAILED: ${error instanceof Failure ? error.message : error.stack ?? error}`);
  process.exit(1);
});
