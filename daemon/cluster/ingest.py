"""A cluster worker's share of the raw streams: one pull loop per partition consumer, owned by one worker at a
time (the server pins it), each message routed to its stream's queue and acknowledged once released."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats
import nats.errors
import nats.js.errors
import orjson
from nats.aio.client import Client as Nats
from nats.js.errors import KeyNotFoundError

from eegd.daemon.cluster.jetstream_api import (
    ConsumerSettings,
    Delivered,
    GroupPuller,
    JetStreamError,
    PinLost,
    check_mapping,
    cluster_size,
    ensure_consumer,
    ensure_stream,
    unpin,
)
from eegd.daemon.service.config import STREAM_ID, IngestConfig
from eegd.eegstream.sources.mqtt_raw import RawItem

log = logging.getLogger(__name__)
T = TypeVar("T")

PULL_BATCH = 256
PULL_EXPIRES_S = 0.5  # a pull waits this long for messages: the owner pulls again well within the pin timeout
LEASE_MARGIN_S = 0.25  # the owner gives a partition up this long before the server could have moved the pin
HEARTBEAT_S = 0.5  # each worker renews its entry in the workers bucket this often ...
WORKER_TTL_S = 2.0  # ... and is taken for gone once it has not for this long


async def _retrying(call: Callable[[], Awaitable[T]], what: str, timeout_s: float = 15.0) -> T:
    """`call()`, retried while the cluster is still electing the leader of a stream just made (or restarting)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await call()
        except (nats.js.errors.NoStreamResponseError, nats.js.errors.ServiceUnavailableError,
                nats.errors.TimeoutError) as exc:
            if time.monotonic() > deadline:
                raise JetStreamError(f"{what}: no answer from the cluster ({type(exc).__name__})") from None
            await asyncio.sleep(0.25)


async def _bucket(nc: Nats, name: str, replicas: int, ttl_s: float | None = None):  # noqa: ANN202 - nats-py's KeyValue
    """The KV bucket, made if absent."""
    js = nc.jetstream()

    async def get():  # noqa: ANN202
        try:
            return await js.key_value(name)
        except nats.js.errors.BucketNotFoundError:
            return await js.create_key_value(bucket=name, history=1, replicas=replicas, ttl=ttl_s)

    return await _retrying(get, f"bucket {name}")


def owner_of(partition: int, workers: list[str]) -> str:
    """The worker that should own the partition: rendezvous hashing (the highest hash of worker and partition; a
    cryptographic hash, since names that differ in one character must not rank alike on every partition)."""
    return max(workers, key=lambda w: hashlib.blake2b(f"{w}/{partition}".encode(), digest_size=8).digest())


