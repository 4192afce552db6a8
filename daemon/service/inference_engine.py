"""The model off the event loop: one worker thread runs the classifier on each batch."""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from eegd.models.inference import Classifier

log = logging.getLogger(__name__)


def cpu_threads(configured: int) -> int:
    """0 means all cores but one: the event loop, the broker client and the sources keep a core."""
    return configured if configured > 0 else max(1, (os.cpu_count() or 2) - 1)


class InferenceEngine:
    def __init__(self, classifier: Classifier, threads: int = 0) -> None:
        self._threads_before = torch.get_num_threads()  # torch's thread count is the process's: restored at close
        if classifier.device.type == "cpu":
            # On 2 cores, torch's 2 intra-op threads and the event loop fought: p99 latency at 1,000 real-time
            # streams went from 195 ms (2 threads) to 40 ms (1 thread) in `eegd bench`'s ramp.
            torch.set_num_threads(cpu_threads(threads))
        self.classifier = classifier
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eegd-infer")
        self.windows = 0
        self.batches = 0

    def warm_up(self) -> None:
        self.classifier.predict_proba(np.zeros((8, self.classifier.window), dtype=np.float32))
        log.info("model %s on %s (%d CPU threads)", self.classifier.id, self.classifier.device,
                 torch.get_num_threads())

    async def infer(self, windows: np.ndarray) -> np.ndarray:
        """(n, 120) raw windows -> (n, n_labels) probabilities, computed in the worker thread."""
        probs = await asyncio.get_running_loop().run_in_executor(self._executor, self.classifier.predict_proba,
                                                                 windows)
        self.windows += len(windows)
        self.batches += 1
        return probs

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        torch.set_num_threads(self._threads_before)
