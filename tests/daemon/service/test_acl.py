import asyncio
import subprocess
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from mqtt_collector import Collector
from service_harness import make_config, running

from eegd.daemon.commands.broker import LocalMosquitto
from eegd.eegstream.sources.simulator import write_continuous_csv

ACL = Path(__file__).resolve().parents[3] / "systemd" / "mosquitto-eegd.acl.example"


async def test_example_acl_lets_the_daemon_write_only_under_its_prefix(tmp_path, classifier):
    if not LocalMosquitto.available():
        pytest.skip("mosquitto is not installed")
    pw = tmp_path / "passwd"
    for user, password in (("eegd", "d"), ("alarms", "a")):
        subprocess.run(["mosquitto_passwd", "-b", *([] if pw.exists() else ["-c"]), str(pw), user, password],
                       check=True, capture_output=True)
    broker = LocalMosquitto(extra_conf=f"allow_anonymous false\npassword_file {pw}\nacl_file {ACL}\n").start()
    (tmp_path / "pw").write_text("d\n")
    everything = Collector(broker.host, broker.port, username="alarms", password="a")
    try:
        csv = write_continuous_csv(tmp_path / "acl.csv", [("normal", 3)], seed=1)
        cfg = make_config(broker, [{"source": "csv", "path": str(csv), "speed": 0}], tmp_path,
                          mqtt={"username": "eegd", "password_file": "pw"})
        async with running(cfg, classifier) as (svc, task):
            await asyncio.wait_for(asyncio.shield(task), 30)
        everything.wait_for(lambda s: len(s.on("acl/prediction")) > 0 and s.status() == "offline")
        # the same credentials cannot write outside the prefix: the broker drops it
        rogue = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="rogue")
        rogue.username_pw_set("eegd", "d")
        rogue.connect(broker.host, broker.port)
        rogue.loop_start()
        rogue.publish("hospital/pager", b'{"x": 1}', qos=1).wait_for_publish(5)
        rogue.publish("eegd/probe", b'{"x": 2}', qos=1).wait_for_publish(5)
        everything.wait_for(lambda s: s.on("eegd/probe"), 5)
        assert not [t for t, _, _ in everything.messages if not t.startswith("eegd/")]
        rogue.loop_stop()
        rogue.disconnect()
    finally:
        everything.close()
        broker.close()
