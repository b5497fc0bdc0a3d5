"""What `./run mutate [PATH...]` mutates, with which tool, and the tests that exercise each source.

Python (agents/, components/, policy/) goes to mutmut, the two Node scripts to StrykerJS. The map
below names, for each source, the pytest selection that exercises it: for Python it bounds the one
run in which mutmut learns which test reaches which function (each mutant then runs only those
tests); for a Node script every mutant runs it, the fastest files first (pytest stops at the first
failure). The first entry whose pattern matches a file wins.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from tools.mutation.report import REPO

PYTHON_AREAS = ("agents", "components", "policy")
NODE_SCRIPTS = ("agents/seed.mjs", "components/scripts/preflight.mjs")

SEED_TESTS = ["tests/test_seed.py", "tests/test_seed_names.py", "tests/test_seed_links.py",
              "tests/test_seed_durability.py", "tests/test_seed_decisions.py", "tests/test_seed_errno.py",
              "tests/test_seed_inputs.py", "tests/test_seed_races.py", "tests/test_seed_faults.py",
              "tests/test_seed_memory.py", "tests/test_seed_crash.py", "tests/test_edges_seed*.py"]
POLICY_TESTS = ["tests/test_policy.py", "tests/test_policy_unknowns.py", "tests/test_policy_preview.py",
                "tests/test_policy_preview_unknowns.py", "tests/test_policy_preview_edges.py",
                "tests/test_backup_policy.py", "tests/test_dependencies.py", "tests/test_adoption.py",
                "tests/test_adoption_vault.py", "tests/test_alerts.py", "tests/test_alerts_backup.py",
                "tests/test_render_paths.py", "tests/test_policy_edges_*.py"]
# The plain-node input checks first (fast), then the runs in a network namespace.
PREFLIGHT_TESTS = ["tests/test_preflight_input.py", "tests/test_preflight.py", "tests/test_preflight_endpoints.py",
                   "tests/test_preflight_families.py", "tests/test_edges_preflight.py"]
# The program's components reach nearly every test through the rendered stacks; not the tests of
# the Node scripts, the real restic and Vault runs, or the static checks of files.
NOT_COMPONENT_TESTS = {*SEED_TESTS, *PREFLIGHT_TESTS, "tests/test_backup_restic.py",
                       "tests/test_backup_restic_e2e.py", "tests/test_vault_real.py", "tests/test_static_checks.py",
                       "tests/test_workflows.py", "tests/test_workflows_pack.py", "tests/test_e2e_pod.py"}

TESTS: list[tuple[str, list[str]]] = [
    # the SecretRef branch of the seeder's preflight too (that file renders stacks: a component test as well)
    ("agents/seed.mjs", [*SEED_TESTS, "tests/test_seed_secret_refs.py"]),
    ("components/scripts/preflight.mjs", PREFLIGHT_TESTS),
    ("agents/*.py", ["tests/test_catalog.py", "tests/test_catalog_edges.py", "tests/test_catalog_entries.py",
                     "tests/test_seed.py::test_the_real_catalog_seeds_a_volume"]),
    ("components/netblocks.py", ["tests/test_network.py", "tests/test_edges_netblocks.py"]),
    # A component file whose tests say all its mutants' behaviour: those tests (and its edge file),
    # not every test that renders a stack (a survivor would run them all).
    ("components/awaits.py", ["tests/test_awaits.py", "tests/test_edges_awaits.py"]),
    ("components/releases.py", ["tests/test_releases.py", "tests/test_edges_releases.py"]),
    ("components/probes.py", ["tests/test_probes.py", "tests/test_edges_probes.py"]),
    ("components/config/base.py", ["tests/test_config.py", "tests/test_edges_config_base.py"]),
    ("components/config/ops.py", ["tests/test_config.py", "tests/test_edges_config_ops.py"]),
    ("components/config/gateway.py", ["tests/test_config.py", "tests/test_edges_config_gateway.py"]),
    ("components/config/secrets.py", ["tests/test_config.py", "tests/test_edges_config_secrets.py"]),
    ("components/config/backup.py", ["tests/test_config.py", "tests/test_backup_config.py",
                                     "tests/test_edges_config_backup.py"]),
    ("components/config/network.py", ["tests/test_config.py", "tests/test_edges_config_network.py"]),
    ("components/config/workload.py", ["tests/test_config.py", "tests/test_releases.py",
                                       "tests/test_edges_config_workload.py"]),
    ("components/config/stack.py", ["tests/test_config.py", "tests/test_release_lock.py",
                                    "tests/test_edges_config_stack.py"]),
    ("components/preflight_step.py", ["tests/test_edges_preflight_step.py"]),
    ("components/migration.py", ["tests/test_migration_render.py", "tests/test_edges_migration.py"]),
    # The Job's every container, mount, volume and env entry: tests/test_edges_snapshot.py, built
    # directly (tests/test_pre_upgrade_job.py renders whole stacks: 30 s a mutant, 2 h for the file).
    ("components/snapshot.py", ["tests/test_backup_pre_upgrade.py", "tests/test_edges_snapshot.py"]),
    ("components/pre_upgrade.py", ["tests/test_pre_upgrade_job.py", "tests/test_edges_pre_upgrade.py",
                                   "tests/test_program.py::test_component_tree"]),
    ("components/plugins.py", ["tests/test_plugins.py", "tests/test_edges_plugins.py"]),
    # Built on their own (tests/support/component_outputs.py keeps what a component registers).
    ("components/namespace.py", ["tests/test_edges_namespace.py"]),
    ("components/rbac.py", ["tests/test_edges_rbac.py"]),
    ("components/checkov_skips.py", ["tests/test_edges_checkov_skips.py"]),
    ("components/secret_keys.py", ["tests/test_edges_secret_keys.py"]),
    ("components/dependencies.py", ["tests/test_edges_dependencies.py"]),
    ("components/provider.py", ["tests/test_edges_provider.py"]),
    ("components/storage.py", ["tests/test_edges_storage.py"]),
    ("components/secret_lifecycle.py", ["tests/test_edges_secret_lifecycle.py"]),
    ("components/network.py", ["tests/test_edges_network.py"]),
    ("components/drill.py", ["tests/test_edges_drill.py"]),
    ("components/backup.py", ["tests/test_edges_backup.py"]),
    ("components/gateway.py", ["tests/test_edges_gateway.py"]),
    ("components/secrets.py", ["tests/test_edges_secrets.py"]),
    ("components/alerts.py", ["tests/test_alerts.py", "tests/test_alerts_backup.py", "tests/test_edges_alerts.py"]),
    ("components/backup_pod.py", ["tests/test_edges_backup_pod.py", "tests/test_edges_snapshot.py"]),
    # Not tests/test_cluster_checks.py: it renders whole stacks (a mutant took 30 s).
    ("components/existing_objects.py", ["tests/test_edges_existing_objects.py"]),
    ("components/cluster_reads.py", ["tests/test_cluster_kubectl.py", "tests/test_edges_cluster_reads.py"]),
    # openclaw.json as the program renders it, in process (every release's shape, each section)
    ("components/openclaw_json/*", ["tests/test_openclaw_json.py", "tests/test_edges_openclaw_json*.py"]),
    # small shared helpers: the tests that call them, and their edge file
    ("components/config/release_lock.py", ["tests/test_release_lock.py", "tests/test_edges_small_components.py"]),
    ("components/restic_url.py", ["tests/test_backup_config.py", "tests/test_edges_backup.py",
                                  "tests/test_edges_small_components.py"]),
    ("components/teleport.py", ["tests/test_config.py", "tests/test_edges_config_gateway.py", "tests/test_program.py",
                                "tests/test_edges_small_components.py"]),
    ("components/labels.py", ["tests/test_edges_namespace.py", "tests/test_edges_storage.py",
                              "tests/test_edges_rbac.py"]),
    # The composition: every render reaches it, so a survivor would run every render test (~30 s a
    # mutant with all of them); these say what it wires (tree, outputs, backup, drill, pre-upgrade,
    # adoption, alerts, the cluster reads, the dependencies) and its edge file.
    ("components/openclaw.py", ["tests/test_program.py", "tests/test_backup_render.py",
                                "tests/test_backup_drill_render.py", "tests/test_dependencies.py",
                                "tests/test_api_endpoints.py", "tests/test_pre_upgrade_job.py",
                                "tests/test_adoption.py", "tests/test_alerts.py", "tests/test_cluster_checks.py",
                                "tests/test_edges_small_components.py", "tests/test_edges_composition*.py"]),
    ("components/*", ["*component tests*"]),
    # A policy file whose rules have an edge test file of their own: that file. Every policy mutant
    # reaches every analyzer test (the pack judges every resource), so a survivor runs the whole
    # selection; the edge file alone keeps a run to minutes on 2 shared cores, and a narrower
    # selection can only lower the score.
    ("policy/storage.py", ["tests/test_policy_edges_storage.py"]),
    ("policy/images.py", ["tests/test_policy_edges_images.py"]),
    ("policy/rbac.py", ["tests/test_policy_edges_rbac.py"]),
    ("policy/workload.py", ["tests/test_policy_edges_workload.py"]),
    ("policy/secret_policies.py", ["tests/test_policy_edges_secrets.py"]),
    ("policy/backup.py", ["tests/test_policy_edges_backup.py", "tests/test_backup_policy.py"]),
    # Any other policy file: its edge test files, `tests/test_policy_edges_<stem>*.py`, once it has
    # some (an edge file joins without an edit here); the pack's broad tests until then.
    ("policy/*", ["*edge tests*"]),
    ("policy/*", POLICY_TESTS),
]


class TargetError(ValueError):
    """A path `./run mutate` cannot mutate."""


@dataclass(frozen=True)
class Target:
    tool: str                 # "mutmut" or "stryker"
    files: tuple[str, ...]    # relative to the repository; a Node file may end in :<first>-<last> line
    tests: tuple[str, ...]


def tests_for(file: str) -> list[str]:
    for pattern, tests in TESTS:
        if fnmatch.fnmatch(file, pattern):
            if tests == ["*edge tests*"]:
                stem = file.rsplit("/", 1)[-1].removesuffix(".py")
                edges = sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").glob(f"test_policy_edges_{stem}*.py"))
                if edges:
                    return edges
                continue
            if tests == ["*component tests*"]:
                return sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").glob("test_*.py")
                              if not any(fnmatch.fnmatch(str(p.relative_to(REPO)), t) for t in NOT_COMPONENT_TESTS))
            # a pattern names every test file it matches (new edge test files join without an edit here)
            return [found for test in tests
                    for found in (sorted(str(p.relative_to(REPO)) for p in REPO.glob(test)) if "*" in test else [test])]
    raise TargetError(f"{file}: no tests are mapped to it (add it to TESTS in tools/mutation/targets.py)")


def _sources(path: str) -> list[str]:
    """The mutable files a path names: a file, an area (or a folder in it), or everything."""
    file, _, lines = path.partition(":")
    target = (REPO / file).resolve()
    if not target.is_relative_to(REPO) or not target.exists():
        raise TargetError(f"{path}: no such file or folder in the repository")
    rel = str(target.relative_to(REPO)) if target != REPO else ""
    if lines and rel not in NODE_SCRIPTS:
        raise TargetError(f"{path}: a line range is only supported for the Node scripts {', '.join(NODE_SCRIPTS)}")
    if target.is_file():
        if rel in NODE_SCRIPTS or (rel.endswith(".py") and rel.split("/")[0] in PYTHON_AREAS):
            return [path if lines else rel]
        raise TargetError(f"{path}: not a source `./run mutate` covers (Python in {', '.join(PYTHON_AREAS)}, "
                          f"or {', '.join(NODE_SCRIPTS)})")
    found = [str(p.relative_to(REPO)) for area in PYTHON_AREAS for p in sorted((REPO / area).rglob("*.py"))
             if "__pycache__" not in p.parts and (p == target or target in p.parents)]
    found += [s for s in NODE_SCRIPTS if target == REPO or target in (REPO / s).parents]
    if not found:
        raise TargetError(f"{path}: holds no source `./run mutate` covers")
    return found


def targets(paths: list[str]) -> list[Target]:
    """One mutmut run per Python area and selection, one Stryker run per Node script."""
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for path in paths or ["."]:
        for source in _sources(path):
            file = source.partition(":")[0]
            tool = "stryker" if file in NODE_SCRIPTS else "mutmut"
            key = (f"{tool}:{file}" if tool == "stryker" else f"{tool}:{file.split('/')[0]}",
                   tuple(tests_for(file)))
            if source not in groups.setdefault(key, []):
                groups[key].append(source)
    return [Target(key[0].split(":")[0], tuple(files), key[1]) for key, files in groups.items()]
