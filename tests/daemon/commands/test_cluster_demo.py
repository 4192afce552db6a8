import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from executables import EEGD, nats_server_or_skip


def descendants(pid: int) -> set[int]:
    """Every live process under `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    out, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - out
        out |= frontier
    return out


def kill_all(demo: subprocess.Popen) -> None:
    """The demo and whatever it started, as a failed test must not leave servers and workers behind."""
    for pid in descendants(demo.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    demo.kill()


def test_cluster_demo_shows_both_workers_classifying_and_ctrl_c_stops_everything_it_started():
    nats_server_or_skip()
    demo = subprocess.Popen([EEGD, "demo", "--cluster", "--devices", "6"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    started: set[int] = set()
    watchdog = threading.Timer(120, kill_all, (demo,))  # a demo that never prints ends the read, and the test fails
    watchdog.start()
    try:
        deadline = time.monotonic() + 90
        while not any(line.startswith("6 streams,") for line in lines):  # every device classified
            assert time.monotonic() < deadline and demo.poll() is None, lines
            lines.append(demo.stdout.readline())
        started = descendants(demo.pid)  # 3 nats-server nodes and 2 workers
        demo.send_signal(signal.SIGINT)  # Ctrl-C
        rest, _ = demo.communicate(timeout=60)
    finally:
        watchdog.cancel()
        if demo.poll() is None:
            kill_all(demo)
    assert demo.returncode == 0
    text = "".join(lines) + rest
    assert "worker worker1: online" in text and "worker worker2: online" in text
    assert text.rstrip().endswith("eegd cluster demo: stopped")
    assert len(started) >= 5
    time.sleep(0.5)
    assert not [p for p in started if Path(f"/proc/{p}").exists()], "left running after Ctrl-C"
