"""A throw-away local Mosquitto on a free loopback port, for the demo, benchmarks and tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import BinaryIO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(host: str, port: int, timeout_s: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    """Until something accepts connections on `port`; with `proc`, a server that exits meanwhile ends the wait."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise TimeoutError(f"the server for {host}:{port} exited with code {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s} s") from None
            time.sleep(0.05)


def end_process(proc: subprocess.Popen | None, kill: bool = False, timeout_s: float = 10.0) -> None:
    """Stop a child server (SIGKILL as a crash would with `kill`, else SIGTERM) and reap it."""
    if proc is not None and proc.poll() is None:
        (proc.kill if kill else proc.terminate)()
        proc.wait(timeout=timeout_s)


class LocalMosquitto:
    """`start()` runs mosquitto in the foreground of a child process; `stop()` kills it (as a crash would
    when `kill=True`); `start()` again brings it back on the same port (a broker restart)."""

    def __init__(self, port: int | None = None, extra_conf: str = "", binary: str | None = None,
                 persist: bool = False, persist_dir: Path | None = None) -> None:
        self.binary = binary or shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="eegd-mosquitto-"))
        self.conf = self.dir / "mosquitto.conf"
        self.extra_conf = extra_conf
        self.persist = persist  # keep sessions and queued messages across a clean restart
        self.persist_dir = persist_dir or self.dir  # where mosquitto.db goes
        self.proc: subprocess.Popen | None = None
        self.log: BinaryIO | None = None

    @staticmethod
    def available() -> bool:
        return bool(shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists())

    def start(self) -> LocalMosquitto:
        # extra_conf applies to this listener (auth, TLS); without it anyone may connect
        persistence = (f"persistence true\npersistence_location {self.persist_dir}/\nqueue_qos0_messages true"
                       if self.persist else "persistence false")
        # started as root, mosquitto would switch to its own user and lose access to our temp files
        user = "user root\n" if os.geteuid() == 0 else ""
        self.conf.write_text(f"{user}{persistence}\nlistener {self.port} {self.host}\n"
                             f"{self.extra_conf or 'allow_anonymous true'}\n")
        if self.log is not None:
            self.log.close()
        self.log = (self.dir / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.host, self.port, proc=self.proc)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"mosquitto did not start; see {self.dir / 'mosquitto.log'}") from None
        return self

    def stop(self, kill: bool = False) -> None:
        end_process(self.proc, kill)
        self.proc = None

    def close(self) -> None:
        """Stop for good: the broker, its log and its temporary folder go."""
        self.stop()
        if self.log is not None:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> LocalMosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
