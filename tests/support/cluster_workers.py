"""Cluster workers as real `eegd run` processes against a test's NATS cluster, and stream ids that land on each."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from executables import EEGD

from eegd.daemon.cluster.ingest import owner_of
from eegd.daemon.cluster.jetstream_api import partition_of


class Worker:
    """`eegd run` with `[ingest]` (worker `name`), publishing to node `node`'s MQTT listener (the next node's when
    that one is away); its log in `log`."""

    def __init__(self, cluster, name: str, node: int, folder: Path) -> None:
        self.name, self.cluster, self.node = name, cluster, node
        self.conf = folder / f"{name}.toml"
        # predictions at QoS 1: at QoS 0, those handed to a node that then dies are lost, their samples acknowledged
        self.conf.write_text(cluster.worker_config(name, node, "prediction_qos = 1\n"))
        self.log = folder / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        self.proc = subprocess.Popen([EEGD, "run", "--config", str(self.conf)], stderr=self.log.open("ab"),
                                     stdout=subprocess.DEVNULL)
        return self

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()

    def text(self) -> str:
        return self.log.read_text(errors="replace")



def streams_owned(names: list[str], workers: list[str], partitions: int, each: int) -> dict[str, list[str]]:
    """`each` stream ids per worker that the workers' rendezvous gives to it."""
    out: dict[str, list[str]] = {w: [] for w in names}
    i = 0
    while any(len(v) < each for v in out.values()):
        sid = f"home{i}"
        w = owner_of(partition_of(sid, partitions), workers)
        if w in out and len(out[w]) < each:
            out[w].append(sid)
        i += 1
    return out
