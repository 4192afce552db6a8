"""The daemon's one config object: a TOML file read into frozen dataclasses, validated with errors naming the key."""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from eegd.eegstream.band_filter import BandSettings
from eegd.eegstream.formats.xdf import EXTENSIONS as XDF_EXTENSIONS
from eegd.eegstream.quality import QualityLimits
from eegd.eegstream.sources.discovery import stream_id
from eegd.eegstream.sources.lsl_metadata import UNIT_CHOICES, predicate

FILE_SOURCES = ("file", "csv")  # `source` values of a recorded file ("csv" is the older name)
STREAM_ID = re.compile(r"^[A-Za-z0-9_-]+$")
TOPIC_PREFIX = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


def host_port(text: str) -> tuple[str, int] | None:
    """"HOST:PORT" as (host, port), or None when it is not that."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the key."""


@dataclass(frozen=True)
class MqttConfig:
    """The broker connection; `brokers` lists (host, port) to try in turn."""

    host: str = "127.0.0.1"
    port: int = 1883
    hosts: tuple[str, ...] = ()  # "HOST:PORT" brokers tried in turn (a cluster's MQTT listeners); replaces host/port
    topic_prefix: str = "eegd"
    client_id: str = ""  # default eegd-<hostname>
    prediction_qos: int = 0
    username: str | None = None
    password_file: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    keepalive: int = 30
    prediction_queue: int = 10000  # predictions held while the broker is away; the oldest are dropped past it
    drain_timeout_s: float = 10.0  # at shutdown, how long to wait for an unreachable broker

    @property
    def brokers(self) -> list[tuple[str, int]]:
        return [host_port(h) for h in self.hosts] if self.hosts else [(self.host, self.port)]  # type: ignore[misc]
    max_raw_bytes: int = 1 << 20  # source = "mqtt": a raw message above this is refused before it is parsed


@dataclass(frozen=True)
class ModelConfig:
    path: str | None = None  # a checkpoint file or bundled name; default the bundled checkpoint
    device: str = "auto"
    threads: int = 0  # CPU threads for the model; 0 = all cores but one (left to the event loop)


@dataclass(frozen=True)
class WindowConfig:
    hop: int = 30


@dataclass(frozen=True)
class AlertsConfig:
    on_windows: int = 8  # consecutive windows of a label before the state changes to it
    off_windows: int = 5  # consecutive normal windows that clear an alarm state
    seizure_average_windows: int = 32  # > 0: seizure alarm on the mean p(seizure) of this many windows; 0: label runs
    seizure_threshold: float = 0.7  # ... at or above this (cleared below half of it); docs/experiments.md
    seizure_channels: int = 1  # multi-channel: on at least this many channels (0: the channel mean); channel_fusion


@dataclass(frozen=True)
class SchedulerConfig:
    max_batch: int = 512  # windows per model call
    max_wait_ms: float = 20.0  # the oldest waiting window is sent to the model after this long


@dataclass(frozen=True)
class MemoryConfig:
    trim_interval_s: float = 60.0  # return the C heap's free pages to the system this often (glibc); 0 = never


@dataclass(frozen=True)
class StreamConfig:
    id: str = ""
    source: str = ""
    # lsl
    name: str | None = None
    type: str | None = None
    source_id: str | None = None
    channels: tuple[str, ...] | None = None
    unit: str = "auto"  # auto: each channel's unit from the stream's metadata (µV when none); or uV | mV | V
    discover: bool = False  # every outlet matching name/type, now and later, becomes a stream of its own
    drop_after_s: float = 30.0  # discovery: a stream whose outlet is gone this long is dropped
    hostname_in_id: bool = False  # discovery: stream id <source_id>-<hostname> (hosts that share source_ids)
    match: str | None = None  # mqtt discovery: the stream ids (a glob, "home-*") whose raw topics become streams
    max_streams: int = 1000  # mqtt discovery: streams taken at most; further ids are refused
    # file (csv: the same); `name` picks an XDF file's stream
    path: str | None = None
    speed: float = 1.0
    loop: bool = False
    rate: float | None = None


