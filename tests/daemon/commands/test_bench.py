import json
import subprocess

import pytest
from executables import EEGD

from eegd.daemon.commands.broker import LocalMosquitto

KEYS = ("model_windows_per_s", "naive_windows_per_s", "max_realtime_streams",
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
    # a run this short may deliver every prediction in one burst: then it says so instead of a rate
    pipeline = r["pipeline_windows_per_s"]
    assert 0 < pipeline < 1e7 or (pipeline == 0 and "not timed (too short)" in res.stdout), pipeline
    assert r["device"] == "cpu"
    assert "max real-time streams" in res.stdout


@pytest.mark.parametrize(("options", "message"), [
    (["--seconds", "2"], "--seconds must be at least 3, not 2"),
    (["--ramp", "10,x"], "--ramp must be stream counts separated by commas, not '10,x'"),
    (["--streams", "0"], "--streams and every --ramp count must be at least 1"),
])
def test_bench_refuses_runs_it_could_not_time_with_one_line(options, message, capsys):
    from eegd.daemon.cli import main

    assert main(["bench", "--device", "cpu", *options]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_a_real_time_run_without_a_measured_latency_is_not_called_ok():
    from eegd.daemon.commands.bench import PipelineRun

    run = PipelineRun(streams=10, seconds=3, windows_expected=80, windows_received=80)
    assert not run.ok  # everything arrived, but inside the warm-up: p99 unknown, not 0 ms
    run.latencies, run.latency_ms_p99 = 80, 12.0
    assert run.ok
