"""Getting EEG samples in: recorded-CSV readers, LSL inlet, replay outlet, ring buffer, windowing, scaling."""
