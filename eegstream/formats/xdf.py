"""XDF files (what LSL's LabRecorder writes) read with pyxdf: one EEG stream, marker streams as annotations.

pyxdf reads a file whole; eegd asks it only for the EEG stream played and the marker streams, and keeps its
defaults: clock offsets recorded with the stream are applied (`synchronize_clocks`) and timestamps are dejittered
(`dejitter_timestamps`, a line fitted through each segment between breaks of more than a second), so a real
break stays a break.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from eegd.eegstream.formats.annotations import Annotation
from eegd.eegstream.formats.channels import Channel, RecordingError, channel_kind, unique_labels

log = logging.getLogger(__name__)

EXTENSIONS = (".xdf", ".xdfz")
SLACK_BYTES = 16 << 20  # a chunk may run past the end of a file cut short, but not by more than this


def check_chunk_lengths(path: Path) -> None:
    """Walk an uncompressed XDF file's chunk headers: pyxdf allocates what a chunk's length field says before
    reading it, so a corrupt length (up to 2**64) would take that much memory. Refused in one line instead."""
    if path.suffix.lower() != ".xdf":
        return  # .xdfz: compressed, its chunk lengths are not on disk
    size = path.stat().st_size
    with path.open("rb") as f:
        if f.read(4) != b"XDF:":
            return  # pyxdf says what is wrong
        at = 4
        while at < size:
            f.seek(at)
            head = f.read(9)
            width = head[0] if head else 0
            if width not in (1, 4, 8) or len(head) < 1 + width:
                return  # a cut or malformed header: pyxdf stops or refuses there
            length = int.from_bytes(head[1:1 + width], "little")
            start = at + 1 + width
            if length > size - start + SLACK_BYTES:
                raise RecordingError(f"{path}: not a readable XDF file (the chunk at byte {at} claims {length} bytes, "
                                     f"the file has {size - start} left)")
            at = start + length


def _text(info: dict, key: str) -> str:
    value = info.get(key)
    return str(value[0]) if isinstance(value, list) and value and value[0] is not None else ""


def _channels(info: dict) -> list[dict]:
    """The `<desc><channels><channel>` entries of a stream header (may be absent)."""
    try:
        return info["desc"][0]["channels"][0]["channel"]
    except (KeyError, IndexError, TypeError):
        return []


def _is_markers(channel_format: str, type_: str) -> bool:
    """A stream of text markers (annotations), not of signals."""
    return channel_format == "string" or type_.lower() in ("markers", "marker")


def stream_names(path: str | Path) -> list[str]:
    """The names of an XDF file's streams (none when it cannot be read: opening it says why)."""
    import pyxdf

    try:
        check_chunk_lengths(Path(path))
        return [h.get("name", "") for h in pyxdf.resolve_streams(str(path))]
    except Exception:  # noqa: BLE001 - pyxdf raises plain Exception/IOError/struct errors
        return []


class XdfFile:
    """The EEG stream of an XDF file (`stream`: its name, needed when there are several) and its markers."""

    def __init__(self, path: str | Path, stream: str | None = None) -> None:
        import pyxdf

        self.path = Path(path)
        if not self.path.is_file():
            raise RecordingError(f"{self.path}: no such file")
        check_chunk_lengths(self.path)
        try:
            headers = pyxdf.resolve_streams(str(self.path))
        except Exception as exc:  # noqa: BLE001 - pyxdf raises plain Exception/IOError/struct errors
            raise RecordingError(f"{self.path}: not a readable XDF file ({exc})") from None
        names = [h.get("name", "") for h in headers]
        if stream is not None:
            picked = [h for h in headers if h.get("name") == stream]
            if not picked:
                raise RecordingError(f"{self.path}: no stream named {stream!r} (streams: {', '.join(names) or 'none'})")
        else:
            picked = [h for h in headers if str(h.get("type", "")).lower() == "eeg"]
            if not picked:
                raise RecordingError(f"{self.path}: no EEG stream (streams: {', '.join(names) or 'none'})")
            if len(picked) > 1:
                raise RecordingError(f"{self.path}: {len(picked)} EEG streams ({', '.join(h['name'] for h in picked)})"
                                     ": say which one with --stream NAME")
        eeg_id = picked[0]["stream_id"]
        marker_ids = [h["stream_id"] for h in headers if h["stream_id"] != eeg_id
                      and _is_markers(str(h.get("channel_format", "")), str(h.get("type", "")))]
        try:
            loaded, _ = pyxdf.load_xdf(str(self.path), select_streams=[eeg_id, *marker_ids])
        except Exception as exc:  # noqa: BLE001
            raise RecordingError(f"{self.path}: not a readable XDF file ({exc})") from None
        by_id = {int(s["info"]["stream_id"]): s for s in loaded}
        eeg = by_id.get(eeg_id)
        if eeg is None:
            raise RecordingError(f"{self.path}: stream {picked[0].get('name')!r} has no data")
        info = eeg["info"]
        rate = float(_text(info, "nominal_srate") or 0)
        if rate <= 0:
            raise RecordingError(f"{self.path}: stream {_text(info, 'name')!r} has an irregular sampling rate")
        if _is_markers(_text(info, "channel_format"), _text(info, "type")):
            raise RecordingError(f"{self.path}: stream {_text(info, 'name')!r} holds text markers, not signals")
        with np.errstate(invalid="ignore"):  # a value that is no number becomes NaN: a bad sample
            x = np.asarray(eeg["time_series"], dtype=np.float64)
        if x.ndim != 2 or not len(x):
            raise RecordingError(f"{self.path}: stream {_text(info, 'name')!r} has no samples")
        n_ch = x.shape[1]  # what the samples hold, whatever the header claims
        described = _channels(info)
        raw_labels = [_text(c, "label") if i < len(described) else "" for i, c in enumerate(described[:n_ch])]
        raw_labels += [""] * (n_ch - len(raw_labels))
        stream_type = _text(info, "type")
        chans = []
        for i, label in enumerate(unique_labels(raw_labels)):
            c = described[i] if i < len(described) else {}
            unit = _text(c, "unit") if c else ""
            declared = (_text(c, "type") if c else "") or stream_type
            chans.append(Channel(label, rate, unit, channel_kind(label, unit, declared)))
        self.channels = tuple(chans)
        self.name = _text(info, "name")
        self.type = stream_type or "EEG"
        self.source_id = _text(info, "source_id")
        self._x = x
        self._t = np.asarray(eeg["time_stamps"], dtype=np.float64)
        if len(self._t) == 0:
            raise RecordingError(f"{self.path}: stream {self.name!r} has no samples")
        t0 = float(self._t[0])
        marks = []
        for mid in marker_ids:
            m = by_id.get(mid)
            if m is None:
                continue
            for t, values in zip(m["time_stamps"], m["time_series"], strict=False):
                marks.append(Annotation(float(t) - t0, None, " ".join(str(v) for v in values)))
        self.annotations = tuple(sorted(marks, key=lambda a: a.onset))
        self.notes: tuple[str, ...] = ()

    def n_samples(self, ch: int) -> int:
        return len(self._t)

    def read(self, ch: int, start: int, n: int) -> np.ndarray:
        return self._x[start : start + n, ch]

    def times(self, start: int, n: int) -> np.ndarray:
        return self._t[start : start + n]

    def close(self) -> None:
        self._x = np.empty((0, len(self.channels)))
