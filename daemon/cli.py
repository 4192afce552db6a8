"""The `eegd` command line: argument parsing only; each command's body lives in `eegd.daemon.commands`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from eegd.daemon import __version__

log = logging.getLogger("eegd")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

# Packages of the optional extras, and the extra a command needs them from (pyproject.toml).
OPTIONAL = {"sklearn": "train", "tqdm": "train", "matplotlib": "train", "timescoring": "train", "amqtt": "demo",
            "aiohttp": "view", "nats": "cluster"}


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _add_train_options(sp: argparse.ArgumentParser, devices: list[str]) -> None:
    sp.add_argument("--epochs", type=int, default=40, help="maximum epochs (early stopping may end sooner)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--device", choices=devices, default="auto")
    sp.add_argument("--arch", default="seed_lstm", help="architecture: seed_lstm (default) or conv_lstm")
    sp.add_argument("--balanced", action="store_true", help="class-balanced cross-entropy")
    sp.add_argument("--augment", action="store_true", help="amplitude scaling, sign flip and noise")
    sp.add_argument("--cosine", action="store_true", help="cosine learning-rate schedule")
    sp.add_argument("--train-hop", type=int, default=15, help="samples between training windows (default 15)")
    sp.add_argument("--window-norm", action="store_true",
                    help="conv_lstm: standardise each window by itself, its log sd as an extra feature")
    sp.add_argument("--members", type=int, default=1, help="train an ensemble of this many networks (seeds S, S+1..)")
    sp.add_argument("--set-labels", action="store_true",
                    help="conv_lstm: learn the five Bonn sets (normal as C, B, A), still predicting three labels")
    sp.add_argument("--channels", type=int, default=32, help="conv_lstm: convolution channels (default 32)")
    sp.add_argument("--hidden", type=int, default=40, help="conv_lstm: LSTM units a direction (default 40)")
    sp.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                    help="validate and keep a moving average of the weights (e.g. 0.998 a step; 0: off)")
    sp.add_argument("--published", action="store_true",
                    help="the recipe as published: a random 120-sample crop of every row each epoch, all training "
                         "recordings fitted, no early stopping (the last epoch is kept; use with --epochs 1500)")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_event_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--events", action="store_true",
                    help="also score seizure events through the streaming path (UCI: sessions of joined recordings; "
                         "a labelled continuous file: played as recorded)")
    sp.add_argument("--session-recordings", type=int, default=10, help="recordings joined into one session")
    sp.add_argument("--events-seed", type=int, default=0, help="seed of the recordings' order in the sessions")
    sp.add_argument("--on-windows", type=int, default=8, help="alert hysteresis for --events (as [alerts])")
    sp.add_argument("--off-windows", type=int, default=5)
    sp.add_argument("--seizure-average-windows", type=int, default=32,
                    help="seizure alarm on the mean seizure probability of this many windows (as [alerts])")
    sp.add_argument("--seizure-threshold", type=float, default=0.7,
                    help="... at or above this (with --seizure-average-windows 0: label runs instead)")
    sp.add_argument("--tune", action="store_true", help="with --events: score a grid of alert settings too")
    sp.add_argument("--band-filter", choices=("on", "off"), default=None,
                    help="with --events: the daemon's [filter] on or off (default: as the daemon's default)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eegd", description="Streaming real-time EEG classifier daemon.")
    p.add_argument("--version", action="version", version=f"eegd {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, body: str, help_: str) -> argparse.ArgumentParser:
        """A command whose body, `module:function` under eegd.daemon.commands, is imported only when it runs."""
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(body=body)
        return sp

    devices = ["auto", "cpu", "cuda"]
    sp = add("run", "run:cmd_run", "the daemon: sources -> ring buffers -> windows -> batched model -> MQTT")
    sp.add_argument("--config", required=True, metavar="FILE.toml", help="daemon config (docs/configuration.md)")

    sp = add("replay", "run:cmd_replay", "play a recorded file (CSV, EDF/BDF, XDF) as an LSL outlet, or publish "
             "its raw samples over MQTT (a stand-in device)")
    sp.add_argument("file", metavar="FILE", help="CSV, EDF/EDF+, BDF/BDF+ or XDF, by extension")
    to = sp.add_mutually_exclusive_group(required=True)
    to.add_argument("--lsl-name", help="play as an LSL outlet of this stream name")
    to.add_argument("--mqtt", metavar="HOST:PORT", help="publish raw chunks to {prefix}/{stream}/raw on this broker")
    sp.add_argument("--speed", type=float, default=1.0, help="1.0 = real time (default)")
    sp.add_argument("--loop", action="store_true", help="start again at the end, forever")
    sp.add_argument("--rate", type=float, default=None, help="sample rate of a file without timestamps")
    sp.add_argument("--source-id", default=None, help="LSL source_id (default: an XDF stream's own, else "
                    "eegd-replay-<name>)")
    sp.add_argument("--stream", default=None, metavar="NAME", help="LSL: the XDF stream played (when the file has "
                    "several EEG streams); --mqtt: the stream id published under (default: the file's stem), and the "
                    "XDF stream of that name if there is one")
    sp.add_argument("--channels", default=None, metavar="A,B,...", help="channels played, in order (default: every "
                    "EEG channel); non-EEG channels (ECG, EMG, Status, ...) only when named")
    sp.add_argument("--topic-prefix", default="eegd", help="--mqtt: the topic prefix (default eegd)")
    sp.add_argument("--qos", type=int, choices=(0, 1), default=1, help="--mqtt: QoS of the raw messages (default 1)")
    sp.add_argument("--encoding", choices=("json", "binary"), default="json", help="--mqtt: the contract's JSON "
                    "(default) or the compact binary encoding (float32; docs/mqtt.md)")

    sp = add("train", "train:cmd_train",
             "offline training; writes a checkpoint and a report (JSON + PNG plots) next to it")
    sp.add_argument("--data", required=True, help="labelled CSV (UCI or continuous layout), or EDF+/BDF+/XDF whose "
                    "annotations mark seizures")
    sp.add_argument("--out", required=True, help="checkpoint file to write (.safetensors)")
    _add_train_options(sp, devices)

    sp = add("evaluate", "evaluate:cmd_evaluate",
             "score a checkpoint on a labelled recording (CSV, EDF+/BDF+, XDF); prints a report")
    sp.add_argument("--data", required=True, help="labelled CSV (UCI layout, or continuous with a label column), or "
                    "EDF+/BDF+/XDF whose annotations mark seizures")
    sp.add_argument("--model", default=None, help="checkpoint file or bundled name (default: the shipped one)")
    sp.add_argument("--json", default=None, metavar="OUT.json", help="also write the report as JSON")
    sp.add_argument("--device", choices=devices, default="auto")
    sp.add_argument("--rate", type=float, default=None, help="sample rate of a continuous file without timestamps")
    _add_event_options(sp)

    sp = add("demo", "demo:cmd_demo", "what `make demo` runs: broker, simulated bedside streams, daemon, live console")
    sp.add_argument("--model", default=None, help="checkpoint file or bundled name (default: the shipped one)")
    sp.add_argument("--data", default=None, help="UCI-layout CSV to take recordings from "
                    "(default ../shared/data/epileptic_seizure_train.csv when present)")
    sp.add_argument("--synthetic", action="store_true", help="use the built-in simulator even if data is present")
    sp.add_argument("--seconds", type=float, default=None, help="stop by itself after this many seconds")
    sp.add_argument("--cluster", action="store_true", help="what `make cluster-demo` runs: 3 NATS nodes, 2 workers, "
                    "simulated networked devices over MQTT and a console (docs/cluster.md)")
    sp.add_argument("--devices", type=int, default=50, help="--cluster: how many devices (default 50)")

    sp = add("bench", "bench:cmd_bench",
             "measure model, naive and pipeline throughput and the real-time stream capacity")
    sp.add_argument("--streams", type=int, default=100, help="streams for the full-speed pipeline run")
    sp.add_argument("--seconds", type=float, default=10.0, help="seconds of signal per stream in each run")
    sp.add_argument("--json", default=None, metavar="OUT.json")
    sp.add_argument("--model", default=None)
    sp.add_argument("--device", choices=devices, default="auto")
    sp.add_argument("--ramp", default="100,250,500,1000,1500,2000,3000",
                    help="stream counts tried at real-time speed, in order, until one fails")
    sp.add_argument("--mqtt-host", default=None, help="use this broker (default: start Mosquitto on a free port)")
    sp.add_argument("--mqtt-port", type=int, default=None)
    sp.add_argument("--source", choices=["csv", "lsl"], default="csv",
                    help="lsl: the ramp over real LSL outlets played by other processes, as bedside devices push")
    sp.add_argument("--channels", type=int, default=21, help="--source lsl: channels a stream (default 21)")
    sp.add_argument("--rate", type=float, default=256.0, help="--source lsl: sample rate in Hz (default 256)")

    sp = add("view", "view:cmd_view", "a live web page of every stream's state, read from the broker")
    sp.add_argument("--port", type=int, default=8080, help="port to serve on (default 8080; 0: any free one)")
    sp.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others need a secret)")
    sp.add_argument("--mqtt-host", default=None, help="the broker (default [mqtt] host of --config, else 127.0.0.1)")
    sp.add_argument("--mqtt-port", type=int, default=None, help="its port (default [mqtt] port, else 1883)")
    sp.add_argument("--topic-prefix", default=None, help="the daemon's topic prefix (default eegd)")
    sp.add_argument("--config", default=None, metavar="FILE.toml", help="read [mqtt] (auth, TLS) from a daemon config")
    sp.add_argument("--secret-file", default=None, help="a file holding the page's login secret (12+ characters)")
    sp.add_argument("--tls-cert", default=None, help="serve HTTPS with this certificate (PEM) ...")
    sp.add_argument("--tls-key", default=None, help="... and this key")

    sp = add("split", "train:cmd_split", "write k folds of a UCI file split by recording (stratified, seeded) as CSVs")
    sp.add_argument("--data", required=True, help="UCI-layout CSV")
    sp.add_argument("--folds", type=int, default=5)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--out", default="build/folds", help="folder for fold<i>_train.csv and fold<i>_test.csv")

    sp = add("crossval", "train:cmd_crossval", "k-fold cross-validation grouped by recording (trains every fold)")
    sp.add_argument("--data", required=True)
    sp.add_argument("--folds", type=int, default=5)
    sp.add_argument("--out", default="build/crossval", help="folder for crossval.json and fold<i>.safetensors")
    _add_train_options(sp, devices)
    _add_event_options(sp)

    sp = add("fusion", "channel_fusion:cmd_fusion",
             "channel fusion and alarm settings on multi-channel sessions built from crossval's held-out folds")
    sp.add_argument("--crossval", required=True, help="an `eegd crossval` --out folder (crossval.json, fold models)")
    sp.add_argument("--data", required=True, help="the UCI-layout CSV that crossval was run on")
    sp.add_argument("--sessions", type=int, default=20, help="sessions per fold and setting")
    sp.add_argument("--slots", type=int, default=10, help="recordings per channel in a session")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--json", metavar="OUT.json", help="write every row here")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # bad usage: argparse prints one line and exits 2
    _setup_logging(args.verbose)
    from eegd.daemon.commands.inputs import user_errors

    module, function = args.body.split(":")
    try:
        body = getattr(importlib.import_module(f"eegd.daemon.commands.{module}"), function)
        return body(args)
    except user_errors() as exc:
        print(f"eegd {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a failure of eegd itself: one line plus the log's traceback
        log.debug("failure", exc_info=True)
        extra = OPTIONAL.get((getattr(exc, "name", None) or "").split(".")[0])
        if isinstance(exc, ModuleNotFoundError) and extra:
            print(f"eegd {args.command}: failed: needs the optional package {exc.name!r} "
                  f"(pip install 'eegd[{extra}]')", file=sys.stderr)
        else:
            print(f"eegd {args.command}: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
