"""`eegd evaluate`: a checkpoint scored on a labelled recording, by row, by recording and (`--events`) by event."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from eegd.daemon.commands.inputs import check_device, labelled_input, read_uci_file


def cmd_evaluate(args: argparse.Namespace) -> int:
    from eegd.models.inference import Classifier
    from eegd.models.offline.evaluation import evaluate, format_report

    check_device(args.device)
    uci = read_uci_file(args.data)
    clf = Classifier.from_path(args.model, args.device)
    report = evaluate(clf.predict_proba, uci if uci is not None else labelled_input(args.data, clf.sample_rate,
                                                                                   args.rate))
    report["model"] = clf.id
    report["data"] = args.data
    print(format_report(report, f"{args.data} scored with {clf.id}"))
    if args.events:  # a UCI file's recordings joined into sessions, any other file played as recorded
        report["events"] = score_events(args, [(clf, uci if uci is not None else Path(args.data))], args.rate)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


def score_events(args: argparse.Namespace, parts: list, rate: float | None = None) -> dict:
    """--events for evaluate and crossval: play the held-out recordings through the pipeline, print the scores."""
    from eegd.daemon.commands.event_scoring import TUNE_GRID, evaluate_events, format_events
    from eegd.daemon.service.config import AlertsConfig
    from eegd.eegstream.band_filter import BandSettings

    if not args.verbose:  # one line per alert change of every session would drown the report
        for name in ("eegd.daemon", "eegd.eegstream"):
            logging.getLogger(name).setLevel(logging.WARNING)
    alerts = AlertsConfig(args.on_windows, args.off_windows, args.seizure_average_windows, args.seizure_threshold)
    band = BandSettings() if args.band_filter is None else BandSettings(enabled=args.band_filter == "on")
    events = evaluate_events(parts, args.session_recordings, args.events_seed, alerts, TUNE_GRID if args.tune else [],
                             band, rate)
    print(format_events(events))
    return events
