"""The harness's answers to the program's Vault lookups (invokes), as terraform-provider-vault's
data sources give them: the Kubernetes auth role, and the policy endpoints read through the generic
data source. tests/support/vault_dev.py answers the same invokes from a real server."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

# An invoke mock: receives the invoke's arguments, returns its result.
InvokeHandler = Callable[[dict[str, Any]], dict[str, Any]]


class HarnessError(Exception):
    """The harness itself cannot run (a missing stack file, a bad override)."""


VAULT_ROLE_LOOKUP = "vault:kubernetes/getAuthBackendRole:getAuthBackendRole"


def no_vault_role(args: dict[str, Any]) -> dict[str, Any]:
    """The role lookup's answer when the role does not exist: terraform-provider-vault's data source
    (vault/data_source_kubernetes_auth_backend_role.go) sets an empty ID and no fields."""
    return {"backend": args.get("backend"), "roleName": args.get("roleName"), "id": "",
            "boundServiceAccountNames": [], "boundServiceAccountNamespaces": []}


def vault_role(names: list[str], namespaces: list[str], selector: str = "") -> InvokeHandler:
    """The role lookup's answer for an existing role with these bindings."""
    def read(args: dict[str, Any]) -> dict[str, Any]:
        return {"backend": args.get("backend"), "roleName": args.get("roleName"),
                "id": f"auth/{args.get('backend')}/role/{args.get('roleName')}",
                "boundServiceAccountNames": names, "boundServiceAccountNamespaces": namespaces,
                "boundServiceAccountNamespaceSelector": selector}
    return read


VAULT_GENERIC_READ = "vault:generic/getSecret:getSecret"


def vault_policies(policies: Mapping[str, str]) -> InvokeHandler:
    """The generic data source's answers on Vault's policy endpoints when these policies (name ->
    text) exist beside `default` and `root`: `sys/policy` lists the names, `sys/policies/acl/<name>`
    holds one; every non-string value JSON-encoded, a missing path the provider's error
    (terraform-provider-vault vault/data_source_generic_secret.go, kv_helpers.go `kvReadRequest`)."""
    def read(args: dict[str, Any]) -> dict[str, Any]:
        path = str(args.get("path")).strip("/")
        names = sorted({"default", "root", *policies})
        if path == "sys/policy":
            data = {"keys": json.dumps(names), "policies": json.dumps(names)}
        elif path.startswith("sys/policies/acl/") and path.rsplit("/", 1)[1] in policies:
            name = path.rsplit("/", 1)[1]
            data = {"name": name, "policy": policies[name]}
        else:
            raise HarnessError(f'no secret found at "{path}"')
        return {"path": path, "id": path, "data": data, "dataJson": json.dumps(data), "leaseId": "",
                "leaseDuration": 0, "leaseRenewable": False, "withLeaseStartTime": True}
    return read
