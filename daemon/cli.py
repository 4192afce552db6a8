"""The `eegd` command line: run, replay, train, evaluate, split, crossval, bench, demo."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from daemon import __version__

log = logging.getLogger("eegd")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage or bad input: printed as one line, exit code 2."""


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _user_errors() -> tuple[type[Exception], ...]:
    """Exceptions that mean bad input (exit 2, one line) rather than a failure of eegd."""
    from daemon.config import ConfigError
    from eegstream.recorded_csv import CsvFormatError
    from models.checkpoint import CheckpointError

    return UsageError, CsvFormatError, CheckpointError, ConfigError


def _read(path: str, rate: float | None = None):
    from eegstream.recorded_csv import read_recordings

    if not Path(path).is_file():
        raise UsageError(f"{path}: no such file")
    return read_recordings(path, rate)


def _labelled(path: str, recs: list):
    """The file's labelled recordings (UCI recordings, a continuous file's runs of one label)."""
    from eegstream.recorded_csv import labelled_segments

    out = [seg for r in recs for seg in labelled_segments(r)]
    if not out:
        raise UsageError(f"{path}: no labelled recordings")
    return out


def cmd_train(args: argparse.Namespace) -> int:
    from models.training import train_to_file

    _check_device(args.device)
    cfg = _train_config(args)
    recordings = _labelled(args.data, _read(args.data))
    report = train_to_file(recordings, cfg, args.out, args.data, progress=not args.quiet)
    print(f"wrote {args.out} ({report['model']}), best epoch {report['best_epoch']}, "
          f"validation macro-F1 {report['validation']['macro_f1']:.3f}")
    return EXIT_OK


def _train_config(args: argparse.Namespace):
    from models.training import TrainConfig

    try:
        return TrainConfig(architecture=args.arch, epochs=args.epochs, seed=args.seed, device=args.device,
                           balanced=args.balanced, augment=args.augment, cosine=args.cosine,
                           train_hop=args.train_hop, window_norm=args.window_norm, members=args.members,
                           set_labels=args.set_labels, ema=args.ema,
                           channels=args.channels, hidden=args.hidden)
    except ValueError as exc:
        raise UsageError(f"training options: {exc}") from None


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
    sp.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_event_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--events", action="store_true",
                    help="also score seizure events through the streaming path (UCI: sessions of joined recordings; "
                         "a labelled continuous file: played as recorded)")
    sp.add_argument("--session-recordings", type=int, default=10, help="recordings joined into one session")
    sp.add_argument("--events-seed", type=int, default=0, help="seed of the recordings' order in the sessions")
    sp.add_argument("--on-windows", type=int, default=3, help="alert hysteresis for --events (as [alerts])")
    sp.add_argument("--off-windows", type=int, default=5)
    sp.add_argument("--seizure-average-windows", type=int, default=0,
                    help="seizure alarm on the mean seizure probability of this many windows (as [alerts])")
    sp.add_argument("--seizure-threshold", type=float, default=0.5, help="... at or above this")
    sp.add_argument("--tune", action="store_true", help="with --events: score a grid of alert settings too")


def _check_device(device: str) -> None:
    from models.inference import pick_device

    try:
        pick_device(device)
    except ValueError as exc:
        raise UsageError(f"--device: {exc}") from None


def cmd_evaluate(args: argparse.Namespace) -> int:
    from models.evaluation import evaluate, format_report
    from models.inference import Classifier

    _check_device(args.device)
    read = _read(args.data, args.rate)
    recordings = _labelled(args.data, read)
    clf = Classifier.from_path(args.model, args.device)
    report = evaluate(clf.predict_proba, recordings)
    report["model"] = clf.id
    report["data"] = args.data
    print(format_report(report, f"{args.data} scored with {clf.id}"))
    if args.events:  # a labelled continuous file is played as recorded, a UCI file's recordings joined
        continuous = [r for r in read if r.sample_labels is not None]
        report["events"] = _events(args, [(clf, continuous or recordings)])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return EXIT_OK


