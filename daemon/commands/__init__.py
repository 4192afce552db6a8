"""One-shot commands and their tools: run, replay, train, evaluate, crossval, demo, bench, event scoring, brokers."""
