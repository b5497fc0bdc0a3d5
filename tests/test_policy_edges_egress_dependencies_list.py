"""egress-covers-dependencies (policy/egress_dependencies.py) at its edges, in both shapes: the
dependency list itself. Each destination on its own (in-cluster names, addresses, public names, the
endpoints of a Service address), each malformed entry, and how the list the pod mounts is found."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer, load_policy_config
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from engine.records import ResourceRecord
from tests.test_policy import mutate

POLICY = "egress-covers-dependencies"
GW = "Deployment openclaw/openclaw"
KEY = "dependencies.json"
WHY = "the endpoints it declares must be allowed by egress policy"


def judged(analyzer: PolicyAnalyzer, records: list[ResourceRecord]) -> list[str]:
    """The policy's messages, the same in both shapes, each mandatory (a preview stops on an undecidable one
    too) and attached to the gateway it judges (the urn Pulumi shows it under)."""
    verdicts = analyzer.analyze_shapes(records, load_policy_config("dev"))
    preview, up = ([(d.urn, d.message) for d in verdicts[shape] if d.policy == POLICY] for shape in ("preview", "up"))
    assert all(d.level == "mandatory" for shape in verdicts.values() for d in shape if d.policy == POLICY)
    assert sorted(preview) == sorted(up), (preview, up)
    gateways = {r.urn: f"Deployment openclaw/{r.properties['metadata']['name']}" for r in records
                if r.properties.get("kind") == "Deployment"}
    assert all(urn in gateways and gateways[urn] in message for urn, message in up), up
    return sorted(message for _, message in up)


def list_map(records: list[ResourceRecord]) -> ResourceRecord:
    return next(r for r in records if r.properties.get("kind") == "ConfigMap"
                and KEY in (r.properties.get("data") or {}))


def with_list(dev: RunResult, change: Callable[[dict[str, Any]], Any]) -> list[ResourceRecord]:
    """The dev stack with its dependency list (the parsed document) changed."""
    name = list_map(dev.resources).properties["metadata"]["name"]

    def apply(props: dict[str, Any]) -> None:
        doc = json.loads(props["data"][KEY])
        change(doc)
        props["data"][KEY] = json.dumps(doc)
    return mutate(dev, "ConfigMap", name, apply)


def only(*deps: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc.__setitem__("dependencies", list(deps))


def blocked(what: str, host: str, port: int, fix: str, rules: int = 5) -> str:
    return (f"{GW}: {what} is blocked: none of the {rules} egress rules of the policies selecting this pod allows "
            f"{host}:{port}; {fix}")


def undecided(path: str, why: str) -> str:
    return (f"undecidable at preview: {GW} {path} is unknown, and {why}: make the value known in the program, or "
            "apply what it depends on first")


PUBLIC = "public ipBlock (0.0.0.0/0 minus non-public space)"

# (case, host, port, None when allowed, else the fix the message names)
DESTINATIONS: list[tuple[str, str, int, str | None]] = [
    ("service of the allowed namespace", "db.infra-db.svc", 5432, None),
    ("its full name", "db.infra-db.svc.cluster.local", 5432, None),
    ("service of another namespace", "db.other.svc", 5432, "add a namespace peer for 'other' on TCP 5432"),
    ("service on another port", "db.infra-db.svc", 5433, "add a namespace peer for 'infra-db' on TCP 5433"),
    ("two labels ending in svc: a public name", "infra-db.svc", 443, None),
    ("an in-cluster name is not public", "db.other.svc", 443, "add a namespace peer for 'other' on TCP 443"),
    ("the Service address", "10.43.0.1", 443, None),
    ("the next address", "10.43.0.2", 443,
     "add a ipBlock 10.43.0.2/32 (CNIs that judge before DNAT see the Service address) on TCP 443"),
    ("the Service address on another port", "10.43.0.1", 444,
     "add a ipBlock 10.43.0.1/32 (CNIs that judge before DNAT see the Service address) on TCP 444"),
    ("a public address", "8.8.8.8", 443, None),
    ("a public address on another port", "8.8.8.8", 80,
     "add a ipBlock 8.8.8.8/32 (CNIs that judge before DNAT see the Service address) on TCP 80"),
    ("a private address the public rule excepts", "10.1.2.3", 443,
     "add a ipBlock 10.1.2.3/32 (CNIs that judge before DNAT see the Service address) on TCP 443"),
    ("the last address of an excepted block", "172.31.255.255", 443,
     "add a ipBlock 172.31.255.255/32 (CNIs that judge before DNAT see the Service address) on TCP 443"),
    ("the first address past an excepted block", "172.32.0.0", 443, None),
    ("a public name", "example.com", 443, None),
    ("a public name on another port", "example.com", 80, f"add a {PUBLIC} on TCP 80"),
]


@pytest.mark.parametrize(("host", "port", "fix"), [d[1:] for d in DESTINATIONS], ids=[d[0] for d in DESTINATIONS])
def test_each_destination_on_its_own(analyzer: PolicyAnalyzer, dev: RunResult, host: str, port: int,
                                     fix: str | None) -> None:
    records = with_list(dev, only({"name": "dep", "host": host, "port": port}))
    assert judged(analyzer, records) == ([] if fix is None else [blocked("dep", host, port, fix)])


def test_a_port_written_as_text_is_the_number(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = with_list(dev, only({"name": "db", "host": "db.infra-db.svc", "port": "5432"},
                                  {"name": "db2", "host": "db.infra-db.svc", "port": "5433"}))
    assert judged(analyzer, records) == [
        blocked("db2", "db.infra-db.svc", 5433, "add a namespace peer for 'infra-db' on TCP 5433")]


def _api(*endpoints: tuple[str, int], key: str | None = "openclaw:network.apiServerEndpoints") -> dict[str, Any]:
    dep: dict[str, Any] = {"name": "api", "host": "10.43.0.1", "port": 443,
                           "endpoints": [{"host": h, "port": p} for h, p in endpoints]}
    if key is not None:
        dep["endpointsKey"] = key
    return dep


def _endpoint_fix(host: str, port: int, key: str) -> str:
    return (f"add an ipBlock {host}/32 on TCP {port}: kube-proxy translates 10.43.0.1:443 to this endpoint and a "
            "NetworkPolicy enforced after DNAT (k3s: kube-router) judges the endpoint, so a rule for the Service "
            f"address alone lets nothing through ({key})")


def test_each_endpoint_on_its_own(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """The allowed endpoint passes; a second one beside it is judged on its own, after DNAT."""
    assert judged(analyzer, with_list(dev, only(_api(("192.168.10.10", 6443))))) == []
    for endpoints in ([("192.168.10.11", 6443), ("192.168.10.10", 6443)],
                      [("192.168.10.10", 6443), ("192.168.10.11", 6443)]):
        records = with_list(dev, only(_api(*endpoints)))
        assert judged(analyzer, records) == [blocked(
            "api endpoint 192.168.10.11:6443 (after DNAT)", "192.168.10.11", 6443,
            _endpoint_fix("192.168.10.11", 6443, "openclaw:network.apiServerEndpoints"))]


@pytest.mark.parametrize(("key", "named"), [(None, "the dependency's endpoints"), ("", "the dependency's endpoints"),
                                            ("openclaw:x", "openclaw:x")])
def test_the_endpoints_key_the_fix_names(analyzer: PolicyAnalyzer, dev: RunResult, key: str | None,
                                         named: str) -> None:
    records = with_list(dev, only(_api(("192.168.10.10", 6444), key=key)))
    assert judged(analyzer, records) == [blocked(
        "api endpoint 192.168.10.10:6444 (after DNAT)", "192.168.10.10", 6444,
        _endpoint_fix("192.168.10.10", 6444, named))]


NOT_A_LIST = ("ConfigMap '{name}' key dependencies.json is not a dependency list "
              "({{\"dependencies\": [{{\"name\", \"host\", \"port\"}}, ...]}})")
DEP = {"name": "db", "host": "db.infra-db.svc", "port": 5432}

MALFORMED: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("no dependencies key", lambda doc: doc.pop("dependencies")),
    ("no name", only({"host": "db.infra-db.svc", "port": 5432})),
    ("no host", only({"name": "db", "port": 5432})),
    ("no port", only({"name": "db", "host": "db.infra-db.svc"})),
    ("a port that is no number", only({**DEP, "port": "postgres"})),
    ("a list that is not a list", lambda doc: doc.__setitem__("dependencies", 5)),
    ("endpoints empty", only({**DEP, "endpoints": []})),
    ("endpoints not a list", only({**DEP, "endpoints": {"host": "192.168.10.10", "port": 6443}})),
    ("an endpoint without host", only({**DEP, "endpoints": [{"port": 6443}]})),
    ("an endpoint without port", only({**DEP, "endpoints": [{"host": "192.168.10.10"}]})),
    ("an endpoint port that is no number", only({**DEP, "endpoints": [{"host": "192.168.10.10", "port": "x"}]})),
]


@pytest.mark.parametrize("change", [m[1] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_list_is_named_under_the_gateway(analyzer: PolicyAnalyzer, dev: RunResult,
                                                     change: Callable[[dict[str, Any]], Any]) -> None:
    records = with_list(dev, change)
    name = list_map(records).properties["metadata"]["name"]
    message = f"{GW}: {NOT_A_LIST.format(name=name)}"
    assert judged(analyzer, records) == [message]


def test_a_list_that_is_not_json(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    name = list_map(dev.resources).properties["metadata"]["name"]
    records = mutate(dev, "ConfigMap", name, lambda p: p["data"].__setitem__(KEY, "{not json"))
    assert judged(analyzer, records) == [f"{GW}: {NOT_A_LIST.format(name=name)}"]


def test_an_empty_list_declares_nothing_to_check(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """No destination: not even DNS is needed (the DNS rule taken away reports nothing)."""
    records = with_list(dev, only())
    no_dns = mutate(dataclasses.replace(dev, resources=records), "NetworkPolicy", "openclaw-allow-dns",
                    lambda p: p["spec"]["egress"][0].__setitem__("ports", [{"port": 54}]))
    assert judged(analyzer, no_dns) == []


NO_LIST = (f"{GW}: mounts openclaw.json but no dependency list (a ConfigMap with key dependencies.json, rendered by "
           "components/dependencies.py): egress cannot be checked")


def _map_change(dev: RunResult, change: Callable[[dict[str, Any]], Any]) -> list[ResourceRecord]:
    return mutate(dev, "ConfigMap", list_map(dev.resources).properties["metadata"]["name"], change)


@pytest.mark.parametrize(("case", "change"), [
    ("in another namespace", lambda p: p["metadata"].__setitem__("namespace", "other")),
    ("another name than the mounted one", lambda p: p["metadata"].__setitem__("name", "other")),
    ("without the key", lambda p: p["data"].__setitem__("other.json", p["data"].pop(KEY))),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_list_the_pod_does_not_mount_is_no_list(analyzer: PolicyAnalyzer, dev: RunResult, case: str,
                                                  change: Callable[[dict[str, Any]], Any]) -> None:
    assert judged(analyzer, _map_change(dev, change)) == [NO_LIST]


def test_the_volume_that_mounts_the_list_is_needed(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    name = list_map(dev.resources).properties["metadata"]["name"]

    def unmount(props: dict[str, Any]) -> None:
        pod = props["spec"]["template"]["spec"]
        pod["volumes"] = [v for v in pod["volumes"] if v.get("configMap", {}).get("name") != name]

    assert judged(analyzer, mutate(dev, "Deployment", "openclaw", unmount)) == [NO_LIST]


@pytest.mark.parametrize(("case", "change", "path"), [
    ("namespace", lambda p: p["metadata"].__setitem__("namespace", UNKNOWN), "metadata.namespace"),
    ("name", lambda p: p["metadata"].__setitem__("name", UNKNOWN), "metadata.name"),
    ("both: the namespace is named", lambda p: p["metadata"].update(namespace=UNKNOWN, name=UNKNOWN),
     "metadata.namespace"),
    ("data", lambda p: p.__setitem__("data", UNKNOWN), "data"),
    ("the list", lambda p: p["data"].__setitem__(KEY, UNKNOWN), f"data.{KEY}"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_each_unknown_of_the_list(analyzer: PolicyAnalyzer, dev: RunResult, case: str,
                                  change: Callable[[dict[str, Any]], Any], path: str) -> None:
    records = _map_change(dev, change)
    known = list_map(dev.resources)
    # unknown data may hold an openclaw.json too: the gateway reader (policy/cross_resource.py) says so, once
    # for each ConfigMap volume of the pod that holds none
    config = ({f"undecidable at preview: ConfigMap openclaw/{known.properties['metadata']['name']} data is unknown, "
               f"and it decides whether {GW} mounts it, and {WHY}: make the value known in the program, or apply "
               "what it depends on first"} if case == "data" else set())
    assert set(judged(analyzer, records)) == {
        *config, undecided(path, f"it decides which dependency list the pod mounts, and {WHY}")}
    # a known list the pod mounts, beside it, decides
    both = [*records, dataclasses.replace(known, name=f"{known.name}-known", urn=f"{known.urn}-known")]
    assert set(judged(analyzer, both)) == config


@pytest.mark.parametrize(("case", "field"), [("the volume", ()), ("its ConfigMap name", ("configMap", "name"))])
def test_an_unknown_volume_of_the_pod_decides_the_list(analyzer: PolicyAnalyzer, dev: RunResult, case: str,
                                                       field: tuple[str, ...]) -> None:
    """Any volume may be the list (the one that mounts it, here): undecidable, and nothing judged against a list
    that may be another (DNS taken away reports nothing more)."""
    name = list_map(dev.resources).properties["metadata"]["name"]
    gateway = next(r for r in dev.resources if r.properties.get("kind") == "Deployment")
    index = next(i for i, v in enumerate(gateway.properties["spec"]["template"]["spec"]["volumes"])
                 if v.get("configMap", {}).get("name") == name)

    def change(props: dict[str, Any]) -> None:
        volumes = props["spec"]["template"]["spec"]["volumes"]
        if field:
            volumes[index]["configMap"]["name"] = UNKNOWN
        else:
            volumes[index] = UNKNOWN

    records = mutate(dev, "Deployment", "openclaw", change)
    records = mutate(dataclasses.replace(dev, resources=records), "NetworkPolicy", "openclaw-allow-dns",
                     lambda p: p["spec"]["egress"][0].__setitem__("ports", [{"port": 54}]))
    path = ".".join((f"spec.template.spec.volumes[{index}]", *field))
    assert judged(analyzer, records) == [
        undecided(path, f"it decides whether this workload mounts an openclaw.json, and {WHY}"),
        undecided(path, f"it decides which dependency list is mounted, and {WHY}")]

