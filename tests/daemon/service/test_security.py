import asyncio
import subprocess

import pytest
from mqtt_collector import Collector
from service_harness import make_config, running

from eegd.daemon.commands.broker import LocalMosquitto
from eegd.eegstream.sources.simulator import write_continuous_csv


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A test CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=eegd test CA",
            "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, cn in (("server", "localhost"), ("client", "eegd")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", f"{name}.key",
                "-out", f"{name}.csr", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "1", "-out", f"{name}.crt", *(["-extfile", "san.ext"] if name == "server" else []), cwd=d)
    return d


@pytest.fixture
def short_csv(tmp_path):
    return write_continuous_csv(tmp_path / "sec.csv", [("normal", 3)], seed=1)


async def refused_then_accepted(broker, sub, csv, tmp_path, classifier, refused: dict, accepted: dict):
    """With `refused` MQTT settings the daemon keeps running and retrying; with `accepted` it publishes."""
    bad = make_config(broker, [{"source": "csv", "path": str(csv), "loop": True}], tmp_path,
                      mqtt={**refused, "drain_timeout_s": 0.5})
    async with running(bad, classifier) as (svc, _):
        await asyncio.sleep(1.5)
        assert not svc.publisher.connected.is_set()
    cfg = make_config(broker, [{"source": "csv", "path": str(csv), "speed": 0}], tmp_path, mqtt=accepted)
    async with running(cfg, classifier) as (svc, task):
        await asyncio.wait_for(asyncio.shield(task), 30)
    sub.wait_for(lambda s: len(s.on("sec/prediction")) > 0 and s.status() == "offline")


def secured_broker(extra_conf):
    if not LocalMosquitto.available():
        pytest.skip("mosquitto is not installed")
    return LocalMosquitto(extra_conf=extra_conf).start()


async def test_username_and_password_file(tmp_path, short_csv, classifier):
    pw = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), "eegd", "s3cret"], check=True, capture_output=True)
    subprocess.run(["mosquitto_passwd", "-b", str(pw), "reader", "r"], check=True, capture_output=True)
    pw.chmod(0o600)
    broker = secured_broker(f"allow_anonymous false\npassword_file {pw}\n")
    (tmp_path / "mqtt.password").write_text("s3cret\n")
    (tmp_path / "wrong.password").write_text("guess\n")
    sub = Collector(broker.host, broker.port, username="reader", password="r")
    try:
        await refused_then_accepted(broker, sub, short_csv, tmp_path, classifier,
                                    refused={"username": "eegd", "password_file": "wrong.password"},
                                    accepted={"username": "eegd", "password_file": "mqtt.password"})
    finally:
        sub.close()
        broker.close()


async def test_tls_with_ca_and_client_certificate(tmp_path, certs, short_csv, classifier):
    broker = secured_broker(f"cafile {certs}/ca.crt\ncertfile {certs}/server.crt\nkeyfile {certs}/server.key\n"
                            "require_certificate true\nuse_identity_as_username true\nallow_anonymous false\n")
    tls = {"ca_certs": f"{certs}/ca.crt", "certfile": f"{certs}/client.crt", "keyfile": f"{certs}/client.key"}
    sub = Collector(broker.host, broker.port, tls=tls)
    try:  # without a client certificate the broker refuses the daemon
        await refused_then_accepted(broker, sub, short_csv, tmp_path, classifier, refused={"tls_ca": tls["ca_certs"]},
                                    accepted={"tls_ca": tls["ca_certs"], "tls_cert": tls["certfile"],
                                              "tls_key": tls["keyfile"]})
    finally:
        sub.close()
        broker.close()
