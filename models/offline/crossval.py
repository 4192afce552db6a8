"""K-fold cross-validation grouped by recording: train each fold, score its held-out recordings."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from eegd.eegstream.formats.csv import Recording
from eegd.eegstream.labels import LABELS
from eegd.models.checkpoint import save
from eegd.models.inference import Classifier
from eegd.models.offline.evaluation import evaluate
from eegd.models.offline.splits import kfold_by_recording
from eegd.models.offline.training import TrainConfig, train

log = logging.getLogger(__name__)


def crossval(recordings: Sequence[Recording], cfg: TrainConfig, folds: int, out_dir: str | Path,
             progress: bool = True) -> tuple[dict, list[Sequence[Recording]]]:
    """Per-fold reports and mean ± sd of each class's recall, macro-F1 and accuracies, and each fold's held-out
    recordings; writes crossval.json and each fold's checkpoint (`fold<i>.safetensors`, scored on them)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fold_reports, checkpoints, tests = [], [], []
    for i, (fit, test) in enumerate(kfold_by_recording(recordings, folds, cfg.seed)):
        tests.append(test)
        ckpt, _ = train(fit, cfg, progress=progress)  # what `eegd split` + `eegd train --seed S` gives
        checkpoints.append(str(out_dir / f"fold{i + 1}.safetensors"))
        ckpt.id = save(ckpt, checkpoints[-1])
        report = evaluate(Classifier(ckpt, cfg.device).predict_proba, test)
        log.info("fold %d/%d: recall %s, macro-F1 %.3f", i + 1, folds,
                 {k: round(v["recall"], 3) for k, v in report["per_class"].items()}, report["macro_f1"])
        fold_reports.append(report)

    def stat(values: list[float]) -> dict:
        return {"mean": float(np.mean(values)), "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}

    summary = {
        "folds": folds, "config": asdict(cfg),
        "recall": {c: stat([r["per_class"][c]["recall"] for r in fold_reports]) for c in LABELS},
        "macro_f1": stat([r["macro_f1"] for r in fold_reports]),
        "accuracy": stat([r["accuracy"] for r in fold_reports]),
        "recording_accuracy": stat([r["recording_accuracy"] for r in fold_reports]),
        "fold_reports": fold_reports, "checkpoints": checkpoints,
    }
    (out_dir / "crossval.json").write_text(json.dumps(summary, indent=2))
    return summary, tests


def format_summary(summary: dict) -> str:
    lines = [f"{summary['folds']}-fold cross-validation by recording ({summary['config']['architecture']})"]
    for c in LABELS:
        s = summary["recall"][c]
        lines.append(f"  recall {c:<8} {s['mean']:.3f} ± {s['sd']:.3f}")
    for k in ("macro_f1", "accuracy", "recording_accuracy"):
        lines.append(f"  {k:<15} {summary[k]['mean']:.3f} ± {summary[k]['sd']:.3f}")
    return "\n".join(lines)
