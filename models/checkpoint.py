"""One-file checkpoints (safetensors, no pickle): weights, scaler, architecture and training metadata."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from eegd.eegstream.scaling import WindowScaler
from eegd.models.networks import build

FORMAT = "eegd-checkpoint/1"
BUNDLED_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_NAME = "conv_lstm"  # the seed recipe stays selectable as "seed_lstm"


class CheckpointError(ValueError):
    """A checkpoint that is missing, truncated, corrupt or not an eegd checkpoint."""


@dataclass
class Checkpoint:
    architecture: str
    hyperparameters: dict
    state_dict: dict[str, torch.Tensor]
    scaler: WindowScaler
    labels: tuple[str, ...]
    sample_rate: float
    window: int
    data_sha256: str = ""
    metrics: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    id: str = ""  # "<architecture>-<first 12 hex of the file's sha256>", set on load

    def model(self) -> nn.Module:
        net = build(self.architecture, self.hyperparameters)
        try:
            net.load_state_dict(self.state_dict)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise CheckpointError(f"weights do not match architecture {self.architecture!r}: {first}") from None
        return net


def save(ckpt: Checkpoint, path: str | Path) -> str:
    """Write the checkpoint; returns its id."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in ckpt.state_dict.items()}
    tensors["scaler.mean"] = torch.from_numpy(np.asarray(ckpt.scaler.mean, dtype=np.float32))
    tensors["scaler.scale"] = torch.from_numpy(np.asarray(ckpt.scaler.scale, dtype=np.float32))
    meta = {
        "format": FORMAT, "architecture": ckpt.architecture, "hyperparameters": ckpt.hyperparameters,
        "labels": list(ckpt.labels), "sample_rate": ckpt.sample_rate, "window": ckpt.window,
        "data_sha256": ckpt.data_sha256, "metrics": ckpt.metrics, "training": ckpt.training,
    }
    save_file(tensors, str(path), metadata={"eegd": json.dumps(meta, sort_keys=True)})
    return _checkpoint_id(ckpt.architecture, path)


def _checkpoint_id(architecture: str, path: Path) -> str:
    return f"{architecture}-{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"


def resolve(name_or_path: str | Path | None) -> Path:
    """A bundled checkpoint by name (e.g. `seed_lstm`), or a file path; None gives the default."""
    if name_or_path is None:
        name_or_path = DEFAULT_NAME
    p = Path(name_or_path)
    if p.suffix != ".safetensors" and "/" not in str(name_or_path):
        bundled = BUNDLED_DIR / f"{name_or_path}.safetensors"
        if bundled.exists():
            return bundled
    if not p.exists():
        names = ", ".join(sorted(b.stem for b in BUNDLED_DIR.glob("*.safetensors"))) or "none"
        raise CheckpointError(f"{p}: no such checkpoint file (bundled names: {names})")
    return p


def load(name_or_path: str | Path | None = None) -> Checkpoint:
    """Load without unpickling anything; a truncated, corrupt or foreign file raises CheckpointError."""
    path = resolve(name_or_path)
    try:
        with safe_open(str(path), framework="pt") as f:
            raw_meta = (f.metadata() or {}).get("eegd")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or corrupt: {exc})") from None
    if raw_meta is None:
        raise CheckpointError(f"{path}: a safetensors file without eegd metadata, not an eegd checkpoint")
    try:
        meta = json.loads(raw_meta)
        if meta.get("format") != FORMAT:
            raise CheckpointError(f"{path}: checkpoint format {meta.get('format')!r}, expected {FORMAT!r}")
        ckpt = Checkpoint(
            architecture=meta["architecture"], hyperparameters=dict(meta["hyperparameters"]),
            state_dict={k[6:]: v for k, v in tensors.items() if k.startswith("model.")},
            scaler=WindowScaler(mean=tensors["scaler.mean"].numpy(), scale=tensors["scaler.scale"].numpy()),
            labels=tuple(meta["labels"]), sample_rate=float(meta["sample_rate"]), window=int(meta["window"]),
            data_sha256=meta.get("data_sha256", ""), metrics=meta.get("metrics", {}),
            training=meta.get("training", {}),
        )
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: checkpoint metadata incomplete or malformed ({exc!r})") from None
    if ckpt.scaler.mean.shape != (ckpt.window,) or ckpt.scaler.scale.shape != (ckpt.window,):
        raise CheckpointError(f"{path}: scaler shape does not match window {ckpt.window}")
    ckpt.id = _checkpoint_id(ckpt.architecture, path)
    try:
        ckpt.model()  # fail now, with the file named, if the weights do not fit the architecture
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    return ckpt
