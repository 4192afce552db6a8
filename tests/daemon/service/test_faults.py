import asyncio
import os
import signal
import subprocess

import pytest
import torch
from executables import EEGD
from mqtt_collector import Collector
from service_harness import make_config, running

from eegd.daemon.commands.broker import LocalMosquitto
from eegd.daemon.service.alert_state import AlertState
from eegd.daemon.service.config import parse
from eegd.daemon.service.messages import Outgoing
from eegd.daemon.service.mqtt_publisher import MqttPublisher
from eegd.eegstream.formats.csv import read_continuous
from eegd.eegstream.sources.simulator import write_continuous_csv
from eegd.eegstream.windowing import recording_windows


def expected_alerts(classifier, path, hop=30):
    offline = classifier.predict_proba(recording_windows(read_continuous(path), hop))
    state, out = AlertState(3, 5), []
    for k in offline.argmax(1):
        change = state.update(classifier.labels[k], 0.0)
        if change:
            out.append(change.state)
    return out


def dedupe(states):
    return [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]


async def test_every_alert_is_delivered_across_a_broker_restart(tmp_path, classifier):
    if not LocalMosquitto.available():
        pytest.skip("mosquitto is not installed")
    path = write_continuous_csv(tmp_path / "ward.csv", [("normal", 6), ("seizure", 6)] * 2 + [("normal", 6)], seed=3)
    broker = LocalMosquitto(persist=True).start()
    sub = Collector(broker.host, broker.port, persistent=True)
    try:
        cfg = make_config(broker, [{"source": "csv", "path": str(path), "speed": 5}], tmp_path)
        async with running(cfg, classifier) as (svc, task):
            await asyncio.sleep(1.5)
            broker.stop()  # the broker goes away mid-stream
            await asyncio.sleep(2.0)
            assert not svc.publisher.connected.is_set()
            broker.start()  # and comes back on the same port
            await asyncio.wait_for(asyncio.shield(task), 30)
        sub.wait_for(lambda s: s.status() == "offline", 15)
        want = expected_alerts(classifier, path)
        assert want == ["normal", "seizure", "normal", "seizure", "normal"]
        assert dedupe([a["state"] for a in sub.on("ward/alert")]) == want
        assert svc.publisher.connects >= 2
    finally:
        sub.close()
        broker.close()


def _run_looping(mosquitto, tmp_path, stream: str) -> subprocess.Popen:
    """`eegd run` playing one CSV stream (id `stream`) in a loop at twice real time, its stderr kept."""
    path = write_continuous_csv(tmp_path / f"{stream}.csv", [("normal", 10)], seed=4)
    conf = tmp_path / "eegd.toml"
    conf.write_text(f'[mqtt]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n'
                    f'[[stream]]\nsource = "csv"\npath = "{path.name}"\nspeed = 2.0\nloop = true\n')
    return subprocess.Popen([EEGD, "run", "--config", str(conf)], stderr=subprocess.PIPE, text=True)


def test_sighup_is_logged_and_the_daemon_goes_on(mosquitto, subscriber, tmp_path):
    proc = _run_looping(mosquitto, tmp_path, "hup")
    try:
        subscriber.wait_for(lambda s: len(s.on("hup/prediction")) >= 5, 30)
        proc.send_signal(signal.SIGHUP)
        seen = len(subscriber.on("hup/prediction"))
        subscriber.wait_for(lambda s: len(s.on("hup/prediction")) >= seen + 10, 15)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        proc.kill()
    assert "received SIGHUP: ignored" in proc.stderr.read()
    seqs = [p["seq"] for p in subscriber.on("hup/prediction")]
    assert seqs == list(range(len(seqs)))  # nothing skipped across the hang-up


