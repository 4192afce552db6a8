import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from eegd.models.checkpoint import CheckpointError, load, save
from eegd.models.inference import Classifier


def test_checkpoint_round_trip_keeps_weights_scaler_and_metadata(small_checkpoint, tmp_path):
    ckpt_id = save(small_checkpoint, tmp_path / "m.safetensors")
    back = load(tmp_path / "m.safetensors")
    assert back.id == ckpt_id and ckpt_id.startswith("seed_lstm-")
    assert back.labels == ("seizure", "tumor", "normal")
    assert back.sample_rate == 173.61 and back.window == 120
    np.testing.assert_array_equal(back.scaler.mean, small_checkpoint.scaler.mean)
    for k, v in small_checkpoint.state_dict.items():
        assert torch.equal(back.state_dict[k], v)
    assert "validation" in back.metrics


def test_loaded_checkpoint_predicts_like_the_trained_one(small_checkpoint, tmp_path):
    save(small_checkpoint, tmp_path / "m.safetensors")
    windows = np.random.default_rng(0).normal(0, 100, (50, 120)).astype(np.float32)
    a = Classifier(small_checkpoint, "cpu").predict_proba(windows)
    b = Classifier.from_path(tmp_path / "m.safetensors", "cpu").predict_proba(windows)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a.sum(axis=1), 1, atol=1e-5)


def test_truncated_checkpoint_is_refused(small_checkpoint, tmp_path):
    path = tmp_path / "m.safetensors"
    save(small_checkpoint, path)
    path.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(CheckpointError, match=r"m\.safetensors: not a readable checkpoint"):
        load(path)


def test_garbage_file_is_refused(tmp_path):
    (tmp_path / "g.safetensors").write_bytes(b"\x80\x04not a checkpoint at all" * 10)
    with pytest.raises(CheckpointError, match=r"g\.safetensors: not a readable checkpoint"):
        load(tmp_path / "g.safetensors")


def test_foreign_safetensors_file_is_refused(tmp_path):
    save_file({"w": torch.zeros(3)}, str(tmp_path / "f.safetensors"))
    with pytest.raises(CheckpointError, match="without eegd metadata"):
        load(tmp_path / "f.safetensors")


def test_weights_that_do_not_fit_the_architecture_are_refused(small_checkpoint, tmp_path):
    path = tmp_path / "m.safetensors"
    save(small_checkpoint, path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    tensors["model.out.weight"] = torch.zeros(5, 40)
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(CheckpointError, match=r"m\.safetensors: weights do not match architecture 'seed_lstm'"):
        load(path)
    meta2 = dict(meta, eegd=json.dumps(dict(json.loads(meta["eegd"]), architecture="transformer9000")))
    save_file(tensors, str(path), metadata=meta2)
    with pytest.raises(CheckpointError, match="unknown architecture 'transformer9000'"):
        load(path)


def test_missing_checkpoint_names_the_path(tmp_path):
    with pytest.raises(CheckpointError, match=r"nope\.safetensors: no such checkpoint file"):
        load(tmp_path / "nope.safetensors")


def test_bundled_checkpoints_load_by_name_and_the_default_is_conv_lstm():
    default = load(None)
    assert load("conv_lstm").id == default.id and default.architecture == "conv_lstm"
    seed = load("seed_lstm")
    assert seed.architecture == "seed_lstm" and seed.id != default.id
    assert default.data_sha256 == seed.data_sha256  # both trained by `eegd train` on the same file
