"""EDF/BDF files for tests, written with pyEDFlib's writer."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyedflib
from pyedflib import highlevel


@dataclass
class Signal:
    label: str
    rate: float
    data: np.ndarray
    unit: str = "uV"
    transducer: str = ""
    physical: float = 3276.7  # -3276.8 .. this over EDF's 16 bits: a step of 0.1 unit


def write_edf(path: Path, signals: list[Signal], annotations: list[tuple[float, float, str]] = (),
              bdf: bool = False) -> Path:
    headers, digital = [], []
    for s in signals:
        h = highlevel.make_signal_header(s.label, dimension=s.unit, sample_frequency=s.rate,
                                         physical_min=-round(s.physical * (1 + 1 / (8388607 if bdf else 32767)), 6),
                                         physical_max=s.physical,
                                         digital_min=-8388608 if bdf else -32768, digital_max=8388607 if bdf else 32767)
        h["transducer"] = s.transducer
        headers.append(h)
        lo, hi, dlo = h["physical_min"], h["physical_max"], h["digital_min"]
        # digital values written as such: pyEDFlib's own physical-to-digital conversion truncates
        scaled = (np.asarray(s.data) - lo) / (hi - lo) * (h["digital_max"] - dlo) + dlo
        digital.append(np.round(scaled).astype(np.int32))
    header = highlevel.make_header()
    header["annotations"] = [list(a) for a in annotations]
    kind = (pyedflib.FILETYPE_BDFPLUS if bdf else pyedflib.FILETYPE_EDFPLUS)
    with warnings.catch_warnings():  # header fields rounded to 8 characters: the ranges above fit
        warnings.simplefilter("ignore", UserWarning)
        highlevel.write_edf(str(path), digital, headers, header, digital=True, file_type=kind)
    return path


def set_header_field(path: Path, start: int, width: int, value: str) -> None:
    raw = bytearray(path.read_bytes())
    raw[start:start + width] = value.ljust(width).encode()
    path.write_bytes(bytes(raw))
