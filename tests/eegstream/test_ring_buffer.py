import numpy as np
import pytest

from eegd.eegstream.ring_buffer import RingBuffer, Windower


def feed(buf, win, signal, chunk):
    out, ts0, ts1 = [], [], []
    for i in range(0, len(signal), chunk):
        part = signal[i : i + chunk]
        buf.write(part, np.arange(i, i + len(part), dtype=np.float64) / 100)
        w, a, b = win.take()
        out.append(w)
        ts0.append(a)
        ts1.append(b)
    return np.concatenate(out), np.concatenate(ts0), np.concatenate(ts1)


@pytest.mark.parametrize("chunk", [1, 7, 30, 119, 250])
def test_windows_equal_sliding_windows_of_the_signal_for_any_chunking(chunk):
    rng = np.random.default_rng(chunk)
    signal = rng.normal(size=(1000, 2)).astype(np.float32)
    buf = RingBuffer(capacity=400, channels=2)  # >= largest chunk + window
    windows, t0, t1 = feed(buf, Windower(buf, 120, 30), signal, chunk)
    starts = np.arange(0, 1000 - 120 + 1, 30)
    expected = np.stack([signal[s : s + 120].T for s in starts])
    np.testing.assert_array_equal(windows, expected)
    np.testing.assert_allclose(t0, starts / 100)
    np.testing.assert_allclose(t1, (starts + 119) / 100)
    assert buf.overruns == 0


def test_window_spans_buffer_wraparound():
    buf = RingBuffer(capacity=130, channels=1)
    win = Windower(buf, 120, 100)
    signal = np.arange(300, dtype=np.float32)[:, None]
    buf.write(signal[:120], np.zeros(120))
    assert win.take()[0][0, 0, 0] == 0
    buf.write(signal[120:220], np.zeros(100))  # window 100..219 wraps around index 130
    w = win.take()[0]
    np.testing.assert_array_equal(w[0, 0], np.arange(100, 220))


def test_reader_that_falls_behind_counts_overrun_and_resumes_on_hop_grid():
    buf = RingBuffer(capacity=200, channels=1)
    win = Windower(buf, 120, 30)
    buf.write(np.arange(1000, dtype=np.float32)[:, None], np.arange(1000.0))
    w, t0, _ = win.take()
    assert buf.overruns == 800
    assert t0[0] == 810 and t0[0] % 30 == 0
    np.testing.assert_array_equal(w[:, 0, 0], t0)


def test_restart_after_gap_drops_partial_window():
    buf = RingBuffer(capacity=400, channels=1)
    win = Windower(buf, 120, 30)
    buf.write(np.zeros((100, 1), np.float32), np.arange(100.0))
    win.restart()
    buf.write(np.ones((120, 1), np.float32), np.arange(200.0, 320.0))
    w, t0, _ = win.take()
    assert len(w) == 1 and t0[0] == 200.0 and (w == 1).all()
