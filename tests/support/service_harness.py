"""Helpers for tests that run the service: a config aimed at the test broker, the service as a task."""

import asyncio
import contextlib

from eegd.daemon.service.config import parse
from eegd.daemon.service.service import Service


def make_config(broker, streams, tmp_path, **sections):
    data = {"mqtt": {"host": broker.host, "port": broker.port, "client_id": f"eegd-test-{broker.port}"},
            "stream": streams}
    for k, v in sections.items():
        data[k] = {**data.get(k, {}), **v}
    return parse(data, tmp_path)


@contextlib.asynccontextmanager
async def running(cfg, classifier, notifier=None):
    """The service running as a task; on exit it is stopped as SIGTERM would and must return 0."""
    svc = Service(cfg, classifier, notifier)
    task = asyncio.create_task(svc.run())
    try:
        yield svc, task
    finally:
        svc.stop.set()
        assert await asyncio.wait_for(task, 30) == 0
