"""Readers for recorded EEG CSV files: the UCI chunk layout and the continuous layout."""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eegd.eegstream.formats.channels import Channel, RecordingError
from eegd.eegstream.labels import LABELS, label_from_uci_y, label_index

log = logging.getLogger(__name__)

MODEL_RATE_HZ = 173.61
UCI_CHUNK = 178
UCI_CHUNKS = 23
UCI_SAMPLES = UCI_CHUNK * UCI_CHUNKS  # 4,094
UCI_FIRST_COLUMN_NAMES = ("Unnamed", "", "Unnamed: 0")
_UCI_NAME = re.compile(r"^X(\d+)\.(.+)$")


class CsvFormatError(RecordingError):
    """A recorded CSV that cannot be read; the message names the file, row and column."""

    row: int | None = None  # the spreadsheet row number of the fault, when it is one row

@dataclass(frozen=True)
class Recording:
    """One contiguous multi-channel recording read from a CSV file.

    `samples` is float32 of shape (n_samples, n_channels). `timestamps` (seconds) is None when the file
    has none; then sample i is at i / rate. `label` is a product label index for a whole UCI recording,
    `sample_labels` a per-sample label index array for a continuous file with a `label` column.
    """

    id: str
    samples: np.ndarray
    rate: float
    channels: tuple[str, ...]
    timestamps: np.ndarray | None = None
    label: int | None = None
    sample_labels: np.ndarray | None = None
    uci_y: int | None = None
    uci_name: str | None = None  # the recording's name in a UCI file (the part after `X{k}.`)
    path: Path | None = None  # the continuous-layout file it was read from, whole

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[0])

    def times(self) -> np.ndarray:
        """Seconds of each sample on the source clock (the timestamp column, else from the first sample)."""
        if self.timestamps is not None:
            return self.timestamps
        return np.arange(self.n_samples, dtype=np.float64) / self.rate


def _error(path: Path, what: str, row: int | None = None, column: str | None = None) -> CsvFormatError:
    where = str(path)
    if row is not None:
        where += f": row {row}"
    if column is not None:
        where += f", column {column!r}" if row is not None else f": column {column!r}"
    err = CsvFormatError(f"{where}: {what}")
    err.row = row
    return err


