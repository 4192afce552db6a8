import pytest

from eegd.daemon.commands.broker import LocalMosquitto


def test_closed_broker_leaves_no_temporary_folder_and_a_restart_keeps_its_port():
    if not LocalMosquitto.available():
        pytest.skip("mosquitto is not installed")
    broker = LocalMosquitto(persist=True).start()
    port, folder = broker.port, broker.dir
    broker.stop()
    broker.start()  # a restart: same port, same folder (its persistence file)
    assert broker.port == port and folder.is_dir()
    broker.close()
    assert not folder.exists()
