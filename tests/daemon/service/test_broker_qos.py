import logging
import subprocess
from pathlib import Path

import pytest
from executables import EEGD
from mqtt_collector import Collector

from eegd.daemon.commands.broker import LocalMosquitto
from eegd.eegstream.sources.mqtt_raw import RawSubscription
from eegd.eegstream.sources.simulator import write_continuous_csv


@pytest.fixture
def limited_broker():
    """A real Mosquitto whose listener grants at most the QoS asked for (`max_qos`)."""
    if not LocalMosquitto.available():
        pytest.skip("mosquitto is not installed (Debian package mosquitto)")
    started = []

    def start(max_qos: int) -> LocalMosquitto:
        started.append(LocalMosquitto(extra_conf=f"allow_anonymous true\nmax_qos {max_qos}\n").start())
        return started[-1]

    yield start
    for broker in started:
        broker.close()


def run_eegd(broker: LocalMosquitto, tmp_path: Path, prediction_qos: int) -> subprocess.CompletedProcess:
    csv = write_continuous_csv(tmp_path / "qos.csv", [("normal", 3)], seed=1)
    conf = tmp_path / "eegd.toml"
    conf.write_text(f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\nprediction_qos = {prediction_qos}\n'
                    f'[[stream]]\nsource = "csv"\npath = "{csv}"\nspeed = 0\n')
    return subprocess.run([EEGD, "run", "--config", str(conf)], capture_output=True, text=True, timeout=120)


def test_a_broker_granting_qos_0_only_stops_the_start_with_one_line_naming_it(limited_broker, tmp_path):
    broker = limited_broker(0)
    done = run_eegd(broker, tmp_path, 0)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert f"the broker at {broker.host}:{broker.port} grants QoS 0 only" in last and "max_qos" in last


def test_predictions_above_the_brokers_qos_go_at_its_qos_and_the_start_says_so(limited_broker, tmp_path):
    broker = limited_broker(1)
    everything = Collector(broker.host, broker.port)
    try:
        done = run_eegd(broker, tmp_path, 2)
        assert done.returncode == 0, done.stderr
        everything.wait_for(lambda s: s.status() == "offline", 10)
    finally:
        everything.close()
    said = [line for line in done.stderr.splitlines() if "grants QoS 1 at most" in line]
    assert len(said) == 1 and "mqtt.prediction_qos = 2" in said[0]
    assert len(everything.on("qos/prediction")) > 5  # every window still published, at QoS 1
    assert everything.on("qos/alert")


def test_raw_subscriptions_refused_or_downgraded_are_said_once_per_episode(caplog):
    raw = RawSubscription(lambda: None, "eegd")
    topics = ["eegd/a/raw", "eegd/b/raw", "eegd/c/raw"]
    caplog.set_level(logging.WARNING)
    raw._check_granted(topics, [1, 0x80, 0])
    raw._check_granted(topics, [1, 0x80, 0])  # the same on a reconnect: not said again
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "refused 1 of 3 raw subscriptions (first eegd/b/raw)" in lines[0]
    assert "QoS 0 only on 1 of 3 raw topics (first eegd/c/raw)" in lines[1]
    raw._check_granted(topics, [1, 1, 1])
    raw._check_granted(topics, [0x80, 1, 1])  # a new episode
    assert len(caplog.records) == 3
