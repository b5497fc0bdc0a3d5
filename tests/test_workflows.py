"""The GitHub Actions workflows cannot run here: check what they would do, job by job.

The credential split (previews read-only, in their own environment; deploy credentials only in
deploy.yml's `dev` environment), the fork path (offline checks and render diff, the preview
skipped with a note), the comment posted whatever happened, and the pins.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from engine.harness import REPO

WORKFLOWS = REPO / ".github" / "workflows"
NAMES = ["checks.yml", "pull-request.yml", "deploy.yml"]
SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository"
FORK = "github.event.pull_request.head.repo.full_name != github.repository"
# Every action and the commit of the release it is pinned to, read from the action's own
# repository (the release tag's commit: `git rev-parse <tag>^{commit}` in a snapshot of it).
PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/cache": ("27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/download-artifact": ("3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
    "pulumi/auth-actions": ("141415910c3beb54e03b48e9057c204c97b956f2", "v2.1.0"),
    "hashicorp/vault-action": ("4c06c5ccf5c0761b6029f56cfb1dcf5565918a3b", "v3.4.0"),
    "marocchino/sticky-pull-request-comment": ("5770ad5eb8f42dd2c4f34da00c94c5381e49af88", "v3.0.5"),
}
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+?)(?:@(\S+))?(?:\s+#\s*(\S+))?\s*$")


def load_workflow(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def workflow_jobs(name: str) -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = load_workflow(name)["jobs"]
    return jobs


def job_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = job.get("steps", [])
    return steps


def uses_action(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job_steps(job) if str(s.get("uses", "")).split("@")[0] == action]


def _named(job: dict[str, Any], start: str) -> dict[str, Any]:
    (step,) = [s for s in job_steps(job) if str(s.get("name", "")).startswith(start)]
    return step


def _secrets(value: Any) -> set[str]:
    return set(re.findall(r"secrets\.([A-Za-z_]+)", yaml.safe_dump(value)))


# --- pins, checkouts, permissions ---------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_every_action_is_pinned_to_a_release_commit_with_its_version(name: str) -> None:
    seen = 0
    for line in (WORKFLOWS / name).read_text(encoding="utf-8").splitlines():
        match = USES_LINE.match(line)
        if not match or match.group(1).startswith("./"):
            continue
        action, ref, comment = match.groups()
        assert action in PINS, f"{action}: not a known action (add its release commit to PINS)"
        assert (ref, comment) == PINS[action], f"{line.strip()}: expected @{PINS[action][0]} # {PINS[action][1]}"
        seen += 1
    assert seen > 0


@pytest.mark.parametrize("name", NAMES)
def test_checkouts_keep_no_credentials_and_permissions_are_per_job(name: str) -> None:
    doc = load_workflow(name)
    assert doc["permissions"] == {}  # nothing by default: each job names what it needs
    for job_name, job in doc["jobs"].items():
        assert "permissions" in job, f"{job_name}: no permissions block"
        for step in uses_action(job, "actions/checkout"):
            assert step["with"]["persist-credentials"] is False, job_name
        # Write access to pull requests: the comment job only; an OIDC token: credentialed jobs only.
        if job["permissions"].get("pull-requests") == "write":
            assert job_name == "comment" and not uses_action(job, "actions/checkout")
        if job["permissions"].get("id-token") == "write":
            assert job_name in {"preview", "up"} and "environment" in job


@pytest.mark.parametrize("name", NAMES)
def test_secrets_live_only_in_jobs_with_an_environment(name: str) -> None:
    for job_name, job in workflow_jobs(name).items():
        if _secrets(job):
            assert job.get("environment"), f"{job_name} reads {_secrets(job)} outside an environment"
        for step in job_steps(job):  # a secret reaches one step, through env, never the job's env
            assert not _secrets(step.get("run", "")), f"{job_name}: secret interpolated into a script"
        assert not _secrets(job.get("env", {})), f"{job_name}: secret in the job-wide env"


# --- the credential split -----------------------------------------------------------------------

def test_previews_use_their_own_read_only_credentials_never_the_deploy_ones() -> None:
    preview = workflow_jobs("pull-request.yml")["preview"]
    up = workflow_jobs("deploy.yml")["up"]
    assert preview["environment"] == "preview" and up["environment"] == "dev"
    assert _secrets(preview) == {"PREVIEW_KUBECONFIG_DEV", "PREVIEW_KUBECONFIG_PROD"}
    assert _secrets(up) == {"KUBECONFIG"}
    assert not _secrets(preview) & _secrets(up)
    # Each stack's preview writes its own kubeconfig: prod's never reaches the dev job.
    for stack in ("dev", "prod"):
        step = _named(preview, f"Kubeconfig ({stack}")
        assert step["if"] == f"matrix.stack == '{stack}'"
        assert step["env"]["KUBECONFIG_CONTENT"] == f"${{{{ secrets.PREVIEW_KUBECONFIG_{stack.upper()} }}}}"
    # Short-lived credentials: OIDC to Pulumi Cloud and to Vault's JWT auth, a role per purpose.
    for job, team, role in ((preview, "PULUMI_PREVIEW_TEAM", "openclaw-preview-${{ matrix.stack }}"),
                            (up, "PULUMI_DEPLOY_TEAM", "openclaw-deploy-dev")):
        (auth,) = uses_action(job, "pulumi/auth-actions")
        assert auth["with"]["scope"] == f"team:${{{{ vars.{team} }}}}"
        (vault,) = uses_action(job, "hashicorp/vault-action")
        assert (vault["with"]["method"], vault["with"]["role"]) == ("jwt", role)
        assert vault["with"]["url"] == "${{ steps.vault.outputs.address }}"  # vault:address, as the provider
        assert "VAULT_TOKEN" not in yaml.safe_dump(job) and "VAULT_ADDR" not in yaml.safe_dump(job)


def test_no_job_of_the_pull_request_workflow_can_reach_deploy_credentials() -> None:
    doc = load_workflow("pull-request.yml")
    assert set(doc["on"]) == {"pull_request"}  # never pull_request_target or workflow_run
    assert {job.get("environment") for job in doc["jobs"].values()} == {None, "preview"}
    assert "KUBECONFIG" not in _secrets(doc)


# --- the fork path ------------------------------------------------------------------------------

def test_fork_pull_requests_get_checks_and_render_diff_and_a_note_instead_of_the_preview() -> None:
    jobs = workflow_jobs("pull-request.yml")
    assert jobs["preview"]["if"] == SAME_REPO
    assert jobs["comment"]["if"] == f"always() && {SAME_REPO}"  # a fork's token cannot comment
    skipped = jobs["preview-skipped"]
    assert skipped["if"] == FORK and skipped["permissions"] == {}
    note = skipped["steps"][0]["run"]
    assert "::notice" in note and "GITHUB_STEP_SUMMARY" in note and "fork" in note and "no secrets" in note
    # What a fork does get: no condition, no secret, no environment.
    for name in ("checks", "render"):
        assert "if" not in jobs[name] and not _secrets(jobs[name]) and "environment" not in jobs[name]
    assert "GITHUB_STEP_SUMMARY" in _named(jobs["render"], "Write the comment")["run"]


# --- the comment: always, with the verdict, replacing the old one, for every stack ---------------

@pytest.mark.parametrize("job_name,command", [("render", "render"), ("preview", "preview")])
def test_each_report_writes_its_comment_whatever_happened(job_name: str, command: str) -> None:
    job = workflow_jobs("pull-request.yml")[job_name]
    assert job["strategy"]["matrix"]["stack"] == ["dev", "prod"] and job["strategy"]["fail-fast"] is False
    steps = job_steps(job)
    names = [s.get("name", "") for s in steps]
    run_step = next(s for s in steps if s.get("id") == command)
    # The command's failure is recorded, not raised: later steps still run.
    script = run_step["run"]
    tool = "./run render" if command == "render" else "pulumi preview"
    assert 0 <= script.index("set +e\n") < script.index(tool) < script.index('echo "exit-code=$?"')
    assert 'echo "exit-code=$?" >> "$GITHUB_OUTPUT"' in script
    write = _named(job, "Write the comment")
    assert write["if"] == "always()"
    assert write["env"]["EXIT_CODE"] == f"${{{{ steps.{command}.outputs.exit-code }}}}"
    assert write["env"]["DETAILS"] == "${{ steps.upload.outputs.artifact-url }}"
    assert f"python3 -m tools.ci_comment {command} " in write["run"]
    upload = next(s for s in steps if s.get("id") == "upload")
    assert upload["if"] == "always()" and names.index(upload["name"]) < names.index(write["name"])
    hand = _named(job, "Hand the comment")
    assert hand["if"] == "always()" and hand["with"]["name"] == f"comment-{command}-${{{{ matrix.stack }}}}"
    fail = steps[-1]
    assert fail["if"] == f"steps.{command}.outputs.exit-code != '0'" and "exit 1" in fail["run"]


def test_the_comment_job_posts_every_report_of_every_stack_replacing_the_old_one() -> None:
    job = workflow_jobs("pull-request.yml")["comment"]
    assert set(job["needs"]) == {"render", "preview"} and job["if"].startswith("always() && ")
    assert job["strategy"]["matrix"] == {"report": ["render", "preview"], "stack": ["dev", "prod"]}
    (download,) = uses_action(job, "actions/download-artifact")
    assert download["continue-on-error"] is True
    assert download["with"]["name"] == "comment-${{ matrix.report }}-${{ matrix.stack }}"
    fallback = _named(job, "A job that wrote no comment")
    assert "[ ! -s comment/comment.md ]" in fallback["run"] and "no report" in fallback["run"]
    (sticky,) = uses_action(job, "marocchino/sticky-pull-request-comment")
    assert sticky["with"] == {"header": "${{ matrix.report }}-${{ matrix.stack }}", "path": "comment/comment.md"}
    assert "recreate" not in sticky["with"] and "append" not in sticky["with"]  # one comment, edited in place


def test_the_preview_runs_the_pack_with_the_field_level_diff_and_the_pinned_cli() -> None:
    job = workflow_jobs("pull-request.yml")["preview"]
    script = next(s for s in job_steps(job) if s.get("id") == "preview")["run"]
    for flag in ("--diff", "--refresh", "--non-interactive", "--policy-pack policy",
                 '--policy-pack-config "policy/config.$STACK.json"', '--stack "$PULUMI_ORGANIZATION/openclaw/$STACK"'):
        assert flag in script
    for stack in ("dev", "prod"):
        assert (REPO / f"policy/config.{stack}.json").is_file() and (REPO / f"Pulumi.{stack}.yaml").is_file()


def test_a_missing_stack_is_named_with_its_fix_before_the_preview() -> None:
    """The prod preview needs the stack `<org>/openclaw/prod` in Pulumi Cloud, and the preview team
    cannot create it: the step says so (and records a failing exit code) instead of a bare error."""
    script = next(s for s in job_steps(workflow_jobs("pull-request.yml")["preview"]) if s.get("id") == "preview")["run"]
    select = script.index('pulumi stack select "$PULUMI_ORGANIZATION/openclaw/$STACK" --non-interactive')
    assert script.index("set +e\n") < select < script.index("pulumi preview --stack")
    missing = script[select:script.index("pulumi preview --stack")]
    assert "pulumi stack init %s/openclaw/%s" in missing and "docs/ci.md#stacks" in missing
    assert 'echo "exit-code=3" >> "$GITHUB_OUTPUT"' in missing and "::error::" in missing
    docs = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    assert "\n## Stacks\n" in docs and "pulumi stack init" in docs


def _sdk_minor() -> str:
    (pin,) = re.findall(r"^pulumi==(\d+\.\d+)\.\d+$", (REPO / "requirements.txt").read_text(encoding="utf-8"),
                        re.MULTILINE)
    return pin


def test_the_pulumi_cli_is_pinned_to_the_sdks_minor_everywhere() -> None:
    pinned = [s["with"]["pulumi-version"] for name in ("pull-request.yml", "deploy.yml")
              for job in workflow_jobs(name).values() for s in uses_action(job, "pulumi/actions")]
    assert len(pinned) == 3 and set(pinned) == {f"~{_sdk_minor()}.0"}


def test_pip_and_plugins_are_cached_for_pull_requests_and_never_restored_by_the_deploy() -> None:
    jobs = workflow_jobs("pull-request.yml")
    for name in ("render", "preview"):
        (python,) = uses_action(jobs[name], "actions/setup-python")
        assert python["with"]["cache"] == "pip" and "requirements" in python["with"]["cache-dependency-path"]
    (plugins,) = uses_action(jobs["preview"], "actions/cache")
    assert plugins["with"]["path"] == "~/.pulumi/plugins" and "hashFiles('requirements.txt'" in plugins["with"]["key"]
    up = workflow_jobs("deploy.yml")["up"]
    assert not uses_action(up, "actions/cache") and "cache" not in uses_action(up, "actions/setup-python")[0]["with"]


def test_checks_run_the_ci_script_with_the_system_packages_it_lists() -> None:
    doc = load_workflow("checks.yml")
    assert "workflow_call" in doc["on"]
    runs = [s.get("run", "") for s in job_steps(doc["jobs"]["checks"])]
    assert runs[-1] == "sudo --preserve-env=PATH,HOME bash .ci/run"  # the e2e needs root
    assert any("tools/system-packages.txt" in r for r in runs)
    for name in ("pull-request.yml", "deploy.yml"):
        assert workflow_jobs(name)["checks"]["uses"] == "./.github/workflows/checks.yml"


# --- docs/ci.md ---------------------------------------------------------------------------------

def test_docs_list_every_secret_and_variable_per_environment() -> None:
    docs = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    for name in ("pull-request.yml", "deploy.yml"):
        text = (WORKFLOWS / name).read_text(encoding="utf-8")
        for kind, found in (("secrets", r"secrets\.([A-Z_]+)"), ("vars", r"vars\.([A-Z_]+)")):
            for item in set(re.findall(found, text)):
                assert f"`{item}`" in docs, f"{kind}.{item} ({name}) is not documented in docs/ci.md"
    for environment in ("`preview`", "`dev`"):
        assert environment in docs
    # The provider reads vault:address first and VAULT_ADDR only when it is unset.
    assert "overriding `vault:address`" not in docs
    assert "`vault:address` wins" in docs
