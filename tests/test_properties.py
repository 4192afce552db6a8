"""Property tests (hypothesis): readers, config and windowing against plain reference implementations."""

import csv

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from eegd.daemon.service.config import ConfigError, parse
from eegd.eegstream.formats.csv import UCI_SAMPLES, CsvFormatError, Recording, read_continuous, read_uci, write_uci
from eegd.eegstream.ring_buffer import RingBuffer, Windower

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(
    n=st.integers(0, 1500),
    hop=st.integers(1, 120),
    chunks=st.lists(st.integers(1, 300), min_size=1, max_size=20),
    channels=st.integers(1, 3),
)
def test_windows_match_reference_for_any_chunking(n, hop, chunks, channels):
    x = np.arange(n * channels, dtype=np.float32).reshape(n, channels)
    buf = RingBuffer(capacity=max(chunks) + 120 + 7, channels=channels)
    win = Windower(buf, 120, hop)
    got, i, k = [], 0, 0
    while i < n:
        step = chunks[k % len(chunks)]
        buf.write(x[i : i + step], np.arange(i, min(i + step, n), dtype=np.float64))
        got.append(win.take()[0])
        i, k = i + step, k + 1
    reference = [x[s : s + 120].T for s in range(0, n - 120 + 1, hop)]  # the plain definition
    out = np.concatenate(got) if got else np.empty((0, channels, 120))
    assert len(out) == len(reference) and buf.overruns == 0
    if reference:
        np.testing.assert_array_equal(out, np.stack(reference))


@SETTINGS
@given(st.lists(st.tuples(st.integers(1, 5), st.from_regex(r"[A-Z]{1,2}[0-9]{1,3}(\.[0-9]{1,3})?", fullmatch=True)),
                min_size=1, max_size=4, unique=True),
       st.integers(0, 2**32 - 1))
def test_uci_write_then_read_gives_the_same_recordings(tmp_path_factory, keys, seed):
    rng = np.random.default_rng(seed)
    recs = [Recording(id="", samples=rng.integers(-2048, 2048, (UCI_SAMPLES, 1)).astype(np.float32), rate=173.61,
                      channels=("eeg",), uci_y=y, uci_name=name) for y, name in keys]
    path = write_uci(tmp_path_factory.mktemp("uci") / "f.csv", recs)
    back = {(r.uci_y, r.uci_name): r for r in read_uci(path)}
    assert set(back) == set(keys)
    for r in recs:
        np.testing.assert_array_equal(back[(r.uci_y, r.uci_name)].samples, r.samples)


@SETTINGS
@given(arrays(np.float32, st.tuples(st.integers(1, 50), st.integers(1, 4)),
              elements=st.floats(-1e4, 1e4, width=32, allow_nan=False)))
def test_continuous_write_then_read_round_trips(tmp_path_factory, x):
    path = tmp_path_factory.mktemp("cont") / "c.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"ch{i}" for i in range(x.shape[1])])
        w.writerows([[repr(float(v)) for v in row] for row in x])
    rec = read_continuous(path)
    np.testing.assert_array_equal(rec.samples, x)


@SETTINGS
@given(st.text(max_size=40))
def test_arbitrary_cell_text_is_read_or_refused_with_a_csv_error(tmp_path_factory, cell):
    path = tmp_path_factory.mktemp("cell") / "c.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["a", "b"], ["1", "2"], ["3", cell]])
    try:
        rec = read_continuous(path)
    except CsvFormatError as exc:
        assert "c.csv" in str(exc)
    else:
        assert np.isfinite(rec.samples).all()


toml_values = st.one_of(st.integers(-5, 70000), st.floats(allow_nan=False), st.text(max_size=10), st.booleans(),
                        st.lists(st.text(max_size=5), max_size=3))


@SETTINGS
@given(st.dictionaries(st.sampled_from(["host", "port", "topic_prefix", "prediction_qos", "keepalive", "colour"]),
                       toml_values, max_size=4),
       st.dictionaries(st.sampled_from(["hop", "on_windows", "max_batch", "speed"]), toml_values, max_size=2))
def test_any_config_is_accepted_as_typed_or_refused_naming_a_key(mqtt, other):
    data = {"mqtt": mqtt, "window": {k: v for k, v in other.items() if k == "hop"},
            "stream": [{"source": "lsl", "name": "x", **{k: v for k, v in other.items() if k == "speed"}}]}
    try:
        cfg = parse(data)
    except ConfigError as exc:
        assert str(exc).split(":")[0].split(".")[0].split("[")[0] in {"mqtt", "window", "stream"}
    else:
        for k, v in mqtt.items():
            assert getattr(cfg.mqtt, k) == v
