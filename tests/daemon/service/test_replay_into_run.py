import subprocess
import uuid

from executables import EEGD

from eegd.eegstream.sources.simulator import write_continuous_csv


def test_seizure_replayed_over_lsl_into_eegd_run_raises_a_seizure_alert(mosquitto, subscriber, tmp_path):
    """The product's acceptance path, as two commands: `eegd replay` (a device) and `eegd run`."""
    rec = write_continuous_csv(tmp_path / "seizure.csv", [("normal", 8), ("seizure", 30)], seed=7, timestamps=False)
    sid = f"eegd-test-{uuid.uuid4().hex}"
    conf = tmp_path / "eegd.toml"
    conf.write_text(f'[mqtt]\nport = {mosquitto.port}\n[[stream]]\nid = "bed9"\nsource = "lsl"\nsource_id = "{sid}"\n')
    replay = subprocess.Popen([EEGD, "replay", str(rec), "--lsl-name", "Bed9", "--source-id", sid, "--speed", "4"],
                              stderr=subprocess.DEVNULL)
    run = subprocess.Popen([EEGD, "run", "--config", str(conf)], stderr=subprocess.DEVNULL)
    try:
        subscriber.wait_for(lambda s: any(a["state"] == "seizure" for a in s.on("eegd/bed9/alert")), 60)
        states = [a["state"] for a in subscriber.on("eegd/bed9/alert")]
        assert "seizure" in states
        run.terminate()
        assert run.wait(20) == 0
    finally:
        run.kill()
        replay.kill()
