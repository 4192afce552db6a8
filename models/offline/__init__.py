"""Offline work, never imported by the daemon: training, evaluation, cross-validation, splits by recording."""
