"""The running service: config, wiring, batching scheduler, inference engine, alert state, MQTT publisher."""
