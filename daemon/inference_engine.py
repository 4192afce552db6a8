"""The model off the event loop: one worker thread runs the classifier on each batch."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from models.inference import Classifier

log = logging.getLogger(__name__)


class InferenceEngine:
    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eegd-infer")
        self.windows = 0
        self.batches = 0

    def warm_up(self) -> None:
        self.classifier.predict_proba(np.zeros((8, self.classifier.window), dtype=np.float32))
        log.info("model %s on %s", self.classifier.id, self.classifier.device)

    async def infer(self, windows: np.ndarray) -> np.ndarray:
        """(n, 120) raw windows -> (n, n_labels) probabilities, computed in the worker thread."""
        probs = await asyncio.get_running_loop().run_in_executor(self._executor, self.classifier.predict_proba,
                                                                 windows)
        self.windows += len(windows)
        self.batches += 1
        return probs

    def close(self) -> None:
        self._executor.shutdown(wait=True)
