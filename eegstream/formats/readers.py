"""The reader for a recorded file, chosen by its extension: CSV, EDF/EDF+, BDF/BDF+ or XDF."""

from __future__ import annotations

from pathlib import Path

from eegd.eegstream.formats import edf, xdf
from eegd.eegstream.formats.channels import RecordingError
from eegd.eegstream.formats.csv import ContinuousCsv, CsvFile, is_uci_header, read_header
from eegd.eegstream.formats.recording import RecordedFile

FORMATS = "CSV (.csv), EDF/EDF+ (.edf), BDF/BDF+ (.bdf), XDF (.xdf)"


def is_csv(path: str | Path) -> bool:
    return Path(path).suffix.lower() not in (*edf.EXTENSIONS, *xdf.EXTENSIONS)


def open_recording(path: str | Path, rate: float | None = None, stream: str | None = None) -> RecordedFile:
    """The file opened by its extension (anything else is read as CSV); `rate` is a CSV file's rate when it has
    no timestamp column, `stream` an XDF stream's name."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in edf.EXTENSIONS:
        return edf.open_edf(path)
    if suffix in xdf.EXTENSIONS:
        return xdf.XdfFile(path, stream)
    if stream is not None:
        raise RecordingError(f"{path}: --stream names a stream of an XDF file; this is {suffix or 'no'} format")
    if is_uci_header(read_header(path)):
        return CsvFile(path)
    return ContinuousCsv(path, rate)
