// The restore drill's verify step: runs in the OpenClaw image (its Node's node:sqlite) after
// drill.sh restored the latest snapshot into DRILL_TARGET and restic verified every file's content.
// Checks what restic cannot: the snapshot step's manifest, every database it copied (present, no
// -wal/-shm/-journal beside it, PRAGMA integrity_check "ok"), and the workspace layout of the
// agent catalog (DRILL_AGENTS: "main" and each agent id). Exit 0 with one `drill: PASSED: ...`
// line; 1 with one `drill: FAILED: ...` line naming the first problems.
import fs from "node:fs";
import path from "node:path";

const MANIFEST = ".openclaw-snapshot.json";
// OpenClaw's own databases: stored as a plain copy (not consistently) is a failed drill.
// (2026.2.23: memory/<agent>.sqlite; 2026.9.x: state/openclaw.sqlite, agents/<id>/agent/openclaw-agent.sqlite)
const OWN_DATABASE = /^(state\/openclaw\.sqlite|memory\/[^/]+\.sqlite|agents\/[^/]+\/agent\/openclaw-agent\.sqlite)$/;

const out = (line) => process.stdout.write(`drill: ${line}\n`);

function integrity(DatabaseSync, file) {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    db.exec("PRAGMA trusted_schema=OFF");
    return db.prepare("PRAGMA integrity_check").all().map((row) => Object.values(row)[0]).join("; ");
  } finally {
    db.close();
  }
}

function isDir(p) {
  return fs.lstatSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

async function main() {
  const target = process.env.DRILL_TARGET || "/scratch/tree";
  const agents = (process.env.DRILL_AGENTS || "").split(/\s+/).filter(Boolean);
  const idFile = path.join(target, "..", "snapshot-id");
  const [id = "?", when = "?"] = fs.existsSync(idFile) ? fs.readFileSync(idFile, "utf8").trim().split(" ") : [];
  const problems = [];
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(target, MANIFEST), "utf8"));
  } catch (error) {
    out(`FAILED: snapshot ${id}: no readable ${MANIFEST} (${error.code ?? error.message}): it was not taken ` +
        "by the snapshot step, so its databases may be torn copies");
    return 1;
  }
  const { DatabaseSync } = await import("node:sqlite");
  let intact = 0;
  for (const entry of manifest.databases ?? []) {
    const file = path.join(target, entry.path);
    if (entry.method === "raw") {
      if (OWN_DATABASE.test(entry.path)) problems.push(`${entry.path} was stored as a plain copy (${entry.reason})`);
      continue;
    }
    if (!fs.lstatSync(file, { throwIfNoEntry: false })?.isFile()) {
      problems.push(`${entry.path} is missing`);
      continue;
    }
    const stale = ["-wal", "-shm", "-journal"].filter((s) => fs.existsSync(file + s));
    if (stale.length) problems.push(`${entry.path} has ${stale.join(", ")} beside it`);
    let check;
    try {
      check = integrity(DatabaseSync, file);
    } catch (error) {
      check = error.message;
    }
    if (check === "ok") intact += 1;
    else problems.push(`${entry.path}: integrity_check: ${check.slice(0, 160)}`);
  }
  if (!fs.existsSync(path.join(target, "openclaw.json"))) problems.push("openclaw.json is missing");
  for (const agent of agents) {
    const workspace = agent === "main" ? "workspace" : `workspaces/${agent}`;
    if (!isDir(path.join(target, workspace))) problems.push(`${workspace}/ is missing`);
    if (agent !== "main" && !isDir(path.join(target, "agents", agent))) problems.push(`agents/${agent}/ is missing`);
  }
  if (problems.length) {
    out(`FAILED: snapshot ${id} of ${when} (release ${manifest.release}): ${problems.length} problem(s): ` +
        problems.slice(0, 4).join("; ") + (problems.length > 4 ? "; ..." : ""));
    return 1;
  }
  out(`PASSED: snapshot ${id} of ${when} (release ${manifest.release}, ${manifest.kind}): ${intact} database(s) ` +
      `intact, ${agents.length} agent workspace(s) present`);
  return 0;
}

process.exitCode = await main().catch((error) => {
  out(`FAILED: ${error.stack ?? error}`);
  return 1;
});
