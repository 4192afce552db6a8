"""Live and played sample sources behind one protocol: LSL inlets, recorded files, the simulator, the replay outlet."""