@dataclass(frozen=True)
class IngestConfig:
    """Cluster mode: this worker's share of the raw streams of a NATS JetStream cluster (docs/cluster.md)."""

    servers: tuple[str, ...] = ("nats://127.0.0.1:4222",)
    stream: str = "EEGD_RAW"  # the JetStream stream over {prefix}.raw.*.* (created if absent)
    partitions: int = 64  # P of the servers' partition mapping, checked at start
    worker: str = ""  # default eegd-<hostname>-<pid>: unique per process
    max_raw_bytes: int = 1 << 20  # a raw message above this is refused before it is parsed
    max_age_s: float = 600.0  # the raw stream keeps this much of every device (discard old)
    ack_wait_s: float = 2.0  # an unacknowledged raw message is delivered again after this
    pin_timeout_s: float = 2.0  # a partition's owner that has not pulled for this long loses it to another worker
    max_ack_pending: int = 20000  # unacknowledged raw messages per partition (back-pressure on the owner)
    alerts_bucket: str = "EEGD_ALERTS"  # the JetStream KV bucket of every stream's alert state
    connect_timeout_s: float = 15.0  # the first connection to the cluster (then the worker reconnects for ever)


@dataclass(frozen=True)
class Config:
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    window: WindowConfig = field(default_factory=WindowConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    quality: QualityLimits = field(default_factory=QualityLimits)
    filter: BandSettings = field(default_factory=BandSettings)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    stream: tuple[StreamConfig, ...] = ()
    ingest: IngestConfig | None = None


def _check_type(value: object, hint: object, key: str) -> object:
    """`value` converted to `hint` (int -> float, list -> tuple) or a ConfigError naming the key."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _check_type(value, a, key)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is tuple:
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {type(value).__name__}")
        return tuple(_check_type(v, item, f"{key}[{i}]") for i, v in enumerate(value))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, bool) or not isinstance(value, hint):  # type: ignore[arg-type]
        raise ConfigError(f"{key}: expected {hint.__name__}, got {type(value).__name__} {value!r}")  # type: ignore[union-attr]
    return value


def _build(cls: type, table: object, where: str) -> object:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - names)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key" if where else f"{unknown[0]}: unknown key")
    kwargs = {}
    for k, v in table.items():
        key = f"{where}.{k}" if where else k
        kwargs[k] = _check_type(v, hints[k], key)
    return cls(**kwargs)


def parse(data: dict, base_dir: Path = Path(".")) -> Config:
    """Validate a parsed TOML document; relative paths are taken from `base_dir` (the config's folder)."""
    data = dict(data)
    streams = data.pop("stream", None)
    sections = {}
    for name in ("mqtt", "model", "window", "alerts", "scheduler", "quality", "filter", "memory"):
        if name in data:
            sections[name] = _build(typing.get_type_hints(Config)[name], data.pop(name), name)
    if "ingest" in data:
        sections["ingest"] = _check_ingest(_build(IngestConfig, data.pop("ingest"), "ingest"))  # type: ignore[arg-type]
    if data:
        raise ConfigError(f"{sorted(data)[0]}: unknown key")
    if streams is None and "ingest" in sections:
        streams = []  # a cluster worker's streams come from the raw stream
    if not isinstance(streams, list) or (not streams and "ingest" not in sections):
        raise ConfigError("stream: at least one [[stream]] table is required (or [ingest])")
    built = []
    for i, table in enumerate(streams):
        s = _build(StreamConfig, table, f"stream[{i}]")
        built.append(_check_stream(s, i, base_dir))  # type: ignore[arg-type]
    seen: dict[str, int] = {}
    for i, s in enumerate(built):
        if not s.discover and seen.setdefault(s.id, i) != i:
            raise ConfigError(f"stream[{i}].id: duplicate stream id {s.id!r}")
    cfg = Config(stream=tuple(built), **sections)  # type: ignore[arg-type]
    return _check_sections(cfg, base_dir)


def _check_ingest(g: IngestConfig) -> IngestConfig:
    if not g.servers or not all(u.startswith(("nats://", "tls://")) for u in g.servers):
        raise ConfigError(f"ingest.servers: expected nats://HOST:PORT URLs, got {list(g.servers)}")
    if not STREAM_ID.match(g.stream) or not STREAM_ID.match(g.alerts_bucket):
        raise ConfigError("ingest.stream: the stream and alerts_bucket names may hold only letters, digits, _ and -")
    if not 1 <= g.partitions <= 1024:
        raise ConfigError(f"ingest.partitions: must be 1..1024, got {g.partitions}")
    if g.worker and not STREAM_ID.match(g.worker):
        raise ConfigError(f"ingest.worker: {g.worker!r} may hold only letters, digits, '_' and '-'")
    if g.max_raw_bytes < 1024:
        raise ConfigError(f"ingest.max_raw_bytes: must be >= 1024, got {g.max_raw_bytes}")
    for k in ("max_age_s", "ack_wait_s", "pin_timeout_s", "connect_timeout_s"):
        if getattr(g, k) <= 0:
            raise ConfigError(f"ingest.{k}: must be > 0")
    if g.max_ack_pending < 1:
        raise ConfigError("ingest.max_ack_pending: must be >= 1")
    worker = g.worker or stream_id(f"eegd-{socket.gethostname()}-{os.getpid()}")
    return dataclasses.replace(g, worker=worker)


def _path(value: str, base_dir: Path) -> str:
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else base_dir / p)


def _check_stream(s: StreamConfig, i: int, base_dir: Path) -> StreamConfig:
    key = f"stream[{i}]"
    if s.hostname_in_id and not s.discover:
        raise ConfigError(f"{key}.hostname_in_id: only for discover = true")
    if s.match is not None and not (s.source == "mqtt" and s.discover):
        raise ConfigError(f"{key}.match: only for an mqtt stream with discover = true")
    if s.source == "lsl":
        if not (s.name or s.type or s.source_id):
            raise ConfigError(f"{key}: an lsl stream needs name, type or source_id")
        try:  # the resolve query the source will send, refused here with the key named
            predicate(s.name, s.type, s.source_id)
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from None
        if s.unit not in UNIT_CHOICES:
            raise ConfigError(f"{key}.unit: expected one of {', '.join(UNIT_CHOICES)}, got {s.unit!r}")
        if s.discover:
            if s.source_id or s.id or not (s.name or s.type):
                raise ConfigError(f"{key}.discover: needs name or type, and no source_id or id (each outlet's "
                                  "source_id becomes its stream id)")
            if s.drop_after_s <= 0:
                raise ConfigError(f"{key}.drop_after_s: must be > 0")
            return s
        for k in ("path",):
            if getattr(s, k) is not None:
                raise ConfigError(f"{key}.{k}: only for csv streams")
        default_id = s.source_id or s.name or s.type or ""
    elif s.source == "mqtt":
        for k in ("name", "type", "source_id", "path", "rate", "channels"):
            if getattr(s, k) is not None:
                raise ConfigError(f"{key}.{k}: not for mqtt streams (each raw message says its rate and channels)")
        if s.unit != "auto":
            raise ConfigError(f"{key}.unit: only for lsl streams (raw messages carry µV)")
        if s.discover:
            if s.id or not s.match:
                raise ConfigError(f"{key}.discover: needs match (a glob of stream ids, e.g. \"home-*\") and no id "
                                  "(each raw topic's id becomes its stream id)")
            if s.max_streams < 1:
                raise ConfigError(f"{key}.max_streams: must be >= 1, got {s.max_streams}")
            return s
        if not s.id:
            raise ConfigError(f"{key}.id: required for an mqtt stream (its samples come on {{prefix}}/{{id}}/raw)")
        default_id = s.id
    elif s.source in FILE_SOURCES:
        if s.path is None:
            raise ConfigError(f"{key}.path: required for a {s.source} stream")
        if s.unit != "auto":
            raise ConfigError(f"{key}.unit: only for lsl streams (a recorded file says its units or holds µV)")
        if s.name is not None and Path(s.path).suffix.lower() not in XDF_EXTENSIONS:
            raise ConfigError(f"{key}.name: for a file stream, only an XDF file's stream name")
        path = _path(s.path, base_dir)
        if not Path(path).is_file():
            raise ConfigError(f"{key}.path: no such file {path}")
        if s.speed < 0:
            raise ConfigError(f"{key}.speed: must be >= 0 (0 = as fast as possible)")
        if s.rate is not None and s.rate <= 0:
            raise ConfigError(f"{key}.rate: must be > 0")
        s = dataclasses.replace(s, path=path)
        default_id = Path(path).stem
    else:
        raise ConfigError(f"{key}.source: expected 'lsl', 'mqtt', 'file' or 'csv', got {s.source!r}")
    if s.id:
        if not STREAM_ID.match(s.id):
            raise ConfigError(f"{key}.id: {s.id!r} may hold only letters, digits, '_' and '-'")
        return s
    return dataclasses.replace(s, id=stream_id(default_id))


def check_mqtt(m: MqttConfig, base_dir: Path) -> MqttConfig:
    """`[mqtt]` validated, its files taken from `base_dir`, the client id defaulted."""
    if not TOPIC_PREFIX.match(m.topic_prefix):
        raise ConfigError(f"mqtt.topic_prefix: {m.topic_prefix!r} may hold only letters, digits, '_', '-' and '/'")
    if m.prediction_qos not in (0, 1, 2):
        raise ConfigError(f"mqtt.prediction_qos: must be 0, 1 or 2, got {m.prediction_qos}")
    if not 0 < m.port < 65536:
        raise ConfigError(f"mqtt.port: {m.port} is not a TCP port")
    for i, hp in enumerate(m.hosts):
        if host_port(hp) is None:
            raise ConfigError(f"mqtt.hosts[{i}]: expected HOST:PORT, got {hp!r}")
    if m.prediction_queue < 1:
        raise ConfigError("mqtt.prediction_queue: must be >= 1")
    if m.max_raw_bytes < 1024:
        raise ConfigError(f"mqtt.max_raw_bytes: must be >= 1024, got {m.max_raw_bytes}")
    files = {}
    for k in ("password_file", "tls_ca", "tls_cert", "tls_key"):
        v = getattr(m, k)
        if v is not None:
            files[k] = _path(v, base_dir)
            if not Path(files[k]).is_file():
                raise ConfigError(f"mqtt.{k}: no such file {files[k]}")
    if m.password_file and not m.username:
        raise ConfigError("mqtt.password_file: needs mqtt.username")
    if (m.tls_cert is None) != (m.tls_key is None):
        raise ConfigError("mqtt.tls_cert: tls_cert and tls_key go together")
    return dataclasses.replace(m, client_id=m.client_id or f"eegd-{socket.gethostname()}", **files)


def _check_sections(cfg: Config, base_dir: Path) -> Config:
    mqtt = check_mqtt(cfg.mqtt, base_dir)
    if cfg.ingest is not None and not cfg.mqtt.client_id:  # two workers on one host must not evict each other
        mqtt = dataclasses.replace(mqtt, client_id=f"{mqtt.client_id}-{os.getpid()}")
    model = cfg.model
    if model.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"model.device: expected auto, cpu or cuda, got {model.device!r}")
    if model.path is not None and ("/" in model.path or model.path.endswith(".safetensors")):
        model = dataclasses.replace(model, path=_path(model.path, base_dir))
        if not Path(model.path).is_file():
            raise ConfigError(f"model.path: no such file {model.path}")
    if model.threads < 0:
        raise ConfigError(f"model.threads: must be >= 0, got {model.threads}")
    if not 1 <= cfg.window.hop <= 120:
        raise ConfigError(f"window.hop: must be 1..120, got {cfg.window.hop}")
    for k in ("on_windows", "off_windows"):
        if getattr(cfg.alerts, k) < 1:
            raise ConfigError(f"alerts.{k}: must be >= 1")
    if cfg.alerts.seizure_average_windows < 0:
        raise ConfigError(f"alerts.seizure_average_windows: must be >= 0, got {cfg.alerts.seizure_average_windows}")
    if cfg.alerts.seizure_channels < 0:
        raise ConfigError(f"alerts.seizure_channels: must be >= 0, got {cfg.alerts.seizure_channels}")
    if not 0 < cfg.alerts.seizure_threshold <= 1:
        raise ConfigError(f"alerts.seizure_threshold: must be in (0, 1], got {cfg.alerts.seizure_threshold}")
    if cfg.scheduler.max_batch < 1:
        raise ConfigError("scheduler.max_batch: must be >= 1")
    for k in ("max_abs_uv", "flat_uv", "gap_periods"):
        if getattr(cfg.quality, k) <= 0:
            raise ConfigError(f"quality.{k}: must be > 0")
    if cfg.scheduler.max_wait_ms < 0:
        raise ConfigError("scheduler.max_wait_ms: must be >= 0")
    if cfg.memory.trim_interval_s < 0:
        raise ConfigError(f"memory.trim_interval_s: must be >= 0, got {cfg.memory.trim_interval_s}")
    if (problem := cfg.filter.problem()) is not None:
        raise ConfigError(f"filter: {problem}")
    return dataclasses.replace(cfg, mqtt=mqtt, model=model)


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load(path: str | Path) -> Config:
    path = Path(path)
    data = _read_toml(path)
    try:
        return parse(data, path.resolve().parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_mqtt(path: str | Path) -> MqttConfig:
    """Only the `[mqtt]` table of a daemon config (what `eegd view --config` needs); the rest is not read."""
    path = Path(path)
    try:
        m = _build(MqttConfig, _read_toml(path).get("mqtt", {}), "mqtt")
        return check_mqtt(m, path.resolve().parent)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
