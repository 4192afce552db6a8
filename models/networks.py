"""Network definitions, looked up by architecture name when a checkpoint is loaded."""

from __future__ import annotations

import torch
from torch import nn


class SeedLSTM(nn.Module):
    """The published student recipe: 120 samples viewed as 8 steps x 15, LSTM 15->40 (2 layers, dropout 0.3),
    a Linear 40-20-40-20-40, ReLU, 40-40, ReLU, dropout stack and Linear 40->3 on the last step."""

    def __init__(self, steps: int = 8, step_size: int = 15, hidden: int = 40, layers: int = 2,
                 dropout: float = 0.3, n_classes: int = 3) -> None:
        super().__init__()
        self.steps, self.step_size = steps, step_size
        self.lstm = nn.LSTM(step_size, hidden, num_layers=layers, dropout=dropout, batch_first=True)
        self.head = nn.Sequential(
            nn.Linear(hidden, 20), nn.Linear(20, 40), nn.Linear(40, 20), nn.Linear(20, 40), nn.ReLU(),
            nn.Linear(40, 40), nn.ReLU(), nn.Dropout(dropout),
        )
        self.out = nn.Linear(40, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (batch, n_classes) for scaled windows (batch, steps * step_size)."""
        seq, _ = self.lstm(x.view(x.shape[0], self.steps, self.step_size))
        # The stack acts step by step, so applying it to the last step alone gives the same output.
        return self.out(self.head(seq[:, -1]))


class ConvLSTM(nn.Module):
    """A convolutional front end (conv layers, 120 samples -> 10 steps of `channels` features), a
    bidirectional LSTM over the steps and attention pooling over them, then a linear classifier."""

    def __init__(self, channels: int = 32, hidden: int = 40, strides: tuple[int, ...] = (3, 2, 2),
                 bidirectional: bool = True, dropout: float = 0.3, n_classes: int = 3,
                 window_norm: bool = False, subclasses: list[int] | None = None) -> None:
        super().__init__()
        # subclasses: outputs per class (e.g. [1, 1, 3]: normal learnt as its three Bonn sets); forward() sums
        # each class's subclass probabilities (log-sum-exp of their logits), fine_logits() gives them all
        self.subclasses = list(subclasses or [1] * n_classes)
        if len(self.subclasses) != n_classes or min(self.subclasses) < 1:
            raise ValueError(f"subclasses {subclasses} must give at least 1 output to each of {n_classes} classes")
        # window_norm: each window standardised by its own mean and sd, with log(sd) given to the classifier
        # as one extra feature (per-window scaling that still lets amplitude count)
        self.window_norm = window_norm
        layers: list[nn.Module] = []
        c_in = 1
        for i, stride in enumerate(strides):
            k = 7 if i == 0 else 5
            layers += [nn.Conv1d(c_in, channels, k, stride=stride, padding=k // 2), nn.BatchNorm1d(channels), nn.ReLU()]
            c_in = channels
        self.conv = nn.Sequential(*layers)
        self.lstm = nn.LSTM(channels, hidden, batch_first=True, bidirectional=bidirectional)
        width = hidden * (2 if bidirectional else 1)
        self.attn = nn.Linear(width, 1)
        self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(width + int(window_norm), sum(self.subclasses)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fine = self.fine_logits(x)
        if len(self.subclasses) == fine.shape[1]:
            return fine
        return torch.stack([part.logsumexp(dim=1) for part in fine.split(self.subclasses, dim=1)], dim=1)

    def fine_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of every subclass output (batch, sum(subclasses)); the classes' own when none are split."""
        if self.window_norm:
            sd = x.std(dim=1, keepdim=True) + 1e-3
            x = (x - x.mean(dim=1, keepdim=True)) / sd
        steps = self.conv(x.unsqueeze(1)).transpose(1, 2)  # (batch, 120 / prod(strides), channels)
        seq, _ = self.lstm(steps)
        weights = torch.softmax(self.attn(seq), dim=1)  # (batch, steps, 1)
        pooled = (weights * seq).sum(dim=1)
        if self.window_norm:
            pooled = torch.cat([pooled, sd.log()], dim=1)
        return self.out(pooled)


class Ensemble(nn.Module):
    """`size` networks of one architecture trained from different seeds; log of their mean probabilities
    (softmax of it gives the mean)."""

    def __init__(self, member: str = "conv_lstm", size: int = 2, member_hyperparameters: dict | None = None) -> None:
        super().__init__()
        self.members = nn.ModuleList(build(member, member_hyperparameters or {}) for _ in range(size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs = torch.stack([torch.softmax(m(x), dim=1) for m in self.members]).mean(dim=0)
        return probs.clamp_min(1e-12).log()


ARCHITECTURES: dict[str, type[nn.Module]] = {"seed_lstm": SeedLSTM, "conv_lstm": ConvLSTM, "ensemble": Ensemble}


def build(architecture: str, hyperparameters: dict) -> nn.Module:
    try:
        cls = ARCHITECTURES[architecture]
    except KeyError:
        raise ValueError(f"unknown architecture {architecture!r} (known: {', '.join(ARCHITECTURES)})") from None
    return cls(**hyperparameters)
