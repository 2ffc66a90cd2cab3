"""Isolation and the routing mesh: the server's table, the agent's rule text, admission
of mesh ports, and which ports a task takes on its node. All pure."""

from __future__ import annotations

from dockyard.agent.network import firewall, policy
from dockyard.agent.network.policy import Members, MeshPort, Policy
from dockyard.common.spec.ports import node_ports
from dockyard.controlplane import admission
from dockyard.controlplane.network.policy import network_table
from dockyard.v1 import objects_pb2, specs_pb2
from tests.unit.controlplane.builders import service, spec, status, task, view_of


def _port(host: int, target: int, mode: str = "ingress") -> specs_pb2.PortMapping:
    return specs_pb2.PortMapping(container_port=target, host_port=host, protocol="tcp",
                                 mode=mode)


def _view():  # type: ignore[no-untyped-def]
    web = spec("web")
    web.ports.append(_port(8080, 80))
    web.networks.extend(["front"])
    api = spec("api")
    api.networks.extend(["front", "back"])
    db = spec("db")
    db.networks.extend(["back"])
    other = spec("web")
    svcs = [service("shop", web), service("shop", api), service("shop", db),
            service("blog", other)]
    tasks, statuses = [], {}
    for i, (svc, addr, state) in enumerate([
        (svcs[0], "10.214.1.2", objects_pb2.RUNNING),
        (svcs[0], "10.214.2.2", objects_pb2.STARTING),
        (svcs[1], "10.214.1.3", objects_pb2.RUNNING),
        (svcs[2], "10.214.2.3", objects_pb2.RUNNING),
        (svcs[3], "10.214.1.4", objects_pb2.RUNNING),
    ]):
        t = task(svc, i + 1, tid=f"t{i}")
        tasks.append(t)
        st = status(state)
        st.address = addr
        statuses[t.meta.id] = st
    return view_of(services=svcs, tasks=tasks, statuses=statuses)


def test_table_has_every_app_network_and_ready_mesh_backends() -> None:
    table = network_table(_view())
    members = {(m.app, m.network): list(m.addresses) for m in table.members}
    assert members == {
        ("blog", "default"): ["10.214.1.4"],
        ("shop", "back"): ["10.214.1.3", "10.214.2.3"],
        ("shop", "front"): ["10.214.1.2", "10.214.1.3", "10.214.2.2"],
    }
    assert [(p.app, p.service, p.port, p.target_port, list(p.backends))
            for p in table.ingress] == [("shop", "web", 8080, 80, ["10.214.1.2"])]


def _policy(subnet: str = "10.214.3.0/24", backends: tuple[str, ...] = ("10.214.1.2",
                                                                        "10.214.2.2")
            ) -> Policy:
    return Policy(
        cluster_cidr="10.214.0.0/16", gateway="10.214.3.1", subnet=subnet,
        node_gateways=("10.214.1.1", "10.214.2.1", "10.214.3.1"),
        members=(Members("shop", "front", ("10.214.1.2",)),
                 Members("blog", "default", ("10.214.2.9",))),
        mesh=(MeshPort(8080, "tcp", 80, backends),),
    )


def test_forward_chain_accepts_only_shared_networks_then_drops() -> None:
    rules = policy.forward_rules(_policy())
    front = policy.set_name("shop", "front")
    assert rules[0].endswith("--ctstate DNAT -j ACCEPT")  # the mesh, before isolation
    assert f"-m set --match-set {front} src -m set --match-set {front} dst -j ACCEPT" in \
        " ".join(rules)
    assert rules[-1] == "-A DOCKYARD-FORWARD -j DROP"
    assert policy.set_name("shop", "front") != policy.set_name("blog", "front")
    assert len(policy.set_name("a" * 60, "b" * 60)) <= 31


def test_mesh_spreads_over_all_backends_from_a_node_without_one() -> None:
    rules = policy.mesh_rules(_policy())
    assert rules[0].endswith("--dport 8080 -j MARK --set-xmark " + policy.MESH_MARK)
    assert "--probability 0.50000000 -j DNAT --to-destination 10.214.1.2:80" in rules[1]
    assert rules[2].endswith("--dport 8080 -j DNAT --to-destination 10.214.2.2:80")


def test_mesh_prefers_the_nodes_own_task() -> None:
    rules = policy.mesh_rules(_policy(subnet="10.214.2.0/24"))
    assert [r.split()[-1] for r in rules[1:]] == ["10.214.2.2:80"]
    assert policy.mesh_rules(_policy(backends=())) == []


def test_sets_swap_in_whole_and_stale_ones_go() -> None:
    p = _policy()
    script = policy.ipset_script(p)
    assert "create dy-nodes hash:ip -exist" in script
    assert f"swap {policy.set_name('shop', 'front')}-n {policy.set_name('shop', 'front')}" \
        in script
    assert policy.stale_sets(["dy-nodes", "dy-gone", "other"], p) == ["dy-gone"]
    text = policy.chains_script(p)
    assert text.startswith("*nat\n:DOCKYARD-MESH - [0:0]") and text.count("COMMIT") == 2


def test_jumps_are_tagged_one_per_chain() -> None:
    jumps = firewall.wanted()
    assert [(t, c) for t, c, _ in jumps] == list(firewall.CHAINS)
    assert all(firewall.COMMENT in r for _, _, r in jumps)


def test_mesh_ports_clash_across_apps() -> None:
    web = spec("web")
    web.ports.append(_port(8080, 80))
    stored = [service("blog", web)]
    mine = spec("site")
    mine.ports.append(_port(8080, 8000, mode="host"))
    new = specs_pb2.AppSpec(name="shop", services=[mine])
    assert admission.admit(new, [], services=stored) == (
        'service "site": port 8080/tcp is already published by blog/web, and the routing '
        "mesh answers it on every node")
    new.services[0].ports[0].host_port = 8081
    assert admission.admit(new, [], services=stored) is None
    assert admission.admit(specs_pb2.AppSpec(name="blog", services=[web]), [],
                           services=stored) is None  # the same app, re-applied


def test_ports_a_task_takes_on_its_node() -> None:
    s = spec("web")
    s.ports.extend([_port(8080, 80), _port(9090, 90, mode="host"), _port(7070, 70, mode="")])
    assert node_ports(s) == {9090, 7070}
    s.network_mode = "host"
    s.expose.append("53/udp")
    assert node_ports(s) == {80, 90, 70, 53}  # the container listens on the node itself


def test_tables_follow_changes_and_move_their_epoch_only_when_they_change() -> None:
    from dockyard.controlplane.network.policy import NetworkTables
    from dockyard.controlplane.view import Touched

    view = _view()
    tables = NetworkTables()
    assert tables.reset(view) and tables.epoch == 1
    assert tables.table == network_table(view)
    assert not tables.update(view, Touched(kinds={"status"}, tasks={"t0"}))  # nothing new
    view.statuses["t0"].state = objects_pb2.FAILED  # web's ready task ends
    assert tables.update(view, Touched(kinds={"status"}, tasks={"t0"}))
    assert tables.epoch == 2 and tables.table == network_table(view)
    assert list(tables.table.ingress[0].backends) == []
