"""The field reader every policy uses (policy/k8s.py) at its edges, through its public API, on resource
shapes as pulumi-policy hands them to a policy: the properties deserialized and wrapped in its
unknown-checking proxy (pulumi_policy/policy.py `Analyze`), with the engine's unknown sentinel where a
value is not known at preview; and the same shapes as plain dicts (each sentinel kind on its own).
Each workload kind's pod spec and pod metadata, each container group, absent and unknown fields, list
bounds, ports named and numbered, and how an object is named in a message."""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from pulumi_policy import PolicyConfigSchema
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    unknown_checking_proxy,
)

from engine.analyzer import POLICY_DIR
from engine.marshal import UNKNOWN

SENTINELS = [UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, UNKNOWN_ARRAY_VALUE,
             UNKNOWN_ASSET_VALUE, UNKNOWN_ARCHIVE_VALUE, UNKNOWN_OBJECT_VALUE]


@pytest.fixture(scope="module")
def k8s() -> Iterator[ModuleType]:
    """The pack's reader, imported as the pack imports it (top-level, from policy/)."""
    sys.path.insert(0, str(POLICY_DIR))
    try:
        import k8s as module
        yield module
    finally:
        sys.path.remove(str(POLICY_DIR))


def _proxied(props: dict[str, Any]) -> Any:
    return unknown_checking_proxy(deserialize_properties(props))


def _container(name: str | None, **fields: Any) -> dict[str, Any]:
    return ({} if name is None else {"name": name}) | {"image": "ghcr.io/openclaw/openclaw:2026.9.6"} | fields


def _pod_spec() -> dict[str, Any]:
    return {"initContainers": [_container("seed"), _container("preflight")],
            "containers": [_container("gateway", ports=[{"containerPort": 18789, "name": "gateway"}]),
                           _container("side")],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "openclaw-data"}}]}


def _deployment(spec: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "openclaw", "namespace": "openclaw"} | meta,
            "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "openclaw"}},
                                                 "spec": _pod_spec() if spec is None else spec}}}


SHAPES = ["proxied", "plain"]


def _shape(props: dict[str, Any], shape: str) -> Any:
    return _proxied(props) if shape == "proxied" else props


# --- reading fields ----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
def test_a_known_field_and_its_path(k8s: ModuleType, shape: str) -> None:
    root = k8s.Field.root(_shape(_deployment(), shape))
    replicas = root.at("spec", "replicas")
    assert (replicas.value, replicas.path, replicas.unknown) == (1, "spec.replicas", False)
    assert root["metadata"]["name"].path == "metadata.name" and root["metadata"]["name"].text() == "openclaw"
    assert root.path == "" and root.at() == root


@pytest.mark.parametrize("shape", SHAPES)
def test_an_absent_field_is_none_not_unknown(k8s: ModuleType, shape: str) -> None:
    root = k8s.Field.root(_shape(_deployment(), shape))
    for field, path in ((root["status"], "status"), (root.at("spec", "paused"), "spec.paused"),
                        (root.at("spec", "paused", "deeper"), "spec.paused.deeper"),
                        (root.at("metadata", "name", "x"), "metadata.name.x"),  # below a string
                        (root.at("spec", "template", "spec", "containers", "name"),  # a key of a list
                         "spec.template.spec.containers.name"),
                        (root.at("spec", "template", "spec", "containers", "0"), "spec.template.spec.containers.0")):
        assert (field.value, field.path, field.unknown, field.present()) == (None, path, False, False), path


@pytest.mark.parametrize("sentinel", SENTINELS)
def test_each_sentinel_is_unknown(k8s: ModuleType, sentinel: str) -> None:
    """A plain dict carrying the engine's sentinel of any type reads as unknown, never as its text."""
    props = _deployment()
    props["spec"]["replicas"] = sentinel
    field = k8s.Field.root(props).at("spec", "replicas")
    assert (field.value, field.path, field.unknown) == (None, "spec.replicas", True)
    assert field.present() and field.text() is None and field.is_(1) is None


def test_an_unknown_read_through_the_proxy(k8s: ModuleType) -> None:
    """The proxy raises on the unknown value itself; the reader turns that into an unknown field, and a
    sibling read beside it is untouched."""
    props = _deployment()
    props["spec"]["template"]["spec"]["containers"][0]["image"] = UNKNOWN
    props["metadata"]["labels"] = UNKNOWN
    root = k8s.Field.root(_proxied(props))
    image = root.at("spec", "template", "spec", "containers")
    first = image.items()[0]
    assert first["image"].unknown and first["image"].path == "spec.template.spec.containers[0].image"
    assert first["name"].text() == "gateway"
    labels = root.at("metadata", "labels")
    assert labels.unknown and labels.keys() == [] and labels.entries() == [] and not labels.has("app")
    below = labels.at("app", "x")
    assert below is labels  # below an unknown, the unknown part itself is reported


