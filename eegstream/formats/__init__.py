"""Recorded files in: the readers of every recording format, one module per format."""
