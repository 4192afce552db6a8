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
    """A convolutional front end (3 conv layers, 120 samples -> 15 steps of `channels` features), a
    bidirectional LSTM over the steps and attention pooling over them, then a linear classifier."""

    def __init__(self, channels: int = 32, hidden: int = 48, dropout: float = 0.3, n_classes: int = 3) -> None:
        super().__init__()

        def block(c_in: int, c_out: int, k: int, stride: int) -> list[nn.Module]:
            return [nn.Conv1d(c_in, c_out, k, stride=stride, padding=k // 2), nn.BatchNorm1d(c_out), nn.ReLU()]

        self.conv = nn.Sequential(*block(1, channels, 7, 2), *block(channels, channels, 5, 2),
                                  *block(channels, channels, 5, 2))
        self.lstm = nn.LSTM(channels, hidden, batch_first=True, bidirectional=True)
        self.attn = nn.Linear(2 * hidden, 1)
        self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = self.conv(x.unsqueeze(1)).transpose(1, 2)  # (batch, 15, channels)
        seq, _ = self.lstm(steps)
        weights = torch.softmax(self.attn(seq), dim=1)  # (batch, steps, 1)
        return self.out((weights * seq).sum(dim=1))


ARCHITECTURES: dict[str, type[nn.Module]] = {"seed_lstm": SeedLSTM, "conv_lstm": ConvLSTM}


def build(architecture: str, hyperparameters: dict) -> nn.Module:
    try:
        cls = ARCHITECTURES[architecture]
    except KeyError:
        raise ValueError(f"unknown architecture {architecture!r} (known: {', '.join(ARCHITECTURES)})") from None
    return cls(**hyperparameters)
