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


def read_uci_file(path: str) -> list | None:
    """The recordings of a UCI-layout CSV file (`--data`), read whole; None for any other file."""
    from eegd.eegstream.formats.csv import is_uci_header, read_header, read_uci
    from eegd.eegstream.formats.readers import is_csv

    if not Path(path).is_file():
        raise UsageError(f"{path}: no such file")
    return read_uci(path) if is_csv(path) and is_uci_header(read_header(path)) else None


def labelled_input(path: str, model_rate: float, rate: float | None = None) -> Iterable:
    """The labelled recordings behind `--data`: a UCI file's recordings, or a recorded file's labelled runs
    (a continuous CSV's label column, an EDF/BDF/XDF file's annotations) at `model_rate`, read a piece at a time
    (an iterator); `rate`: a CSV file's rate without timestamps."""
    from eegd.eegstream.formats.labelled import labelled_pieces

    recordings = read_uci_file(path)
    return recordings if recordings is not None else labelled_pieces(path, model_rate, rate=rate)


def check_device(device: str) -> None:
    """`--device cuda` on a host without a GPU is bad usage, said before any work starts."""
    from eegd.models.inference import pick_device

    try:
        pick_device(device)
    except ValueError as exc:
        raise UsageError(f"--device: {exc}") from None
