import re
import shutil
import subprocess
from pathlib import Path

import pytest
from executables import EEGD

UNITS = Path(__file__).resolve().parents[2] / "systemd"

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


def local_copy(tmp_path, name, instance=None):
    """The unit with ExecStart pointing at this checkout's eegd (verify checks the binary exists)."""
    text = (UNITS / name).read_text().replace("/opt/eegd/bin/eegd", EEGD)
    out = tmp_path / (name.replace("@", f"@{instance}") if instance else name)
    out.write_text(text)
    return out


@pytest.mark.parametrize(("name", "instance"), [("eegd.service", None), ("eegd-replay@.service", "bed1"),
                                              ("eegd-worker@.service", "1")])
def test_units_pass_systemd_analyze_verify(tmp_path, name, instance):
    res = subprocess.run(["systemd-analyze", "verify", str(local_copy(tmp_path, name, instance))],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "eegd" not in res.stderr, res.stderr  # no warnings about our units


def test_daemon_unit_is_notify_with_watchdog_and_dynamic_user():
    text = (UNITS / "eegd.service").read_text()
    for line in ("Type=notify", "Restart=on-failure", "DynamicUser=yes", "WatchdogSec=30s",
                 "ExecStart=/opt/eegd/bin/eegd run --config /etc/eegd/eegd.toml"):
        assert line in text.splitlines()


def test_daemon_unit_security_exposure_is_at_most_2_5(tmp_path):
    res = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(local_copy(tmp_path, "eegd.service"))],
                         capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for eegd\.service: ([0-9.]+)", res.stdout)
    if m is None:
        pytest.skip(f"this systemd-analyze cannot rate a unit offline: {res.stderr.strip()[:200]}")
    assert float(m.group(1)) <= 2.5


def test_the_example_nats_node_config_maps_raw_subjects_as_the_workers_expect(tmp_path):
    """The example node config holds the mapping `[ingest] partitions = 64` checks for, and 3 replicas for the
    MQTT listener's streams."""
    from eegd.daemon.cluster.jetstream_api import raw_mapping

    text = (UNITS / "nats-eegd.conf.example").read_text()
    assert raw_mapping("eegd", 64) in text
    assert "stream_replicas: 3" in text
