"""Property tests: both CSV layouts round-trip, and any cell text is read or refused with a CSV error."""

import csv

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from eegd.eegstream.formats.csv import UCI_SAMPLES, CsvFormatError, Recording, read_continuous, read_uci, write_uci

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(st.lists(st.tuples(st.integers(1, 5), st.from_regex(r"[A-Z]{1,2}[0-9]{1,3}(\.[0-9]{1,3})?", fullmatch=True)),
                min_size=1, max_size=4, unique=True),
       st.integers(0, 2**32 - 1))
def test_uci_write_then_read_gives_the_same_recordings(tmp_path_factory, keys, seed):
    rng = np.random.default_rng(seed)
    recs = [Recording(id="", samples=rng.integers(-2048, 2048, (UCI_SAMPLES, 1)).astype(np.float32), rate=173.61,
                      channels=("eeg",), uci_y=y, uci_name=name) for y, name in keys]
    path = write_uci(tmp_path_factory.mktemp("uci") / "f.csv", recs)
    back = {(r.uci_y, r.uci_name): r for r in read_uci(path)}
    assert set(back) == set(keys)
    for r in recs:
        np.testing.assert_array_equal(back[(r.uci_y, r.uci_name)].samples, r.samples)


@SETTINGS
@given(arrays(np.float32, st.tuples(st.integers(1, 50), st.integers(1, 4)),
              elements=st.floats(-1e4, 1e4, width=32, allow_nan=False)))
def test_continuous_write_then_read_round_trips(tmp_path_factory, x):
    path = tmp_path_factory.mktemp("cont") / "c.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"ch{i}" for i in range(x.shape[1])])
        w.writerows([[repr(float(v)) for v in row] for row in x])
    rec = read_continuous(path)
    np.testing.assert_array_equal(rec.samples, x)


@SETTINGS
@given(st.text(max_size=40))
def test_arbitrary_cell_text_is_read_or_refused_with_a_csv_error(tmp_path_factory, cell):
    path = tmp_path_factory.mktemp("cell") / "c.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["a", "b"], ["1", "2"], ["3", cell]])
    try:
        rec = read_continuous(path)
    except CsvFormatError as exc:
        assert "c.csv" in str(exc)
    else:
        assert np.isfinite(rec.samples).all()
