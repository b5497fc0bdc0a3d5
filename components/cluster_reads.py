"""What the program reads from the cluster itself, at preview and at up, before anything is applied.

Two questions the Kubernetes provider only answers when it applies: does an object the program
would create already exist (the create then fails with AlreadyExists, while the preview showed a
green `create`: pulumi-kubernetes provider/pkg/provider/provider.go `Create` returns the inputs as
they are when the dry-run create is Forbidden or, with server-side apply, AlreadyExists), and may
the state volume grow (the PVC patch fails on a StorageClass without `allowVolumeExpansion`).

How a Python program can learn that at preview: pulumi-kubernetes has no invoke that reads an
object (provider.go `Invoke` knows `kubernetes:yaml:decode`, `kubernetes:helm:template` and
`kubernetes:kustomize:directory` only), and a resource `.get()` is a read step that fails the whole
run when the object is missing (pulumi/pulumi pkg/resource/deploy/step.go, ReadStep: "resource '%s'
does not exist"), which is the normal case on a fresh cluster. So the program reads for itself, with
`kubectl get` under the provider's kubeconfig and context (`openclaw:kubernetes.kubeconfig` /
`.context`, else KUBECONFIG and the current context, as the provider): read-only, metadata and the
named fields only (never a Secret's data). The tests answer from a fake cluster
(`engine/fake_cluster.py`), set for one run through `READER`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from components.config import KubernetesConfig


@dataclass(frozen=True, order=True)
class ObjectRef:
    api_version: str
    kind: str
    namespace: str | None  # None: cluster-scoped
    name: str

    @property
    def kubectl_type(self) -> str:
        """`kind.version.group` (just the kind in the core group): unambiguous for kubectl."""
        group, _, version = self.api_version.rpartition("/")
        return f"{self.kind.lower()}.{version}.{group}" if group else self.kind.lower()

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


class ClusterReadError(Exception):
    """The cluster could not be read (no kubectl, unreachable, forbidden): the check did not run."""


class ClusterReader(Protocol):
    def read(self, refs: Sequence[ObjectRef], paths: Sequence[str]) -> dict[ObjectRef, list[str]]:
        """The objects among `refs` that exist, each with the value of every path (a kubectl
        JSONPath such as `.metadata.managedFields[*].manager`: several values space-separated,
        an unset field ''). Raises ClusterReadError when the cluster cannot answer."""
        ...


# Set by the test harness for one run; None: read the real cluster with kubectl.
READER: ContextVar[ClusterReader | None] = ContextVar("openclaw_cluster_reader", default=None)


def _groups(refs: Sequence[ObjectRef]) -> Iterator[tuple[str, str | None, list[ObjectRef]]]:
    grouped: dict[tuple[str, str | None], list[ObjectRef]] = {}
    for ref in refs:
        grouped.setdefault((ref.kubectl_type, ref.namespace), []).append(ref)
    for (kind, namespace), members in sorted(grouped.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        yield kind, namespace, members


def jsonpath_template(paths: Sequence[str], many: bool) -> str:
    """One line per object: its name, then each path's value, tab-separated. kubectl answers a
    `get` of several names with a List, of one name with the object itself."""
    fields = "".join('{"\\t"}{' + path + "}" for path in paths)
    line = "{.metadata.name}" + fields + '{"\\n"}'
    return "{range .items[*]}" + line + "{end}" if many else line


class Kubectl:
    """`kubectl get` with the provider's kubeconfig and context; one call per kind and namespace."""

    def __init__(self, config: KubernetesConfig, binary: str = "kubectl") -> None:
        self._config = config
        self._binary = binary

    def _base(self, kubeconfig_file: str | None) -> list[str]:
        argv = [self._binary]
        if kubeconfig_file is not None:
            argv += ["--kubeconfig", kubeconfig_file]
        if self._config.context is not None:
            argv += ["--context", self._config.context]
        return argv

    @staticmethod
    def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
        except subprocess.TimeoutExpired:
            raise ClusterReadError(f"{argv[0]} did not answer within 60 s") from None

    def read(self, refs: Sequence[ObjectRef], paths: Sequence[str]) -> dict[ObjectRef, list[str]]:
        if shutil.which(self._binary) is None:
            raise ClusterReadError(f"{self._binary} is not on PATH")
        kubeconfig = self._config.kubeconfig
        with tempfile.TemporaryDirectory(prefix="openclaw-kubeconfig-") as tmp:
            kubeconfig_file = kubeconfig
            if kubeconfig is not None and not os.path.isfile(kubeconfig):
                # The provider takes a path or the content itself; kubectl takes a path.
                kubeconfig_file = os.path.join(tmp, "config")
                with open(os.open(kubeconfig_file, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as out:
                    out.write(kubeconfig)
            found: dict[ObjectRef, list[str]] = {}
            for kind, namespace, members in _groups(refs):
                argv = [*self._base(kubeconfig_file), "get", kind, *[m.name for m in members],
                        *(["--namespace", namespace] if namespace else []), "--ignore-not-found",
                        "-o", f"jsonpath={jsonpath_template(paths, len(members) > 1)}"]
                # kubectl hides managedFields from 1.21 on unless asked; 1.20 (Debian 12's) shows
                # them and does not know the flag.
                done = self._run([*argv, "--show-managed-fields"])
                if done.returncode != 0 and "unknown flag: --show-managed-fields" in done.stderr:
                    done = self._run(argv)
                if done.returncode != 0:
                    last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
                    raise ClusterReadError(f"kubectl get {kind} failed: {last}")
                by_name = {m.name: m for m in members}
                for line in done.stdout.splitlines():
                    name, *values = line.split("\t")
                    if name in by_name:
                        found[by_name[name]] = (values + [""] * len(paths))[:len(paths)]
        return found


def reader_for(config: KubernetesConfig) -> ClusterReader:
    return READER.get() or Kubectl(config)
