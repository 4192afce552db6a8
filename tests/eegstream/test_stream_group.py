import numpy as np
import pytest

from eegd.eegstream.band_filter import BandSettings
from eegd.eegstream.quality import FLAT, NONFINITE, QualityLimits
from eegd.eegstream.stream_group import StreamGroup
from eegd.eegstream.stream_windows import StreamWindows

MODEL_RATE = 173.61


def _chunks(rng, n, rate, channels, t0):
    """A stream's signal cut into chunks of 5-60 samples on a regular clock starting at t0."""
    x = rng.normal(0, 40, (n, channels)).astype(np.float32)
    t = t0 + np.arange(n) / rate
    cuts = np.cumsum(rng.integers(5, 60, n // 5))
    cuts = cuts[cuts < n]
    return list(zip(np.split(x, cuts), np.split(t, cuts), strict=True))


def _feed(rate, channels, band, streams=5, n=3000, mutate=None):
    """The same chunks through a StreamGroup (processed after every few chunks of every stream) and through one
    StreamWindows per stream; per stream, the windows, times and quality each produced."""
    rng = np.random.default_rng(1)
    limits, settings = QualityLimits(), BandSettings() if band else None
    chunks = [_chunks(rng, n, rate, channels, 100.0 * s) for s in range(streams)]
    if mutate:
        mutate(chunks)
    group = StreamGroup(rate, channels, MODEL_RATE, 120, 30, limits, settings)
    slots: list[int] = []
    got = {s: [] for s in range(streams)}
    gaps = {s: 0 for s in range(streams)}
    longest = max(len(c) for c in chunks) + streams
    for i in range(longest):
        if i < streams:  # stream i joins now, while the others already carry state
            slots.append(group.add())
        for s in range(len(slots)):
            if 0 <= i - s < len(chunks[s]):
                x, t, *flag = chunks[s][i - s]
                group.stage(slots[s], x, t, gap=bool(flag))
        if i % 3 == 2 or i == longest - 1:
            out = group.process()
            for r in out.results:
                s = slots.index(r.slot)
                gaps[s] += r.gaps
                rows = slice(r.first, r.first + r.count)
                assert (out.slots[rows] == r.slot).all()
                got[s].append((out.windows[rows], out.t_start[rows], r.issues))
    for s in range(streams):
        sw = StreamWindows(rate, channels, MODEL_RATE, 120, 30, limits, settings)
        want, want_gaps = [], 0
        for x, t, *flag in chunks[s]:
            o = sw.push(x, t, gap=bool(flag))
            want_gaps += o.gaps
            want.append((o.windows, o.t_start, o.issues))
        w_got = np.concatenate([g[0] for g in got[s]])
        w_want = np.concatenate([g[0] for g in want])
        assert w_got.shape == w_want.shape
        np.testing.assert_allclose(w_got, w_want, atol=2e-3, rtol=1e-4)
        np.testing.assert_allclose(np.concatenate([g[1] for g in got[s]]), np.concatenate([g[1] for g in want]),
                                   atol=1e-9)
        assert np.bitwise_or.reduce([g[2] for g in got[s]]) == np.bitwise_or.reduce([g[2] for g in want])
        assert gaps[s] == want_gaps
    return got


@pytest.mark.parametrize("rate", [256.0, MODEL_RATE, 128.0])
@pytest.mark.parametrize("band", [True, False])
def test_group_cuts_the_windows_each_stream_would_cut_alone(rate, band):
    _feed(rate, 3, band)


def test_a_break_in_one_stream_restarts_only_that_stream_and_non_finite_samples_are_left_out():
    def mutate(chunks):
        x, t = chunks[1][20]
        chunks[1][20] = (x, t, "gap")  # the source said the signal broke before this chunk
        for x, _ in chunks[2][30:32]:
            x[:] = np.nan
        for x, _ in chunks[3][40:60]:
            x[:, 0] = 1.0  # an electrode off

    got = _feed(256.0, 2, True, mutate=mutate)
    issues = {s: np.bitwise_or.reduce([g[2] for g in got[s]]) for s in got}
    assert issues[0] == 0 and issues[1] == 0 and issues[2] == NONFINITE and issues[3] == FLAT


def test_samples_wanted_counts_what_is_staged_and_holds_for_the_window_after_it():
    group = StreamGroup(256.0, 2, MODEL_RATE, 120, 30, QualityLimits(), BandSettings())
    slot = group.add()
    first = group.samples_wanted(slot)
    assert 120 * 256 / MODEL_RATE <= first <= 120 * 256 / MODEL_RATE + 2  # a whole window at the device's rate
    x = np.zeros((first, 2), np.float32)
    group.stage(slot, x + np.random.default_rng(0).normal(0, 40, x.shape).astype(np.float32),
                np.arange(first) / 256.0)
    staged_window = group.samples_wanted(slot)  # the staged samples make the first window: the next hop is wanted
    assert 30 * 256 / MODEL_RATE - 2 <= staged_window <= 30 * 256 / MODEL_RATE + 2
    out = group.process()
    assert len(out.windows) == 1 and out.results[0].count == 1
    assert abs(group.samples_wanted(slot) - staged_window) <= 1


def test_a_freed_slot_starts_afresh_for_the_next_stream():
    rng = np.random.default_rng(3)
    group = StreamGroup(MODEL_RATE, 1, MODEL_RATE, 120, 30, QualityLimits(), None)
    old = group.add()
    group.stage(old, rng.normal(0, 40, (100, 1)).astype(np.float32), np.arange(100) / MODEL_RATE)
    group.remove(old)  # its staged samples go with it
    new = group.add()
    assert new == old
    group.stage(new, rng.normal(0, 40, (150, 1)).astype(np.float32), 50.0 + np.arange(150) / MODEL_RATE)
    out = group.process()
    assert len(out.windows) == 2 and out.t_start[0] == 50.0  # nothing of the stream before it


def test_a_backlog_longer_than_one_pass_is_worked_off_whole():
    rng = np.random.default_rng(4)
    group = StreamGroup(256.0, 2, MODEL_RATE, 120, 30, QualityLimits(), BandSettings())
    slots = [group.add() for _ in range(3)]
    n = 5000  # several passes' worth in one chunk (a stalled event loop catching up)
    for i, s in enumerate(slots):
        group.stage(s, rng.normal(0, 40, (n, 2)).astype(np.float32), 10.0 * i + np.arange(n) / 256.0)
    out = group.process()
    outputs = int(n * MODEL_RATE / 256.0)
    per_slot = [r.count for r in out.results]
    assert sum(per_slot) == len(out.windows) and not group.pending
    for s in slots:
        t = out.t_start[out.slots == s]
        assert abs(len(t) - ((outputs - 120) // 30 + 1)) <= 1 and np.allclose(np.diff(t), 30 / MODEL_RATE, atol=1e-6)


def test_streams_joining_past_the_first_slots_grow_the_group_and_keep_every_stream_its_state():
    _feed(256.0, 2, True, streams=12)  # room for 8 at first: grown while the first streams carry state
