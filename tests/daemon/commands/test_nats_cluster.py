import socket

import pytest
from executables import nats_server_or_skip

from eegd.daemon.commands.nats_cluster import LocalNatsCluster


def test_a_cluster_whose_picked_port_another_process_took_starts_on_fresh_ports():
    cluster = LocalNatsCluster(3, binary=nats_server_or_skip())
    taken = cluster.nodes[1].client
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", taken))  # as a client's ephemeral port may, between picking and binding
    try:
        cluster.start()
        assert taken not in {p for n in cluster.nodes for p in (n.client, n.route, n.mqtt)}
        with socket.create_connection(("127.0.0.1", cluster.nodes[1].client), timeout=5):
            pass
    finally:
        cluster.close()
        squatter.close()


def test_a_node_that_cannot_bind_is_named_with_its_log_when_no_attempt_is_left():
    cluster = LocalNatsCluster(3, binary=nats_server_or_skip())
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", cluster.nodes[2].mqtt))
    try:
        with pytest.raises(RuntimeError, match=r"(?s)NATS node n3 did not start: .*exited.*address already in use"):
            cluster.start(attempts=1)
    finally:
        cluster.close()
        squatter.close()
