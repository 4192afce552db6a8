"""Raw samples from an MQTT broker: one subscribing connection for every `source = "mqtt"` stream, and the
stream's source that parses, orders and places its messages."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiomqtt

from eegd.eegstream.formats.raw_payload import MAX_RAW_BYTES, RawChunk, RawPayloadError, parse
from eegd.eegstream.sources.mqtt_liveness import IDLE_S, live_messages
from eegd.eegstream.sources.protocol import Chunk, StreamInfo
from eegd.eegstream.sources.raw_timeline import RawTimeline

log = logging.getLogger(__name__)

SUBSCRIBE_BATCH = 256  # topics per SUBSCRIBE packet


@dataclass(frozen=True, slots=True)
class RawItem:
    """A raw message as it arrived: the daemon's monotonic time of arrival, its bytes, and what acknowledges it
    (a JetStream ack subject; None over plain MQTT)."""

    received: float
    payload: bytes
    ack: str | None = None


class RawSubscription:
    """Owns one broker connection (a persistent session, so that the broker queues QoS 1 raw messages while the
    daemon restarts) subscribed to `{prefix}/{id}/raw` of every registered stream; each message goes with its
    arrival time to its stream's bounded queue. Past `queue_size` waiting messages the oldest is dropped and
    counted (the stream's timeline shows it as a gap). Reconnects with exponential backoff, also when a silence
    of `idle_s` turns out to be a dead connection (see `live_messages`)."""

    def __init__(self, connect: Callable[[], aiomqtt.Client], prefix: str, queue_size: int = 1024,
                 max_backoff_s: float = 5.0,
                 discover: Callable[[str], asyncio.Queue[RawItem] | None] | None = None,
                 idle_s: float = IDLE_S) -> None:
        """`discover`: with it, every `{prefix}/+/raw` topic is read, and the stream id of one that is not
        registered is offered to it: it registers the stream (returning its queue) or refuses it (None)."""
        self.connect, self.prefix = connect, prefix
        self.queue_size, self.max_backoff_s, self.idle_s = queue_size, max_backoff_s, idle_s
        self.discover = discover
        self.queues: dict[str, asyncio.Queue[RawItem]] = {}
        self.overflows = 0
        self.connected = asyncio.Event()
        self._granted_said = (0, 0)  # (refused, QoS 0) subscriptions last reported

    def topic(self, stream: str) -> str:
        return f"{self.prefix}/{stream}/raw"

    def register(self, stream: str) -> asyncio.Queue[RawItem]:
        """The queue of a stream's messages; register every stream before `run` starts."""
        return self.queues.setdefault(self.topic(stream), asyncio.Queue(self.queue_size))

    def forget(self, stream: str) -> None:
        """A discovered stream that ended: its next message is offered to `discover` again."""
        self.queues.pop(self.topic(stream), None)

    async def run(self) -> None:
        backoff, logged = 0.2, False
        topics = [(self.topic("+"), 1)] if self.discover else [(t, 1) for t in self.queues]
        while True:
            try:
                async with self.connect() as client:
                    granted: list[int] = []
                    for i in range(0, len(topics), SUBSCRIBE_BATCH):
                        codes = await client.subscribe(topics[i : i + SUBSCRIBE_BATCH])
                        granted += [int(getattr(c, "value", c)) for c in codes]
                    self._check_granted([t for t, _ in topics], granted)
                    self.connected.set()
                    log.info("mqtt raw: subscribed to %s under %s/+/raw", "every stream" if self.discover
                             else f"{len(topics)} stream(s)", self.prefix)
                    backoff, logged = 0.2, False
                    async for message in live_messages(client, f"{self.prefix}/liveness-probe", self.idle_s):
                        self._route(message.topic.value, message.payload)
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                if not logged:
                    log.warning("mqtt raw: broker unavailable (%s); retrying with backoff", exc)
                    logged = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)

    def _check_granted(self, topics: list[str], granted: list[int]) -> None:
        """One line for what the broker's SUBACK refused (0x80: those streams get nothing) or granted at QoS 0
        only (what a device sends while eegd is away is lost), once per episode."""
        refused = [t for t, g in zip(topics, granted, strict=True) if g > 2]
        qos0 = [t for t, g in zip(topics, granted, strict=True) if g == 0]
        said = (len(refused), len(qos0))
        if said == self._granted_said:
            return
        self._granted_said = said
        if refused:
            log.error("mqtt raw: the broker refused %d of %d raw subscriptions (first %s): those streams get no "
                      "samples", len(refused), len(topics), refused[0])
        if qos0:
            log.warning("mqtt raw: the broker grants QoS 0 only on %d of %d raw topics (first %s): what a device "
                        "sends while eegd is away is lost", len(qos0), len(topics), qos0[0])

    def _route(self, topic: str, payload: object) -> None:
        q = self.queues.get(topic)
        if q is None:
            if self.discover is None or (q := self.discover(topic[len(self.prefix) + 1 : -len("/raw")])) is None:
                return
        data = payload if isinstance(payload, bytes) else str(payload).encode()
        if q.full():
            q.get_nowait()
            self.overflows += 1
            if self.overflows in (1, 10, 100) or self.overflows % 10000 == 0:
                log.warning("mqtt raw: %s is not read fast enough: %d messages dropped so far", topic, self.overflows)
        q.put_nowait(RawItem(time.monotonic(), data))


