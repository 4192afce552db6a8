"""The JetStream calls eegd needs that nats-py (2.16) has no API for — pinned-client priority groups — made as
JetStream API JSON through nats-py's own request/publish: streams, partition consumers, pulls in a group, acks."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

import nats
import nats.errors
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg

log = logging.getLogger(__name__)

NS = 1_000_000_000
GROUP = "eegd"  # the priority group of every partition consumer


class JetStreamError(RuntimeError):
    """A JetStream API call the server refused, or one it did not answer in time."""


async def api(nc: Nats, subject: str, body: dict | None = None, timeout_s: float = 10.0) -> dict:
    """One `$JS.API.<subject>` call; retried until `timeout_s` while the cluster has no JetStream leader yet."""
    deadline = time.monotonic() + timeout_s
    payload = json.dumps(body).encode() if body is not None else b""
    while True:
        try:
            reply = await nc.request(f"$JS.API.{subject}", payload, timeout=min(2.0, timeout_s))
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
            if time.monotonic() > deadline:
                raise JetStreamError(f"JetStream did not answer {subject} within {timeout_s:g} s") from None
            await asyncio.sleep(0.25)
            continue
        out = json.loads(reply.data)
        err = out.get("error")
        # no leader yet (a node restarting), or not enough peers for the replicas yet (a cluster still forming)
        if err and (err.get("code") == 503 or err.get("err_code") == 10005) and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            continue
        if err:
            raise JetStreamError(f"{subject}: {err.get('description', err)} (code {err.get('err_code')})")
        return out


def cluster_size(nc: Nats) -> int:
    """How many servers the connected one knows in its cluster (itself included)."""
    return max(1, len(set(nc._server_info.get("connect_urls") or ())))  # noqa: SLF001 - the server's INFO


def fnv1a(key: str) -> int:
    """The 32-bit FNV-1a hash the server's `partition()` mapping uses."""
    h = 0x811C9DC5
    for b in key.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def partition_of(stream: str, partitions: int) -> int:
    return fnv1a(stream) % partitions


def raw_mapping(prefix: str, partitions: int) -> str:
    """The servers' `mappings` entry that puts `{prefix}.<stream>.raw` on its partition's subject."""
    dest = f"{prefix}.raw.{{{{partition({partitions},1)}}}}.{{{{wildcard(1)}}}}"
    return f'"{prefix}.*.raw": "{dest}"'


async def check_mapping(nc: Nats, prefix: str, partitions: int, probes: int = 8) -> None:
    """Publishes empty probe messages on `{prefix}.<probe>.raw` and checks the servers' mapping put each on the
    partition `partitions` predicts; raises `JetStreamError` saying what the servers do instead."""
    seen: dict[str, str] = {}
    done = asyncio.Event()

    async def got(msg: Msg) -> None:
        seen[msg.subject.rsplit(".", 1)[-1]] = msg.subject
        if len(seen) == probes:
            done.set()

    ids = [f"eegd-probe-{time.monotonic_ns():x}-{i}" for i in range(probes)]
    subs = [await nc.subscribe(f"{prefix}.raw.*.{sid}", cb=got) for sid in ids]
    subs += [await nc.subscribe(f"{prefix}.{sid}.raw", cb=got) for sid in ids]  # where no mapping applies
    try:
        await nc.flush()
        for sid in ids:
            await nc.publish(f"{prefix}.{sid}.raw", b"")
        await nc.flush()
        try:
            await asyncio.wait_for(done.wait(), 5.0)
        except TimeoutError:
            raise JetStreamError(f"the servers did not route the probe messages of {prefix}.*.raw") from None
    finally:
        for sub in subs:
            await sub.unsubscribe()
    for sid in ids:
        subject = seen[sid]
        if not subject.startswith(f"{prefix}.raw."):
            raise JetStreamError(f"the servers have no mapping of {prefix}.*.raw to partitions (expected "
                                 f"mappings = {{ {raw_mapping(prefix, partitions)} }})")
        got_p = int(subject.split(".")[-2])
        if got_p != partition_of(sid, partitions):
            raise JetStreamError(f"the servers' mapping does not partition {prefix}.*.raw into ingest.partitions = "
                                 f"{partitions} (a probe went to partition {got_p}, expected "
                                 f"{partition_of(sid, partitions)})")


