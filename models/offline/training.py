"""Offline training: seeded, validation split by recording, early stopping on validation macro-F1."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from eegd.eegstream.formats.csv import MODEL_RATE_HZ, UCI_CHUNK, Recording
from eegd.eegstream.labels import LABELS
from eegd.eegstream.scaling import WindowScaler
from eegd.eegstream.windowing import ROW_WINDOW_OFFSETS, WINDOW, recording_windows
from eegd.models.checkpoint import Checkpoint, save
from eegd.models.inference import pick_device, scaled_probabilities
from eegd.models.networks import build
from eegd.models.offline.evaluation import evaluate, format_report
from eegd.models.offline.splits import split_by_recording

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """The seed recipe's settings (Adam 1e-3, batch 400, cross-entropy) plus the split and stopping rule."""

    architecture: str = "seed_lstm"
    epochs: int = 40
    seed: int = 0
    device: str = "auto"
    batch_size: int = 400
    lr: float = 1e-3
    train_hop: int = 15  # training windows start every 15 samples of each rebuilt recording
    val_fraction: float = 0.15  # of the recordings, stratified, for early stopping
    patience: int = 8  # epochs without a better validation macro-F1 before stopping
    balanced: bool = False  # class-balanced cross-entropy (weights inverse to the class frequency)
    augment: bool = False  # random amplitude scaling (0.8-1.25), sign flip and small noise on each batch
    cosine: bool = False  # cosine learning-rate schedule over `epochs`
    window_norm: bool = False  # conv_lstm: per-window standardisation (+ log sd as a feature) in the network
    members: int = 1  # > 1: an ensemble of this many networks, trained from seeds seed, seed+1, ...
    set_labels: bool = False  # conv_lstm: learn the five Bonn sets (normal = C, B, A), predict the three labels
    ema: float = 0.0  # > 0: validate and keep an exponential moving average of the weights (this decay a step)
    channels: int = 32  # conv_lstm: convolution channels
    hidden: int = 40  # conv_lstm: LSTM units a direction
    # the recipe as published: each epoch one random 120-sample crop of every 178-sample row, every training
    # recording fitted (no validation split), no early stopping: the last epoch is kept
    published: bool = False

    def __post_init__(self) -> None:
        """Refuse settings training could not run with, naming the setting (before any data is read)."""
        trainable = ("seed_lstm", "conv_lstm")
        checks = [
            (self.architecture in trainable, f"architecture {self.architecture!r} is not one of {trainable}"),
            (self.epochs >= 1, f"epochs must be at least 1, not {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be at least 1, not {self.batch_size}"),
            (self.train_hop >= 1, f"train_hop must be at least 1, not {self.train_hop}"),
            (0.0 < self.val_fraction < 1.0, f"val_fraction {self.val_fraction} must be between 0 and 1"),
            (self.patience >= 1, f"patience must be at least 1, not {self.patience}"),
            (self.members >= 1, f"members must be at least 1, not {self.members}"),
            (0.0 <= self.ema < 1.0, f"ema decay {self.ema} must be in [0, 1)"),
            (self.channels >= 1 and self.hidden >= 1,
             f"channels and hidden must be at least 1, not {self.channels} and {self.hidden}"),
            (not (self.published and self.set_labels), "the published recipe learns the three labels, not set labels"),
            (not (self.set_labels or self.window_norm or self.width_hyperparameters())
             or self.architecture == "conv_lstm",
             f"set labels, window norm, channels and hidden need architecture conv_lstm, not {self.architecture!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def width_hyperparameters(self) -> dict:
        """The conv_lstm's width as hyper-parameters; none at the defaults above (32 channels, 40 units)."""
        default = (TrainConfig.channels, TrainConfig.hidden)
        return {} if (self.channels, self.hidden) == default else {"channels": self.channels, "hidden": self.hidden}


def fit_scaler(windows: np.ndarray) -> WindowScaler:
    """The per-position standard scaler of the training windows (scikit-learn's StandardScaler, in float64)."""
    from sklearn.preprocessing import StandardScaler

    s = StandardScaler().fit(windows.astype(np.float64))
    return WindowScaler(mean=s.mean_.astype(np.float32), scale=s.scale_.astype(np.float32))


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# set_labels: UCI y 1..5 (Bonn E, D, C, B, A) as the network's outputs, grouped into seizure, tumor, normal
SET_SUBCLASSES = [1, 1, 3]


def _windows_and_labels(recordings: Sequence[Recording], hop: int, set_labels: bool = False,
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Training windows and, per window, its label index (or with set_labels its UCI y - 1)."""
    if set_labels and any(r.uci_y is None for r in recordings):
        raise ValueError("set labels need UCI-format training data (every recording's y 1..5)")
    xs = [recording_windows(r, hop) for r in recordings]
    ys = [np.full(len(x), r.uci_y - 1 if set_labels else r.label, dtype=np.int64)
          for x, r in zip(xs, recordings, strict=True)]
    return np.concatenate(xs), np.concatenate(ys)


def _rows_and_labels(recordings: Sequence[Recording]) -> tuple[np.ndarray, np.ndarray]:
    """Every channel's consecutive 178-sample rows (a UCI recording's own rows) and each row's label index."""
    rows, labels = [], []
    for r in recordings:
        n = r.n_samples // UCI_CHUNK
        for c in range(r.samples.shape[1]):
            rows.append(r.samples[: n * UCI_CHUNK, c].reshape(n, UCI_CHUNK))
            labels.append(np.full(n, r.label, dtype=np.int64))
    return np.concatenate(rows).astype(np.float32), np.concatenate(labels)


class _RandomCrops:
    """The published recipe's epochs: one random 120-sample crop of every row, scaled, drawn anew each epoch."""

    def __init__(self, rows: np.ndarray, scaler: WindowScaler, device: torch.device) -> None:
        self.rows = torch.from_numpy(rows).to(device)
        self.mean = torch.from_numpy(scaler.mean).to(device)
        self.scale = torch.from_numpy(scaler.scale).to(device)

    def __call__(self, gen: torch.Generator) -> torch.Tensor:
        n, width = self.rows.shape
        start = torch.randint(0, width - WINDOW + 1, (n, 1), generator=gen).to(self.rows.device)
        crops = torch.gather(self.rows, 1, start + torch.arange(WINDOW, device=self.rows.device))
        return (crops - self.mean) / self.scale


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


class _Predictor:
    """predict_proba over an in-training network (eval mode, scaler applied) for the shared evaluation."""

    def __init__(self, net: nn.Module, scaler: WindowScaler, device: torch.device) -> None:
        self.net, self.scaler, self.device = net, scaler, device

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        was_training = self.net.training
        self.net.eval()
        probs = scaled_probabilities(self.net, self.scaler, windows, self.device)
        self.net.train(was_training)
        return probs


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Amplitude scaling, sign flip and noise, per window (scaled windows are close to zero-mean)."""
    n = x.shape[0]
    scale = torch.exp(torch.empty(n, 1).uniform_(-0.22, 0.22, generator=gen)).to(x.device)
    sign = (torch.randint(0, 2, (n, 1), generator=gen) * 2 - 1).to(x.device)
    noise = (torch.randn(x.shape, generator=gen) * 0.05).to(x.device)
    return x * scale * sign + noise


def train(recordings: Sequence[Recording], cfg: TrainConfig, data_sha256: str = "",
          progress: bool = True) -> tuple[Checkpoint, dict]:
    """Train on `recordings` (their own validation split by recording); returns the best checkpoint and history."""
    device = pick_device(cfg.device)
    crops = None
    if cfg.published:
        fit_recs, val_recs = list(recordings), []
        rows, y = _rows_and_labels(fit_recs)
        x = np.concatenate([rows[:, o: o + WINDOW] for o in ROW_WINDOW_OFFSETS])  # the scaler's fit
        scaler = fit_scaler(x)
        crops = _RandomCrops(rows, scaler, device)
        x_t = crops(torch.Generator().manual_seed(cfg.seed))
    else:
        fit_recs, val_recs = split_by_recording(recordings, cfg.val_fraction, cfg.seed)
        x, y = _windows_and_labels(fit_recs, cfg.train_hop, cfg.set_labels)
        scaler = fit_scaler(x)
        x_t = torch.from_numpy(scaler.transform(x)).to(device)
    y_t = torch.from_numpy(y).to(device)
    hyper: dict = {"window_norm": True} if cfg.window_norm else {}
    if cfg.set_labels:
        hyper["subclasses"] = SET_SUBCLASSES
    hyper |= cfg.width_hyperparameters()
    what = f"a fresh crop of each of {len(y)} rows an epoch" if crops else f"{len(x)} windows"
    log.info("training %s%s on %d recordings (%s), validating on %d recordings, device %s",
             cfg.architecture, f" x{cfg.members}" if cfg.members > 1 else "", len(fit_recs), what,
             len(val_recs), device)
    states, history, best, best_epochs = [], [], {}, []
    for k in range(cfg.members):
        _seed_everything(cfg.seed + k)
        net = build(cfg.architecture, hyper).to(device)
        best, h = _fit(net, x_t, y_t, val_recs, scaler, cfg, cfg.seed + k, progress, crops)
        states.append(best["state"])
        best_epochs.append(best["epoch"])
        history += [{**row, "member": k} for row in h] if cfg.members > 1 else h
    architecture, state = cfg.architecture, states[0]
    if cfg.members > 1:
        architecture, hyper = "ensemble", {"member": cfg.architecture, "size": cfg.members,
                                           "member_hyperparameters": hyper}
        state = {f"members.{k}.{name}": v for k, s in enumerate(states) for name, v in s.items()}
        net = build(architecture, hyper).to(device)
        net.load_state_dict(state)
        # an ensemble's best epoch is each member's own
        best = {"epoch": best_epochs, "report": evaluate(_Predictor(net, scaler, device), val_recs)}
    ckpt = Checkpoint(
        architecture=architecture, hyperparameters=hyper,
        state_dict={k: v.cpu() for k, v in state.items()}, scaler=scaler, labels=LABELS,
        sample_rate=MODEL_RATE_HZ, window=WINDOW, data_sha256=data_sha256,
        metrics={"validation": _strip(best["report"]) if best["report"] else None, "best_epoch": best["epoch"]},
        training={**asdict(cfg), "device": str(device), "fit_recordings": len(fit_recs),
                  "val_recordings": [r.id for r in val_recs]},
    )
    return ckpt, {"history": history, "best_epoch": best["epoch"], "validation": best["report"]}


def _fit(net: nn.Module, x_t: torch.Tensor, y_t: torch.Tensor, val_recs: Sequence[Recording],
         scaler: WindowScaler, cfg: TrainConfig, seed: int, progress: bool,
         crops: _RandomCrops | None = None) -> tuple[dict, list[dict]]:
    """One network's epochs with early stopping on validation macro-F1: (best epoch's state and report, history).
    With `crops` (the published recipe) each epoch trains on fresh crops, nothing is validated, the last is kept."""
    device = x_t.device
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs) if cfg.cosine else None
    weights = None
    n_out = sum(SET_SUBCLASSES) if cfg.set_labels else len(LABELS)
    if cfg.balanced:
        counts = torch.bincount(y_t.cpu(), minlength=n_out).float()
        weights = (counts.sum() / (n_out * counts.clamp_min(1))).to(device)
    logits_of = net.fine_logits if cfg.set_labels else net
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    gen = torch.Generator().manual_seed(seed)
    # with ema, the averaged copy (weights and batch-norm statistics) is what is validated and kept
    ema = (torch.optim.swa_utils.AveragedModel(
        net, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
        if cfg.ema else None)
    kept = ema.module if ema else net
    predictor = _Predictor(kept, scaler, device)
    history: list[dict] = []
    best = {"macro_f1": -1.0, "epoch": 0, "state": None, "report": None}
    bar = tqdm(range(1, cfg.epochs + 1), desc="train", unit="epoch", disable=not progress)
    for epoch in bar:
        net.train()
        t0 = time.perf_counter()
        if crops is not None:
            x_t = crops(gen)
        order = torch.randperm(len(x_t), generator=gen).to(device)
        total, correct, loss_sum = 0, 0, 0.0
        for batch in order.split(cfg.batch_size):
            xb = x_t[batch]
            if cfg.augment:
                xb = _augment(xb, gen)
            logits = logits_of(xb)
            loss = loss_fn(logits, y_t[batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema:
                ema.update_parameters(net)
            loss_sum += float(loss.detach()) * len(batch)
            correct += int((logits.argmax(1) == y_t[batch]).sum())
            total += len(batch)
        if sched:
            sched.step()
        row = {"epoch": epoch, "train_loss": loss_sum / total, "train_accuracy": correct / total}
        if not val_recs:  # nothing to validate on: the last epoch is the one kept
            history.append({**row, "seconds": time.perf_counter() - t0})
            bar.set_postfix(loss=f"{row['train_loss']:.3f}")
            if epoch == cfg.epochs:
                best = {"macro_f1": None, "epoch": epoch, "report": None, "state": copy.deepcopy(kept.state_dict())}
            continue
        val = evaluate(predictor, val_recs)
        row |= {"val_accuracy": val["accuracy"], "val_macro_f1": val["macro_f1"],
                "val_recall": {k: v["recall"] for k, v in val["per_class"].items()},
                "seconds": time.perf_counter() - t0}
        history.append(row)
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", val_f1=f"{val['macro_f1']:.3f}")
        if val["macro_f1"] > best["macro_f1"]:
            best = {"macro_f1": val["macro_f1"], "epoch": epoch, "report": val,
                    "state": copy.deepcopy(kept.state_dict())}
        elif epoch - best["epoch"] >= cfg.patience:
            log.info("early stop at epoch %d: no better validation macro-F1 since epoch %d", epoch, best["epoch"])
            break
    return best, history


def _strip(report: dict) -> dict:
    return {k: report[k] for k in ("accuracy", "macro_f1", "recording_accuracy", "per_class")}


def train_to_file(recordings: Sequence[Recording], cfg: TrainConfig, out: str | Path, data_path: str | Path,
                  progress: bool = True) -> dict:
    """Train, write the checkpoint and beside it `<stem>.report.json` and PNG plots; returns the report."""
    out = Path(out)
    ckpt, result = train(recordings, cfg, file_sha256(data_path), progress)
    ckpt_id = save(ckpt, out)
    report = {
        "checkpoint": str(out), "model": ckpt_id, "data": str(data_path), "data_sha256": ckpt.data_sha256,
        "config": asdict(cfg), "best_epoch": result["best_epoch"], "validation": result["validation"],
        "history": result["history"],
    }
    stem = out.with_suffix("")
    Path(f"{stem}.report.json").write_text(json.dumps(report, indent=2))
    write_plots(report, stem)
    if result["validation"]:
        log.info("wrote %s (%s) and %s.report.json\n%s", out, ckpt_id, stem,
                 format_report(result["validation"], f"validation (best epoch {result['best_epoch']})"))
    else:
        log.info("wrote %s (%s) and %s.report.json (no validation split: the last epoch kept)", out, ckpt_id, stem)
    return report


def write_plots(report: dict, stem: Path) -> None:
    """`<stem>.confusion.png` (validation at the best epoch) and `<stem>.curves.png` (loss and macro-F1)."""
    import matplotlib

    matplotlib.use("Agg")

    if report["validation"]:
        _confusion_plot(report, stem)
    _curves_plot(report, stem)


def _confusion_plot(report: dict, stem: Path) -> None:
    import matplotlib.pyplot as plt

    cm = np.array(report["validation"]["confusion_matrix"])
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(3), LABELS)
    ax.set_yticks(range(3), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(3):
        for j in range(3):
            color = "black" if cm[i, j] < cm.max() / 2 else "white"
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color=color)
    ax.set_title(f"validation rows, epoch {report['best_epoch']}")
    fig.tight_layout()
    fig.savefig(f"{stem}.confusion.png", dpi=100)
    plt.close(fig)


def _curves_plot(report: dict, stem: Path) -> None:
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
    best = report["best_epoch"]
    members = sorted({r.get("member", 0) for r in report["history"]})
    for m in members:  # an ensemble's members each get their own lines (and best epoch)
        h = [r for r in report["history"] if r.get("member", 0) == m]
        epochs = [r["epoch"] for r in h]
        tag = f", member {m}" if len(members) > 1 else ""
        a1.plot(epochs, [r["train_loss"] for r in h], label=f"train loss{tag}")
        a2.plot(epochs, [r["train_accuracy"] for r in h], label=f"train accuracy (windows){tag}")
        if "val_accuracy" in h[0]:
            a2.plot(epochs, [r["val_accuracy"] for r in h], label=f"validation accuracy (rows){tag}")
            a2.plot(epochs, [r["val_macro_f1"] for r in h], label=f"validation macro-F1 (rows){tag}")
        a2.axvline(best[m] if isinstance(best, list) else best, color="grey", linestyle=":")
    a1.set_xlabel("epoch")
    a1.legend()
    a2.set_xlabel("epoch")
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(f"{stem}.curves.png", dpi=100)
    plt.close(fig)
