"""`eegd train`, `eegd split`, `eegd crossval`: offline training, folds by recording, each fold trained and scored."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eegd.daemon.commands.inputs import UsageError, check_device, labelled_input


def train_config(args: argparse.Namespace):  # noqa: ANN201 - a TrainConfig, imported lazily (offline only)
    from eegd.models.offline.training import TrainConfig

    try:
        return TrainConfig(architecture=args.arch, epochs=args.epochs, seed=args.seed, device=args.device,
                           balanced=args.balanced, augment=args.augment, cosine=args.cosine,
                           train_hop=args.train_hop, window_norm=args.window_norm, members=args.members,
                           set_labels=args.set_labels, ema=args.ema, published=args.published,
                           channels=args.channels, hidden=args.hidden)
    except ValueError as exc:
        raise UsageError(f"training options: {exc}") from None


def cmd_train(args: argparse.Namespace) -> int:
    from eegd.eegstream.formats.csv import MODEL_RATE_HZ
    from eegd.models.offline.splits import SplitError
    from eegd.models.offline.training import train_to_file

    check_device(args.device)
    cfg = train_config(args)
    recordings = list(labelled_input(args.data, MODEL_RATE_HZ))
    try:
        report = train_to_file(recordings, cfg, args.out, args.data, progress=not args.quiet)
    except SplitError as exc:
        raise UsageError(f"{args.data}: {exc}") from None
    scored = (f"best epoch {report['best_epoch']}, validation macro-F1 {report['validation']['macro_f1']:.3f}"
              if report["validation"] else f"last epoch {report['best_epoch']} kept (no validation split)")
    print(f"wrote {args.out} ({report['model']}), {scored}")
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    from eegd.eegstream.formats.csv import read_uci, write_uci
    from eegd.models.offline.splits import kfold_by_recording

    recordings = read_uci(args.data)
    out = Path(args.out)
    for i, (fit, test) in enumerate(kfold_by_recording(recordings, args.folds, args.seed), start=1):
        write_uci(out / f"fold{i}_train.csv", fit)
        write_uci(out / f"fold{i}_test.csv", test)
        print(f"fold {i}: {len(fit)} training and {len(test)} test recordings -> {out}/fold{i}_{{train,test}}.csv")
    return 0


def cmd_crossval(args: argparse.Namespace) -> int:
    from eegd.daemon.commands.evaluate import score_events
    from eegd.eegstream.formats.csv import MODEL_RATE_HZ
    from eegd.models.inference import Classifier
    from eegd.models.offline.crossval import crossval, format_summary

    check_device(args.device)
    cfg = train_config(args)
    recordings = list(labelled_input(args.data, MODEL_RATE_HZ))
    summary, tests = crossval(recordings, cfg, args.folds, args.out, progress=not args.quiet)
    print(format_summary(summary))
    if args.events:
        parts = [(Classifier.from_path(path, args.device), test)
                 for path, test in zip(summary["checkpoints"], tests, strict=True)]
        summary["events"] = score_events(args, parts)
        (Path(args.out) / "crossval.json").write_text(json.dumps(summary, indent=2))
    return 0
