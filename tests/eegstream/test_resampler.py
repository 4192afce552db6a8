import copy

import numpy as np
import pytest

from eegd.eegstream.resampler import Resampler

RATE = 173.61


def run(rs, x, t, chunk):
    outs, ts = [], []
    for i in range(0, len(x), chunk):
        o, ot = rs.process(x[i : i + chunk], t[i : i + chunk])
        outs.append(o)
        ts.append(ot)
    return np.concatenate(outs), np.concatenate(ts)


@pytest.mark.parametrize("rate_in", [256.0, 128.0, 500.0])
def test_resampled_sine_keeps_frequency_amplitude_and_rate(rate_in):
    seconds = 20
    t = np.arange(int(seconds * rate_in)) / rate_in
    x = np.sin(2 * np.pi * 10 * t)[:, None].astype(np.float32)
    out, ot = run(Resampler(rate_in, RATE, 1), x, t, chunk=37)
    assert len(out) == pytest.approx(seconds * RATE, abs=2)
    np.testing.assert_allclose(np.diff(ot), 1 / RATE, rtol=1e-6)
    # after the filter has settled, the output is the same 10 Hz sine at the output timestamps
    steady = slice(200, -10)
    np.testing.assert_allclose(out[steady, 0], np.sin(2 * np.pi * 10 * ot[steady]), atol=0.05)


def test_chunking_does_not_change_the_output():
    rate_in = 256.0
    t = np.arange(3000) / rate_in
    x = np.random.default_rng(0).normal(size=(3000, 2)).astype(np.float32)
    a, ta = run(Resampler(rate_in, RATE, 2), x, t, chunk=3000)
    b, tb = run(Resampler(rate_in, RATE, 2), x, t, chunk=13)
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(ta, tb)


def test_content_above_the_output_nyquist_is_removed():
    rate_in = 500.0
    t = np.arange(10000) / rate_in
    x = np.sin(2 * np.pi * 120 * t)[:, None]  # above 173.61 / 2: would alias to ~53.6 Hz
    out, _ = run(Resampler(rate_in, RATE, 1), x, t, chunk=100)
    assert np.abs(out[200:]).max() < 0.05


def test_nan_input_marks_nearby_output_and_does_not_poison_the_filter():
    rate_in = 256.0
    t = np.arange(5000) / rate_in
    x = np.sin(2 * np.pi * 5 * t)[:, None].astype(np.float32)
    x[1000] = np.nan
    out, ot = run(Resampler(rate_in, RATE, 1), x, t, chunk=64)
    bad = np.flatnonzero(np.isnan(out[:, 0]))
    assert len(bad) > 0
    assert ot[bad[0]] >= t[1000] - 0.15 and ot[bad[-1]] <= t[1000] + 0.15  # only around the bad sample
    later = ot > t[1000] + 0.5
    np.testing.assert_allclose(out[later, 0], np.sin(2 * np.pi * 5 * ot[later]), atol=0.05)


@pytest.mark.parametrize("rate_in", [256.0, 512.0, 250.0, 160.0])
def test_inputs_for_is_exactly_the_samples_that_make_the_outputs(rate_in):
    rng = np.random.default_rng(0)
    r = Resampler(rate_in, 173.61, 2)
    for _ in range(100):
        want = int(rng.integers(1, 40))
        n = r.inputs_for(want)
        if n > 1:  # one input fewer makes fewer outputs (tried on a copy)
            fewer = copy.deepcopy(r).process(np.zeros((n - 1, 2), np.float32), np.arange(n - 1, dtype=float))[0]
            assert len(fewer) < want
        assert len(r.process(np.zeros((n, 2), np.float32), np.arange(n, dtype=float))[0]) >= want
