import csv

import numpy as np
import pytest

from eegd.eegstream.formats import csv as csv_format
from eegd.eegstream.formats.csv import (
    UCI_SAMPLES,
    ContinuousCsv,
    CsvFormatError,
    read_continuous,
    read_recordings,
    read_uci,
)

HEADER = ["Unnamed", *[f"X{i}" for i in range(1, 179)], "y"]


def chunk_rows(rec: str, y: int, ks=range(1, 24)):
    """Rows whose sample values encode (chunk, position) so order can be checked after rebuilding."""
    return [[f"X{k}.{rec}", *[str((k - 1) * 178 + j) for j in range(178)], str(y)] for k in ks]


def write(path, rows, header=HEADER):
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        if header is not None:
            w.writerow(header)
        w.writerows(rows)
    return path


def test_uci_rows_rebuild_contiguous_recordings_in_chunk_order(tmp_path):
    rows = chunk_rows("V1.791", 1) + chunk_rows("V1.791", 4) + chunk_rows("V2.3", 2)
    rows = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]
    recs = read_uci(write(tmp_path / "a.csv", rows))
    assert [(r.uci_y, r.id) for r in recs] == [(1, "y1-V1.791"), (2, "y2-V2.3"), (4, "y4-V1.791")]
    for r in recs:
        assert r.samples.shape == (UCI_SAMPLES, 1)
        np.testing.assert_array_equal(r.samples[:, 0], np.arange(UCI_SAMPLES))
    assert [r.label for r in recs] == [0, 1, 2]  # seizure, tumor, normal


def test_same_recording_name_under_two_y_values_are_two_recordings(tmp_path):
    recs = read_uci(write(tmp_path / "a.csv", chunk_rows("V1.7", 3) + chunk_rows("V1.7", 5)))
    assert len(recs) == 2


def test_blank_first_column_name_is_accepted(tmp_path):
    recs = read_recordings(write(tmp_path / "a.csv", chunk_rows("r", 1), header=["", *HEADER[1:]]))
    assert len(recs) == 1 and recs[0].label == 0


def test_shared_training_data_has_400_whole_recordings(shared_data):
    recs = read_uci(shared_data)
    assert len(recs) == 400
    assert sorted({r.uci_y for r in recs}) == [1, 2, 3, 4, 5]
    assert all(r.samples.shape == (UCI_SAMPLES, 1) for r in recs)
    assert np.bincount([r.label for r in recs]).tolist() == [80, 80, 240]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda rows: rows[:-1], r"a\.csv: recording 'r1' \(y=1\) is missing chunk\(s\) X23"),
        (lambda rows: rows + [rows[4]], r"a\.csv: row 25, column 'Unnamed': duplicate chunk X5 of recording 'r1'"),
        (lambda rows: _set(rows, 3, 10, "abc"), r"a\.csv: row 5, column 'X10': non-numeric value 'abc'"),
        (lambda rows: _set(rows, 6, 178, ""), r"a\.csv: row 8, column 'X178': empty cell"),
        (lambda rows: _set(rows, 2, 50, "nan"), r"a\.csv: row 4, column 'X50': non-finite value 'nan'"),
        (lambda rows: _set(rows, 0, 179, "7"), r"a\.csv: row 2, column 'y': unknown y '7' \(expected 1..5\)"),
        (lambda rows: _set(rows, 9, 0, "chunk9"), r"a\.csv: row 11, column 'Unnamed': chunk name 'chunk9'"),
        (lambda rows: _set(rows, 1, 0, "X24.r1"), r"a\.csv: row 3, column 'Unnamed': chunk number 24 outside"),
        (lambda rows: [rows[0][:-2]] + rows[1:], r"a\.csv: row 2: wrong column count: 178 cells, header has 180"),
    ],
)
def test_bad_uci_file_error_names_file_row_and_column(tmp_path, mutate, message):
    path = write(tmp_path / "a.csv", mutate(chunk_rows("r1", 1)))
    with pytest.raises(CsvFormatError, match=message):
        read_uci(path)


def _set(rows, i, j, value):
    rows = [list(r) for r in rows]
    rows[i][j] = value
    return rows


def test_empty_file_is_refused(tmp_path):
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(CsvFormatError, match=r"e\.csv: file is empty"):
        read_recordings(tmp_path / "e.csv")


def test_file_without_header_is_refused(tmp_path):
    path = write(tmp_path / "n.csv", chunk_rows("r", 1)[:3], header=None)
    # the first row's first cell is a chunk name, the rest numbers: no header
    with pytest.raises(CsvFormatError, match=r"n\.csv: row 1: no header"):
        read_recordings(path)


