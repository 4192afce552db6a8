"""MQTT 3.1.1 QoS 0 PUBLISH packets, many framed into one buffer for one socket write."""

from __future__ import annotations

from collections.abc import Iterable

PUBLISH_QOS0 = 0x30  # packet type 3, no DUP, QoS 0, no RETAIN


def frame_publishes(messages: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Concatenated QoS 0 PUBLISH packets for (topic, payload) pairs (MQTT 3.1.1, section 3.3)."""
    out = bytearray()
    for topic, payload in messages:
        remaining = 2 + len(topic) + len(payload)
        out.append(PUBLISH_QOS0)
        while True:  # variable-length "remaining length", 7 bits a byte
            byte, remaining = remaining & 0x7F, remaining >> 7
            out.append(byte | 0x80 if remaining else byte)
            if not remaining:
                break
        out += len(topic).to_bytes(2, "big")
        out += topic
        out += payload
    return bytes(out)
