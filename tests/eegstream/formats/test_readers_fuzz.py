"""Fuzzing the recorded-file readers (CSV in both layouts, EDF/EDF+, BDF/BDF+, XDF): any file plays to its end or is
refused with one RecordingError line, never another exception, a hang or unbounded memory."""

import tempfile
from pathlib import Path

import numpy as np
import pytest
from edf_files import Signal, write_edf
from fuzzing import digits_replaced, mutated, play_all, value_or_error
from hypothesis import example, given
from hypothesis import strategies as st
from xdf_writer import XdfStream, write_xdf

from eegd.eegstream.formats.channels import RecordingError
from eegd.eegstream.sources.simulator import write_continuous_csv, write_uci_csv

pytestmark = pytest.mark.fuzz


def _seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        sig = [Signal("EEG Fp1", 256.0, rng.normal(0, 40, 512)), Signal("EEG Fp2", 256.0, rng.normal(0, 40, 512)),
               Signal("ECG", 128.0, rng.normal(0, 400, 256), unit="uV")]
        files = {
            "uci.csv": write_uci_csv(d / "uci.csv", recordings_per_label=1, labels=("seizure", "normal")),
            "timed.csv": write_continuous_csv(d / "timed.csv", [("seizure", 0.5), ("normal", 0.5)],
                                              channels=("Fp1", "Fp2")),
            "untimed.csv": write_continuous_csv(d / "untimed.csv", [("normal", 1.0)], timestamps=False),
            "rec.edf": write_edf(d / "rec.edf", sig, annotations=[(0.5, 1.0, "seizure")]),
            "rec.bdf": write_edf(d / "rec.bdf", sig, bdf=True),
            "rec.xdf": write_xdf(d / "rec.xdf", [
                XdfStream("Bed", "EEG", 256.0, 100 + np.arange(300) / 256, rng.normal(0, 40, (300, 2)),
                          [("Fp1", "microvolts", "EEG"), ("Fp2", "microvolts", "EEG")]),
                XdfStream("Markers", "Markers", 0.0, np.array([100.5]), [["seizure"]], fmt="string")]),
        }
        return {name: path.read_bytes() for name, path in files.items()}


SEEDS = _seeds()
EDF_MAIN = [(184, 8), (236, 8), (244, 8), (252, 4)]  # header bytes, records, record seconds, signals
EDF_SIGNAL = [(96, 8), (104, 8), (112, 8), (120, 8), (128, 8), (216, 8)]  # offsets in the signal fields: unit,
# physical min/max, digital min/max, samples per record (each field is `width` × signals wide)
LIES = ("0", "-1", "1", "99999999", "1e308", "nan", "0.000001", "-32768", "abc", "")


@st.composite
def edf_header_lies(draw: st.DrawFn, raw: bytes) -> bytes:
    """An EDF/BDF file whose header fields say something else: sizes, counts, rates and ranges."""
    data = bytearray(raw)
    ns = int(raw[252:256])
    fields = EDF_MAIN + [(256 + off * ns + i * width, width) for off, width in EDF_SIGNAL for i in range(ns)]
    for at, width in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3)):
        data[at:at + width] = draw(st.sampled_from(LIES)).ljust(width)[:width].encode()
    return bytes(data)


def _edited(name: str, edits: dict[int, bytes]) -> tuple[str, bytes]:
    data = bytearray(SEEDS[name])
    for at, new in edits.items():
        data[at:at + len(new)] = new
    return name, bytes(data)


NS = 4  # signals in the EDF seed: Fp1, Fp2, ECG at 128 Hz, EDF Annotations
SPR = 256 + 216 * NS  # the samples-per-record fields
GROWING = {236: b"-1      "}  # the record count of a file still being recorded (read with edfio)
ANNOTATIONS_AT = 256 * (NS + 1) + 2 * (256 + 256 + 128)  # the TAL bytes of the first data record


def _play(tmp_path: Path, name: str, raw: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(raw)
    value_or_error(RecordingError, lambda: play_all(path))


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_files_play_to_the_end(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(SEEDS[name])
    assert play_all(path) > 0


@given(st.sampled_from(["uci.csv", "timed.csv", "untimed.csv"]).flatmap(
    lambda n: st.tuples(st.just(n), mutated(SEEDS[n]) | digits_replaced(SEEDS[n].decode()[:4000]).map(str.encode))))
def test_any_csv_plays_or_is_refused_in_one_line(tmp_path, case):
    _play(tmp_path, *case)


@given(st.sampled_from(["rec.edf", "rec.bdf"]).flatmap(
    lambda n: st.tuples(st.just(n), mutated(SEEDS[n]) | edf_header_lies(SEEDS[n]))))
@example(_edited("rec.edf", GROWING | {SPR: b"0       "}))  # a channel of 0 Hz (was: ValueError from np.interp)
@example(_edited("rec.edf", GROWING | {ANNOTATIONS_AT + 1: b"\xff"}))  # TALs not UTF-8 (was: UnicodeDecodeError)
@example(_edited("rec.edf", GROWING | {244: b"0.3     "}))  # records of 0.3 s (was: "Slice exceeds EDF duration")
@example(_edited("rec.edf", {256 + 104 * NS: b"1e308   "}))  # a physical maximum beyond float32 (was: a warning)
def test_any_edf_or_bdf_plays_or_is_refused_in_one_line(tmp_path, case):
    _play(tmp_path, *case)


XDF_STREAM_HEADER = 64  # the byte where the seed's first stream header chunk starts (its length field: 4 bytes)


@given(mutated(SEEDS["rec.xdf"]) | digits_replaced(SEEDS["rec.xdf"].decode("latin-1")).map(
    lambda t: t.encode("latin-1")))
@example(_edited("rec.xdf", {XDF_STREAM_HEADER + 4: b"\x04"})[1])  # claims 64 MB (pyxdf allocated it: 74 MB peak)
@example(_edited("rec.xdf", {XDF_STREAM_HEADER: b"\x08" + (1 << 62).to_bytes(8, "little")})[1])  # claims 4 EiB
@example(SEEDS["rec.xdf"].replace(b"<channel_count>2<", b"<channel_count>99999999<"))  # more channels claimed than held
def test_any_xdf_plays_or_is_refused_in_one_line(tmp_path, raw):
    _play(tmp_path, "rec.xdf", raw)
