import subprocess
import time

import numpy as np
from edf_files import Signal, write_edf
from executables import EEGD

RATE = 256


def test_an_edf_replayed_over_mqtt_publishes_the_contracts_raw_chunks_in_order(mosquitto, subscriber, tmp_path):
    rng = np.random.default_rng(4)
    x = np.round(rng.uniform(-200, 200, (RATE * 4, 2)) * 10) / 10
    path = write_edf(tmp_path / "home7.edf", [Signal("Fp1", RATE, x[:, 0]), Signal("Fp2", RATE, x[:, 1]),
                                              Signal("ECG", RATE, x[:, 0] / 1000, unit="mV", physical=3.2767)])
    done = subprocess.run([EEGD, "replay", str(path), "--mqtt", f"{mosquitto.host}:{mosquitto.port}", "--speed",
                           "8"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    subscriber.wait_for(lambda s: sum(len(m["samples"]) for m in s.on("eegd/home7/raw")) >= len(x), 10)
    raw = subscriber.on("eegd/home7/raw")
    assert [m["seq"] for m in raw] == list(range(len(raw))) and len(raw) > 5
    assert all(m["schema"] == 1 and m["rate"] == RATE and m["channels"] == ["Fp1", "Fp2"] for m in raw)
    np.testing.assert_allclose(np.concatenate([m["samples"] for m in raw]), x, atol=1e-3)  # EEG only, in µV
    # t0: the file's own timeline (steps of samples / rate), anchored at the wall clock of the start
    t0 = np.array([m["t0"] for m in raw])
    n = np.cumsum([0] + [len(m["samples"]) for m in raw[:-1]])
    np.testing.assert_allclose(t0 - t0[0], n / RATE, atol=1e-6)
    assert abs(t0[0] - time.time()) < 120


def test_replay_mqtt_refuses_a_bad_target_or_file_in_one_line(mosquitto, tmp_path):
    junk = tmp_path / "junk.edf"
    junk.write_text("nope" * 100)
    for args, what in (([str(junk), "--mqtt", f"127.0.0.1:{mosquitto.port}"], "junk.edf: not an EDF/BDF file"),
                       ([str(junk), "--mqtt", "nohostport"], "--mqtt: expected HOST:PORT"),
                       ([str(junk), "--mqtt", f"127.0.0.1:{mosquitto.port}", "--stream", "a b"], "--stream")):
        done = subprocess.run([EEGD, "replay", *args], capture_output=True, text=True, timeout=30)
        assert done.returncode == 2 and what in done.stderr and len(done.stderr.strip().splitlines()) == 1
