"""The List calls answer from the server's mirror of etcd, and still read every write
committed before them: a scale, a delete or a drain shows in the very next `get`. Their
answers are what etcd holds, in etcd's key order, and `get nodes` adds up what the
tasks on each node reserve without listing every task.

A real server with its embedded etcd; an agent is the real `Session` with a stand-in
runner (no Docker)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import grpc
import pytest

from dockyard.agent.session import Session, StatusBatch
from dockyard.client.compose import load_app
from dockyard.client.control import load_credentials
from dockyard.common import taskrows
from dockyard.controlplane.api import tasklist
from dockyard.v1 import control_pb2, control_pb2_grpc, objects_pb2, specs_pb2
from tests.integration.harness import ServerProcess, run_cli
from tests.integration.test_security import FakeRunner, stop, token_of

pytestmark = pytest.mark.integration

APP = """
name: {name}
services:
  web:
    image: busybox
    deploy:
      replicas: {replicas}
      resources:
        reservations: {{cpus: "0.25", memory: 16M}}
"""


def spec(name: str, replicas: int) -> specs_pb2.AppSpec:
    text = APP.format(name=name, replicas=replicas)
    return load_app(text, read_file=lambda _p: b"", default_name=name).spec


async def control(server: ServerProcess) -> tuple[grpc.aio.Channel, Any]:
    cert, key, ca = load_credentials(server.credentials)
    channel = grpc.aio.secure_channel(
        server.address, grpc.ssl_channel_credentials(ca, key, cert),
        options=[("grpc.ssl_target_name_override", "dockyard-server")])
    return channel, control_pb2_grpc.ControlStub(channel)


def etcd_count(server: ServerProcess, prefix: str) -> int:
    out = subprocess.run([sys.executable, "-m", "tests.integration.etcd_read",
                          str(server.data_dir), str(server.etcd_port), prefix],
                         capture_output=True, text=True, timeout=60, check=True)
    return int(json.loads(out.stdout)[0])


def test_every_get_sees_the_write_just_before_it(server: ServerProcess) -> None:
    async def scenario() -> None:
        channel, stub = await control(server)
        async with channel:
            everything = control_pb2.ListRequest()
            for name in ("shop", "shop-b", "shopa"):
                await stub.Apply(control_pb2.ApplyRequest(spec=spec(name, 1)), timeout=30)
            for replicas in range(2, 12):
                await stub.Scale(control_pb2.ScaleRequest(app="shop", service="web",
                                                          replicas=replicas), timeout=30)
                services = await stub.ListServices(control_pb2.ListRequest(app="shop"),
                                                   timeout=30)
                assert [s.spec.replicas for s in services.services] == [replicas]
                apps = await stub.ListApps(everything, timeout=30)
                mine = [s.spec.replicas for s in apps.services if s.app == "shop"]
                assert mine == [replicas]
            await stub.DeleteApp(control_pb2.DeleteAppRequest(name="shopa"), timeout=30)
            apps = await stub.ListApps(everything, timeout=30)
            assert [a.meta.id for a in apps.apps] == ["shop", "shop-b"]  # etcd's key order
            # The leader creates and removes the tasks; once it is done, the answer is
            # what etcd holds.
            tasks: list[objects_pb2.Task] = []
            for _ in range(200):
                tasks = list((await stub.ListTasks(everything, timeout=30)).tasks)
                apps = [t.app for t in tasks]
                if apps.count("shop") == 11 and apps.count("shop-b") == 1 and len(apps) == 12:
                    break
                await asyncio.sleep(0.1)
            keys = [f"{t.app}/{t.meta.id}" for t in tasks]
            assert keys == sorted(keys)
            assert {t.app for t in tasks} == {"shop", "shop-b"}
            assert all(t.meta.version > 0 for t in tasks)
            only = (await stub.ListTasks(control_pb2.ListRequest(app="shop-b"), timeout=30)).tasks
            assert [t.meta.id for t in only] == [t.meta.id for t in tasks if t.app == "shop-b"]
            # A brief list (`get tasks`) is the same tasks with only what the rows show.
            brief = control_pb2.ListRequest(brief=True)
            for _ in range(20):  # the leader may rewrite why a task waits in between
                whole = list((await stub.ListTasks(everything, timeout=30)).tasks)
                short = list((await stub.ListTasks(brief, timeout=30)).tasks)
                if short == [tasklist.brief(t) for t in whole]:
                    break
            assert short == [tasklist.brief(t) for t in whole]
            assert [t.meta.id for t in short] == [t.meta.id for t in tasks]
            assert not any(t.HasField("spec") for t in short)
            # `get tasks -o json` gets its text: what the CLI made of the whole tasks.
            as_json = control_pb2.ListRequest(json_rows=True)
            for _ in range(20):
                whole = list((await stub.ListTasks(everything, timeout=30)).tasks)
                text = (await stub.ListTasks(as_json, timeout=30)).json_rows
                if text == taskrows.tasks_text(whole):
                    break
            assert text == taskrows.tasks_text(whole)
            assert [r["id"] for r in json.loads(text)] == [
                t.meta.id for t in sorted(tasks, key=taskrows.sort_key)]
            out = (await asyncio.to_thread(run_cli, server, "get", "tasks", "-o", "json")).stdout
            printed = json.loads(out)
            assert out == json.dumps(printed, indent=2, sort_keys=True) + "\n"
            assert [r["id"] for r in printed] == [r["id"] for r in json.loads(text)]
        total = await asyncio.to_thread(etcd_count, server, "/dockyard/tasks/")
        assert total == len(tasks) == 12

    asyncio.run(scenario())


def test_get_nodes_adds_up_the_reservations_of_each_nodes_tasks(server: ServerProcess) -> None:
    async def scenario() -> None:
        desc = objects_pb2.NodeDescription(
            name="n1", address="127.0.0.1",
            capacity=specs_pb2.Resources(cpu_millis=8000, memory_bytes=8 << 30))
        agent = Session(addresses=[server.address], token=token_of(server), description=desc,
                        runner=FakeRunner(), batch=StatusBatch())  # type: ignore[arg-type]
        running = asyncio.create_task(agent.run_forever())
        try:
            channel, stub = await control(server)
            async with channel:
                await stub.Apply(control_pb2.ApplyRequest(spec=spec("shop", 6)), timeout=30)
                placed = 0
                for _ in range(100):
                    tasks = (await stub.ListTasks(control_pb2.ListRequest(), timeout=30)).tasks
                    placed = sum(1 for t in tasks if t.node == "n1")
                    if placed == 6:
                        break
                    await asyncio.sleep(0.1)
                assert placed == 6
                nodes = await stub.ListNodes(control_pb2.ListRequest(), timeout=30)
                assert dict(nodes.allocated)["n1"] == specs_pb2.Resources(
                    cpu_millis=6 * 250, memory_bytes=6 * 16 * 2**20)
            out = await asyncio.to_thread(run_cli, server, "get", "nodes", "-o", "json")
            [row] = json.loads(out.stdout)
            assert (row["name"], row["allocated_cpu_millis"], row["allocated_memory_bytes"]) == (
                "n1", 1500, 6 * 16 * 2**20)
        finally:
            await stop(running)

    asyncio.run(scenario())
