"""A subscription's messages that prove the connection is alive when they stop: after a silence, a round trip to the
broker, which fails (an `aiomqtt.MqttError`) when the connection is gone without a word."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiomqtt

IDLE_S = 10.0  # a silence this long is checked with a round trip


async def live_messages(client: aiomqtt.Client, probe_topic: str,
                        idle_s: float = IDLE_S) -> AsyncIterator[aiomqtt.Message]:
    """`client.messages`, and after `idle_s` without one, an UNSUBSCRIBE of `probe_topic` (a topic the client never
    subscribed to: the broker answers it and nothing changes). A connection that died silently (a half-open TCP
    connection, or one whose loss aiomqtt missed as it was made: it then waits for messages for ever) raises
    `MqttError` within `idle_s` plus the client's timeout, instead of MQTT's keepalive or never. The pending read
    is kept across the check, so no message is lost to it."""
    messages = aiter(client.messages)
    pending = asyncio.ensure_future(anext(messages))
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=idle_s)
            if not done:
                await client.unsubscribe(probe_topic)
                continue
            message = pending.result()
            pending = asyncio.ensure_future(anext(messages))
            yield message
    finally:
        pending.cancel()
