"""Fixtures of the cluster tests."""

import pytest
from cluster_workers import Worker


@pytest.fixture
def workers(nats_cluster, tmp_path):
    """`workers(name, node)` starts one; all are stopped after the test (their logs printed when it failed)."""
    started: list[Worker] = []

    def start(name: str, node: int = 0) -> Worker:
        w = Worker(nats_cluster, name, node, tmp_path).start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()
        print(f"--- {w.name} ---\n{w.text()[-4000:]}")  # shown when the test failed
