"""Property tests: windows of any chunking equal the plain definition of sliding windows."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eegd.eegstream.ring_buffer import RingBuffer, Windower

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(
    n=st.integers(0, 1500),
    hop=st.integers(1, 120),
    chunks=st.lists(st.integers(1, 300), min_size=1, max_size=20),
    channels=st.integers(1, 3),
)
def test_windows_match_reference_for_any_chunking(n, hop, chunks, channels):
    x = np.arange(n * channels, dtype=np.float32).reshape(n, channels)
    buf = RingBuffer(capacity=max(chunks) + 120 + 7, channels=channels)
    win = Windower(buf, 120, hop)
    got, i, k = [], 0, 0
    while i < n:
        step = chunks[k % len(chunks)]
        buf.write(x[i : i + step], np.arange(i, min(i + step, n), dtype=np.float64))
        got.append(win.take()[0])
        i, k = i + step, k + 1
    reference = [x[s : s + 120].T for s in range(0, n - 120 + 1, hop)]  # the plain definition
    out = np.concatenate(got) if got else np.empty((0, channels, 120))
    assert len(out) == len(reference) and buf.overruns == 0
    if reference:
        np.testing.assert_array_equal(out, np.stack(reference))