def _events(args: argparse.Namespace, parts: list) -> dict:
    """--events for evaluate and crossval: play the held-out recordings through the pipeline, print the scores."""
    from daemon.config import AlertsConfig
    from daemon.event_scoring import TUNE_GRID, evaluate_events, format_events

    if not args.verbose:  # one line per alert change of every session would drown the report
        for name in ("daemon", "eegstream"):
            logging.getLogger(name).setLevel(logging.WARNING)
    alerts = AlertsConfig(args.on_windows, args.off_windows, args.seizure_average_windows, args.seizure_threshold)
    events = evaluate_events(parts, args.session_recordings, args.events_seed, alerts, TUNE_GRID if args.tune else [])
    print(format_events(events))
    return events


def cmd_crossval(args: argparse.Namespace) -> int:
    from models.crossval import crossval, format_summary
    from models.inference import Classifier

    _check_device(args.device)
    cfg = _train_config(args)
    recordings = _labelled(args.data, _read(args.data))
    summary, tests = crossval(recordings, cfg, args.folds, args.out, progress=not args.quiet)
    print(format_summary(summary))
    if args.events:
        parts = [(Classifier.from_path(path, args.device), test)
                 for path, test in zip(summary["checkpoints"], tests, strict=True)]
        summary["events"] = _events(args, parts)
        (Path(args.out) / "crossval.json").write_text(json.dumps(summary, indent=2))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio

    from daemon.config import load
    from daemon.service import serve
    from daemon.systemd_notify import Notifier

    cfg = load(args.config)
    return asyncio.run(serve(cfg, Notifier.from_environ()))


def cmd_replay(args: argparse.Namespace) -> int:
    import asyncio

    from eegstream.replay_outlet import replay

    if args.speed <= 0:
        raise UsageError(f"--speed must be > 0, got {args.speed}")
    if not Path(args.file).is_file():
        raise UsageError(f"{args.file}: no such file")
    try:
        asyncio.run(replay(args.file, args.lsl_name, args.speed, args.loop, args.rate, args.source_id))
    except KeyboardInterrupt:
        log.info("replay stopped")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    import asyncio

    from daemon.demo import SHARED_DATA, run_demo

    data = None if args.synthetic else Path(args.data or SHARED_DATA)
    if not args.verbose:  # the console subscriber's lines are the demo's output; log only problems
        logging.getLogger().setLevel(logging.WARNING)
    return asyncio.run(run_demo(args.model, data, seconds=args.seconds))


