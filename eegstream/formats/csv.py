"""Readers for recorded EEG CSV files: the UCI chunk layout and the continuous layout."""

from __future__ import annotations

import csv
import logging
import re
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


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of a whole file; rows are numbered as in a spreadsheet (the header is row 1)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise CsvFormatError(f"{path}: no such file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CsvFormatError(f"{path}: not a CSV text file ({exc})") from None
    rows = [r for r in rows if r]  # blank lines carry nothing
    if not rows:
        raise _error(path, "file is empty")
    header = _check_header(path, rows[0])
    if len(rows) == 1:
        raise _error(path, "header but no data rows")
    _check_widths(path, rows[1:], len(header), 2)
    return header, rows[1:]


def _check_header(path: Path, first: list[str]) -> list[str]:
    header = [h.strip() for h in first]
    if _looks_numeric(header):
        raise _error(path, "no header: the first row holds numbers, expected column names", row=1)
    return header


def _check_widths(path: Path, rows: list[list[str]], width: int, first_row: int) -> None:
    for i, r in enumerate(rows, start=first_row):
        if len(r) != width:
            raise _error(path, f"wrong column count: {len(r)} cells, header has {width}", row=i)


def _looks_numeric(cells: list[str]) -> bool:
    numeric = 0
    for c in cells:
        try:
            float(c)
            numeric += 1
        except ValueError:
            pass
    return numeric > len(cells) // 2


def _parse_numbers(path: Path, header: list[str], rows: list[list[str]], cols: list[int], first_row: int = 2,
                   ) -> np.ndarray:
    """The given columns as float64 (rows x cols); a bad cell raises naming its row (`first_row` is the
    spreadsheet row of rows[0]) and column. Values must be finite and within float32's range (samples are kept
    as float32)."""
    block = [[r[c] for c in cols] for r in rows]
    try:
        values = np.array(block, dtype=np.float64)
    except ValueError:
        for i, r in enumerate(block):
            for j, cell in enumerate(r):
                if cell.strip() == "":
                    raise _error(path, "empty cell", row=i + first_row, column=header[cols[j]]) from None
                try:
                    float(cell)
                except ValueError:
                    raise _error(path, f"non-numeric value {cell[:20]!r}", row=i + first_row,
                                 column=header[cols[j]]) from None
        raise  # pragma: no cover - numpy refused something float() accepts
    bad = ~(np.abs(values) <= np.finfo(np.float32).max)  # also true for NaN
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        what = "non-finite value" if not np.isfinite(values[i, j]) else "value out of range"
        raise _error(path, f"{what} {block[i][j]!r}", row=i + first_row, column=header[cols[j]])
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


def read_header(path: str | Path) -> list[str]:
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            first = next(csv.reader(f), None)
    except FileNotFoundError:
        raise CsvFormatError(f"{path}: no such file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CsvFormatError(f"{path}: not a CSV text file ({exc})") from None
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


class CsvFile:
    """UCI recordings (or recordings already read) behind the recorded-file interface, played one after the other
    from memory: the UCI layout is shuffled rows, so it is read whole. Every column is an EEG channel in µV."""

    def __init__(self, path: str | Path, recordings: list[Recording] | None = None) -> None:
        self.path = Path(path)
        if recordings is None:
            recordings = read_uci(self.path)
        first = recordings[0]
        self._x = np.concatenate([r.samples for r in recordings]) if len(recordings) > 1 else first.samples
        self._t = first.timestamps if len(recordings) == 1 else None
        self.channels = tuple(Channel(c, first.rate, "uV", "eeg") for c in first.channels)
        self.annotations: tuple = ()
        self.notes: tuple[str, ...] = ()
        self.late_error: CsvFormatError | None = None

    def n_samples(self, ch: int) -> int:
        return len(self._x)

    def read(self, ch: int, start: int, n: int) -> np.ndarray:
        return self._x[start : start + n, ch]

    def times(self, start: int, n: int) -> np.ndarray | None:
        return None if self._t is None else self._t[start : start + n]

    def close(self) -> None:
        return None


BLOCK_ROWS = 4096  # rows parsed at a time; the byte offset of every block's first row is kept


class ContinuousCsv:
    """A continuous-layout file (optional `timestamp` in seconds, one column per channel in µV, optional `label`)
    read a block of rows at a time, never whole. Opening it checks every row once and keeps only where each block
    starts, the label runs and the first fault: a file that turns bad half way gives the rows before the fault, and
    `late_error` says what was wrong after them. With timestamps, the rate is 1 / the median step of the first
    block; without, it is `rate` (the model's rate when not given)."""

    def __init__(self, path: str | Path, rate: float | None = None) -> None:
        self.path = Path(path)
        self.annotations: tuple = ()
        self.notes: tuple[str, ...] = ()
        self.late_error: CsvFormatError | None = None
        try:
            self._f = self.path.open("rb")
        except FileNotFoundError:
            raise CsvFormatError(f"{self.path}: no such file") from None
        try:
            self._index(rate)
        except BaseException:
            self._f.close()
            raise
        self._cache: tuple[int, np.ndarray] | None = None  # the last block parsed
        self._last_span: tuple[tuple[int, int], np.ndarray] | None = None

    # --- the one pass at open -------------------------------------------------------------------------------
    def _index(self, rate: float | None) -> None:
        path = self.path
        blocks = self._blocks(0, header=True)
        try:
            _, (first,) = next(blocks)
        except StopIteration:
            raise _error(path, "file is empty") from None
        header = _check_header(path, first)
        lower = [h.lower() for h in header]
        self._ts_col = lower.index("timestamp") if "timestamp" in lower else None
        label_col = lower.index("label") if "label" in lower else None
        self._cols = [i for i in range(len(header)) if i not in (self._ts_col, label_col)]
        if not self._cols:
            raise _error(path, "no channel columns (only timestamp/label)")
        for i in self._cols:
            if header[i] == "":
                raise _error(path, f"channel column {i + 1} has no name", row=1)
        self.header, self._label_col = header, label_col
        self._offsets: list[int] = []
        self._runs: list[list[int]] = []  # [first row, label index] of each run of one label
        self._last_t: float | None = None
        self.rate = rate
        n = 0
        for offset, rows in blocks:
            good = self._check(rows, n + 2)
            if good:
                self._offsets.append(offset)
                n += good
            if good < len(rows):
                break
        if n == 0:
            if self.late_error is not None:
                raise self.late_error
            raise _error(path, "header but no data rows")
        self._n = n
        if self.rate is None:
            self.rate = MODEL_RATE_HZ
        if not self.rate > 0:
            raise _error(path, f"sample rate must be positive, got {self.rate}")
        self.channels = tuple(Channel(header[i], self.rate, "uV", "eeg") for i in self._cols)

    def _check(self, rows: list[list[str]], row0: int) -> int:
        """How many of `rows` (the first at spreadsheet row `row0`) are good; the first fault is kept."""
        try:
            _check_widths(self.path, rows, len(self.header), row0)
            numbers = _parse_numbers(self.path, self.header, rows, self._number_cols(), row0)
            t = labels = None
            if self._ts_col is not None:
                t = numbers[:, -1]
                self._check_times(t, row0)
            if self._label_col is not None:
                labels = _parse_labels(self.path, self.header[self._label_col], [r[self._label_col] for r in rows],
                                       row0)
        except CsvFormatError as exc:
            assert exc.row is not None
            if self.late_error is None or exc.row < (self.late_error.row or 0):
                self.late_error = exc
            return self._check(rows[: exc.row - row0], row0) if exc.row > row0 else 0
        if t is not None:
            if self._last_t is None and t.size > 1:
                self.rate = float(1.0 / np.median(np.diff(t)))
            self._last_t = float(t[-1])
        if labels is not None:
            for a, _ in label_runs(labels):
                if not self._runs or self._runs[-1][1] != labels[a]:
                    self._runs.append([row0 - 2 + a, int(labels[a])])
        return len(rows)

    def _check_times(self, t: np.ndarray, row0: int) -> None:
        steps = np.diff(t if self._last_t is None else np.r_[self._last_t, t])
        bad = np.flatnonzero(steps <= 0)
        if bad.size:
            row = int(bad[0]) + row0 + (1 if self._last_t is None else 0)
            raise _error(self.path, "timestamp does not increase", row=row, column=self.header[self._ts_col or 0])

    def _blocks(self, offset: int, header: bool = False):
        """(byte offset, parsed rows) of each block of BLOCK_ROWS non-blank rows from `offset`; with `header`, the
        header line comes first, as a block of its own."""
        f = self._f
        f.seek(offset)
        at = start = offset
        lines: list[str] = []
        size = 1 if header else BLOCK_ROWS
        for raw in f:
            at += len(raw)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CsvFormatError(f"{self.path}: not a CSV text file ({exc})") from None
            if not line.strip():
                if not lines:
                    start = at
                continue
            lines.append(line.removeprefix("\ufeff") if header else line)
            if len(lines) == size:
                yield start, self._parse(lines)
                lines, start, size, header = [], at, BLOCK_ROWS, False
        if lines:
            yield start, self._parse(lines)

    def _parse(self, lines: list[str]) -> list[list[str]]:
        try:
            return list(csv.reader(lines))
        except csv.Error as exc:
            raise CsvFormatError(f"{self.path}: not a CSV text file ({exc})") from None

    # --- reads ------------------------------------------------------------------------------------------------
    def _number_cols(self) -> list[int]:
        """The channel columns, then the timestamp column when there is one."""
        return self._cols + ([] if self._ts_col is None else [self._ts_col])

    def _block(self, k: int) -> np.ndarray:
        if self._cache is None or self._cache[0] != k:
            rows = next(self._blocks(self._offsets[k]))[1][: self._n - k * BLOCK_ROWS]
            self._cache = (k, np.array([[r[c] for c in self._number_cols()] for r in rows], dtype=np.float64))
        return self._cache[1]

    def _span(self, start: int, n: int) -> np.ndarray:
        """Rows start .. start + n (the channel columns, then the timestamps); the last span asked for is kept,
        since a playback reads each channel of one span in turn."""
        stop = min(start + n, self._n)
        if self._last_span is None or self._last_span[0] != (start, stop):
            ks = range(start // BLOCK_ROWS, (stop - 1) // BLOCK_ROWS + 1) if stop > start else range(0)
            parts = [self._block(k)[max(start - k * BLOCK_ROWS, 0) : stop - k * BLOCK_ROWS] for k in ks]
            span = np.concatenate(parts) if parts else np.empty((0, len(self._number_cols())))
            self._last_span = ((start, stop), span)
        return self._last_span[1]

    def n_samples(self, ch: int) -> int:
        return self._n

    def read(self, ch: int, start: int, n: int) -> np.ndarray:
        return self._span(start, n)[:, ch]

    def read_all_channels(self, start: int, n: int) -> np.ndarray:
        return self._span(start, n)[:, : len(self._cols)]

    def times(self, start: int, n: int) -> np.ndarray | None:
        return None if self._ts_col is None else self._span(start, n)[:, -1]

    def label_runs(self) -> list[tuple[int, int, int]]:
        """(first, end, label index) of each run of one label; empty without a `label` column."""
        if not self._runs:
            return []
        ends = [r[0] for r in self._runs[1:]] + [self._n]
        return [(a, b, lab) for (a, lab), b in zip(self._runs, ends, strict=True)]

    def close(self) -> None:
        self._f.close()


def _parse_labels(path: Path, column: str, cells: list[str], first_row: int = 2) -> np.ndarray:
    """Label cells are product label names or UCI y codes 1..5."""
    lookup = {name: i for i, name in enumerate(LABELS)}
    for y in range(1, 6):
        lookup[str(y)] = label_index(label_from_uci_y(y))
    out = np.empty(len(cells), dtype=np.int64)
    for i, cell in enumerate(cells):
        key = cell.strip().lower()
        if key not in lookup:
            raise _error(path, f"unknown label {cell!r} (expected {', '.join(LABELS)} or 1..5)",
                         row=i + first_row, column=column)
        out[i] = lookup[key]
    return out


def read_continuous(path: str | Path, rate: float | None = None) -> Recording:
    """A whole continuous-layout file as one recording (for files known to be small); any fault raises."""
    f = ContinuousCsv(path, rate)
    try:
        if f.late_error is not None:
            raise f.late_error
        n = f.n_samples(0)
        runs = f.label_runs()
        labels = np.repeat([lab for _, _, lab in runs], [b - a for a, b, _ in runs]) if runs else None
        return Recording(id=f.path.stem, samples=f.read_all_channels(0, n).astype(np.float32), rate=float(f.rate),
                         channels=tuple(c.label for c in f.channels), timestamps=f.times(0, n),
                         sample_labels=labels)
    finally:
        f.close()
