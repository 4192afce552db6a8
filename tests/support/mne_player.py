"""MNE-LSL's PlayerLSL playing a 19-channel EEG RawArray in volts, in a process of its own (its own liblsl).

`python mne_player.py SOURCE_ID SECONDS` plays `raw()` until SECONDS have passed; `raw()` gives the same data to
the test that compares what eegd received with it."""

import sys
import time

import numpy as np

RATE = 256.0
CHANNELS = ("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz", "C4", "T4", "T5", "P3", "Pz", "P4", "T6",
            "O1", "O2")
SECONDS = 40


def samples_uv() -> np.ndarray:
    """(n, 19) µV: each channel its own simulated normal EEG, a seizure in the middle of channels T3 and T5."""
    from eegd.eegstream.sources.simulator import simulate

    rng = np.random.default_rng(7)
    n = int(SECONDS * RATE)
    x = np.stack([simulate("normal", n, rng, RATE) for _ in CHANNELS], axis=1)
    for c in (CHANNELS.index("T3"), CHANNELS.index("T5")):
        x[n // 3: 2 * n // 3, c] = simulate("seizure", 2 * n // 3 - n // 3, rng, RATE)
    return x.astype(np.float64)


def raw():
    import mne

    info = mne.create_info(list(CHANNELS), RATE, "eeg")
    return mne.io.RawArray(samples_uv().T * 1e-6, info, verbose="error")  # MNE holds volts


def main(source_id: str, seconds: float) -> None:
    from mne_lsl.player import PlayerLSL

    player = PlayerLSL(raw(), chunk_size=10, name="MNE-LSL-Player", source_id=source_id).start()
    print("playing", flush=True)
    time.sleep(seconds)
    player.stop()


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
