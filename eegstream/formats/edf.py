"""EDF/EDF+ and BDF/BDF+ files read with pyEDFlib: any span of any channel from disk, never the whole file.

pyEDFlib (the EDFlib C library) refuses a file whose size does not match its header. The fixed header is read
here first (256 bytes and each signal's samples per record) to tell what is wrong: a file cut short plays its
complete data records (the reader is opened without its size check and never asked past them); an EDF whose
record count is -1 (legal while it is being recorded; EDFlib opens no such file) is read with edfio, which counts
the records from the file's size; EDF+D (discontinuous) is refused, since its records are not one timeline.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path

import numpy as np
import pyedflib

from eegd.eegstream.formats.annotations import Annotation
from eegd.eegstream.formats.channels import Channel, RecordingError, channel_kind, unique_labels

log = logging.getLogger(__name__)

EXTENSIONS = (".edf", ".bdf")


def _field(raw: bytes, a: int, b: int) -> str:
    return raw[a:b].decode("ascii", errors="replace").strip()


def _check_header(path: Path) -> tuple[int, int, int]:
    """(records declared, complete records in the file, bytes of the header) from the fixed header; refuses what
    no reader option can play."""
    size = path.stat().st_size
    with path.open("rb") as f:
        fixed = f.read(256)
        if len(fixed) < 256:
            raise RecordingError(f"{path}: not an EDF/BDF file (shorter than its 256-byte header)")
        bdf = fixed[:8] == b"\xffBIOSEMI"
        if not bdf and _field(fixed, 0, 8) != "0":
            raise RecordingError(f"{path}: not an EDF/BDF file (its version field is {fixed[:8]!r})")
        try:
            header_bytes, declared, n_signals = int(_field(fixed, 184, 192)), int(_field(fixed, 236, 244)), \
                int(_field(fixed, 252, 256))
        except ValueError:
            raise RecordingError(f"{path}: EDF header fields (header size, record count, signal count) are not "
                                 "numbers") from None
        if _field(fixed, 192, 236).upper().startswith(("EDF+D", "BDF+D")):
            raise RecordingError(f"{path}: EDF+D/BDF+D (discontinuous) recordings are not supported: its data "
                                 "records are not one timeline (convert it to EDF+C)")
        if n_signals <= 0 or header_bytes != 256 * (n_signals + 1):
            raise RecordingError(f"{path}: EDF header says {n_signals} signals in {header_bytes} bytes")
        signal_header = f.read(256 * n_signals)
    if len(signal_header) < 256 * n_signals:
        raise RecordingError(f"{path}: the file ends inside its header")
    per_record_at = 216 * n_signals  # each signal's "samples per record" field, 8 bytes each
    try:
        per_record = [int(_field(signal_header, per_record_at + 8 * i, per_record_at + 8 * i + 8))
                      for i in range(n_signals)]
    except ValueError:
        raise RecordingError(f"{path}: a signal's samples per data record is not a number") from None
    record_bytes = sum(per_record) * (3 if bdf else 2)
    complete = (size - header_bytes) // record_bytes if record_bytes > 0 else 0
    return declared, complete, header_bytes


def open_edf(path: str | Path) -> EdfFile | GrowingEdfFile:
    """An EDF/BDF file, by what its header says (pyEDFlib; edfio for an EDF still being recorded)."""
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    declared, complete, _ = _check_header(path)
    if declared == -1:
        if path.suffix.lower() == ".bdf":
            raise RecordingError(f"{path}: the header's data record count is -1 (a file still being recorded); "
                                 f"it holds {complete} complete records")
        return GrowingEdfFile(path, complete)
    return EdfFile(path, declared, complete)


class EdfFile:
    """An open EDF/EDF+/BDF/BDF+ file. Physical values as pyEDFlib scales them (digital to physical range)."""

    def __init__(self, path: Path, declared: int, complete: int) -> None:
        self.path = path
        notes: list[str] = []
        if complete == 0:
            raise RecordingError(f"{self.path}: no complete data record")
        check = pyedflib.CHECK_FILE_SIZE
        if complete != declared:
            notes.append(f"the header declares {declared} data records, the file holds {complete} complete ones: "
                         f"{'the good part plays' if complete < declared else 'those past the header are left out'}")
            check = pyedflib.DO_NOT_CHECK_FILE_SIZE
        self.records = min(declared, complete)
        self._reader = self._open(check, pyedflib.READ_ALL_ANNOTATIONS, notes)
        r = self._reader
        labels = unique_labels([r.getLabel(i) for i in range(r.signals_in_file)])
        self.channels = tuple(
            Channel(label, float(r.getSampleFrequency(i)), r.getPhysicalDimension(i),
                    channel_kind(r.getLabel(i), r.getPhysicalDimension(i), r.getTransducer(i)))
            for i, label in enumerate(labels))
        per_record = r.getNSamples() // max(1, r.datarecords_in_file)
        self._n = [int(p) * self.records for p in per_record]
        onsets, durations, texts = r.readAnnotations()
        self.annotations = tuple(Annotation(float(o), float(d) if d > 0 else None, str(t))
                                 for o, d, t in zip(onsets, durations, texts, strict=True))
        self.notes = tuple(notes)

    def _open(self, check: int, annotations: int, notes: list[str]) -> pyedflib.EdfReader:
        try:
            return pyedflib.EdfReader(str(self.path), annotations_mode=annotations, check_file_size=check)
        except OSError as exc:
            if annotations != pyedflib.DO_NOT_READ_ANNOTATIONS and check == pyedflib.DO_NOT_CHECK_FILE_SIZE:
                # EDFlib reads the annotations of every declared record on opening: a cut file fails there
                notes.append("its annotations could not be read past the cut and are left out")
                return self._open(check, pyedflib.DO_NOT_READ_ANNOTATIONS, notes)
            raise RecordingError(f"{self.path}: {str(exc).split(': ', 1)[-1]}") from None

    def n_samples(self, ch: int) -> int:
        return self._n[ch]

    def read(self, ch: int, start: int, n: int) -> np.ndarray:
        n = max(0, min(n, self._n[ch] - start))
        if n == 0:
            return np.empty(0)
        return self._reader.readSignal(ch, start, n)

    def times(self, start: int, n: int) -> None:
        return None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._reader.close()


class GrowingEdfFile:
    """An EDF whose header says -1 data records (still being recorded), read with edfio: it counts the complete
    records from the file's size and reads any span from a memory map (its pages count as resident while read)."""

    def __init__(self, path: Path, complete: int) -> None:
        import edfio

        self.path = path
        if complete == 0:
            raise RecordingError(f"{path}: no complete data record")
        with warnings.catch_warnings():  # edfio warns that it updated the record count: said in `notes` instead
            warnings.simplefilter("ignore", UserWarning)
            try:
                self._edf = edfio.read_edf(path, lazy_load_data=True)
            except Exception as exc:  # noqa: BLE001 - edfio raises ValueError and friends on a bad header
                raise RecordingError(f"{path}: not a readable EDF file ({exc})") from None
        self._signals = list(self._edf.signals)
        labels = unique_labels([s.label for s in self._signals])
        self.channels = tuple(Channel(label, float(s.sampling_frequency), s.physical_dimension,
                                      channel_kind(s.label, s.physical_dimension, s.transducer_type))
                              for label, s in zip(labels, self._signals, strict=True))
        self._n = [complete * s.samples_per_data_record for s in self._signals]
        notes = [f"the header's data record count is -1 (a file still being recorded): its {complete} complete "
                 "records play"]
        try:
            self.annotations = tuple(Annotation(float(a.onset), a.duration, a.text) for a in self._edf.annotations)
        except (ValueError, UnicodeDecodeError):  # edfio parses every annotation record at once
            self.annotations = ()
            notes.append("its annotations are not valid EDF+ TALs and are left out")
        self.notes = tuple(notes)

    def n_samples(self, ch: int) -> int:
        return self._n[ch]

    def read(self, ch: int, start: int, n: int) -> np.ndarray:
        n = max(0, min(n, self._n[ch] - start))
        if n == 0:
            return np.empty(0)
        per_record = self._signals[ch].samples_per_data_record  # whole records, sliced here: no seconds rounding
        first, last = start // per_record, (start + n - 1) // per_record + 1
        duration = self._edf.data_record_duration
        try:
            x = self._signals[ch].get_data_slice(first * duration, last * duration)
        except ValueError as exc:
            raise RecordingError(f"{self.path}: channel {self.channels[ch].label}: {exc}") from None
        return x[start - first * per_record:][:n]

    def times(self, start: int, n: int) -> None:
        return None

    def close(self) -> None:
        return None
