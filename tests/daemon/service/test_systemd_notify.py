import os
import signal
import socket
import subprocess
import time

from executables import EEGD

from eegd.eegstream.sources.simulator import write_continuous_csv


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


async def test_a_hung_event_loop_stops_the_watchdog_pings(mosquitto, tmp_path, classifier):
    """systemd restarts the unit when WATCHDOG=1 stops coming: the pings come from the event loop itself."""
    import asyncio

    from service_harness import make_config, running

    from eegd.daemon.service.systemd_notify import Notifier

    sock_path = str(tmp_path / "wd.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.setblocking(False)
    path = write_continuous_csv(tmp_path / "h.csv", [("normal", 10)], seed=1)
    cfg = make_config(mosquitto, [{"source": "csv", "path": str(path), "loop": True}], tmp_path)

    def pings() -> int:
        n = 0
        while True:
            try:
                n += sock.recv(4096).decode().splitlines().count("WATCHDOG=1")
            except BlockingIOError:
                return n

    async with running(cfg, classifier, Notifier(sock_path, watchdog_usec=100_000)):
        seen = 0
        for _ in range(50):  # start-up (model warm-up) may take a while on a loaded machine
            await asyncio.sleep(0.1)
            seen += pings()
            if seen >= 5:  # every 50 ms while the loop runs
                break
        assert seen >= 5
        time.sleep(0.6)  # the loop hangs (a blocking call on it)
        during = pings()  # at most the one ping that was due as the hang began
        await asyncio.sleep(0.5)
        assert during <= 1 and pings() >= 3  # back once the loop runs again
    sock.close()