@pytest.mark.parametrize("shape", SHAPES)
def test_list_items_each_with_its_index(k8s: ModuleType, shape: str) -> None:
    root = k8s.Field.root(_shape(_deployment(), shape))
    containers = root.at("spec", "template", "spec", "containers").items()
    assert [(c.path, c["name"].text()) for c in containers] == [
        ("spec.template.spec.containers[0]", "gateway"), ("spec.template.spec.containers[1]", "side")]
    assert containers[0]["ports"].items()[0]["containerPort"].value == 18789


@pytest.mark.parametrize("shape", SHAPES)
def test_items_of_what_is_no_list(k8s: ModuleType, shape: str) -> None:
    props = _deployment()
    props["spec"]["template"]["spec"]["containers"][1]["args"] = UNKNOWN
    root = k8s.Field.root(_shape(props, shape))
    spec = root.at("spec", "template", "spec")
    assert root.at("metadata", "name").items() == []          # a string is no list of characters
    assert root.at("metadata").items() == []                  # a map
    assert root.at("spec", "replicas").items() == []          # a number
    assert spec["hostAliases"].items() == []                  # absent
    args = spec["containers"].items()[1]["args"]
    assert args.unknown and args.items() == []                # unknown: check `unknown` first


def test_an_element_of_a_list_that_is_unknown(k8s: ModuleType) -> None:
    for shape in SHAPES:
        props = _deployment()
        props["spec"]["template"]["spec"]["containers"][1] = UNKNOWN
        items = k8s.Field.root(_shape(props, shape)).at("spec", "template", "spec", "containers").items()
        assert [(i.unknown, i.path) for i in items] == [(False, "spec.template.spec.containers[0]"),
                                                        (True, "spec.template.spec.containers[1]")], shape


@pytest.mark.parametrize("shape", SHAPES)
def test_keys_has_and_entries_of_a_map(k8s: ModuleType, shape: str) -> None:
    props = _deployment(annotations={"a": "1", "b": UNKNOWN})
    meta = k8s.Field.root(_shape(props, shape))["metadata"]
    annotations = meta["annotations"]
    assert annotations.keys() == ["a", "b"] and annotations.has("a") and annotations.has("b")
    assert not annotations.has("c") and not annotations.has("")
    assert [(k, f.value, f.unknown, f.path) for k, f in annotations.entries()] == [
        ("a", "1", False, "metadata.annotations.a"), ("b", None, True, "metadata.annotations.b")]
    assert meta["name"].keys() == [] and meta["labels"].keys() == []  # a string; absent
    assert k8s.Field({1: "x"}).keys() == ["1"]


@pytest.mark.parametrize(("value", "present", "text"), [
    (None, False, None), (0, True, "0"), (False, True, "False"), ("", True, ""), ([], True, "[]"), ("x", True, "x"),
])
def test_present_and_text_of_each_value(k8s: ModuleType, value: Any, present: bool, text: str | None) -> None:
    field = k8s.Field(value, "p")
    assert (field.present(), field.text(), field.is_(value), field.is_("other")) == (present, text, True, False)


def test_strings_of_a_list(k8s: ModuleType) -> None:
    props = _deployment()
    spec = props["spec"]["template"]["spec"]
    spec["containers"][0]["command"] = ["node", UNKNOWN, 3, "x"]
    spec["containers"][1]["command"] = UNKNOWN
    for shape in SHAPES:
        containers = k8s.Field.root(_shape(props, shape)).at("spec", "template", "spec", "containers").items()
        known, unknown = containers[0]["command"].strings()
        assert known == ["node", "3", "x"] and [u.path for u in unknown] == [
            "spec.template.spec.containers[0].command[1]"], shape
        whole = containers[1]["command"]
        assert whole.strings() == ([], [whole])
        assert containers[0]["args"].strings() == ([], [])


# --- objects ---------------------------------------------------------------------------------------------