class Ingest:
    """Connects to the cluster, checks its partition mapping, makes the raw stream, the partition consumers and the
    buckets if absent, then pulls the partitions this worker should own in their priority group; the server
    serves each partition to one pinned worker at a time, whatever the workers think.

    Which worker should own a partition: rendezvous hashing over the live workers (each renews its entry in a
    bucket every `HEARTBEAT_S`; one silent for `WORKER_TTL_S` is gone), so partitions spread over the workers and
    move as few as possible when one comes or goes. A worker that should no longer own a partition stops
    processing it, hands back what it had not finished (NAK: delivered again at once) and unpins it.

    A worker that gains a partition holds what it is served until the previous owner's unacknowledged messages have
    been delivered again (`hold_s`) and passes everything in stream order,
    so windows are rebuilt from the first sample the previous owner had not finished. A partition is given up
    (`on_lost`) when the server says the pin moved (status 423) or when this worker has not pulled it for nearly
    the pin timeout (a stopped or starved process), before anything more of it is processed: `holds(partition)`
    says whether its windows may still be published."""

    def __init__(self, cfg: IngestConfig, prefix: str, on_stream: Callable[[str, int], asyncio.Queue[RawItem]],
                 on_lost: Callable[[int], list[str]], room: Callable[[], bool]) -> None:
        self.cfg, self.prefix = cfg, prefix
        self.on_stream, self.on_lost, self.room = on_stream, on_lost, room
        self.nc: Nats | None = None
        self.kv = None
        self.workers_kv = None
        self.workers: list[str] = [cfg.worker]  # the live workers, this one included
        self.queues: dict[str, asyncio.Queue[RawItem]] = {}
        self.partition: dict[str, int] = {}  # stream id -> its partition
        self.owned: set[int] = set()
        self._lease: dict[int, float] = {}  # partition -> monotonic time until which it is surely this worker's
        self.refused = 0  # messages on subjects that are no stream id
        self._acks: list[str] = []
        self._naks: list[str] = []
        self._ack_wake = asyncio.Event()

    async def connect(self) -> None:
        """Connection and set-up; `JetStreamError` (one line) when the cluster cannot serve this config."""
        try:  # once connected, reconnects for ever; the first connection is given connect_timeout_s (then systemd
            # restarts the worker)
            self.nc = await asyncio.wait_for(nats.connect(
                list(self.cfg.servers), name=self.cfg.worker, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                connect_timeout=5, error_cb=self._error, disconnected_cb=self._disconnected,
                reconnected_cb=self._reconnected), self.cfg.connect_timeout_s)
        except TimeoutError:
            raise JetStreamError(f"none of {', '.join(self.cfg.servers)} answers within "
                                 f"{self.cfg.connect_timeout_s:g} s") from None
        except (nats.errors.Error, OSError) as exc:
            raise JetStreamError(f"none of {', '.join(self.cfg.servers)} answers ({exc or type(exc).__name__})") \
                from None
        nc = self.nc
        await check_mapping(nc, self.prefix, self.cfg.partitions)
        replicas = min(3, cluster_size(nc))
        await ensure_stream(nc, self.cfg.stream, [f"{self.prefix}.raw.*.*"], replicas, self.cfg.max_age_s)
        settings = ConsumerSettings(self.cfg.ack_wait_s, self.cfg.max_ack_pending, self.cfg.pin_timeout_s)
        for p in range(self.cfg.partitions):
            await ensure_consumer(nc, self.cfg.stream, f"p{p}", f"{self.prefix}.raw.{p}.*", settings)
        self.kv = await _bucket(nc, self.cfg.alerts_bucket, replicas)
        self.workers_kv = await _bucket(nc, f"{self.cfg.stream}_WORKERS", replicas, WORKER_TTL_S)
        await _retrying(self._heartbeat, "the workers bucket")
        log.info("ingest: worker %s on %s (%d partitions, %d replicas)", self.cfg.worker,
                 nc.connected_url.netloc if nc.connected_url else "?", self.cfg.partitions, replicas)

    async def _error(self, exc: Exception) -> None:
        log.debug("ingest: nats: %s", exc)

    async def _disconnected(self) -> None:
        log.warning("ingest: NATS connection lost; reconnecting")

    async def _reconnected(self) -> None:
        log.info("ingest: NATS reconnected to %s", self.nc.connected_url.netloc if self.nc else "?")

    @property
    def hold_s(self) -> float:
        """How long a new owner holds what it is served: what may be left of the previous owner's ack wait once the
        pin moved (its last pull's messages came at most `PULL_EXPIRES_S` after the pull, and the pin moves
        `pin_timeout_s` after it), with a margin. A worker that hands a partition back sends NAKs instead (delivered
        again at once)."""
        return max(0.0, self.cfg.ack_wait_s - self.cfg.pin_timeout_s) + PULL_EXPIRES_S + 0.5

    def preferred(self, partition: int) -> str:
        return owner_of(partition, self.workers)

    async def _heartbeat(self) -> None:
        assert self.workers_kv is not None
        await self.workers_kv.put(self.cfg.worker, b"")
        try:
            live = sorted(await self.workers_kv.keys())
        except Exception:  # noqa: BLE001 - nats-py raises when the bucket is empty
            live = []
        if self.cfg.worker not in live:
            live = sorted([*live, self.cfg.worker])
        if live != self.workers:
            log.info("ingest: workers now %s", ", ".join(live))
            self.workers = live

    async def _membership(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self._heartbeat()
            except Exception as exc:  # noqa: BLE001 - the cluster away for a moment: the last view stands
                log.debug("ingest: heartbeat failed: %s", exc)

    def holds(self, partition: int) -> bool:
        return partition in self.owned and time.monotonic() < self._lease.get(partition, 0.0)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._ack_loop(), name="ingest-acks")
            tg.create_task(self._membership(), name="ingest-membership")
            for p in range(self.cfg.partitions):
                tg.create_task(self._partition(p), name=f"ingest-p{p}")

    async def _partition(self, p: int) -> None:
        assert self.nc is not None
        puller = GroupPuller(self.nc, self.cfg.stream, f"p{p}")
        await puller.start()
        held: list[Delivered] | None = None
        held_until = 0.0
        try:
            while True:
                if self.preferred(p) != self.cfg.worker:
                    if p in self.owned:
                        self._give_up(p, f"rebalanced to {self.preferred(p)}")
                        puller.pin, held = None, None
                        await self._unpin(p)
                    await asyncio.sleep(HEARTBEAT_S / 2)
                    continue
                batch = PULL_BATCH if self.room() else 1  # back-pressure: a pull of one keeps the pin
                sent = time.monotonic()
                try:
                    msgs = await puller.pull(batch, PULL_EXPIRES_S)
                except PinLost:
                    self._give_up(p, "the server pinned another worker")
                    held = None
                    continue
                except (nats.errors.ConnectionClosedError, nats.errors.StaleConnectionError, OSError):
                    await asyncio.sleep(0.5)
                    continue
                now = time.monotonic()
                if p in self.owned and now > self._lease[p]:
                    # stopped or starved past the lease: the pin may have moved, so nothing more of it is ours
                    self._give_up(p, "not pulled for the pin timeout")
                    puller.pin, held = None, None
                    continue  # what this pull brought is delivered again to the new owner
                if p not in self.owned and msgs:  # newly pinned here
                    self.owned.add(p)
                    held, held_until = [], now + self.hold_s
                    log.info("ingest: partition %d is this worker's now", p)
                if p in self.owned:
                    self._lease[p] = sent + self.cfg.pin_timeout_s - LEASE_MARGIN_S
                if held is not None:
                    held += msgs
                    if now < held_until:
                        continue
                    msgs, held = sorted(held, key=lambda d: d.stream_seq), None
                if msgs:
                    self._route(p, msgs)
        finally:
            await puller.close()

    def _give_up(self, p: int, why: str) -> None:
        """Stop processing the partition; what its streams had not finished is delivered again to the next owner."""
        if p in self.owned:
            self.owned.discard(p)
            log.warning("ingest: partition %d given up (%s)", p, why)
            unfinished = self.on_lost(p)
            for sid in [s for s, q in self.partition.items() if q == p]:
                q = self.queues.pop(sid)
                del self.partition[sid]
                while not q.empty():
                    item = q.get_nowait()
                    if item.ack is not None:
                        unfinished.append(item.ack)
            self._naks += unfinished
            self._ack_wake.set()

    async def _unpin(self, p: int) -> None:
        try:
            await unpin(self.nc, self.cfg.stream, f"p{p}")  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - then the pin times out
            log.debug("ingest: unpin of partition %d failed: %s", p, exc)

    def _route(self, p: int, msgs: list[Delivered]) -> None:
        now = time.monotonic()
        for m in msgs:
            sid = m.subject.rsplit(".", 1)[-1]
            q = self.queues.get(sid)
            if q is None:
                if sid.startswith("eegd-probe-") or not STREAM_ID.match(sid):  # a mapping probe, or no stream
                    if not sid.startswith("eegd-probe-"):
                        self.refused += 1
                    self.ack([m.reply])
                    continue
                q = self.queues[sid] = self.on_stream(sid, p)
                self.partition[sid] = p
            q.put_nowait(RawItem(now, m.data, m.reply))

    def ack(self, replies: list[str]) -> None:
        """Acknowledge these messages (sent by the ack task, in order)."""
        self._acks += replies
        self._ack_wake.set()

    async def _ack_loop(self) -> None:
        assert self.nc is not None
        while True:
            await self._ack_wake.wait()
            self._ack_wake.clear()
            await self._send_acks()

    async def _send_acks(self) -> None:
        assert self.nc is not None
        acks, self._acks = self._acks, []
        naks, self._naks = self._naks, []
        try:
            for reply in acks:
                await self.nc.publish(reply, b"+ACK")
            for reply in naks:
                await self.nc.publish(reply, b"-NAK")
        except Exception as exc:  # noqa: BLE001 - not acknowledged: delivered again, dropped as a repeat
            log.debug("ingest: acks lost: %s", exc)

    async def load_alert(self, stream: str) -> dict | None:
        """The stream's alert state as its last owner left it (`state`, `since`); None when there is none, or
        when what the bucket holds is not that (logged: the alarm state starts afresh)."""
        if self.kv is None:
            return None
        try:
            entry = await self.kv.get(stream)
        except KeyNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - the bucket unreachable: the alarm state starts afresh
            log.warning("ingest: alert state of %s not read: %s", stream, exc)
            return None
        if not entry.value:
            return None
        try:
            saved = orjson.loads(entry.value)
        except orjson.JSONDecodeError:
            saved = None
        if (isinstance(saved, dict) and isinstance(saved.get("state"), str)
                and isinstance(saved.get("since"), int | float) and math.isfinite(saved["since"])):
            return saved
        log.warning("ingest: alert state of %s in the bucket is not a state and a time (%.60r); it starts afresh",
                    stream, entry.value)
        return None

    async def save_alert(self, stream: str, state: dict) -> None:
        if self.kv is None:
            return
        try:
            await self.kv.put(stream, orjson.dumps(state))
        except Exception as exc:  # noqa: BLE001 - logged; the retained alert still says it
            log.warning("ingest: alert state of %s not saved: %s", stream, exc)

    async def close(self) -> None:
        """Send the acks still due, hand the partitions back (the others take them over at once), leave."""
        if self.nc is None:
            return
        for p in sorted(self.owned):
            self._give_up(p, "shutting down")
        await self._send_acks()
        try:
            if self.workers_kv is not None:
                await self.workers_kv.delete(self.cfg.worker)
            for p in range(self.cfg.partitions):
                if self.preferred(p) == self.cfg.worker:
                    await self._unpin(p)
            await self.nc.drain()
        except Exception:  # noqa: BLE001 - already closed
            pass

