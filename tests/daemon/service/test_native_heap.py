"""The C heap's free pages go back to the system when trimmed; the daemon's trim interval is validated."""

from __future__ import annotations

import sys
import threading

import pytest

from eegd.daemon.commands.bench import rss_mb
from eegd.daemon.service.config import ConfigError, parse
from eegd.daemon.service.native_heap import heap_figures, trim

glibc = pytest.mark.skipif(sys.platform != "linux" or heap_figures() is None, reason="needs glibc (mallinfo2)")


@glibc
def test_trim_returns_the_pages_a_burst_freed_in_a_thread_arena():
    kept: list[bytes] = []

    def burst() -> None:  # what a thread (the model's, an inlet's) allocates and frees: 1 KB blocks from malloc
        blocks = [bytes(1000) + bytes([i % 251]) for i in range(300_000)]
        kept.extend(blocks[::500])  # a few survivors pin the arena, so malloc keeps the freed pages resident
        del blocks

    trim()
    t = threading.Thread(target=burst)
    t.start()
    t.join()
    before = rss_mb()
    assert heap_figures().free_mb > 100  # freed but resident
    assert trim()
    assert rss_mb() < before - 100
    assert len(kept) == 600


def test_a_negative_trim_interval_is_refused_naming_the_key(tmp_path):
    (tmp_path / "x.csv").write_text("")
    stream = {"source": "csv", "path": "x.csv"}
    assert parse({"stream": [stream]}, tmp_path).memory.trim_interval_s == 60.0
    with pytest.raises(ConfigError, match=r"memory\.trim_interval_s"):
        parse({"memory": {"trim_interval_s": -1}, "stream": [stream]}, tmp_path)
