"""What QoS the broker grants, asked once at start: a broker below eegd's needs is named in one line then, not
found later as a connection that keeps dropping."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import aiomqtt

from eegd.daemon.service.config import Config, ConfigError, MqttConfig
from eegd.daemon.service.mqtt_publisher import client_for

log = logging.getLogger(__name__)

PROBE_S = 3.0  # a broker that does not answer in this time is the publisher's outage to handle, not this check's


async def granted_qos(cfg: MqttConfig, wanted: int) -> tuple[str, int] | None:
    """("host:port", QoS granted) for a QoS `wanted` subscription to `{prefix}/status`, from the first broker of
    `[mqtt]` that answers within `PROBE_S`; None when none does or the broker refuses the subscription itself (an
    ACL: that tells nothing about QoS). A subscription's granted QoS is the broker's limit for publishing too."""
    async def ask(broker: tuple[str, int]) -> int | None:
        async with client_for(cfg, f"{cfg.client_id}-qos", broker=broker) as client:
            codes = await client.subscribe(f"{cfg.topic_prefix}/status", qos=wanted)
        value = getattr(codes[0], "value", codes[0])  # a paho ReasonCode, or an int from older clients
        return int(value) if int(value) <= 2 else None

    for broker in cfg.brokers:
        try:
            granted = await asyncio.wait_for(ask(broker), PROBE_S)
        except (aiomqtt.MqttError, TimeoutError, OSError):
            continue
        return None if granted is None else (f"{broker[0]}:{broker[1]}", granted)
    return None


async def fit_to_broker(cfg: Config) -> Config:
    """The config the broker can serve: alerts, status and the last will need QoS 1 (a QoS 0 broker is a
    `ConfigError`); predictions above the broker's QoS go at its QoS, said in one warning."""
    m = cfg.mqtt
    answer = await granted_qos(m, max(1, m.prediction_qos))
    if answer is None:
        return cfg
    broker, granted = answer
    if granted < 1:
        raise ConfigError(f"mqtt: the broker at {broker} grants QoS 0 only; eegd's alerts, status and last will "
                          "need QoS 1 (Mosquitto: max_qos)")
    if granted < m.prediction_qos:
        log.warning("mqtt: the broker at %s grants QoS %d at most: predictions go at QoS %d, not "
                    "mqtt.prediction_qos = %d", broker, granted, granted, m.prediction_qos)
        return dataclasses.replace(cfg, mqtt=dataclasses.replace(m, prediction_qos=granted))
    return cfg
