"""Fuzzing helpers: byte mutations of a valid input, and the check that a parser gives a value or its one error."""

from __future__ import annotations

import signal
import tracemalloc
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from hypothesis import strategies as st

PEAK_MB = 64  # a parser of a file of a few kB must not allocate more than this
SECONDS = 10  # nor run longer (a hang)
MESSAGE_CHARS = 400  # an error is one line a person can read


class Hang(Exception):
    pass


# any JSON value, nested a little: what a message's field may hold instead of what the contract says
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                                          max_size=3), max_leaves=12)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """`seed` with a few edits: bytes flipped, runs inserted, duplicated or cut, the end truncated."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(("flip", "set", "insert", "delete", "repeat", "truncate")))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[at] = draw(st.sampled_from((0x00, 0xFF, 0x7F, 0x80, ord("9"), ord("-"), ord(" "), ord("\n"))))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 32))]
        elif op == "repeat":
            data[at:at] = data[at:at + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[at:]
    return bytes(data)


@st.composite
def digits_replaced(draw: st.DrawFn, text: str) -> str:
    """`text` with some of its numbers replaced by extreme ones (how a header lies about sizes and rates)."""
    import re

    numbers = list(re.finditer(r"-?\d+(\.\d+)?", text))
    if not numbers:
        return text
    picks = draw(st.lists(st.sampled_from(numbers), min_size=1, max_size=4, unique_by=lambda m: m.start()))
    out, last = [], 0
    for m in sorted(picks, key=lambda m: m.start()):
        out += [text[last:m.start()], draw(st.sampled_from(("0", "-1", "99999999", "1e308", "nan", "3.5", "")))]
        last = m.end()
    return "".join(out) + text[last:]


@contextmanager
def _deadline(seconds: float):
    def fire(*_: object) -> None:
        raise Hang(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def value_or_error(allowed: type[Exception] | tuple[type[Exception], ...], parse: Callable[[], object]) -> object:
    """`parse()`'s value, or None when it raised one of `allowed` with a one-line message; any other exception, a
    run over `SECONDS` or a peak over `PEAK_MB` fails the test."""
    tracemalloc.start()
    try:
        with _deadline(SECONDS):
            try:
                return parse()
            except allowed as exc:
                text = str(exc)
                assert text and "\n" not in text, f"{type(exc).__name__} is not one line: {text!r}"
                assert len(text) <= MESSAGE_CHARS, f"{type(exc).__name__} of {len(text)} characters: {text[:200]}..."
                return None
            finally:
                peak = tracemalloc.get_traced_memory()[1] / 2**20
                assert peak < PEAK_MB, f"peak {peak:.0f} MB while parsing"
    finally:
        tracemalloc.stop()


def play_all(path: Path) -> int:
    """Every block of a recorded file as the daemon plays it (any format, by extension); the samples read."""
    from eegd.eegstream.formats.readers import open_recording
    from eegd.eegstream.formats.recording import Playback

    rec = open_recording(path, rate=173.61)
    try:
        play = Playback(rec)
        n = 0
        for block in play.blocks():
            assert block.samples.shape == (len(block.timestamps), len(play.channels))
            n += len(block.samples)
        assert n == play.n_samples
        return n
    finally:
        rec.close()
