import numpy as np

from eegd.eegstream.formats.raw_payload import RawChunk
from eegd.eegstream.sources.raw_timeline import RawTimeline

RATE = 256.0
CH = ("Fp1", "Fp2")
N = 10  # samples a chunk


def chunk(k, t0=None, seq="k", rate=RATE, channels=CH):
    x = np.full((N, len(channels)), float(k), dtype=np.float32)
    return RawChunk(k * N / rate if t0 is None else t0, rate, channels, x, k if seq == "k" else seq)


def play(tl, chunks):
    out = []
    for c in chunks:
        out += tl.place(c, 0.0) or []
    return out + tl.flush(0.0)


def test_a_redelivered_chunk_is_dropped_and_counted_not_a_reversal():
    tl = RawTimeline(3.0)
    out = play(tl, [chunk(0), chunk(1), chunk(2), chunk(1), chunk(2), chunk(3)])
    assert tl.duplicates == 2
    assert not any(c.gap or c.reversal for c in out)
    assert np.concatenate([c.samples[:, 0] for c in out]).tolist() == np.repeat([0, 1, 2, 3], N).tolist()


def test_without_seq_a_chunk_not_after_the_last_is_a_repeat():
    tl = RawTimeline(3.0)
    out = play(tl, [chunk(0, seq=None), chunk(1, seq=None), chunk(1, seq=None), chunk(2, seq=None)])
    assert tl.duplicates == 1 and len(np.concatenate([c.samples for c in out])) == 3 * N


def test_jittered_t0_gives_evenly_spaced_times_and_no_event():
    rng = np.random.default_rng(1)
    tl = RawTimeline(3.0)
    out = play(tl, [chunk(k, t0=k * N / RATE + rng.uniform(-0.002, 0.002)) for k in range(200)])
    assert not any(c.gap or c.reversal for c in out) and tl.duplicates == 0
    ts = np.concatenate([c.timestamps for c in out])
    assert len(ts) == 200 * N
    np.testing.assert_allclose(np.diff(ts), 1 / RATE, rtol=0.02)  # the slow fit moves by a fraction of a period


def test_a_stall_is_one_gap_with_its_lost_samples():
    tl = RawTimeline(3.0)
    out = play(tl, [chunk(k) for k in range(20)] + [chunk(k) for k in range(70, 100)])  # 50 chunks never came
    gaps = [c for c in out if c.gap]
    assert len(gaps) == 1 and not gaps[0].reversal
    assert gaps[0].lost == 50 * N


def test_a_device_that_counts_afresh_with_a_newer_t0_goes_on():
    tl = RawTimeline(3.0)
    out = play(tl, [chunk(k) for k in range(10)] + [chunk(k, t0=(10 + k) * N / RATE, seq=k) for k in range(10)])
    assert tl.duplicates == 0 and len(np.concatenate([c.samples for c in out])) == 20 * N
    assert not any(c.gap for c in out)


def test_a_clock_that_went_back_with_seq_rising_is_a_reversal():
    tl = RawTimeline(3.0)
    out = play(tl, [chunk(k) for k in range(30)] + [chunk(k, t0=(k - 30) * N / RATE - 5.0) for k in range(30, 60)])
    assert tl.duplicates == 0
    assert [c.reversal for c in out if c.gap] == [True]


def test_a_new_layout_starts_afresh_and_says_so():
    tl = RawTimeline(3.0)
    first = play(tl, [chunk(k) for k in range(5)])
    assert all(c.layout is None for c in first)
    out = tl.place(chunk(5, channels=("Fp1", "Fp2", "C3")), 0.0)
    assert out[0].layout is not None and out[0].layout.channels == ("Fp1", "Fp2", "C3") and out[0].gap
    assert out[0].samples.shape == (N, 3)
