"""Wiring of the daemon: sources -> ring buffers -> scheduler -> model -> alert state -> MQTT, and its lifecycle."""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import orjson

from eegd.daemon import __version__
from eegd.daemon.service.alert_state import AlertState
from eegd.daemon.service.broker_qos import fit_to_broker
from eegd.daemon.service.channel_fusion import fuse_labels, severity
from eegd.daemon.service.config import FILE_SOURCES, STREAM_ID, Config, ConfigError, StreamConfig
from eegd.daemon.service.gc_pauses import steady_gc
from eegd.daemon.service.group_runner import GroupRunner
from eegd.daemon.service.inference_engine import InferenceEngine
from eegd.daemon.service.messages import ChannelsJson, Outgoing, Topics, float32_values
from eegd.daemon.service.mqtt_publisher import MqttPublisher, client_for
from eegd.daemon.service.native_heap import trim_loop
from eegd.daemon.service.scheduler import Scheduler, WindowBatch
from eegd.daemon.service.systemd_notify import Notifier
from eegd.eegstream.band_filter import BandFilter
from eegd.eegstream.formats.csv import Recording, read_recordings
from eegd.eegstream.formats.readers import is_csv
from eegd.eegstream.quality import issue_names
from eegd.eegstream.sources.discovery import Discovery
from eegd.eegstream.sources.file import CsvBlockSource, FileSource
from eegd.eegstream.sources.lsl import LslSource
from eegd.eegstream.sources.mqtt_raw import MqttRawSource, RawItem, RawSubscription
from eegd.eegstream.sources.protocol import Source, SourceError, StreamInfo
from eegd.eegstream.stream_block import StreamBlock
from eegd.eegstream.stream_group import SlotResult, StreamGroup
from eegd.eegstream.stream_windows import StreamWindows, Windows, needs_resampling
from eegd.models.inference import Classifier, pick_device

if TYPE_CHECKING:  # a cluster worker's part, imported when [ingest] is set (the `cluster` extra: nats-py)
    from eegd.daemon.cluster.ingest import Ingest

log = logging.getLogger(__name__)

BLOCK_MIN_STREAMS = 8  # from this many paced CSV streams alike, they play as one block (one task, 2-D buffers)
BLOCK_MAX_BYTES = 16 << 20  # a block is held in memory: a larger CSV file streams from disk as a stream of its own


class Publisher(Protocol):
    """Where messages go: the MQTT publisher, or an in-memory sink for offline event scoring."""

    published: int
    dropped_predictions: int

    def submit(self, msg: Outgoing, alert: bool = False) -> None: ...

    def forget(self, topics: tuple[str, ...]) -> None: ...

    @property
    def queued_predictions(self) -> int: ...

    async def run(self) -> None: ...

    async def close(self, task: asyncio.Task, timeout_s: float = 10.0) -> None: ...


def make_source(s: StreamConfig, recordings: list[Recording] | None = None, gap_periods: float = 3.0,
                discovered: bool = False) -> Source:
    """The stream's file or LSL source; `recordings`: a CSV file's contents when already read; `discovered`: a
    stream found by discovery, given up after `drop_after_s` away."""
    if s.source in FILE_SOURCES:
        assert s.path is not None
        return FileSource(s.path, speed=s.speed, loop=s.loop, rate=s.rate, channels=s.channels, recordings=recordings,
                          stream=s.name)
    return LslSource(name=s.name, type_=s.type, source_id=s.source_id, channels=s.channels, unit=s.unit,
                     gap_periods=gap_periods, give_up_after_s=s.drop_after_s if discovered else None)


@dataclass
class StreamState:
    """What the service keeps per stream: its config, alert state, window counter and fault counters."""

    cfg: StreamConfig
    index: int
    alert: AlertState
    channels: tuple[str, ...] = ()
    seq: int = 0
    alerts: int = 0
    errors: int = 0
    overruns: int = 0
    quality_issues: list[str] = field(default_factory=list)
    quality_counts: dict[str, int] = field(
        default_factory=lambda: {"gaps": 0, "time_reversals": 0, "bad_windows": 0, "lost_samples": 0})
    discovered: bool = False
    active: bool = True  # False once a discovered stream has been dropped
    partition: int | None = None  # a cluster worker's stream: its partition of the raw stream
    queue: asyncio.Queue[RawItem] | None = None  # ... and its raw messages
    raw: MqttRawSource | None = None  # ... whose messages are acknowledged as their windows are done
    task: asyncio.Task | None = None

    def __post_init__(self) -> None:
        if self.cfg.source == "mqtt":  # raw messages can also be repeats or unusable
            self.quality_counts.update(duplicates=0, bad_payloads=0)


