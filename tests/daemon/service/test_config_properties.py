"""Property tests: any config is accepted as typed or refused naming a key."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eegd.daemon.service.config import ConfigError, parse

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


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
