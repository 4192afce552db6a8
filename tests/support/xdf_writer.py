"""A minimal XDF writer for tests (pyxdf only reads): file header, stream headers, sample chunks, footers."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np


@dataclass
class XdfStream:
    name: str
    type: str
    rate: float  # 0: irregular (markers)
    timestamps: np.ndarray
    values: np.ndarray | list[list[str]]  # (n, channels) numbers, or rows of strings
    channels: list[tuple[str, str, str]] = field(default_factory=list)  # (label, unit, type)
    source_id: str = ""
    fmt: str = "float32"


def _varlen(n: int) -> bytes:
    return b"\x01" + struct.pack("<B", n) if n < 256 else b"\x04" + struct.pack("<I", n)


def _chunk(tag: int, content: bytes) -> bytes:
    return _varlen(len(content) + 2) + struct.pack("<H", tag) + content


def _header(sid: int, s: XdfStream) -> bytes:
    chans = "".join(f"<channel><label>{escape(lab)}</label><unit>{escape(u)}</unit><type>{escape(t)}</type></channel>"
                    for lab, u, t in s.channels)
    n_ch = len(s.values[0]) if len(s.values) else len(s.channels)
    xml = (f'<?xml version="1.0"?><info><name>{escape(s.name)}</name><type>{escape(s.type)}</type>'
           f"<channel_count>{n_ch}</channel_count><nominal_srate>{s.rate}</nominal_srate>"
           f"<channel_format>{s.fmt}</channel_format><source_id>{escape(s.source_id)}</source_id>"
           f"<created_at>0</created_at><desc><channels>{chans}</channels></desc></info>")
    return _chunk(2, struct.pack("<I", sid) + xml.encode())


def _samples(sid: int, s: XdfStream, a: int, b: int) -> bytes:
    out = [struct.pack("<I", sid), _varlen(b - a)]
    for k in range(a, b):
        out.append(b"\x08" + struct.pack("<d", float(s.timestamps[k])))
        if s.fmt == "string":
            for v in s.values[k]:
                raw = v.encode()
                out.append(_varlen(len(raw)) + raw)
        else:
            out.append(np.asarray(s.values[k], dtype="<f4" if s.fmt == "float32" else "<f8").tobytes())
    return _chunk(3, b"".join(out))


def write_xdf(path: Path, streams: list[XdfStream], chunk: int = 64) -> Path:
    body = [b"XDF:", _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')]
    for sid, s in enumerate(streams, start=1):
        body.append(_header(sid, s))
    for sid, s in enumerate(streams, start=1):
        for a in range(0, len(s.timestamps), chunk):
            body.append(_samples(sid, s, a, min(len(s.timestamps), a + chunk)))
    for sid, s in enumerate(streams, start=1):  # clock offsets as LabRecorder measures them (here: none)
        if len(s.timestamps):
            for t in (s.timestamps[0], s.timestamps[-1]):
                body.append(_chunk(4, struct.pack("<I", sid) + struct.pack("<dd", float(t), 0.0)))
        footer = (f'<?xml version="1.0"?><info><first_timestamp>{s.timestamps[0] if len(s.timestamps) else 0}'
                  f"</first_timestamp><last_timestamp>{s.timestamps[-1] if len(s.timestamps) else 0}</last_timestamp>"
                  f"<sample_count>{len(s.timestamps)}</sample_count></info>")
        body.append(_chunk(6, struct.pack("<I", sid) + footer.encode()))
    path.write_bytes(b"".join(body))
    return path