def test_sigterm_drains_publishes_and_goes_offline(mosquitto, subscriber, tmp_path):
    proc = _run_looping(mosquitto, tmp_path, "loop")
    try:
        subscriber.wait_for(lambda s: len(s.on("loop/prediction")) >= 10, 30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        proc.kill()
    err = proc.stderr.read()
    assert "received SIGTERM" in err and "Traceback" not in err
    subscriber.wait_for(lambda s: s.status() == "offline", 5)
    seqs = [p["seq"] for p in subscriber.on("loop/prediction")]
    assert seqs == list(range(len(seqs)))


def test_killed_daemon_leaves_offline_status_by_last_will(mosquitto, subscriber, tmp_path):
    path = write_continuous_csv(tmp_path / "k.csv", [("normal", 10)], seed=4)
    conf = tmp_path / "eegd.toml"
    conf.write_text(f'[mqtt]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n'
                    f'[[stream]]\nsource = "csv"\npath = "{path}"\nloop = true\n')
    proc = subprocess.Popen([EEGD, "run", "--config", str(conf)], stderr=subprocess.DEVNULL)
    try:
        subscriber.wait_for(lambda s: any(p["state"] == "online" for p in s.on("eegd/status")), 30)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        subscriber.wait_for(lambda s: s.on("eegd/status")[-1] == {"schema": 1, "state": "offline"}, 10)
    finally:
        proc.kill()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[mqtt]\nprot = 1\n[[stream]]\nsource="lsl"\nname="x"\n', "mqtt.prot: unknown key"),
        ('[[stream]]\nsource="csv"\npath="gone.csv"\n', "stream[0].path: no such file"),
        ('[model]\npath="nope.safetensors"\n[[stream]]\nsource="lsl"\nname="x"\n', "model.path: no such file"),
        pytest.param('[model]\ndevice="cuda"\n[[stream]]\nsource="lsl"\nname="x"\n',
                     "model.device: device 'cuda' requested but no CUDA GPU is available",
                     marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this host has a GPU")),
    ],
)
def test_bad_config_exits_2_with_one_line_naming_the_key(tmp_path, toml, message):
    conf = tmp_path / "eegd.toml"
    conf.write_text(toml)
    res = subprocess.run([EEGD, "run", "--config", str(conf)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1


async def test_csv_malformed_half_way_ends_that_stream_only(mosquitto, subscriber, tmp_path, classifier, caplog):
    good = write_continuous_csv(tmp_path / "good.csv", [("normal", 6)], seed=1)
    bad = tmp_path / "bad.csv"
    rows = good.read_text().splitlines()
    bad.write_text("\n".join(rows[:400] + ["1.0,abc,normal"] + rows[400:]) + "\n")
    cfg = make_config(mosquitto, [{"source": "csv", "path": str(good), "speed": 0},
                                  {"source": "csv", "path": str(bad), "speed": 0}], tmp_path)
    async with running(cfg, classifier) as (svc, task):
        await asyncio.wait_for(asyncio.shield(task), 30)
    subscriber.wait_for(lambda s: s.status() == "offline", 10)
    assert len(subscriber.on("eegd/good/prediction")) == (len(rows) - 1 - 120) // 30 + 1
    assert len(subscriber.on("eegd/bad/prediction")) == (399 - 120) // 30 + 1  # the rows before the fault
    assert svc.streams[1].errors == 1 and svc.streams[0].errors == 0
    assert "bad.csv: row 401, column 'eeg': non-numeric value 'abc'" in caplog.text
    assert "Traceback" not in caplog.text


def test_truncated_checkpoint_exits_2_at_start(tmp_path):
    from eegd.models.checkpoint import resolve

    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(resolve(None).read_bytes()[:1000])
    conf = tmp_path / "eegd.toml"
    conf.write_text(f'[model]\npath = "{broken}"\n[[stream]]\nsource="lsl"\nname="x"\n')
    res = subprocess.run([EEGD, "run", "--config", str(conf)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert "broken.safetensors: not a readable checkpoint" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


async def test_broker_down_at_start_then_up(tmp_path, classifier):
    if not LocalMosquitto.available():
        pytest.skip("mosquitto is not installed")
    path = write_continuous_csv(tmp_path / "late.csv", [("normal", 4)], seed=1)
    broker = LocalMosquitto(persist=True).start()
    sub = Collector(broker.host, broker.port, persistent=True)  # its session outlives the broker restart
    broker.stop()
    try:
        cfg = make_config(broker, [{"source": "csv", "path": str(path), "speed": 2}], tmp_path)
        async with running(cfg, classifier) as (svc, task):
            await asyncio.sleep(1.0)
            assert not svc.publisher.connected.is_set() and not task.done()
            broker.start()
            await asyncio.wait_for(asyncio.shield(task), 30)
        sub.wait_for(lambda s: s.status() == "offline", 10)
        # every window classified while the broker was away was queued and published once it came
        n = (int(round(4 * 173.61)) - 120) // 30 + 1
        assert [p["seq"] for p in sub.on("late/prediction")] == list(range(n))
    finally:
        sub.close()
        broker.close()


async def test_stalled_broker_bounds_the_queue_counts_drops_and_loses_no_alert(mosquitto, subscriber, tmp_path,
                                                                                classifier):
    path = write_continuous_csv(tmp_path / "st.csv", [("normal", 30), ("seizure", 30), ("normal", 60)], seed=2)
    # paced (a file at speed 0 would wait for the broker instead: test_service_files)
    streams = [{"source": "csv", "path": str(path), "speed": 50, "id": f"st{i}"} for i in range(8)]
    cfg = make_config(mosquitto, streams, tmp_path, mqtt={"prediction_queue": 500})
    async with running(cfg, classifier) as (svc, task):
        await asyncio.wait_for(svc.publisher.connected.wait(), 10)
        mosquitto.proc.send_signal(signal.SIGSTOP)  # the broker hangs: accepts nothing, closes nothing
        try:
            await asyncio.sleep(4.0)
            assert svc.publisher.dropped_predictions > 0  # past the bound, counted
            assert len(svc.publisher._predictions) <= 500
        finally:
            mosquitto.proc.send_signal(signal.SIGCONT)
        await asyncio.wait_for(asyncio.shield(task), 60)
    subscriber.wait_for(lambda s: s.status() == "offline", 20)
    want = expected_alerts(classifier, path)
    for i in range(8):
        assert dedupe([a["state"] for a in subscriber.on(f"eegd/st{i}/alert")]) == want


async def test_the_fallback_broker_gets_every_streams_alert_state_after_the_first_is_killed(tmp_path):
    if not LocalMosquitto.available():
        pytest.skip("mosquitto is not installed")
    first, fallback = LocalMosquitto().start(), LocalMosquitto().start()
    (tmp_path / "unused.csv").touch()
    cfg = parse({"mqtt": {"hosts": [f"{b.host}:{b.port}" for b in (first, fallback)]},
                 "stream": [{"source": "csv", "path": "unused.csv"}]}, tmp_path)
    publisher = MqttPublisher(cfg.mqtt, {"state": "online"})
    task = asyncio.create_task(publisher.run())
    try:
        ongoing = {"schema": 1, "stream": "bed1", "state": "seizure", "since": 12.5}
        publisher.submit(Outgoing("eegd/bed1/alert", ongoing, 1, True), alert=True)
        while publisher.published < 1:
            await asyncio.sleep(0.05)
        first.stop(kill=True)  # the seizure alarm was raised on the first broker only
        while publisher.connects < 2:  # predictions go on: the next one finds the connection gone
            publisher.submit(Outgoing("eegd/bed1/prediction", {"stream": "bed1"}, 0, False))
            await asyncio.sleep(0.05)
        late = await asyncio.to_thread(Collector, fallback.host, fallback.port, "eegd/+/alert")
        try:  # an alarm panel that connects to the fallback now learns of the ongoing seizure
            await asyncio.to_thread(late.wait_for, lambda s: s.on("bed1/alert") == [ongoing], 10)
        finally:
            late.close()
    finally:
        await publisher.close(task)
        first.close()
        fallback.close()
