"""What a real daemon publishes validates against the JSON Schemas in docs/schemas/ (the documented payloads)."""

import asyncio
import json

import jsonschema
import numpy as np
import pytest
from service_harness import make_config, running

from eegd.eegstream.sources.simulator import simulate
from eegd.models.inference import Classifier

RATE = 173.61


def schema(docs, name: str) -> dict:
    s = json.loads((docs / "schemas" / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(s)
    return s


def write_two_channel_recording(path):
    """Normal, then a seizure, then electrode off (flat) and normal again, on two channels T3 and T4."""
    rng = np.random.default_rng(3)
    parts = [simulate(label, int(s * RATE), rng) for label, s in (("normal", 6), ("seizure", 10), ("normal", 6))]
    x = np.concatenate(parts)
    x[int(18 * RATE): int(20 * RATE)] = 0.0
    samples = np.stack([x, np.roll(x, 7)], axis=1)
    t = np.arange(len(x)) / RATE
    np.savetxt(path, np.column_stack([t, samples]), delimiter=",", header="timestamp,T3,T4", comments="",
               fmt="%.6f")
    return path


@pytest.mark.slow
async def test_every_published_payload_matches_its_documented_schema(docs, mosquitto, subscriber, tmp_path):
    path = write_two_channel_recording(tmp_path / "bed7.csv")
    cfg = make_config(mosquitto, [{"source": "csv", "path": str(path), "speed": 0}], tmp_path,
                      alerts={"on_windows": 3, "seizure_average_windows": 0})
    async with running(cfg, Classifier.from_path(None, "cpu")) as (_, task):
        await asyncio.wait_for(asyncio.shield(task), 60)  # a finite recording: the daemon ends by itself
    subscriber.wait_for(lambda s: s.status() == "offline", 10)
    by_kind = {"prediction": [], "alert": [], "quality": [], "status": []}
    for topic, payload, _ in subscriber.messages:
        kind = "status" if topic == "eegd/status" else topic.rsplit("/", 1)[-1]
        by_kind[kind].append(payload)
    assert all(by_kind.values()), {k: len(v) for k, v in by_kind.items()}  # every kind was seen
    assert "channels" in by_kind["prediction"][0]  # the multi-channel form
    assert {p["state"] for p in by_kind["status"]} == {"online", "offline"}
    for kind, payloads in by_kind.items():
        validator = jsonschema.Draft202012Validator(schema(docs, kind))
        for p in payloads:
            validator.validate(p)


def test_schemas_refuse_what_the_contract_does_not_allow(docs):
    prediction = jsonschema.Draft202012Validator(schema(docs, "prediction"))
    good = {"schema": 1, "stream": "bed1", "seq": 0, "t_start": 1.0, "t_end": 1.7, "label": "normal",
            "probs": {"seizure": 0.1, "tumor": 0.2, "normal": 0.7}, "model": "conv_lstm-x", "latency_ms": 3.0}
    prediction.validate({**good, "a_later_field": 1})  # the contract only ever adds fields
    for bad in ({**good, "label": "Seizure"}, {**good, "schema": 2}, {k: v for k, v in good.items() if k != "seq"}):
        assert not prediction.is_valid(bad)
    status = jsonschema.Draft202012Validator(schema(docs, "status"))
    assert status.is_valid({"schema": 1, "state": "offline"})
    assert not status.is_valid({"schema": 1, "state": "online"})  # online carries version, model and streams
    raw = jsonschema.Draft202012Validator(schema(docs, "raw"))
    assert raw.is_valid({"schema": 1, "t0": 12.5, "rate": 256, "channels": ["Fp1", "Fp2"],
                         "samples": [[1.0, 2.0], [3.0, 4.0]], "seq": 7})
    assert not raw.is_valid({"schema": 1, "t0": 12.5, "rate": 0, "channels": ["Fp1"], "samples": [[1.0]]})
