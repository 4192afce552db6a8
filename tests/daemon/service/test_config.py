import pytest

from eegd.daemon.service.config import ConfigError, load


def write(tmp_path, text):
    p = tmp_path / "eegd.toml"
    p.write_text(text)
    return p


@pytest.fixture
def rec(tmp_path):
    p = tmp_path / "bed 1.csv"
    p.write_text("eeg\n1\n2\n")
    return p


def test_defaults_and_stream_id_from_file_stem(tmp_path, rec):
    cfg = load(write(tmp_path, '[[stream]]\nsource = "csv"\npath = "bed 1.csv"\n'))
    assert cfg.mqtt.port == 1883 and cfg.mqtt.topic_prefix == "eegd" and cfg.mqtt.client_id.startswith("eegd-")
    assert cfg.window.hop == 30 and cfg.alerts.on_windows == 8 and cfg.alerts.off_windows == 5
    assert cfg.alerts.seizure_average_windows == 32 and cfg.alerts.seizure_threshold == 0.7  # channel fusion study
    assert cfg.alerts.seizure_channels == 1
    (s,) = cfg.stream
    assert s.id == "bed_1" and s.path == str(rec) and s.speed == 1.0 and s.loop is False


def test_lsl_stream_id_defaults_to_source_id(tmp_path):
    cfg = load(write(tmp_path, '[[stream]]\nsource = "lsl"\nsource_id = "dev:42"\nchannels = ["T3", "T4"]\n'))
    assert cfg.stream[0].id == "dev_42" and cfg.stream[0].channels == ("T3", "T4")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[mqtt]\nprot = 1\n[[stream]]\nsource="lsl"\nname="x"\n', r"mqtt\.prot: unknown key"),
        ('[mqtt]\nport = "1883"\n[[stream]]\nsource="lsl"\nname="x"\n', r"mqtt\.port: expected int, got str"),
        ('[[stream]]\nsource="lsl"\nname="x"\nspeed="fast"\n', r"stream\[0\]\.speed: expected float"),
        ('[[stream]]\nsource="csv"\npath="missing.csv"\n', r"stream\[0\]\.path: no such file"),
        ('[[stream]]\nsource="udp"\n', r"stream\[0\]\.source: expected 'lsl', 'mqtt', 'file' or 'csv'"),
        ('[[stream]]\nsource="mqtt"\n', r"stream\[0\]\.id: required for an mqtt stream"),
        ('[[stream]]\nsource="mqtt"\nid="h"\nrate=256.0\n', r"stream\[0\]\.rate: not for mqtt streams"),
        ('[[stream]]\nsource="mqtt"\ndiscover=true\n', r"stream\[0\]\.discover: needs match"),
        ('[[stream]]\nsource="mqtt"\ndiscover=true\nmatch="h*"\nmax_streams=0\n', r"stream\[0\]\.max_streams"),
        ('[[stream]]\nsource="lsl"\nname="x"\nmatch="h*"\n', r"stream\[0\]\.match: only for an mqtt stream"),
        ('[mqtt]\nmax_raw_bytes=10\n[[stream]]\nsource="mqtt"\nid="h"\n', r"mqtt\.max_raw_bytes: must be >= 1024"),
        ('[[stream]]\nsource="lsl"\nname="x"\nid="bed/1"\n', r"stream\[0\]\.id: 'bed/1' may hold only"),
        ('[[stream]]\nsource="lsl"\nname="x"\n[[stream]]\nsource="lsl"\nname="x"\n', r"stream\[1\]\.id: duplicate"),
        ('[mqtt]\ntopic_prefix="a/#"\n[[stream]]\nsource="lsl"\nname="x"\n', r"mqtt\.topic_prefix"),
        ('[mqtt]\nusername="u"\npassword_file="nope"\n[[stream]]\nsource="lsl"\nname="x"\n',
         r"mqtt\.password_file: no such file"),
        ('[window]\nhop=0\n[[stream]]\nsource="lsl"\nname="x"\n', r"window\.hop: must be 1\.\.120"),
        ('[alerts]\non_windows=true\n[[stream]]\nsource="lsl"\nname="x"\n', r"alerts\.on_windows: expected int"),
        ('[alerts]\nseizure_threshold=1.5\n[[stream]]\nsource="lsl"\nname="x"\n',
         r"alerts\.seizure_threshold: must be in \(0, 1\]"),
        ('[alerts]\nseizure_average_windows=-1\n[[stream]]\nsource="lsl"\nname="x"\n',
         r"alerts\.seizure_average_windows: must be >= 0"),
        ("[mqtt]\n", r"stream: at least one"),
        ('colour = 1\n[[stream]]\nsource="lsl"\nname="x"\n', r"colour: unknown key"),
        ("[[stream]\n", r"not valid TOML"),
    ],
)
def test_bad_config_error_names_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load(write(tmp_path, text))


def test_shipped_example_config_is_valid():
    from pathlib import Path

    cfg = load(Path(__file__).resolve().parents[3] / "systemd" / "eegd.toml.example")
    assert cfg.alerts.on_windows == 8 and cfg.stream[0].id == "bed1"
    assert cfg.alerts.seizure_average_windows == 32 and cfg.alerts.seizure_threshold == 0.7
