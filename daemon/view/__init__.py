"""The live view: a web page of every stream's state, read from the broker (server, ward state, static assets)."""
