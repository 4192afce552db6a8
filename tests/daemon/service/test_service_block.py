import asyncio

import numpy as np
from service_harness import make_config, running

from eegd.eegstream.formats.csv import read_continuous
from eegd.eegstream.sources.simulator import simulate
from eegd.eegstream.windowing import recording_windows


def write(path, x):
    path.write_text("eeg\n" + "\n".join(f"{v:.2f}" for v in x) + "\n")
    return path


async def test_many_paced_csv_streams_play_as_one_block_with_the_same_results(mosquitto, subscriber, tmp_path,
                                                                              classifier):
    rng = np.random.default_rng(0)
    n = int(6 * 173.61)
    paths = [write(tmp_path / f"b{i}.csv", simulate("seizure" if i % 3 == 0 else "normal", n, rng)) for i in range(9)]
    flat = simulate("normal", n, rng)
    flat[300:700] = 0.0  # electrode off in one stream of the block
    paths.append(write(tmp_path / "bflat.csv", flat))
    paths.append(write(tmp_path / "other.csv", simulate("normal", n + 50, rng)))  # another length: plays alone
    cfg = make_config(mosquitto, [{"source": "csv", "path": str(p), "speed": 20} for p in paths], tmp_path,
                      filter={"enabled": False})  # the model's input as offline
    async with running(cfg, classifier) as (svc, task):
        blocks, singles = svc.plan_blocks()
        assert len(blocks) == 1 and len(blocks[0]) == 11 and not singles
        await asyncio.wait_for(asyncio.shield(task), 60)
    subscriber.wait_for(lambda s: s.status() == "offline", 10)
    for p in paths:
        preds = subscriber.on(f"eegd/{p.stem}/prediction")
        assert [q["seq"] for q in preds] == list(range(len(preds)))
        offline = classifier.predict_proba(recording_windows(read_continuous(p), 30))
        starts = np.arange(len(offline)) * 30 / 173.61
        if p.stem == "bflat":  # the windows inside the flat stretch are left out, the rest classified
            first = np.arange(len(offline)) * 30
            keep = ~((first >= 300) & (first + 119 < 700))
            offline, starts = offline[keep], starts[keep]
        got = np.array([[q["probs"][k] for k in ("seizure", "tumor", "normal")] for q in preds])
        np.testing.assert_allclose(got, offline, atol=1e-5)
        np.testing.assert_allclose([q["t_start"] for q in preds], starts, atol=1e-6)
    quality = subscriber.on("eegd/bflat/quality")
    assert [q["ok"] for q in quality] == [False, True] and quality[0]["issues"] == ["flat"]
    assert [a["state"] for a in subscriber.on("eegd/b0/alert")] == ["seizure"]
