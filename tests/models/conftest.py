import pytest

from eegd.eegstream.formats.csv import read_uci
from eegd.models.offline.training import TrainConfig, train


@pytest.fixture(scope="session")
def small_train_config() -> TrainConfig:
    return TrainConfig(epochs=3, seed=0, device="cpu", val_fraction=1 / 3, train_hop=4)


@pytest.fixture(scope="session")
def small_checkpoint(sim_uci, small_train_config):
    """A SeedLSTM trained for 3 short epochs on the simulated file (seconds on a CPU)."""
    ckpt, _ = train(read_uci(sim_uci), small_train_config, progress=False)
    return ckpt