def test_continuous_file_with_timestamps_labels_and_channels(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("timestamp,T3,T4,label\n10.0,1,2,normal\n10.01,3,4,normal\n10.02,5,6,seizure\n10.03,7,8,1\n")
    rec = read_continuous(p)
    assert rec.channels == ("T3", "T4")
    assert rec.rate == pytest.approx(100.0)
    np.testing.assert_array_equal(rec.samples, [[1, 2], [3, 4], [5, 6], [7, 8]])
    np.testing.assert_allclose(rec.times(), [10.0, 10.01, 10.02, 10.03])
    np.testing.assert_array_equal(rec.sample_labels, [2, 2, 0, 0])


def test_continuous_file_without_timestamps_uses_given_rate(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("Fp1\n1\n2\n3\n")
    rec = read_recordings(p, rate=250.0)[0]
    assert rec.rate == 250.0 and rec.timestamps is None
    np.testing.assert_allclose(rec.times(), [0, 0.004, 0.008])
    assert read_recordings(p)[0].rate == 173.61


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timestamp,a\n0,1\n0,2\n", r"row 3, column 'timestamp': timestamp does not increase"),
        ("a,label\n1,normal\n2,sleepy\n", r"row 3, column 'label': unknown label 'sleepy'"),
        ("a,b\n1,2\n3\n", r"row 3: wrong column count: 1 cells, header has 2"),
        ("a,b\n1,2\n3,x\n", r"row 3, column 'b': non-numeric value 'x'"),
        ("timestamp,label\n0,normal\n", r"no channel columns"),
        ("a,b\n", r"header but no data rows"),
    ],
)
def test_bad_continuous_file_error_names_row_and_column(tmp_path, text, message):
    p = tmp_path / "c.csv"
    p.write_text(text)
    with pytest.raises(CsvFormatError, match=message):
        read_continuous(p)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 7 rows, so that a short file spans many of them."""
    monkeypatch.setattr(csv_format, "BLOCK_ROWS", 7)


def write_labelled(path, n, bad_row=None):
    """`n` rows of timestamp, two channels encoding the row, and a label that changes every 10 rows."""
    lines = ["timestamp,a,b,label"]
    lines += [f"{i / 100:.2f},{i},{-i},{('normal', 'seizure', 'tumor')[(i // 10) % 3]}" for i in range(n)]
    if bad_row is not None:
        lines[bad_row - 1] = lines[bad_row - 1].replace(",", ",oops", 1)
    path.write_text("\n".join(lines[:3]) + "\n\n" + "\n".join(lines[3:]) + "\n")  # a blank line carries nothing
    return path


def test_continuous_file_reads_any_span_across_blocks(tmp_path, small_blocks):
    f = ContinuousCsv(write_labelled(tmp_path / "c.csv", 50))
    assert f.n_samples(0) == 50 and f.rate == pytest.approx(100.0) and f.late_error is None
    for start, n in [(0, 50), (5, 3), (6, 9), (13, 20), (45, 10), (49, 1)]:
        stop = min(start + n, 50)
        np.testing.assert_array_equal(f.read(0, start, n), np.arange(start, stop))
        np.testing.assert_array_equal(f.read(1, start, n), -np.arange(start, stop))
        np.testing.assert_allclose(f.times(start, n), np.arange(start, stop) / 100)
    assert f.label_runs() == [(0, 10, 2), (10, 20, 0), (20, 30, 1), (30, 40, 2), (40, 50, 0)]
    f.close()


def test_continuous_file_bad_half_way_keeps_the_rows_before_the_fault(tmp_path, small_blocks):
    f = ContinuousCsv(write_labelled(tmp_path / "c.csv", 50, bad_row=33))  # row 33: sample 31
    assert f.n_samples(0) == 31
    assert str(f.late_error) == f"{tmp_path / 'c.csv'}: row 33, column 'a': non-numeric value 'oops31'"
    np.testing.assert_array_equal(f.read(0, 25, 100), np.arange(25, 31))
    assert f.label_runs()[-1] == (30, 31, 2)
    f.close()


def test_timestamp_going_back_at_a_block_edge_is_a_fault(tmp_path, small_blocks):
    p = tmp_path / "t.csv"
    t = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.5, 0.8]  # the 8th row, the first of the second block, goes back
    p.write_text("timestamp,a\n" + "".join(f"{x},{i}\n" for i, x in enumerate(t)))
    f = ContinuousCsv(p)
    assert f.n_samples(0) == 7 and "row 9, column 'timestamp': timestamp does not increase" in str(f.late_error)
    f.close()
