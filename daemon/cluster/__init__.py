"""Past one machine: eegd workers sharing the raw streams of a NATS JetStream cluster."""