def _read_rows(path: Path, max_rows: int | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and data rows (at most `max_rows`); rows are numbered as in a spreadsheet (the header is row 1)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise CsvFormatError(f"{path}: no such file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CsvFormatError(f"{path}: not a CSV text file ({exc})") from None
    rows = [r for r in rows if r]  # blank lines carry nothing
    if max_rows is not None:
        rows = rows[: max_rows + 1]
    if not rows:
        raise _error(path, "file is empty")
    header = [h.strip() for h in rows[0]]
    if _looks_numeric(header):
        raise _error(path, "no header: the first row holds numbers, expected column names", row=1)
    if len(rows) == 1:
        raise _error(path, "header but no data rows")
    width = len(header)
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != width:
            raise _error(path, f"wrong column count: {len(r)} cells, header has {width}", row=i)
    return header, rows[1:]


def _looks_numeric(cells: list[str]) -> bool:
    numeric = 0
    for c in cells:
        try:
            float(c)
            numeric += 1
        except ValueError:
            pass
    return numeric > len(cells) // 2


def _parse_numbers(path: Path, header: list[str], rows: list[list[str]], cols: list[int]) -> np.ndarray:
    """The given columns as float64 (rows x cols); a bad cell raises naming its row and column.
    Values must be finite and within float32's range (samples are kept as float32)."""
    block = [[r[c] for c in cols] for r in rows]
    try:
        values = np.array(block, dtype=np.float64)
    except ValueError:
        for i, r in enumerate(block):
            for j, cell in enumerate(r):
                if cell.strip() == "":
                    raise _error(path, "empty cell", row=i + 2, column=header[cols[j]]) from None
                try:
                    float(cell)
                except ValueError:
                    raise _error(path, f"non-numeric value {cell[:20]!r}", row=i + 2, column=header[cols[j]]) from None
        raise  # pragma: no cover - numpy refused something float() accepts
    bad = ~(np.abs(values) <= np.finfo(np.float32).max)  # also true for NaN
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        what = "non-finite value" if not np.isfinite(values[i, j]) else "value out of range"
        raise _error(path, f"{what} {block[i][j]!r}", row=i + 2, column=header[cols[j]])
    return values


def is_uci_header(header: list[str]) -> bool:
    return (
        len(header) == UCI_CHUNK + 2
        and header[0] in UCI_FIRST_COLUMN_NAMES
        and header[-1] == "y"
        and header[1:-1] == [f"X{i}" for i in range(1, UCI_CHUNK + 1)]
    )


def read_uci(path: str | Path) -> list[Recording]:
    """Rebuild the recordings of a UCI-layout file: rows grouped by (y, recording), chunks 1..23 in order.

    Recordings come back sorted by (y, recording name), each with 4,094 samples in one channel.
    """
    path = Path(path)
    header, rows = _read_rows(path)
    if not is_uci_header(header):
        raise _error(path, f"not the UCI layout: expected header Unnamed,X1..X{UCI_CHUNK},y")
    values = _parse_numbers(path, header, rows, list(range(1, UCI_CHUNK + 1)))
    groups: dict[tuple[int, str], dict[int, int]] = {}
    for i, r in enumerate(rows):
        row_no = i + 2
        y_cell = r[-1].strip()
        try:
            y = int(float(y_cell))
            if float(y_cell) != y:
                raise ValueError
            label_from_uci_y(y)
        except ValueError:
            raise _error(path, f"unknown y {y_cell!r} (expected 1..5)", row=row_no, column="y") from None
        m = _UCI_NAME.match(r[0].strip())
        if m is None:
            raise _error(path, f"chunk name {r[0]!r} is not X<k>.<recording>", row=row_no, column=header[0])
        k, rec = int(m.group(1)), m.group(2)
        if not 1 <= k <= UCI_CHUNKS:
            raise _error(path, f"chunk number {k} outside 1..{UCI_CHUNKS}", row=row_no, column=header[0])
        chunks = groups.setdefault((y, rec), {})
        if k in chunks:
            raise _error(
                path, f"duplicate chunk X{k} of recording {rec!r} (y={y}), first at row {chunks[k] + 2}",
                row=row_no, column=header[0],
            )
        chunks[k] = i
    recordings = []
    for (y, rec), chunks in sorted(groups.items()):
        missing = sorted(set(range(1, UCI_CHUNKS + 1)) - set(chunks))
        if missing:
            names = ", ".join(f"X{k}" for k in missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise _error(path, f"recording {rec!r} (y={y}) is missing chunk(s) {names}")
        order = [chunks[k] for k in range(1, UCI_CHUNKS + 1)]
        samples = values[order].reshape(-1, 1).astype(np.float32)
        recordings.append(
            Recording(
                id=f"y{y}-{rec}", samples=samples, rate=MODEL_RATE_HZ, channels=("eeg",),
                label=label_index(label_from_uci_y(y)), uci_y=y, uci_name=rec,
            )
        )
    log.info("read %s: %d rows, %d recordings (UCI layout)", path, len(rows), len(recordings))
    return recordings


def write_uci(path: str | Path, recordings: list[Recording]) -> Path:
    """Write UCI-layout recordings (as read by `read_uci`) back as a UCI file, chunks in order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Unnamed", *[f"X{i}" for i in range(1, UCI_CHUNK + 1)], "y"])
        for r in recordings:
            if r.uci_y is None or r.uci_name is None or r.n_samples != UCI_SAMPLES:
                raise ValueError(f"recording {r.id} is not a UCI recording")
            chunks = r.samples[:, 0].reshape(UCI_CHUNKS, UCI_CHUNK)
            for k in range(UCI_CHUNKS):
                w.writerow([f"X{k + 1}.{r.uci_name}", *(f"{v:g}" for v in chunks[k].tolist()), r.uci_y])
    return path


def write_single_channel(path: str | Path, samples: np.ndarray, channel: str = "eeg") -> Path:
    """A continuous-layout file with one channel column and no timestamps (the rate is the reader's)."""
    path = Path(path)
    path.write_text(channel + "\n" + "\n".join(f"{v:g}" for v in np.asarray(samples).tolist()) + "\n")
    return path


def write_continuous(path: str | Path, samples: np.ndarray, channels: Sequence[str], timestamps: np.ndarray) -> Path:
    """A continuous-layout file: a `timestamp` column (s) and one column per channel of (n, channels) samples."""
    path = Path(path)
    table = np.column_stack([np.asarray(timestamps, dtype=np.float64), np.asarray(samples, dtype=np.float64)])
    fmt = ["%.6f"] + ["%g"] * len(channels)
    np.savetxt(path, table, fmt=fmt, delimiter=",", header=",".join(["timestamp", *channels]), comments="")
    return path


def read_continuous(path: str | Path, rate: float | None = None, max_rows: int | None = None) -> Recording:
    """A continuous-layout file: optional `timestamp` (s), one column per channel, optional `label`.
    `max_rows` reads only the first data rows (the good part of a file that turns bad later)."""
    path = Path(path)
    header, rows = _read_rows(path, max_rows)
    lower = [h.lower() for h in header]
    ts_col = lower.index("timestamp") if "timestamp" in lower else None
    label_col = lower.index("label") if "label" in lower else None
    ch_cols = [i for i in range(len(header)) if i not in (ts_col, label_col)]
    if not ch_cols:
        raise _error(path, "no channel columns (only timestamp/label)")
    for i in ch_cols:
        if header[i] == "":
            raise _error(path, f"channel column {i + 1} has no name", row=1)
    samples = _parse_numbers(path, header, rows, ch_cols).astype(np.float32)
    timestamps = None
    if ts_col is not None:
        timestamps = _parse_numbers(path, header, rows, [ts_col])[:, 0]
        steps = np.diff(timestamps)
        bad = np.flatnonzero(steps <= 0)
        if bad.size:
            raise _error(path, "timestamp does not increase", row=int(bad[0]) + 3, column=header[ts_col])
        if timestamps.size > 1:
            rate = float(1.0 / np.median(steps))
    if rate is None:
        rate = MODEL_RATE_HZ
    if not rate > 0:
        raise _error(path, f"sample rate must be positive, got {rate}")
    sample_labels = None
    if label_col is not None:
        sample_labels = _parse_labels(path, header[label_col], [r[label_col] for r in rows])
    return Recording(
        id=path.stem, samples=samples, rate=rate, channels=tuple(header[i] for i in ch_cols),
        timestamps=timestamps, sample_labels=sample_labels, path=path if max_rows is None else None,
    )


def _parse_labels(path: Path, column: str, cells: list[str]) -> np.ndarray:
    """Label cells are product label names or UCI y codes 1..5."""
    lookup = {name: i for i, name in enumerate(LABELS)}
    for y in range(1, 6):
        lookup[str(y)] = label_index(label_from_uci_y(y))
    out = np.empty(len(cells), dtype=np.int64)
    for i, cell in enumerate(cells):
        key = cell.strip().lower()
        if key not in lookup:
            raise _error(path, f"unknown label {cell!r} (expected {', '.join(LABELS)} or 1..5)",
                         row=i + 2, column=column)
        out[i] = lookup[key]
    return out


def read_header(path: str | Path) -> list[str]:
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            first = next(csv.reader(f), None)
    except FileNotFoundError:
        raise CsvFormatError(f"{path}: no such file") from None
    if first is None:
        raise _error(path, "file is empty")
    return [h.strip() for h in first]


def read_recordings(path: str | Path, rate: float | None = None) -> list[Recording]:
    """Every recording in a file of either layout (UCI: one per recording; continuous: one)."""
    if is_uci_header(read_header(path)):
        return read_uci(path)
    return [read_continuous(path, rate)]


def label_runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """(first, end) sample indices of each run of one label in per-sample labels."""
    edges = np.flatnonzero(np.diff(labels)) + 1
    return list(zip(np.r_[0, edges].tolist(), np.r_[edges, len(labels)].tolist(), strict=True))


def labelled_segments(rec: Recording) -> list[Recording]:
    """Split a continuous recording with per-sample labels into runs of one label (for scoring)."""
    if rec.label is not None:
        return [rec]
    if rec.sample_labels is None:
        raise CsvFormatError(f"{rec.id}: no label column, cannot score it")
    out = []
    for a, b in label_runs(rec.sample_labels):
        out.append(
            Recording(
                id=f"{rec.id}@{a}", samples=rec.samples[a:b], rate=rec.rate, channels=rec.channels,
                timestamps=None if rec.timestamps is None else rec.timestamps[a:b],
                label=int(rec.sample_labels[a]),
            )
        )
    return out


class CsvFile:
    """A CSV file of either layout behind the recorded-file interface (read whole: CSV has no index to seek by).
    UCI recordings are played one after the other; every column is an EEG channel in µV. A continuous file that
    turns bad half way gives the rows before the fault, and `late_error` says what was wrong after them."""

    def __init__(self, path: str | Path, rate: float | None = None,
                 recordings: list[Recording] | None = None) -> None:
        self.path = Path(path)
        self.late_error: CsvFormatError | None = None
        if recordings is None:
            try:
                recordings = read_recordings(self.path, rate)
            except CsvFormatError as exc:
                if exc.row is None or exc.row <= 2 or is_uci_header(read_header(self.path)):
                    raise
                recordings = [read_continuous(self.path, rate, exc.row - 2)]
                self.late_error = exc
        first = recordings[0]
        self._x = np.concatenate([r.samples for r in recordings]) if len(recordings) > 1 else first.samples
        self._t = first.timestamps if len(recordings) == 1 else None
        self.channels = tuple(Channel(c, first.rate, "uV", "eeg") for c in first.channels)
        self.annotations: tuple = ()
        self.notes: tuple[str, ...] = ()

    def n_samples(self, ch: int) -> int:
        return len(self._x)

    def read(self, ch: int, start: int, n: int) -> np.ndarray:
        return self._x[start : start + n, ch]

    def times(self, start: int, n: int) -> np.ndarray | None:
        return None if self._t is None else self._t[start : start + n]

    def close(self) -> None:
        return None
