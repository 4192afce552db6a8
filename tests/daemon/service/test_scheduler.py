import asyncio
import time

import numpy as np

from eegd.daemon.service.inference_engine import InferenceEngine
from eegd.daemon.service.scheduler import Scheduler, WindowBatch


async def test_batches_come_back_in_order_with_their_own_probabilities(classifier):
    """Many small submits, run ahead in several model batches: every window is delivered once, in the order
    it was submitted, with the probabilities the classifier gives that window."""
    rng = np.random.default_rng(0)
    engine = InferenceEngine(classifier, threads=1)
    delivered: list[tuple[WindowBatch, np.ndarray]] = []
    sched = Scheduler(engine, lambda b, p: delivered.append((b, p)), max_batch=64, max_wait_ms=5)
    task = asyncio.create_task(sched.run())
    batches = []
    for i in range(60):
        n = int(rng.integers(1, 20))
        w = rng.normal(0, 50, (n, 1, classifier.window)).astype(np.float32)
        b = WindowBatch(np.full(n, i), w, np.zeros(n), np.zeros(n), time.monotonic())
        batches.append(b)
        await sched.submit(b)
    await sched.close()  # flushes everything accepted
    await asyncio.wait_for(task, 30)
    engine.close()
    assert [b for b, _ in delivered] == batches
    assert engine.batches > 1  # more than one model call: the batches were gathered up to max_batch
    got = np.concatenate([p[:, 0] for _, p in delivered])
    want = classifier.predict_proba(np.concatenate([b.windows[:, 0] for b in batches]))
    np.testing.assert_allclose(got, want, atol=1e-5)
