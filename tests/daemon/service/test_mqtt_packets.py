import paho.mqtt.client as mqtt

from eegd.daemon.service.mqtt_packets import frame_publishes


def test_framed_publishes_are_read_back_by_a_real_broker_and_subscriber(mosquitto, subscriber):
    """Three packets in one socket write, one with a payload needing a 2-byte remaining length."""
    import socket

    big = b'{"x": "' + b"a" * 300 + b'"}'
    msgs = [(b"eegd/t1/prediction", b'{"n": 1}'), (b"eegd/t2/prediction", big), (b"eegd/t3/prediction", b'{"n": 3}')]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="framer")
    client.connect(mosquitto.host, mosquitto.port)
    client.loop_start()
    sock = client.socket()
    assert isinstance(sock, socket.socket)
    client._packet_queue(mqtt.PUBLISH, frame_publishes(msgs), 0, 0, mqtt.MQTTMessageInfo(0))
    subscriber.wait_for(lambda s: len(s.on("/prediction")) == 3, 10)
    assert [p for p in subscriber.on("/prediction")] == [{"n": 1}, {"x": "a" * 300}, {"n": 3}]
    client.loop_stop()
    client.disconnect()


def test_remaining_length_encoding():
    packet = frame_publishes([(b"t", b"x" * 200)])
    assert packet[0] == 0x30 and packet[1:3] == bytes([0xCB, 0x01])  # 203 = 0x4B | 0x80, then 1