def cmd_split(args: argparse.Namespace) -> int:
    from eegstream.recorded_csv import read_uci, write_uci
    from models.splits import kfold_by_recording

    recordings = read_uci(args.data)
    out = Path(args.out)
    for i, (fit, test) in enumerate(kfold_by_recording(recordings, args.folds, args.seed), start=1):
        write_uci(out / f"fold{i}_train.csv", fit)
        write_uci(out / f"fold{i}_test.csv", test)
        print(f"fold {i}: {len(fit)} training and {len(test)} test recordings -> {out}/fold{i}_{{train,test}}.csv")
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    import asyncio

    from daemon.bench import bench, format_table
    from daemon.bench_subscriber import WARMUP_S

    _check_device(args.device)
    if args.seconds < WARMUP_S + 1:
        raise UsageError(f"bench: --seconds must be at least {WARMUP_S + 1:g}, not {args.seconds:g} (the first "
                         f"{WARMUP_S:g} s of predictions are a warm-up, their latency not measured)")
    try:
        ramp = [int(v) for v in args.ramp.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"bench: --ramp must be stream counts separated by commas, not {args.ramp!r}") from None
    if args.streams < 1 or min(ramp, default=1) < 1:
        raise UsageError("bench: --streams and every --ramp count must be at least 1")
    result = asyncio.run(bench(args.streams, args.seconds, args.model, args.device, args.mqtt_host,
                               args.mqtt_port, ramp))
    print(format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eegd", description="Streaming real-time EEG classifier daemon.")
    p.add_argument("--version", action="version", version=f"eegd {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=fn)
        return sp

    devices = ["auto", "cpu", "cuda"]
    sp = add("run", cmd_run, "the daemon: sources -> ring buffers -> windows -> batched model -> MQTT")
    sp.add_argument("--config", required=True, metavar="FILE.toml", help="daemon config (see README)")

    sp = add("replay", cmd_replay, "play a recorded CSV as an LSL outlet (a stand-in bedside device)")
    sp.add_argument("file", metavar="FILE.csv")
    sp.add_argument("--lsl-name", required=True, help="LSL stream name")
    sp.add_argument("--speed", type=float, default=1.0, help="1.0 = real time (default)")
    sp.add_argument("--loop", action="store_true", help="start again at the end, forever")
    sp.add_argument("--rate", type=float, default=None, help="sample rate of a file without timestamps")
    sp.add_argument("--source-id", default=None, help="LSL source_id (default eegd-replay-<name>)")

    sp = add("train", cmd_train, "offline training; writes a checkpoint and a report (JSON + PNG plots) next to it")
    sp.add_argument("--data", required=True, help="labelled CSV (UCI or continuous layout)")
    sp.add_argument("--out", required=True, help="checkpoint file to write (.safetensors)")
    _add_train_options(sp, devices)

    sp = add("evaluate", cmd_evaluate, "score a checkpoint on a labelled CSV; prints a report")
    sp.add_argument("--data", required=True, help="labelled CSV (UCI layout, or continuous with a label column)")
    sp.add_argument("--model", default=None, help="checkpoint file or bundled name (default: the shipped one)")
    sp.add_argument("--json", default=None, metavar="OUT.json", help="also write the report as JSON")
    sp.add_argument("--device", choices=devices, default="auto")
    sp.add_argument("--rate", type=float, default=None, help="sample rate of a continuous file without timestamps")
    _add_event_options(sp)

    sp = add("demo", cmd_demo, "what `make demo` runs: broker, simulated bedside streams, daemon, live console")
    sp.add_argument("--model", default=None, help="checkpoint file or bundled name (default: the shipped one)")
    sp.add_argument("--data", default=None, help="UCI-layout CSV to take recordings from "
                    "(default ../shared/data/epileptic_seizure_train.csv when present)")
    sp.add_argument("--synthetic", action="store_true", help="use the built-in simulator even if data is present")
    sp.add_argument("--seconds", type=float, default=None, help="stop by itself after this many seconds")

    sp = add("bench", cmd_bench, "measure model, naive and pipeline throughput and the real-time stream capacity")
    sp.add_argument("--streams", type=int, default=100, help="streams for the full-speed pipeline run")
    sp.add_argument("--seconds", type=float, default=10.0, help="seconds of signal per stream in each run")
    sp.add_argument("--json", default=None, metavar="OUT.json")
    sp.add_argument("--model", default=None)
    sp.add_argument("--device", choices=devices, default="auto")
    sp.add_argument("--ramp", default="100,250,500,1000,1500,2000,3000",
                    help="stream counts tried at real-time speed, in order, until one fails")
    sp.add_argument("--mqtt-host", default=None, help="use this broker (default: start Mosquitto on a free port)")
    sp.add_argument("--mqtt-port", type=int, default=None)

    sp = add("split", cmd_split, "write k folds of a UCI file split by recording (stratified, seeded) as CSVs")
    sp.add_argument("--data", required=True, help="UCI-layout CSV")
    sp.add_argument("--folds", type=int, default=5)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--out", default="build/folds", help="folder for fold<i>_train.csv and fold<i>_test.csv")

    sp = add("crossval", cmd_crossval, "k-fold cross-validation grouped by recording (trains every fold)")
    sp.add_argument("--data", required=True)
    sp.add_argument("--folds", type=int, default=5)
    sp.add_argument("--out", default="build/crossval", help="folder for crossval.json and fold<i>.safetensors")
    _add_train_options(sp, devices)
    _add_event_options(sp)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # bad usage: argparse prints one line and exits 2
    _setup_logging(args.verbose)
    try:
        return args.func(args)
    except _user_errors() as exc:
        print(f"eegd {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a failure of eegd itself: one line plus the log's traceback
        log.debug("failure", exc_info=True)
        print(f"eegd {args.command}: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
