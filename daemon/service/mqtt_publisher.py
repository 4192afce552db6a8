"""The MQTT publisher task (aiomqtt): status with last will, alerts never lost, predictions bounded."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import aiomqtt
import orjson
import paho.mqtt.client as mqtt

from eegd.daemon.service.config import MqttConfig
from eegd.daemon.service.messages import OFFLINE, Outgoing, Topics, status_payload
from eegd.daemon.service.mqtt_packets import frame_publishes

log = logging.getLogger(__name__)


class MqttPublisher:
    """Owns the one broker connection. Alerts (QoS 1, retained) wait in an unbounded queue and leave it only
    once the broker acknowledged them, so a broker outage delays them but never loses one. Predictions wait
    in a queue of `prediction_queue` messages; past that the oldest is dropped and counted. The connection
    is retried with exponential backoff (0.2 s doubling to 10 s). On every reconnect the latest retained message of
    each topic (alerts, quality) is sent again first: the broker now connected may be another of `hosts`, or one that
    restarted without its store, and a subscriber must find every stream's current alert state there. `status_topic`:
    where `online`/`offline` and the last will go (a cluster worker's own; default `{prefix}/status`)."""

    def __init__(self, cfg: MqttConfig, online: dict, max_backoff_s: float = 10.0,
                 status_topic: str | None = None) -> None:
        self.cfg = cfg
        self.topics = Topics(cfg.topic_prefix)
        self.status_topic = status_topic or self.topics.status
        self.online = orjson.dumps(online)
        self.max_backoff_s = max_backoff_s
        self._alerts: deque[Outgoing] = deque()
        self._predictions: deque[Outgoing] = deque()
        self._retained: dict[str, Outgoing] = {}  # the latest retained message sent on each topic
        self._resend: deque[Outgoing] = deque()  # ... sent again after a reconnect (not counted as submitted)
        self._wakeup = asyncio.Event()
        self._closing = False
        self.connected = asyncio.Event()
        self.published = 0
        self.dropped_predictions = 0
        self.connects = 0
        # (alerts, predictions) submitted and done (sent, or a prediction dropped), for `when_sent`
        self._submitted = [0, 0]
        self._done = [0, 0]
        self._marks: deque[tuple[int, int, Callable[[], None]]] = deque()

    @classmethod
    def for_service(cls, cfg: MqttConfig, version: str, model: str, streams: tuple[str, ...],
                    status_topic: str | None = None) -> MqttPublisher:
        return cls(cfg, status_payload("online", version, model, streams), status_topic=status_topic)

    def when_sent(self, callback: Callable[[], None]) -> None:
        """Call `callback` once every message submitted so far has been handed to the broker's connection."""
        self._marks.append((self._submitted[0], self._submitted[1], callback))
        self._settle()

    def _settle(self) -> None:
        marks, done = self._marks, self._done
        while marks and marks[0][0] <= done[0] and marks[0][1] <= done[1]:
            marks.popleft()[2]()

    def set_streams(self, streams: tuple[str, ...]) -> None:
        """The streams changed (discovery): the retained `online` status lists them, now and on reconnects."""
        online = {**orjson.loads(self.online), "streams": list(streams)}
        self.online = orjson.dumps(online)
        self.submit(Outgoing(self.status_topic, online, 1, True), alert=True)

    def forget(self, topics: tuple[str, ...]) -> None:
        """Another publisher owns these topics now (a partition moved): never send their messages again."""
        for topic in topics:
            self._retained.pop(topic, None)

    def submit(self, msg: Outgoing, alert: bool = False) -> None:
        if alert:
            self._alerts.append(msg)
            self._submitted[0] += 1
        else:
            self._submitted[1] += 1
            if len(self._predictions) >= self.cfg.prediction_queue:
                self._predictions.popleft()
                self._done[1] += 1
                self.dropped_predictions += 1
                if self.dropped_predictions in (1, 10, 100) or self.dropped_predictions % 10000 == 0:
                    log.warning("prediction queue full (%d): %d predictions dropped so far",
                                self.cfg.prediction_queue, self.dropped_predictions)
            self._predictions.append(msg)
        self._wakeup.set()

    @property
    def queued_predictions(self) -> int:
        return len(self._predictions)

    @property
    def backlog(self) -> int:
        return len(self._alerts) + len(self._predictions)

    def _client(self, broker: tuple[str, int]) -> aiomqtt.Client:
        return client_for(self.cfg, self.cfg.client_id, aiomqtt.Will(self.status_topic, OFFLINE, qos=1, retain=True),
                          broker=broker)

    async def run(self) -> None:
        """Connect, publish `online`, then send queued messages until `close()`; reconnects on any loss."""
        backoff = 0.2
        outage_logged = False
        brokers, k = self.cfg.brokers, 0
        while True:
            host, port = broker = brokers[k % len(brokers)]
            client = self._client(broker)
            try:
                async with client:
                    self.connects += 1
                    await client.publish(self.status_topic, self.online, qos=1, retain=True)
                    if self.connects > 1:
                        self._resend = deque(self._retained.values())
                    self.connected.set()
                    log.info("mqtt connected to %s:%d%s", host, port,
                             f" (after outage, {self.backlog} queued)" if outage_logged else "")
                    backoff, outage_logged = 0.2, False
                    if await self._send_until_closed(client):
                        await client.publish(self.status_topic, OFFLINE, qos=1, retain=True)
                        log.info("mqtt: status offline published, %d messages sent", self.published)
                        return
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                _mark_retrieved(client)
                if not outage_logged:
                    log.warning("mqtt %s:%d unavailable (%s); retrying with backoff, queueing messages",
                                host, port, exc)
                    outage_logged = True
                k += 1  # the next broker of `hosts`; with one, the same again after the backoff
                if k % len(brokers) == 0:
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff_s)

    async def _send_until_closed(self, client: aiomqtt.Client) -> bool:
        """Send alerts first, then predictions; True once closing and everything is out."""
        while True:
            if self._resend:
                msg = self._resend[0]
                await client.publish(msg.topic, msg.encode(time.monotonic()), qos=msg.qos, retain=msg.retain)
                self._resend.popleft()
            elif self._alerts:
                msg = self._alerts[0]
                await client.publish(msg.topic, msg.encode(time.monotonic()), qos=msg.qos, retain=msg.retain)
                self._alerts.popleft()  # only once acknowledged
                if msg.retain and msg.topic != self.status_topic:
                    if msg.payload is None:  # cleared (a stream gone): nothing to restore
                        self._retained.pop(msg.topic, None)
                    else:
                        self._retained[msg.topic] = msg
                self.published += 1
                self._done[0] += 1
                self._settle()
            elif self._predictions:
                if self.cfg.prediction_qos == 0:
                    paho = client._client  # noqa: SLF001 - aiomqtt's paho client, for the QoS 0 fast path
                    if not paho.is_connected():
                        raise aiomqtt.MqttCodeError(mqtt.MQTT_ERR_NO_CONN, "connection lost")
                    if paho.want_write():  # the socket is not keeping up (slow broker): hold the predictions
                        await asyncio.sleep(0.005)  # here, where the queue is bounded and drops are counted
                        continue
                    self._send_qos0_burst(paho)
                    self._settle()
                    await asyncio.sleep(0)  # aiomqtt's socket writer flushes the burst; other tasks run
                else:
                    msg = self._predictions.popleft()
                    try:
                        await client.publish(msg.topic, msg.encode(time.monotonic()), qos=msg.qos, retain=msg.retain)
                    except aiomqtt.MqttError:
                        self._predictions.appendleft(msg)
                        raise
                    self.published += 1
                    self._done[1] += 1
                    self._settle()
            elif self._closing:
                return True
            else:
                self._wakeup.clear()
                await self._wakeup.wait()

    def _send_qos0_burst(self, paho: mqtt.Client, burst: int = 1024) -> None:
        """Hand up to `burst` QoS 0 predictions to the MQTT client at once. aiomqtt's publish costs an event-loop
        round trip per message and paho's ~35 µs of bookkeeping per message; framed here into one buffer and
        queued on aiomqtt's paho client as one write, they cost a few µs each. The connection, its socket writer
        and error handling stay paho's; a client without that queue gets one publish per message."""
        now = time.monotonic()
        msgs = [self._predictions.popleft() for _ in range(min(burst, len(self._predictions)))]
        queue = getattr(paho, "_packet_queue", None)
        if queue is not None:
            packet = frame_publishes((m.topic.encode(), m.encode(now)) for m in msgs)
            queue(mqtt.PUBLISH, packet, 0, 0, mqtt.MQTTMessageInfo(0))
        else:  # pragma: no cover - another paho
            for m in msgs:
                paho.publish(m.topic, m.encode(now), 0, False)
        self.published += len(msgs)
        self._done[1] += len(msgs)

    async def close(self, task: asyncio.Task, timeout_s: float = 10.0) -> None:
        """Drain the queues, publish `offline`, disconnect; gives up after `timeout_s` if the broker is away."""
        self._closing = True
        self._wakeup.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except TimeoutError:
            log.error("mqtt: broker unreachable at shutdown, %d alerts and %d predictions not delivered",
                      len(self._alerts), len(self._predictions))
            task.cancel()