WORKLOADS = {
    "kubernetes:core/v1:Pod": lambda spec: {"metadata": {"name": "p", "namespace": "n", "labels": {"k": "pod"}},
                                            "spec": spec},
    "kubernetes:apps/v1:Deployment": lambda spec: {"metadata": {"name": "p", "namespace": "n"}, "spec": {
        "template": {"metadata": {"labels": {"k": "tpl"}}, "spec": spec}}},
    "kubernetes:apps/v1:StatefulSet": lambda spec: {"metadata": {"name": "p", "namespace": "n"}, "spec": {
        "template": {"metadata": {"labels": {"k": "tpl"}}, "spec": spec}}},
    "kubernetes:apps/v1:DaemonSet": lambda spec: {"metadata": {"name": "p", "namespace": "n"}, "spec": {
        "template": {"metadata": {"labels": {"k": "tpl"}}, "spec": spec}}},
    "kubernetes:apps/v1:ReplicaSet": lambda spec: {"metadata": {"name": "p", "namespace": "n"}, "spec": {
        "template": {"metadata": {"labels": {"k": "tpl"}}, "spec": spec}}},
    "kubernetes:batch/v1:Job": lambda spec: {"metadata": {"name": "p", "namespace": "n"}, "spec": {
        "template": {"metadata": {"labels": {"k": "tpl"}}, "spec": spec}}},
    "kubernetes:batch/v1:CronJob": lambda spec: {"metadata": {"name": "p", "namespace": "n"}, "spec": {
        "schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"metadata": {"labels": {"k": "tpl"}},
                                                                       "spec": spec}}}}},
}


@pytest.mark.parametrize("type_", sorted(WORKLOADS))
def test_each_workload_kind_has_its_pod_spec_and_metadata(k8s: ModuleType, type_: str) -> None:
    props = _proxied(WORKLOADS[type_](_pod_spec()))
    spec = k8s.pod_spec(type_, props)
    assert [c["name"].text() for c in spec["containers"].items()] == ["gateway", "side"]
    assert spec.path.endswith("spec") and not spec.unknown
    labels = k8s.pod_metadata(type_, props)["labels"]
    assert labels["k"].text() == ("pod" if type_.endswith(":Pod") else "tpl")


@pytest.mark.parametrize("type_", ["kubernetes:core/v1:Service", "kubernetes:core/v1:ConfigMap",
                                   "kubernetes:batch/v1beta1:CronJob", "kubernetes:apps/v1:Deployments"])
def test_other_kinds_have_no_pod_spec(k8s: ModuleType, type_: str) -> None:
    assert k8s.pod_spec(type_, _proxied(WORKLOADS["kubernetes:apps/v1:Deployment"](_pod_spec()))) is None


def test_containers_of_both_groups_with_their_labels(k8s: ModuleType) -> None:
    spec = _pod_spec()
    spec["initContainers"].append(_container(None))
    spec["containers"].append(_container(UNKNOWN))
    spec["containers"].append(_container(""))
    for shape in SHAPES:
        found = [(label, c.path) for label, c in k8s.containers(k8s.Field.root(_shape(spec, shape)))]
        assert found == [("init container 'seed'", "initContainers[0]"), ("init container 'preflight'",
                                                                          "initContainers[1]"),
                         ("init container '?'", "initContainers[2]"), ("container 'gateway'", "containers[0]"),
                         ("container 'side'", "containers[1]"), ("container '?'", "containers[2]"),
                         ("container '?'", "containers[3]")], shape


def test_an_unknown_container_group(k8s: ModuleType) -> None:
    for group, label in (("initContainers", "init containers"), ("containers", "containers")):
        spec = _pod_spec()
        spec[group] = UNKNOWN
        found = [(lbl, c.path, c.unknown) for lbl, c in k8s.containers(k8s.Field.root(_proxied(spec)))]
        assert (label, group, True) in found and len(found) == 3, group  # the other group's two, on their own


def test_no_containers_at_all(k8s: ModuleType) -> None:
    assert list(k8s.containers(k8s.Field.root({}))) == []


@pytest.mark.parametrize(("meta", "named"), [
    ({"name": "openclaw", "namespace": "openclaw"}, "openclaw/openclaw"),
    ({"name": "openclaw"}, "openclaw"), ({"name": "openclaw", "namespace": ""}, "openclaw"),
    ({"namespace": "openclaw"}, "openclaw/?"), ({"name": "", "namespace": "openclaw"}, "openclaw/?"),
    ({"name": UNKNOWN, "namespace": "openclaw"}, "openclaw/(name unknown at preview)"),
    ({"name": "openclaw", "namespace": UNKNOWN}, "(namespace unknown)/openclaw"),
    ({"name": UNKNOWN, "namespace": UNKNOWN}, "(namespace unknown)/(name unknown at preview)"),
])
def test_how_an_object_is_named(k8s: ModuleType, meta: dict[str, Any], named: str) -> None:
    props = _proxied({"metadata": meta, "spec": {}})
    assert k8s.name_of(props) == named
    assert k8s.describe("kubernetes:apps/v1:Deployment", props) == f"Deployment {named}"
    assert k8s.describe("kubernetes:networking.k8s.io/v1:NetworkPolicy", props) == f"NetworkPolicy {named}"


