import json
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.broker import LocalMosquitto

EEGD = str(Path(sys.executable).parent / "eegd")
KEYS = ("model_windows_per_s", "naive_windows_per_s", "pipeline_windows_per_s", "max_realtime_streams",
        "latency_ms_p50", "latency_ms_p99", "rss_mb", "cpu_percent")


def test_bench_smoke_writes_every_key_positive(tmp_path):
    """A small smoke of `eegd bench` (the real benchmark is `make bench`): keys there and positive."""
    if not LocalMosquitto.available():
        pytest.skip("mosquitto is not installed")
    out = tmp_path / "bench.json"
    res = subprocess.run([EEGD, "bench", "--streams", "3", "--seconds", "3", "--ramp", "2", "--device", "cpu",
                          "--json", str(out)], capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-2000:]
    r = json.loads(out.read_text())
    for k in KEYS:
        assert r[k] > 0, k
    assert r["device"] == "cpu"
    assert "max real-time streams" in res.stdout