def client_for(c: MqttConfig, identifier: str, will: aiomqtt.Will | None = None,
               clean_session: bool | None = None, broker: tuple[str, int] | None = None) -> aiomqtt.Client:
    """An aiomqtt client for the broker of `[mqtt]` (`broker`: one of its `hosts`, default the first): its host,
    port, user and password file, TLS files; `clean_session=False`: a persistent session (the broker queues QoS 1
    messages while the client is away)."""
    host, port = broker or c.brokers[0]
    password = None
    if c.password_file:
        password = Path(c.password_file).read_text(encoding="utf-8").strip()
    tls = None
    if c.tls_ca or c.tls_cert:
        tls = aiomqtt.TLSParameters(ca_certs=c.tls_ca, certfile=c.tls_cert, keyfile=c.tls_key,
                                    cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    return aiomqtt.Client(host, port, identifier=identifier, username=c.username, password=password,
                          keepalive=c.keepalive, tls_params=tls, timeout=10, will=will, clean_session=clean_session)


def _mark_retrieved(client: aiomqtt.Client) -> None:
    """aiomqtt keeps the disconnection's exception in a future nobody awaits once the connection is given up;
    asyncio would log it as 'Future exception was never retrieved'. The error was handled here: retrieve it."""
    fut = getattr(client, "_disconnected", None)
    if isinstance(fut, asyncio.Future) and fut.done() and not fut.cancelled():
        fut.exception()
