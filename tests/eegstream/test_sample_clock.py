import numpy as np

from eegd.eegstream.sample_clock import SampleClock

RATE = 256.0
GAP_S = 3 / RATE


def device(seconds, rng, jitter_s=0.002, drift=0.0, late_every=None, stall=None, bunch=None, back=None):
    """Chunks as a bedside device pushes them: every 20-50 ms, each stamped at push time (its last sample) with
    jitter; optionally a late chunk, a burst of bunched chunks, a stall that loses samples, a clock stepping back."""
    n_total, t, n, chunks = int(seconds * RATE), 100.0, 0, []
    while n < n_total:
        t += rng.uniform(0.02, 0.05)
        due = min(int((t - 100.0) * RATE), n_total)
        if stall and stall[0] <= t - 100 < stall[0] + stall[1]:
            n = due  # samples made during the stall never leave the device
            continue
        if due > n:
            stamp = t * (1 + drift) + rng.uniform(-jitter_s, jitter_s)
            if late_every and len(chunks) % late_every == late_every - 1:
                stamp += 0.150
            if back and t - 100 >= back:
                stamp -= 1.0
            raw = stamp - (due - 1 - np.arange(n, due)) / RATE
            chunks.append((raw, np.arange(n, due, dtype=np.float32)[:, None]))
            n = due
    if bunch:  # chunks from `bunch[0]` held by the device and pushed at once, stamped at the last push
        a, k = bunch
        last = chunks[a + k - 1][0][-1]
        for i in range(a, a + k):
            raw, x = chunks[i]
            chunks[i] = (last - (chunks[a + k - 1][1][-1, 0] - x[:, 0]) / RATE, x)
    return chunks


def run(chunks):
    clock, out = SampleClock(RATE, GAP_S), []
    for raw, x in chunks:
        out += clock.push(raw, x)
    return out + clock.flush()


def regular(placed):
    t = np.concatenate([p.timestamps for p in placed])
    return np.allclose(np.diff(t), 1 / RATE, atol=0.1 / RATE)  # the offset follows the device in small steps


def test_jitter_drift_late_and_bunched_chunks_give_a_regular_clock_and_lose_nothing():
    rng = np.random.default_rng(0)
    for kind in ({}, {"drift": 50e-6}, {"late_every": 200}, {"bunch": (300, 5)}):
        placed = run(device(60, rng, **kind))
        assert not any(p.gap for p in placed), kind
        samples = np.concatenate([p.samples for p in placed])[:, 0]
        assert np.array_equal(samples, np.arange(len(samples))), kind  # every sample, in order
        assert regular(placed), kind


def test_drift_is_followed_so_times_stay_within_a_few_ms_of_the_device():
    clock, errors = SampleClock(RATE, GAP_S), []
    for raw, x in device(600, np.random.default_rng(1), drift=100e-6)[:-1]:  # 60 ms of drift over 10 minutes
        (placed,) = clock.push(raw, x)
        errors.append(placed.timestamps[-1] - raw[-1])
    assert max(np.abs(errors)) < 0.005


def test_a_stall_that_loses_samples_is_one_gap_counting_them():
    placed = run(device(30, np.random.default_rng(2), stall=(10.0, 0.5)))
    gaps = [p for p in placed if p.gap]
    assert len(gaps) == 1 and not gaps[0].reversal
    assert abs(gaps[0].lost - 0.5 * RATE) <= 0.06 * RATE  # within a chunk of the truth
    after = [p for p in placed if p.timestamps[0] >= gaps[0].timestamps[0]]
    assert regular(after)


def test_a_clock_stepping_back_is_one_reversal():
    placed = run(device(30, np.random.default_rng(3), back=12.0))
    flagged = [p for p in placed if p.gap]
    assert len(flagged) == 1 and flagged[0].reversal and flagged[0].lost == 0


def test_a_late_chunk_pulled_in_two_parts_is_no_gap():
    chunks = []
    for i, (raw, x) in enumerate(device(60, np.random.default_rng(4), late_every=200)):
        half = len(x) // 2
        late = i % 200 == 199 and half > 0  # the inlet had received half of it when pulled
        chunks += [(raw[:half], x[:half]), (raw[half:], x[half:])] if late else [(raw, x)]
    placed = run(chunks)
    assert not any(p.gap for p in placed)
    samples = np.concatenate([p.samples for p in placed])[:, 0]
    assert np.array_equal(samples, np.arange(len(samples))) and regular(placed)


def test_a_late_chunk_split_between_two_pulls_that_each_hold_a_normal_chunk_is_no_gap():
    """Pulls a window apart each take several device chunks: one ends in the first half of the late chunk, the
    next starts with its second half. Judged mid-pull both look ahead by half the lateness: a false gap."""
    chunks, pending = [], None
    for i, (raw, x) in enumerate(device(60, np.random.default_rng(5), late_every=200)):
        if i % 200 == 198:
            pending = (raw, x)  # a normal chunk, pulled with the late chunk's first half
        elif i % 200 == 199 and pending is not None:
            half = len(x) // 2
            chunks.append((np.concatenate([pending[0], raw[:half]]), np.concatenate([pending[1], x[:half]])))
            pending = (raw[half:], x[half:])  # the late chunk's second half, pulled with the next normal one
        elif pending is not None:
            chunks.append((np.concatenate([pending[0], raw]), np.concatenate([pending[1], x])))
            pending = None
        else:
            chunks.append((raw, x))
    placed = run(chunks)
    assert not any(p.gap for p in placed)
    samples = np.concatenate([p.samples for p in placed])[:, 0]
    assert np.array_equal(samples, np.arange(len(samples))) and regular(placed)
