"""The asyncio service: config, wiring, batching scheduler, inference engine, MQTT publisher, alerts, CLI."""

__version__ = "0.1.0"
