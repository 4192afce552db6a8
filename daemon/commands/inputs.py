"""What a command was given: bad usage as one error type, the recordings behind --data, the --device asked for."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class UsageError(Exception):
    """Bad usage or bad input: printed as one line, exit code 2."""


def user_errors() -> tuple[type[Exception], ...]:
    """Exceptions that mean bad input (exit 2, one line) rather than a failure of eegd."""
    from eegd.daemon.service.config import ConfigError
    from eegd.eegstream.formats.channels import RecordingError
    from eegd.models.checkpoint import CheckpointError

    return UsageError, RecordingError, CheckpointError, ConfigError


def read(path: str, rate: float | None = None) -> list:
    """Every recording of a CSV file (`--data`), refused with one line when the file is not there."""
    from eegd.eegstream.formats.csv import read_recordings

    if not Path(path).is_file():
        raise UsageError(f"{path}: no such file")
    return read_recordings(path, rate)


def labelled(path: str, recs: list) -> list:
    """The file's labelled recordings (UCI recordings, a continuous file's runs of one label)."""
    from eegd.eegstream.formats.csv import labelled_segments

    out = [seg for r in recs for seg in labelled_segments(r)]
    if not out:
        raise UsageError(f"{path}: no labelled recordings")
    return out


def labelled_input(path: str, model_rate: float, rate: float | None = None) -> Iterable:
    """The labelled recordings behind `--data`: a CSV file's (UCI recordings, a continuous file's label runs),
    or an EDF/BDF/XDF file's annotated runs at `model_rate`, read a piece at a time (an iterator)."""
    from eegd.eegstream.formats.labelled import labelled_pieces
    from eegd.eegstream.formats.readers import is_csv

    if is_csv(path):
        return labelled(path, read(path, rate))
    if not Path(path).is_file():
        raise UsageError(f"{path}: no such file")
    return labelled_pieces(path, model_rate)


def check_device(device: str) -> None:
    """`--device cuda` on a host without a GPU is bad usage, said before any work starts."""
    from eegd.models.inference import pick_device

    try:
        pick_device(device)
    except ValueError as exc:
        raise UsageError(f"--device: {exc}") from None
