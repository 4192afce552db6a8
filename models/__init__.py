"""Network definitions, checkpoints, training and evaluation; the hot path imports only inference."""