def test_undecidable_says_what_and_where(k8s: ModuleType) -> None:
    reported: list[tuple[str, str | None]] = []
    field = k8s.Field(None, "spec.template.spec.containers[0].image", unknown=True)
    k8s.undecidable(lambda message, urn: reported.append((message, urn)), "Deployment openclaw/openclaw", field,
                    "the image must be pinned")
    k8s.undecidable(lambda message, urn: reported.append((message, urn)), "Deployment x/y", field, "why",
                    "urn:pulumi:dev::p::kubernetes:apps/v1:Deployment::y")
    assert reported == [
        ("undecidable at preview: Deployment openclaw/openclaw spec.template.spec.containers[0].image is unknown, and "
         "the image must be pinned: make the value known in the program, or apply what it depends on first", None),
        ("undecidable at preview: Deployment x/y spec.template.spec.containers[0].image is unknown, and why: make the "
         "value known in the program, or apply what it depends on first",
         "urn:pulumi:dev::p::kubernetes:apps/v1:Deployment::y")]


# --- ports and numbers -----------------------------------------------------------------------------------

def test_rule_ports(k8s: ModuleType) -> None:
    """Each kind of NetworkPolicyPort entry as the range it opens, and each unknown part by its path."""
    rule = {"ports": [{"port": 443, "protocol": "TCP"}, {"port": "dns"}, {"protocol": "UDP"}, {"port": UNKNOWN},
                      {"port": 53.0}, {"port": "443"}, {"port": 6000, "endPort": 6443.0},
                      {"port": 80, "endPort": UNKNOWN}, {"port": 80, "endPort": 79}, UNKNOWN, {"port": ""}]}
    ranges = k8s.PortRange
    for shape in SHAPES:
        ports = k8s.Field.root(_shape(copy.deepcopy(rule), shape))["ports"]
        found, unknown = k8s.rule_ports(ports)
        assert found == [ranges(443, 443), ranges(name="dns"), ranges(), ranges(53, 53), ranges(443, 443),
                         ranges(6000, 6443), ranges(80, 80), ranges(name="")], shape
        assert [u.path for u in unknown] == ["ports[3].port", "ports[7].endPort", "ports[9]"], shape
    whole = k8s.Field.root(_proxied({"ports": UNKNOWN}))["ports"]
    assert k8s.rule_ports(whole) == ([], [whole])
    assert k8s.rule_ports(k8s.Field.root({})["ports"]) == ([], [])


@pytest.mark.parametrize(("first", "last", "inside", "outside"), [
    (443, 443, [443], [442, 444]), (6000, 6443, [6000, 6001, 6442, 6443], [5999, 6444]),
    (1, 65535, [1, 65535], [0, 65536])])
def test_a_range_holds_its_ends_and_nothing_beyond(k8s: ModuleType, first: int, last: int, inside: list[int],
                                                   outside: list[int]) -> None:
    span = k8s.PortRange(first, last)
    assert all(p in span for p in inside) and not any(p in span for p in outside)


def test_a_named_port_holds_no_number_and_is_within_no_list(k8s: ModuleType) -> None:
    named = k8s.PortRange(name="https")
    assert 443 not in named and 1 not in named and 65535 not in named
    assert not named.within(range(1, 65536))


@pytest.mark.parametrize(("first", "last", "allowed", "within"), [
    (443, 444, [443, 444], True), (443, 444, [444, 443, 80], True), (443, 444, [443], False),
    (443, 444, [444], False), (443, 443, [443], True), (443, 443, [442, 444], False),
    (1, 65535, list(range(1, 65536)), True), (1, 65535, list(range(2, 65536)), False),
    (1, 65535, list(range(1, 65535)), False)])
def test_a_range_is_within_a_list_when_every_port_of_it_is(k8s: ModuleType, first: int, last: int,
                                                           allowed: list[int], within: bool) -> None:
    assert k8s.PortRange(first, last).within(allowed) is within


@pytest.mark.parametrize(("span", "shown"), [((443, 443), "443"), ((6000, 6443), "6000-6443"),
                                             ((1, 65535), "every port"), ((1, 65534), "1-65534"),
                                             ((2, 65535), "2-65535")])
def test_a_range_as_messages_list_it(k8s: ModuleType, span: tuple[int, int], shown: str) -> None:
    assert repr(k8s.PortRange(*span)) == shown
    assert repr(k8s.PortRange()) == "every port" and repr(k8s.PortRange(name="https")) == "'https'"


def test_ints_of_config_numbers(k8s: ModuleType) -> None:
    assert k8s.ints([18789.0, 5432.0]) == [18789, 5432]
    assert k8s.ints(None) == [] and k8s.ints([]) == []


def test_schema_of_a_policy_config(k8s: ModuleType) -> None:
    properties = {"margin": {"type": "number", "minimum": 1, "default": 1.25}}
    made = k8s.schema(properties)
    assert isinstance(made, PolicyConfigSchema) and made.properties == properties
