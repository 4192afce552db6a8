import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from eegstream.simulator import write_continuous_csv

EEGD = str(Path(sys.executable).parent / "eegd")


def test_run_tells_systemd_ready_pings_the_watchdog_and_says_stopping(mosquitto, tmp_path):
    path = write_continuous_csv(tmp_path / "n.csv", [("normal", 10)], seed=1)
    conf = tmp_path / "eegd.toml"
    conf.write_text(f'[mqtt]\nport = {mosquitto.port}\n[[stream]]\nsource = "csv"\npath = "{path}"\nloop = true\n')
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(1.0)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="200000")
    proc = subprocess.Popen([EEGD, "run", "--config", str(conf)], env=env, stderr=subprocess.DEVNULL)
    got: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and got.count("WATCHDOG=1") < 3:
            try:
                got += sock.recv(4096).decode().splitlines()
            except TimeoutError:
                pass
        assert "READY=1" in got and got.count("WATCHDOG=1") >= 3
        proc.send_signal(signal.SIGTERM)
        while "STOPPING=1" not in got:
            got += sock.recv(4096).decode().splitlines()
        assert proc.wait(20) == 0
    finally:
        proc.kill()
        sock.close()
