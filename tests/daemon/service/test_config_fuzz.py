"""Fuzzing the config reader: any file gives a Config or one ConfigError line, never another exception."""

from pathlib import Path

import pytest
from fuzzing import digits_replaced, mutated, value_or_error
from hypothesis import example, given
from hypothesis import strategies as st

from eegd.daemon.service.config import Config, ConfigError, load

pytestmark = pytest.mark.fuzz

SEED = """\
[mqtt]
host = "127.0.0.1"
port = 1883
hosts = ["a:1883", "b:1884"]
topic_prefix = "eegd"
prediction_qos = 1
keepalive = 30
prediction_queue = 10000

[model]
device = "auto"
threads = 0

[window]
hop = 30

[alerts]
on_windows = 8
off_windows = 5
seizure_average_windows = 32
seizure_threshold = 0.7
seizure_channels = 1

[scheduler]
max_batch = 512
max_wait_ms = 20.0

[quality]
gap_periods = 5.0
max_abs_uv = 5000.0

[filter]
enabled = true
low_hz = 0.5
high_hz = 40.0
notch_hz = 50.0

[[stream]]
id = "bed1"
source = "lsl"
name = "BedsideEEG"
type = "EEG"
channels = ["Fp1", "Fp2"]
unit = "uV"

[[stream]]
source = "lsl"
type = "EEG"
discover = true
drop_after_s = 30.0

[[stream]]
id = "home7"
source = "mqtt"
"""
EXAMPLE = (Path(__file__).resolve().parents[3] / "systemd" / "eegd.toml.example").read_bytes()


def _load(tmp_path: Path, raw: bytes) -> Config | None:
    path = tmp_path / "eegd.toml"
    path.write_bytes(raw)
    return value_or_error(ConfigError, lambda: load(path))


def test_seed_configs_load(tmp_path):
    assert isinstance(_load(tmp_path, SEED.encode()), Config)
    assert isinstance(_load(tmp_path, EXAMPLE), Config)


@given(st.one_of(mutated(SEED.encode()), mutated(EXAMPLE)))
@example(b"\xff\xfe[mqtt]\n")  # not UTF-8: was a UnicodeDecodeError
def test_any_config_file_loads_or_is_refused_in_one_line(tmp_path, raw):
    _load(tmp_path, raw)


@given(digits_replaced(SEED))
def test_extreme_numbers_in_a_config_are_accepted_or_refused_in_one_line(tmp_path, text):
    _load(tmp_path, text.encode())


def test_a_directory_as_config_is_refused_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load(tmp_path)
