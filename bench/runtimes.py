"""CPU inference runtimes compared on the shipped models: eager PyTorch, TorchScript (trace + freeze),
torch.compile and ONNX Runtime (when installed); one thread, as the daemon's worker runs on two cores.

Run with `PYTHONPATH=. .venv/bin/python bench/runtimes.py`; prints windows/s, the median of interleaved
1-second runs, and each runtime's largest difference from eager.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from eegd.models.inference import Classifier


def rate(f: Callable[[torch.Tensor], object], x: torch.Tensor, seconds: float) -> float:
    for _ in range(3):
        f(x)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        f(x)
        n += len(x)
    return n / (time.perf_counter() - t0)


def runtimes(net: torch.nn.Module, x: torch.Tensor) -> dict[str, Callable]:
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # torch.jit is deprecated in torch 2.13
    out: dict[str, Callable] = {"eager": net, "torchscript": torch.jit.freeze(torch.jit.trace(net, x).eval())}
    compiled = torch.compile(net, dynamic=False)
    t0 = time.perf_counter()
    compiled(x)
    print(f"  (torch.compile took {time.perf_counter() - t0:.1f} s to compile)")
    out["torch.compile"] = compiled
    try:
        import onnxruntime as ort
    except ImportError:
        print("  (onnxruntime not installed: skipped)")
        return out
    path = Path(tempfile.mkdtemp()) / "model.onnx"
    torch.onnx.export(net, x, str(path), input_names=["x"], dynamic_axes={"x": {0: "n"}}, dynamo=False)
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    out["onnxruntime"] = lambda t: torch.from_numpy(sess.run(None, {"x": t.numpy()})[0])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="conv_lstm,seed_lstm")
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"| model | runtime | windows/s (batch {args.batch}, 1 thread) | vs eager | max abs diff |")
    print("| --- | --- | --- | --- | --- |")
    for name in args.models.split(","):
        net = Classifier.from_path(name, "cpu").net
        x = torch.from_numpy(np.random.default_rng(0).normal(0, 1, (args.batch, 120)).astype(np.float32))
        with torch.inference_mode():
            fs = runtimes(net, x)
            ref = net(x)
            rates = {k: [] for k in fs}
            for _ in range(args.repeats):
                for k, f in fs.items():
                    rates[k].append(rate(f, x, 1.0))
            base = np.median(rates["eager"])
            for k, f in fs.items():
                diff = (torch.as_tensor(f(x)) - ref).abs().max().item()
                r = np.median(rates[k])
                print(f"| {name} | {k} | {r:,.0f} | {r / base:.2f} x | {diff:.1e} |")


if __name__ == "__main__":
    main()