class Service:
    def __init__(self, cfg: Config, classifier: Classifier, notifier: Notifier | None = None,
                 publisher: Publisher | None = None, recordings: dict[str, list[Recording]] | None = None) -> None:
        """`recordings`: file streams' signals already in memory, by stream id (played instead of their path)."""
        self.cfg = cfg
        self._preloaded = recordings or {}
        self.classifier = classifier
        self.labels = classifier.labels
        self.model_rate = classifier.sample_rate
        self.engine = InferenceEngine(classifier, cfg.model.threads)
        self.topics = Topics(cfg.mqtt.topic_prefix)
        configured = [s for s in cfg.stream if not s.discover]
        self.discover_cfgs = [s for s in cfg.stream if s.discover and s.source == "lsl"]
        self.raw_discover = [s for s in cfg.stream if s.discover and s.source == "mqtt"]
        self.streams = [StreamState(s, i, AlertState.from_config(cfg.alerts)) for i, s in enumerate(configured)]
        self.ingest: Ingest | None = None  # a cluster worker: its share of the raw streams
        status_topic = None
        if cfg.ingest is not None:
            from eegd.daemon.cluster.ingest import Ingest

            self.ingest = Ingest(cfg.ingest, cfg.mqtt.topic_prefix, self._ingest_stream, self._ingest_lost,
                                 self._room)
            status_topic = self.topics.worker_status(cfg.ingest.worker)
        self.publisher = publisher or MqttPublisher.for_service(cfg.mqtt, __version__, classifier.id,
                                                                tuple(s.id for s in configured), status_topic)
        self._tg: asyncio.TaskGroup | None = None
        self._stopping = False
        self._tasks: set[asyncio.Task] = set()  # streams started by discovery or by ingest, and their side tasks
        self._found_by: dict[str, Discovery] = {}  # a discovered stream's id -> the discovery that found it
        self.scheduler = Scheduler(self.engine, self.deliver, cfg.scheduler.max_batch, cfg.scheduler.max_wait_ms)
        self.notifier = notifier or Notifier(None)
        self.stop = asyncio.Event()
        self._severity = severity(self.labels)
        self._seizure = self.labels.index("seizure")
        self._channels_json = ChannelsJson(self.labels)
        self._runners: dict[tuple[float, int], GroupRunner] = {}  # one pass per live layout (rate, channels)
        self._runner_tasks: list[asyncio.Task] = []
        self._failed = False  # a shared pass failed (a bug): `run` returns 1
        self._in_flight = 0  # predictions of one-stream batches handed to the scheduler, not yet delivered
        self._window_period = cfg.window.hop / self.model_rate  # seconds from one window's start to the next
        self.raw: RawSubscription | None = None  # the broker connection of the `source = "mqtt"` streams
        mqtt_ids = [st.cfg.id for st in self.streams if st.cfg.source == "mqtt"]
        self.raw_refused = 0  # raw topics of ids no discovery takes
        if mqtt_ids or self.raw_discover:
            m = cfg.mqtt
            self.raw = RawSubscription(lambda: client_for(m, f"{m.client_id}-raw", clean_session=False),
                                       m.topic_prefix, discover=self._raw_stream if self.raw_discover else None)
            for sid in mqtt_ids:
                self.raw.register(sid)

    # --- per stream: source -> (resampler) -> ring buffer -> windows -> scheduler ---------------------------
    async def pump(self, st: StreamState, recordings: list[Recording] | None = None) -> None:
        """One stream's task. A source error ends this stream only; the others go on."""
        source = self._source(st, recordings)
        try:
            info = await source.open()
            if st.cfg.source in FILE_SOURCES:
                await self._pump_alone(st, source, info)
            else:
                await self._pump_grouped(st, source, info)
            log.info("stream %s: source ended after %d windows", st.cfg.id, st.seq)
        except (SourceError, ValueError, OSError) as exc:  # e.g. a malformed CSV: one line, no traceback
            st.errors += 1
            log.error("stream %s: %s; this stream ends, the others go on", st.cfg.id, exc)
        except Exception:  # a bug: the traceback is logged, this stream ends, the others go on
            st.errors += 1
            log.exception("stream %s: unexpected failure; this stream ends, the others go on", st.cfg.id)
        finally:
            await source.close()
            if st.discovered and st.partition is None:
                self._drop(st)

    def _source(self, st: StreamState, recordings: list[Recording] | None) -> Source:
        if st.cfg.source == "mqtt":  # from the broker, or a cluster worker's stream (its queue filled by ingest)
            if st.queue is None:
                assert self.raw is not None
                queue, max_bytes, done = self.raw.register(st.cfg.id), self.cfg.mqtt.max_raw_bytes, None
                hold_s = 0.0
            else:  # what a lost connection took is delivered again after the ack wait: a hole waits for it
                assert self.ingest is not None
                queue, max_bytes, done = st.queue, self.ingest.cfg.max_raw_bytes, self.ingest.ack
                hold_s = 2 * self.ingest.cfg.ack_wait_s
            st.raw = MqttRawSource(queue, st.cfg.id, self.cfg.quality.gap_periods, max_bytes,
                                   lambda kind, why, t: self._raw_fault(st, kind, why, t), done, hold_s)
            return st.raw
        return make_source(st.cfg, recordings, self.cfg.quality.gap_periods, st.discovered)

    def _raw_fault(self, st: StreamState, kind: str, why: str, t: float) -> None:
        """A raw message dropped: a repeat is counted; a bad one is counted, logged once an episode (until a good
        window) and reported in the stream's quality as `bad_payload`."""
        if kind == "duplicate":
            st.quality_counts["duplicates"] += 1
            return
        st.quality_counts["bad_payloads"] += 1
        if "bad_payload" not in st.quality_issues:
            log.warning("stream %s: raw message refused: %s (the next ones are counted until a good window)",
                        st.cfg.id, why)
            self._quality_state(st, [*st.quality_issues, "bad_payload"], t)

    def _new_layout(self, st: StreamState, info: StreamInfo) -> None:
        st.channels = info.channels
        if needs_resampling(info.rate, self.model_rate):
            log.info("stream %s: resampling %.2f Hz -> %.2f Hz", st.cfg.id, info.rate, self.model_rate)

    async def _pump_alone(self, st: StreamState, source: Source, info: StreamInfo) -> None:
        """A file stream through buffers of its own: its stamps are read for gaps and reversals."""

        def windows_for(info: StreamInfo) -> StreamWindows:
            self._new_layout(st, info)
            return StreamWindows(info.rate, len(info.channels), self.model_rate, self.classifier.window,
                                 self.cfg.window.hop, self.cfg.quality, self.cfg.filter)

        sw = windows_for(info)
        fast = st.cfg.speed == 0
        try:
            async for chunk in source.chunks(want=sw.samples_wanted):
                if fast:  # a file played as fast as possible waits for the publisher rather than outrun it
                    await self._room_for_fast()
                out = sw.push(chunk.samples, chunk.timestamps, chunk.gap, chunk.lost, chunk.reversal)
                self.quality(st, out, float(chunk.timestamps[0]))
                if len(out.windows) or out.broken:
                    self._in_flight += len(out.windows)
                    await self.scheduler.submit(WindowBatch(
                        np.full(len(out.windows), st.index), out.windows, out.t_start, out.t_end, chunk.received,
                        (st.index,) if out.broken else (), st.channels))
        finally:
            st.overruns += sw.buffer.overruns

    async def _pump_grouped(self, st: StreamState, source: Source, info: StreamInfo) -> None:
        """A live stream (its clock already honest) staged into the pass shared by every stream of its layout."""
        self._new_layout(st, info)
        runner = self._runner(info)
        slot = runner.join(st.index)

        def wanted() -> int:  # the current layout's (a new layout joins another group)
            return runner.group.samples_wanted(slot)

        try:
            async for chunk in source.chunks(want=wanted):
                if chunk.layout is not None:  # the device came back with other channels or another rate
                    runner.leave(slot)
                    self._new_layout(st, chunk.layout)
                    runner = self._runner(chunk.layout)
                    slot = runner.join(st.index)
                    log.info("stream %s: new buffers for %d channels at %.2f Hz", st.cfg.id,
                             len(chunk.layout.channels), chunk.layout.rate)
                runner.stage(slot, chunk)
        finally:
            runner.leave(slot)

    def _runner(self, info: StreamInfo) -> GroupRunner:
        """The pass of the streams of this layout, started with the first of them."""
        key = (info.rate, len(info.channels))
        runner = self._runners.get(key)
        if runner is None:
            group = StreamGroup(info.rate, len(info.channels), self.model_rate, self.classifier.window,
                                self.cfg.window.hop, self.cfg.quality, self.cfg.filter)
            runner = self._runners[key] = GroupRunner(group, self.cfg.scheduler.max_wait_ms / 2000.0,
                                                      self.scheduler.submit, self._group_result, self._group_left)
            task = asyncio.create_task(runner.run(), name=f"group-{key[0]:g}Hz-{key[1]}ch")
            task.add_done_callback(self._runner_ended)
            self._runner_tasks.append(task)
        return runner

    def _runner_ended(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:  # a bug: said loudly, the streams' end follows
            log.error("%s: the shared pass failed; the daemon stops with exit status 1 (systemd restarts it)",
                      task.get_name(), exc_info=task.exception())
            self._failed = True
            self.stop.set()

    def _group_result(self, index: int, r: SlotResult) -> None:
        self.quality(self.streams[index], r, r.t)

    def _group_left(self, index: int, overruns: int) -> None:
        self.streams[index].overruns += overruns

    def quality(self, st: StreamState, out: Windows | SlotResult, t: float) -> None:
        """Count problems; on every change of the set of problems log once and publish the quality state."""
        c = st.quality_counts
        c["gaps"] += out.gaps
        c["time_reversals"] += out.reversals
        c["bad_windows"] += out.bad_windows
        c["lost_samples"] += out.lost
        issues = issue_names(out.issues) + (["gap"] if out.gaps else []) + (["time_reversal"] if out.reversals else [])
        if issues or out.count:  # with neither, nothing new was seen: the state stands
            self._quality_state(st, issues, t)

    def _quality_state(self, st: StreamState, issues: list[str], t: float) -> None:
        if issues == st.quality_issues:
            return
        if issues:
            log.warning("stream %s: signal quality: %s (from t=%.3f)", st.cfg.id, ", ".join(issues), t)
        else:
            log.info("stream %s: signal quality ok again (t=%.3f)", st.cfg.id, t)
        st.quality_issues = issues
        self.publisher.submit(Outgoing(self.topics.quality(st.cfg.id), {
            "schema": 1, "stream": st.cfg.id, "ok": not issues, "issues": issues, "since": t,
            "counts": dict(st.quality_counts), "model": self.classifier.id}, 1, True), alert=True)

    # --- many CSV streams on one clock: one task, one block ---------------------------------------------
    def plan_blocks(self) -> tuple[list[list[StreamState]], list[StreamState]]:
        """Paced CSV streams with the same speed, loop and rate setting are candidates to play as a block."""
        groups: dict[tuple, list[StreamState]] = {}
        singles = []
        for st in self.streams:
            c = st.cfg
            if c.source in FILE_SOURCES and is_csv(c.path) and c.speed > 0 and not c.channels \
                    and Path(c.path).stat().st_size <= BLOCK_MAX_BYTES:
                groups.setdefault((c.speed, c.loop, c.rate), []).append(st)
            else:
                singles.append(st)
        blocks = [g for g in groups.values() if len(g) >= BLOCK_MIN_STREAMS]
        singles += [st for g in groups.values() if len(g) < BLOCK_MIN_STREAMS for st in g]
        return blocks, singles

    async def pump_block(self, group: list[StreamState]) -> None:
        """Open the files; those that share length and rate (single channel, no timestamp column, at the model's
        rate) play as one block; any other plays as a stream of its own."""
        recs = await asyncio.gather(*(asyncio.to_thread(read_recordings, st.cfg.path, st.cfg.rate) for st in group),
                                    return_exceptions=True)
        parts: dict[tuple, list[tuple[StreamState, list[Recording]]]] = {}
        tasks = []
        for st, r in zip(group, recs, strict=True):
            if isinstance(r, Exception):
                tasks.append(self.pump(st))  # read again there, to report (or half play) the bad file
            elif len(r) != 1 or r[0].samples.shape[1] != 1 or r[0].timestamps is not None \
                    or needs_resampling(r[0].rate, self.model_rate):
                tasks.append(self.pump(st, r))
            else:
                parts.setdefault((r[0].n_samples, r[0].rate), []).append((st, r))
        for (_, rate), members in parts.items():
            if len(members) < 2:
                tasks += [self.pump(st, r) for st, r in members]
            else:
                tasks.append(self._play_block([st for st, _ in members],
                                              np.stack([r[0].samples[:, 0] for _, r in members]), rate))
        await asyncio.gather(*tasks)

    async def _play_block(self, states: list[StreamState], samples: np.ndarray, rate: float) -> None:
        c = states[0].cfg
        idx = np.array([st.index for st in states])
        for st in states:
            st.channels = ("eeg",)
        band = BandFilter(self.cfg.filter, rate, len(states)) if self.cfg.filter.enabled else None
        block = StreamBlock(len(states), self.classifier.window, self.cfg.window.hop, self.cfg.quality, band=band)
        flagged: set[int] = set()
        log.info("%d csv streams play as one block (%d samples each, %.2f Hz)", len(states), samples.shape[1], rate)
        async for chunk in CsvBlockSource(samples, rate, c.speed, c.loop).chunks():
            out = block.push(chunk.samples, chunk.timestamps)
            n_win = len(out.t_start)
            if not n_win:
                continue
            good = out.issues == 0
            resets: tuple[int, ...] = ()
            if not good.all() or flagged:
                resets = self._block_quality(states, out.issues, flagged, float(chunk.timestamps[0]))
            await self.scheduler.submit(WindowBatch(
                np.repeat(idx, n_win)[good.ravel()], out.windows[good][:, None, :],
                np.tile(out.t_start, len(states))[good.ravel()], np.tile(out.t_end, len(states))[good.ravel()],
                chunk.received, resets))

    def _block_quality(self, states: list[StreamState], issues: np.ndarray, flagged: set[int], t: float,
                       ) -> tuple[int, ...]:
        """Quality bookkeeping for the streams of a block whose windows had problems (or just recovered)."""
        bad_rows = set(np.flatnonzero((issues != 0).any(axis=1)).tolist())
        for row in bad_rows | flagged:
            st = states[row]
            st.quality_counts["bad_windows"] += int((issues[row] != 0).sum())
            self._quality_state(st, issue_names(int(np.bitwise_or.reduce(issues[row]))), t)
        flagged.clear()
        flagged.update(bad_rows)
        return tuple(states[row].index for row in bad_rows)

    # --- model results -> alert state -> publisher ----------------------------------------------------------
    async def _room_for_fast(self) -> None:
        """Returns once the predictions on their way (in the scheduler, the model or the publisher's queue) fill
        less than half of `mqtt.prediction_queue`: a file played at speed 0 waits here (also through a broker
        outage) instead of outrunning the broker until predictions are dropped."""
        limit = max(1, self.cfg.mqtt.prediction_queue // 2)
        while self._in_flight + self.publisher.queued_predictions >= limit:
            await asyncio.sleep(0.005)

    def deliver(self, b: WindowBatch, probs: np.ndarray) -> None:
        """probs (n_windows, channels, labels): publish each window's prediction and its stream's alert changes."""
        if b.channels is not None:  # one stream's batch, counted in `_in_flight` when submitted
            self._in_flight -= len(probs)
        for i in b.resets:
            self.streams[i].alert.reset_run()
        if len(probs) == 0:
            return
        stream_label, stream_probs = fuse_labels(probs, self._severity, self.cfg.alerts.seizure_channels)
        qos = self.cfg.mqtt.prediction_qos
        labels = [self.labels[k] for k in stream_label.tolist()]
        t_start, t_end = b.t_start.tolist(), b.t_end.tolist()
        multi = probs.shape[1] > 1
        # a multi-channel stream's probabilities as the float32 values its channels' are written with
        p_list = float32_values(stream_probs) if multi else stream_probs.tolist()
        p_seizure = list(probs[:, :, self._seizure]) if multi else probs[:, 0, self._seizure].tolist()
        streams = b.streams.tolist()
        if multi:  # every channel's label and probabilities as JSON once per batch, not per window
            ch_values = self._channels_json.values(probs)
        done: dict[int, float] = {}  # a cluster worker's streams: the latest window start of each
        for i in range(len(probs)):
            st = self.streams[streams[i]]
            seq = st.seq
            if st.partition is not None:
                if not self.ingest.holds(st.partition):  # type: ignore[union-attr] - the partition moved on
                    continue
                done[st.index] = t_start[i]
                seq = round(t_start[i] / self._window_period)  # the window's number on the device's clock
            label = labels[i]
            probs_i = dict(zip(self.labels, p_list[i], strict=True))
            payload = {
                "schema": 1, "stream": st.cfg.id, "seq": seq, "t_start": t_start[i], "t_end": t_end[i],
                "label": label, "probs": probs_i, "model": self.classifier.id,
            }
            if multi:
                template = self._channels_json.template(b.channels or st.channels)
                payload["channels"] = orjson.Fragment(template % ch_values[i])
            st.seq += 1
            self.publisher.submit(Outgoing(self.topics.prediction(st.cfg.id), payload, qos, False, b.received))
            change = st.alert.update(label, t_start[i], p_seizure[i])
            if change:
                st.alerts += 1
                log.info("stream %s: alert state %s since %.3f", st.cfg.id, change.state, change.since)
                self.publisher.submit(Outgoing(self.topics.alert(st.cfg.id), {
                    "schema": 1, "stream": st.cfg.id, "state": change.state, "since": change.since,
                    "probs": probs_i, "model": self.classifier.id}, 1, True), alert=True)
                if st.partition is not None:  # the next owner resumes it
                    self._spawn(self.ingest.save_alert(  # type: ignore[union-attr]
                        st.cfg.id, {"state": change.state, "since": change.since}))
        if done:
            self._release(done)

    def _release(self, done: dict[int, float]) -> None:
        """Acknowledge the raw messages whose samples no later window needs, once what they gave is sent."""
        acks: list[str] = []
        for index, t in done.items():
            raw = self.streams[index].raw
            if raw is not None:
                acks += raw.release(t + self._window_period)
        if acks:
            ingest = self.ingest
            self.publisher.when_sent(lambda: ingest.ack(acks))  # type: ignore[union-attr]

    # --- lifecycle ---------------------------------------------------------------------------------------
    async def run(self) -> int:
        if self.ingest is not None:
            from eegd.daemon.cluster.jetstream_api import JetStreamError

            try:
                await self.ingest.connect()
            except JetStreamError as exc:  # the cluster cannot serve this config: one line, exit status 2
                raise ConfigError(f"ingest: {exc}") from None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, self._on_hangup)
        await asyncio.to_thread(self.engine.warm_up)
        try:
            with steady_gc():
                await self._serve()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            self.engine.close()
        log.info("stopped: %d windows classified, %d messages published, %d predictions dropped",
                 self.engine.windows, self.publisher.published, self.publisher.dropped_predictions)
        return 1 if self._failed else 0

    async def _serve(self) -> None:
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            pub_task = tg.create_task(self.publisher.run(), name="mqtt-publisher")
            sched_task = tg.create_task(self.scheduler.run(), name="scheduler")
            blocks, singles = self.plan_blocks()
            pumps = [tg.create_task(self.pump(st, self._preloaded.get(st.cfg.id)), name=f"stream-{st.cfg.id}")
                     for st in singles]
            pumps += [tg.create_task(self.pump_block(g), name=f"block-{i}") for i, g in enumerate(blocks)]
            pumps += [tg.create_task(self.discover(d), name=f"discover-{i}")
                      for i, d in enumerate(self.discover_cfgs)]
            if self.ingest is not None:
                pumps.append(tg.create_task(self.ingest.run(), name="ingest"))
            raw_task = tg.create_task(self.raw.run(), name="mqtt-raw") if self.raw is not None else None
            watchdog = tg.create_task(self.notifier.watchdog_loop(), name="watchdog")
            trimmer = (tg.create_task(trim_loop(self.cfg.memory.trim_interval_s), name="memory-trim")
                       if self.cfg.memory.trim_interval_s > 0 else None)
            self.notifier.notify("READY=1", f"STATUS=serving {len(self.streams)} stream(s)")
            stop_wait = asyncio.ensure_future(self.stop.wait())
            running = set(pumps)
            if self.raw_discover:  # streams come with their raw topics: the service runs until stopped
                running.add(raw_task)  # type: ignore[arg-type]
            while running and not self.stop.is_set():
                done, _ = await asyncio.wait(running | {stop_wait}, return_when=asyncio.FIRST_COMPLETED)
                running -= done
            stop_wait.cancel()
            self.notifier.notify("STOPPING=1")
            log.info("stopping: %s", "signal" if self.stop.is_set() else "every stream ended")
            self._stopping = True  # no stream starts any more (a partition's last pull may still bring new ones)
            await _cancel([*pumps, *self._tasks], "sources")
            while self._tasks:  # started while the others were being cancelled
                await _cancel(list(self._tasks), "sources")
            if raw_task is not None:
                raw_task.cancel()
            for task in self._runner_tasks:
                task.cancel()
            await asyncio.gather(*self._runner_tasks, return_exceptions=True)
            for runner in self._runners.values():  # what the live streams had staged still goes to the model
                await runner.flush()
            await self.scheduler.close()
            await sched_task
            await self.publisher.close(pub_task, self.cfg.mqtt.drain_timeout_s)
            if self.ingest is not None:  # the acks of what was sent go out before the worker leaves
                await self.ingest.close()
            watchdog.cancel()
            if trimmer is not None:
                trimmer.cancel()

    # --- discovery: streams that come and go ----------------------------------------------------------------
    def active_ids(self) -> tuple[str, ...]:
        return tuple(st.cfg.id for st in self.streams if st.active)

    async def discover(self, d: StreamConfig) -> None:
        """Every outlet matching `d` becomes a stream of its own, as it appears; one task for the discovery."""
        discovery = Discovery(d.name, d.type, d.hostname_in_id, forget_after_s=max(d.drop_after_s, 5.0))
        log.info("discovery: every LSL outlet with %s becomes a stream", discovery.pred)
        async for found in discovery.outlets():
            if found.stream_id in self.active_ids():
                log.error("discovery: stream id %r is another stream's; outlet %s@%s refused",
                          found.stream_id, found.source_id or found.name, found.hostname)
                continue
            cfg = dataclasses.replace(d, id=found.stream_id, discover=False, source_id=found.source_id or None,
                                      name=None if found.source_id else found.name)
            st = StreamState(cfg, len(self.streams), AlertState.from_config(self.cfg.alerts), discovered=True)
            self.streams.append(st)
            self._found_by[cfg.id] = discovery
            log.info("discovery: new stream %s (%s on %s)", cfg.id, found.source_id or found.name, found.hostname)
            self.publisher.set_streams(self.active_ids())
            self._start_stream(st, self.pump(st))

    def _start_stream(self, st: StreamState, coro) -> asyncio.Task:  # noqa: ANN001 - a coroutine
        """A stream that began while serving (discovered, or a partition's): its task in the service's task group,
        kept in `_tasks` until it ends."""
        assert self._tg is not None
        task = self._tg.create_task(coro, name=f"stream-{st.cfg.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _raw_stream(self, sid: str) -> asyncio.Queue[RawItem] | None:
        """The first message on the raw topic of an id not configured: a stream of its own when the id matches a
        discovery's `match` and that discovery has room (`max_streams`); else refused and counted."""
        raw = self.raw
        assert raw is not None
        d = next((d for d in self.raw_discover if fnmatch.fnmatchcase(sid, d.match or "")), None)
        taken = 0 if d is None else sum(st.active and st.discovered and fnmatch.fnmatchcase(st.cfg.id, d.match or "")
                                        for st in self.streams)
        why = ("no valid stream id" if not STREAM_ID.match(sid) else "matches no discovery's match" if d is None
               else f"over max_streams = {d.max_streams}" if taken >= d.max_streams
               else "the daemon is stopping" if self._stopping or self._tg is None else None)
        if why is not None:
            self.raw_refused += 1
            if self.raw_refused in (1, 10, 100) or self.raw_refused % 10000 == 0:
                log.warning("discovery: raw topic %s refused: %s (%d refused so far)",
                            raw.topic(sid), why, self.raw_refused)
            return None
        assert d is not None
        st = StreamState(dataclasses.replace(d, id=sid, discover=False, match=None), len(self.streams),
                         AlertState.from_config(self.cfg.alerts), discovered=True)
        self.streams.append(st)
        log.info("discovery: new stream %s (raw topic %s)", sid, raw.topic(sid))
        self.publisher.set_streams(self.active_ids())
        queue = raw.register(sid)
        self._start_stream(st, self.pump(st))
        return queue

    def _drop(self, st: StreamState) -> None:
        """A discovered stream whose device is gone: its retained alert and quality are cleared (no ghost alarm),
        the status lists the streams left, and the outlet may be discovered again later."""
        if not st.active:
            return
        st.active = False
        for topic in (self.topics.alert(st.cfg.id), self.topics.quality(st.cfg.id)):
            self.publisher.submit(Outgoing(topic, None, 1, True), alert=True)
        self.publisher.set_streams(self.active_ids())
        if st.cfg.source == "mqtt":
            self.raw.forget(st.cfg.id)  # type: ignore[union-attr]
        else:
            self._found_by.pop(st.cfg.id).forget(st.cfg.id)
        log.info("discovery: stream %s dropped", st.cfg.id)

    # --- a cluster worker: streams that come with the partitions it is given ------------------------------
    def _ingest_stream(self, sid: str, partition: int) -> asyncio.Queue[RawItem]:
        """A stream whose first message reached this worker: its state, its queue and its task (none once the
        worker is stopping: the message is not acknowledged, and the next owner is served it)."""
        assert self._tg is not None
        if self._stopping:
            return asyncio.Queue()
        st = StreamState(StreamConfig(id=sid, source="mqtt"), len(self.streams),
                         AlertState.from_config(self.cfg.alerts), discovered=True, partition=partition,
                         queue=asyncio.Queue())
        self.streams.append(st)
        st.task = self._start_stream(st, self._pump_ingest(st))
        return st.queue  # type: ignore[return-value]

    async def _pump_ingest(self, st: StreamState) -> None:
        """The stream's alert state as its last owner left it, then the stream as any other."""
        saved = await self.ingest.load_alert(st.cfg.id)  # type: ignore[union-attr]
        if saved and saved["state"] in self.labels:
            st.alert.state, st.alert.since = saved["state"], float(saved["since"])
            log.info("stream %s: taken over in alert state %s since %.3f", st.cfg.id, st.alert.state, st.alert.since)
        await self.pump(st)

    def _ingest_lost(self, partition: int) -> list[str]:
        """Another worker owns the partition now: its streams stop here (their retained messages stay: the new
        owner goes on with them); returns the acks of the messages they had not finished, for the new owner."""
        unfinished: list[str] = []
        for st in self.streams:
            if st.partition == partition and st.active:
                st.active = False
                self.publisher.forget((self.topics.alert(st.cfg.id), self.topics.quality(st.cfg.id)))
                if st.raw is not None:
                    unfinished += [ack for _, ack in st.raw.unacked]
                    st.raw.unacked.clear()
                if st.task is not None:
                    st.task.cancel()
        return unfinished

    def _room(self) -> bool:
        """Whether a cluster worker may pull more: back-pressure instead of dropping queued predictions."""
        return (self.publisher.queued_predictions < self.cfg.mqtt.prediction_queue // 2
                and self.scheduler.queue.qsize() < self.scheduler.queue.maxsize // 2)

    def _spawn(self, coro) -> None:  # noqa: ANN001 - a coroutine
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("received %s", sig.name)
        self.stop.set()

    def _on_hangup(self) -> None:  # by default SIGHUP would end the process (a closed terminal, a stray reload)
        log.warning("received SIGHUP: ignored, the daemon goes on (a changed config applies after a restart)")


async def _cancel(tasks: list[asyncio.Task], what: str, patience_s: float = 10.0) -> None:
    """Cancel the tasks and wait for them; every `patience_s` the ones still running are logged with where they are
    (a shutdown that hangs says why)."""
    for t in tasks:
        t.cancel()
    pending = {t for t in tasks if not t.done()}
    while pending:
        _, pending = await asyncio.wait(pending, timeout=patience_s)
        for t in pending:
            frames = t.get_stack(limit=3)
            where = " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in frames) or "?"
            log.warning("stopping: %s task %s still running (%s)", what, t.get_name(), where)
            t.cancel()


async def serve(cfg: Config, notifier: Notifier | None = None) -> int:
    try:
        pick_device(cfg.model.device)
    except ValueError as exc:  # `cuda` on a host without a usable GPU: a config error, named, before start-up
        raise ConfigError(f"model.device: {exc} (\"auto\" falls back to the CPU)") from None
    cfg = await fit_to_broker(cfg)
    classifier = Classifier.from_path(cfg.model.path, cfg.model.device)
    return await Service(cfg, classifier, notifier).run()