class MqttRawSource:
    """One stream's raw messages from `queue`: size-checked, parsed (JSON or binary), repeats dropped, placed on an
    honest clock. A message that cannot be used (`"bad_payload"`, with the reason) and a repeat (`"duplicate"`) are
    told to `report` (with the time of the stream's newest samples) and skipped; the stream goes on.

    Messages that carry an ack wait in `unacked` with the time of their last sample until `release` says the
    windows holding them are done; those skipped go to `done` at once.

    `hold_s` (a cluster worker: JetStream delivers a message again once its ack wait has passed, after newer ones
    when the first delivery was lost with a connection): a numbered message after a hole in `seq` waits, with
    those after it, up to `hold_s` for the hole's messages; then they go on in order and the timeline reports
    what is still missing as a gap."""

    def __init__(self, queue: asyncio.Queue[RawItem], stream: str, gap_periods: float = 3.0,
                 max_bytes: int = MAX_RAW_BYTES, report: Callable[[str, str, float], None] | None = None,
                 done: Callable[[list[str]], None] | None = None, hold_s: float = 0.0) -> None:
        self.stream, self.max_bytes, self.hold_s = stream, max_bytes, hold_s
        self.queue = queue
        self.timeline = RawTimeline(gap_periods)
        self.report = report or (lambda kind, why, t: log.warning("stream %s: raw message %s: %s", stream, kind, why))
        self.done = done or (lambda acks: None)
        self.unacked: collections.deque[tuple[float, str]] = collections.deque()
        self._first: tuple[RawItem, RawChunk] | None = None

    async def _next(self, until: float | None = None) -> tuple[RawItem, RawChunk] | None:
        """The next usable message; None once the monotonic time `until` has come without one."""
        while True:
            if until is None:
                item = await self.queue.get()
            else:
                try:
                    item = await asyncio.wait_for(self.queue.get(), max(0.0, until - time.monotonic()))
                except TimeoutError:
                    return None
            try:
                return item, parse(item.payload, self.max_bytes)
            except RawPayloadError as exc:
                self.report("bad_payload", str(exc), self.timeline.newest)
                if item.ack is not None:
                    self.done([item.ack])

    async def _in_order(self, first: tuple[RawItem, RawChunk] | None) -> AsyncIterator[tuple[RawItem, RawChunk]]:
        """`first`, then the messages, those after a hole in `seq` held back up to `hold_s` (see the class)."""
        held: dict[int, tuple[RawItem, RawChunk]] = {}
        expected: int | None = None  # the seq after the last one taken
        until = 0.0
        ready = [first] if first else []
        while True:
            while ready:
                item, raw = ready.pop(0)
                yield item, raw
                if raw.seq is not None and self.timeline.newest == raw.t0:  # taken, not a repeat
                    expected = raw.seq + 1
                if not ready and expected in held:  # the hole is filled: the held ones follow
                    ready.append(held.pop(expected))  # type: ignore[arg-type]
            got = await self._next(until if held else None)
            if got is None:  # the hole stays: what was held goes on, in order, and the timeline sees the gap
                ready, held = [held[k] for k in sorted(held)], {}
                continue
            seq = got[1].seq
            if self.hold_s > 0 and seq is not None and expected is not None and seq > expected:
                if not held:
                    until = time.monotonic() + self.hold_s
                old = held.pop(seq, None)
                if old is not None and old[0].ack is not None:  # delivered again while held
                    self.done([old[0].ack])
                held[seq] = got
                continue
            ready = [got]

    async def open(self) -> StreamInfo:
        """Waits for the stream's first usable message: its rate and channels are the stream's layout."""
        self._first = await self._next()
        assert self._first is not None
        raw = self._first[1]
        return StreamInfo(raw.rate, raw.channels)

    async def chunks(self, want: Callable[[], int] | None = None) -> AsyncIterator[Chunk]:
        """Chunks as their messages come (`want` is not needed: the device paces them)."""
        ordered, self._first = self._in_order(self._first), None
        async for item, raw in ordered:
            placed = self.timeline.place(raw, item.received)
            if placed is None:
                self.report("duplicate", f"seq {raw.seq}, t0 {raw.t0:.3f}", self.timeline.newest)
                if item.ack is not None:
                    self.done([item.ack])
                continue
            if item.ack is not None:
                self.unacked.append((raw.t0 + (len(raw.samples) - 1) / raw.rate, item.ack))
            for chunk in placed:
                yield chunk

    def release(self, before: float) -> list[str]:
        """The acks of the messages whose samples all lie before `before` (the next window's first sample)."""
        out = []
        while self.unacked and self.unacked[0][0] < before:
            out.append(self.unacked.popleft()[1])
        return out

    async def close(self) -> None:
        pass
