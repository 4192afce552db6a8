"""Wiring of the daemon: sources -> ring buffers -> scheduler -> model -> alert state -> MQTT, and its lifecycle."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from daemon import __version__
from daemon.alert_state import AlertState
from daemon.config import Config, StreamConfig
from daemon.inference_engine import InferenceEngine
from daemon.messages import Outgoing, Topics, probs_dict
from daemon.mqtt_publisher import MqttPublisher
from daemon.scheduler import Scheduler, WindowBatch
from daemon.systemd_notify import Notifier
from eegstream.csv_source import CsvSource
from eegstream.lsl_source import LslSource
from eegstream.quality import issue_names
from eegstream.sources import Source, SourceError
from eegstream.stream_windows import StreamWindows, Windows
from models.inference import Classifier

log = logging.getLogger(__name__)

# Severity order for a multi-channel stream: its label is the most severe of its channels' labels.
SEVERITY = ("seizure", "tumor", "normal")


class Publisher(Protocol):
    """Where messages go: the MQTT publisher, or an in-memory sink for offline event scoring."""

    published: int
    dropped_predictions: int

    def submit(self, msg: Outgoing, alert: bool = False) -> None: ...

    async def run(self) -> None: ...

    async def close(self, task: asyncio.Task, timeout_s: float = 10.0) -> None: ...


def make_source(s: StreamConfig) -> Source:
    if s.source == "csv":
        assert s.path is not None
        return CsvSource(s.path, speed=s.speed, loop=s.loop, rate=s.rate, channels=s.channels)
    return LslSource(name=s.name, type_=s.type, source_id=s.source_id, channels=s.channels)


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
    ended: bool = False
    quality_issues: list[str] = field(default_factory=list)
    quality_counts: dict[str, int] = field(
        default_factory=lambda: {"gaps": 0, "time_reversals": 0, "bad_windows": 0})


class Service:
    def __init__(self, cfg: Config, classifier: Classifier, notifier: Notifier | None = None,
                 publisher: Publisher | None = None) -> None:
        self.cfg = cfg
        self.classifier = classifier
        self.labels = classifier.labels
        self.model_rate = classifier.sample_rate
        self.engine = InferenceEngine(classifier)
        self.topics = Topics(cfg.mqtt.topic_prefix)
        self.streams = [StreamState(s, i, AlertState(cfg.alerts.on_windows, cfg.alerts.off_windows))
                        for i, s in enumerate(cfg.stream)]
        self.publisher = publisher or MqttPublisher.for_service(cfg.mqtt, __version__, classifier.id,
                                                                tuple(s.id for s in cfg.stream))
        self.scheduler = Scheduler(self.engine, self.deliver, cfg.scheduler.max_batch, cfg.scheduler.max_wait_ms)
        self.notifier = notifier or Notifier(None)
        self.stop = asyncio.Event()
        self._severity = np.array([SEVERITY.index(lbl) for lbl in self.labels])

    # --- per stream: source -> (resampler) -> ring buffer -> windows -> scheduler ---------------------------
    async def pump(self, st: StreamState) -> None:
        """One stream's task. A source error ends this stream only; the others go on."""
        source = make_source(st.cfg)
        sw: StreamWindows | None = None
        try:
            info = await source.open()
            st.channels = info.channels
            sw = StreamWindows(info.rate, len(info.channels), self.model_rate, self.classifier.window,
                               self.cfg.window.hop, self.cfg.quality)
            if sw.resampler:
                log.info("stream %s: resampling %.2f Hz -> %.2f Hz", st.cfg.id, info.rate, self.model_rate)
            async for chunk in source.chunks():
                out = sw.push(chunk.samples, chunk.timestamps, chunk.gap)
                self.quality(st, out, float(chunk.timestamps[0]))
                if len(out.windows) or out.broken:
                    await self.scheduler.submit(
                        WindowBatch(st.index, out.windows, out.t_start, out.t_end, chunk.received, out.broken))
            log.info("stream %s: source ended after %d windows", st.cfg.id, st.seq)
        except (SourceError, ValueError, OSError) as exc:  # e.g. a malformed CSV: one line, no traceback
            st.errors += 1
            log.error("stream %s: %s; this stream ends, the others go on", st.cfg.id, exc)
        except Exception:  # a bug: the traceback is logged, this stream ends, the others go on
            st.errors += 1
            log.exception("stream %s: unexpected failure; this stream ends, the others go on", st.cfg.id)
        finally:
            st.ended = True
            st.overruns = sw.buffer.overruns if sw else 0
            await source.close()

    def quality(self, st: StreamState, out: Windows, t: float) -> None:
        """Count problems; on every change of the set of problems log once and publish the quality state."""
        c = st.quality_counts
        c["gaps"] += out.gaps
        c["time_reversals"] += out.reversals
        c["bad_windows"] += out.bad_windows
        issues = issue_names(out.issues) + (["gap"] if out.gaps else []) + (["time_reversal"] if out.reversals else [])
        if not issues and not len(out.windows):
            return  # nothing new was seen: the state stands
        if issues == st.quality_issues:
            return
        if issues:
            log.warning("stream %s: signal quality: %s (from t=%.3f)", st.cfg.id, ", ".join(issues), t)
        else:
            log.info("stream %s: signal quality ok again (t=%.3f)", st.cfg.id, t)
        st.quality_issues = issues
        self.publisher.submit(Outgoing(self.topics.quality(st.cfg.id), {
            "schema": 1, "stream": st.cfg.id, "ok": not issues, "issues": issues, "since": t,
            "counts": dict(c), "model": self.classifier.id}, 1, True), alert=True)

    # --- model results -> alert state -> publisher ----------------------------------------------------------
    def deliver(self, b: WindowBatch, probs: np.ndarray) -> None:
        """probs (n_windows, channels, labels) for one stream's batch: publish predictions and alert changes."""
        st = self.streams[b.stream]
        if b.gap:
            st.alert.reset_run()
        if len(probs) == 0:
            return
        ch_label = probs.argmax(axis=2)  # (n, ch)
        if probs.shape[1] == 1:
            stream_probs, stream_label = probs[:, 0], ch_label[:, 0]
        else:  # the most severe channel label; probabilities of the channel most sure of that label
            rows = np.arange(len(probs))
            stream_label = ch_label[rows, self._severity[ch_label].argmin(axis=1)]
            p_label = np.take_along_axis(probs, stream_label[:, None, None], axis=2)[..., 0]  # (n, ch)
            pick = np.where(ch_label == stream_label[:, None], p_label, -1.0).argmax(axis=1)
            stream_probs = probs[rows, pick]
        topic = self.topics.prediction(st.cfg.id)
        qos = self.cfg.mqtt.prediction_qos
        for i in range(len(probs)):
            label = self.labels[stream_label[i]]
            payload = {
                "schema": 1, "stream": st.cfg.id, "seq": st.seq, "t_start": float(b.t_start[i]),
                "t_end": float(b.t_end[i]), "label": label, "probs": probs_dict(self.labels, stream_probs[i]),
                "model": self.classifier.id,
            }
            if probs.shape[1] > 1:
                payload["channels"] = {
                    name: {"label": self.labels[ch_label[i, c]], "probs": probs_dict(self.labels, probs[i, c])}
                    for c, name in enumerate(st.channels)
                }
            st.seq += 1
            self.publisher.submit(Outgoing(topic, payload, qos, False, b.received))
            change = st.alert.update(label, float(b.t_start[i]))
            if change:
                st.alerts += 1
                log.info("stream %s: alert state %s since %.3f", st.cfg.id, change.state, change.since)
                self.publisher.submit(Outgoing(self.topics.alert(st.cfg.id), {
                    "schema": 1, "stream": st.cfg.id, "state": change.state, "since": change.since,
                    "probs": payload["probs"], "model": self.classifier.id}, 1, True), alert=True)

    # --- lifecycle ---------------------------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        await asyncio.to_thread(self.engine.warm_up)
        try:
            async with asyncio.TaskGroup() as tg:
                pub_task = tg.create_task(self.publisher.run(), name="mqtt-publisher")
                sched_task = tg.create_task(self.scheduler.run(), name="scheduler")
                pumps = [tg.create_task(self.pump(st), name=f"stream-{st.cfg.id}") for st in self.streams]
                watchdog = tg.create_task(self.notifier.watchdog_loop(), name="watchdog")
                self.notifier.notify("READY=1", f"STATUS=serving {len(self.streams)} stream(s)")
                stop_wait = asyncio.ensure_future(self.stop.wait())
                running = set(pumps)
                while running and not self.stop.is_set():
                    done, _ = await asyncio.wait(running | {stop_wait}, return_when=asyncio.FIRST_COMPLETED)
                    running -= done
                stop_wait.cancel()
                self.notifier.notify("STOPPING=1")
                log.info("stopping: %s", "signal" if self.stop.is_set() else "every stream ended")
                for p in pumps:
                    p.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
                await self.scheduler.close()
                await sched_task
                await self.publisher.close(pub_task, self.cfg.mqtt.drain_timeout_s)
                watchdog.cancel()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            self.engine.close()
        log.info("stopped: %d windows classified, %d messages published, %d predictions dropped",
                 self.engine.windows, self.publisher.published, self.publisher.dropped_predictions)
        return 0

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("received %s", sig.name)
        self.stop.set()


async def serve(cfg: Config, notifier: Notifier | None = None) -> int:
    classifier = Classifier.from_path(cfg.model.path, cfg.model.device)
    return await Service(cfg, classifier, notifier).run()
