"""A running MNE-LSL player in a child process, for `with playing(seconds) as source_id:`."""

import contextlib
import subprocess
import sys
import uuid
from pathlib import Path

PLAYER = Path(__file__).with_name("mne_player.py")


@contextlib.contextmanager
def playing(seconds: float):
    sid = f"eegd-test-mne-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen([sys.executable, str(PLAYER), sid, str(seconds)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "playing"
        yield sid
    finally:
        proc.kill()
        proc.wait(10)