async def ensure_stream(nc: Nats, name: str, subjects: list[str], replicas: int, max_age_s: float) -> dict:
    """The raw stream, created if absent (file storage, discard old past `max_age_s`); its info."""
    try:
        return await api(nc, f"STREAM.INFO.{name}")
    except JetStreamError as exc:
        if "not found" not in str(exc):
            raise
    log.info("ingest: creating JetStream stream %s over %s (%d replicas, %g s)", name, subjects, replicas, max_age_s)
    return await api(nc, f"STREAM.CREATE.{name}", {
        "name": name, "subjects": subjects, "num_replicas": replicas, "storage": "file", "retention": "limits",
        "discard": "old", "max_age": int(max_age_s * NS)}, timeout_s=30.0)


@dataclass(frozen=True)
class ConsumerSettings:
    ack_wait_s: float
    max_ack_pending: int
    pin_timeout_s: float


async def ensure_consumer(nc: Nats, stream: str, name: str, filter_subject: str, s: ConsumerSettings) -> None:
    """A durable pull consumer whose one priority group serves a single pinned client at a time."""
    await api(nc, f"CONSUMER.CREATE.{stream}.{name}", {"stream_name": stream, "config": {
        "durable_name": name, "filter_subject": filter_subject, "ack_policy": "explicit", "deliver_policy": "all",
        "ack_wait": int(s.ack_wait_s * NS), "max_ack_pending": s.max_ack_pending, "max_deliver": -1,
        "priority_groups": [GROUP], "priority_policy": "pinned_client",
        "priority_timeout": int(s.pin_timeout_s * NS)}})


async def unpin(nc: Nats, stream: str, consumer: str) -> None:
    """Clear the consumer's pin, so that a waiting pull of another client is pinned at once."""
    await api(nc, f"CONSUMER.UNPIN.{stream}.{consumer}", {"group": GROUP}, timeout_s=2.0)


class PinLost(Exception):
    """The server pinned another client to this partition (status 423)."""


@dataclass(frozen=True, slots=True)
class Delivered:
    subject: str
    data: bytes
    reply: str  # the ack subject
    stream_seq: int
    redelivered: bool


def ack_numbers(reply: str) -> tuple[int, int]:
    """(times delivered, stream sequence) from an ack subject: `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>...`
    (9 tokens), or with a domain and account hash before the stream (12 tokens)."""
    parts = reply.split(".")
    i = 4 if len(parts) == 9 else 6
    return int(parts[i]), int(parts[i + 1])


class GroupPuller:
    """Pulls one partition consumer in the priority group: without a pin id until the server pins this client
    (the first message carries `Nats-Pin-Id`), then with it; `PinLost` when the server moved the pin."""

    def __init__(self, nc: Nats, stream: str, consumer: str) -> None:
        self.nc, self.subject = nc, f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self.pin: str | None = None
        self._inbox = nc.new_inbox()
        self._queue: asyncio.Queue[Msg] = asyncio.Queue()
        self._sub = None

    async def start(self) -> None:
        async def put(msg: Msg) -> None:
            self._queue.put_nowait(msg)

        self._sub = await self.nc.subscribe(self._inbox, cb=put)

    async def pull(self, batch: int, expires_s: float) -> list[Delivered]:
        """Up to `batch` messages, waiting at most `expires_s` for the first (and for the rest, then what came)."""
        req = {"batch": batch, "expires": int(expires_s * NS), "group": GROUP}
        if self.pin is not None:
            req["id"] = self.pin
        while not self._queue.empty():  # the end of an earlier pull, answered late
            self._queue.get_nowait()
        await self.nc.publish(self.subject, json.dumps(req).encode(), reply=self._inbox)
        out: list[Delivered] = []
        deadline = time.monotonic() + expires_s + 1.0
        while len(out) < batch:
            try:
                msg = await asyncio.wait_for(self._queue.get(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            status = (msg.headers or {}).get("Status")
            if status:
                if status == "423":
                    self.pin = None
                    raise PinLost()
                if status == "100":  # a heartbeat
                    continue
                break  # 404 no messages, 408 expired, 409 (e.g. the consumer is leaderless for a moment)
            pin = (msg.headers or {}).get("Nats-Pin-Id")
            if pin:
                self.pin = pin
            delivered, sseq = ack_numbers(msg.reply)
            out.append(Delivered(msg.subject, msg.data, msg.reply, sseq, delivered > 1))
        return out

    async def close(self) -> None:
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception:  # noqa: BLE001 - the connection is already gone
                pass
