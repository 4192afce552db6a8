"""`eegd evaluate`: a checkpoint scored on a labelled recording, by row, by recording and (`--events`) by event."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from eegd.daemon.commands.inputs import check_device, labelled, labelled_input, read


def cmd_evaluate(args: argparse.Namespace) -> int:
    from eegd.eegstream.formats.readers import is_csv
    from eegd.models.inference import Classifier
    from eegd.models.offline.evaluation import evaluate, format_report

    check_device(args.device)
    recs = read(args.data, args.rate) if is_csv(args.data) else None
    clf = Classifier.from_path(args.model, args.device)
    recordings = labelled(args.data, recs) if recs is not None else labelled_input(args.data, clf.sample_rate)
    report = evaluate(clf.predict_proba, recordings)
    report["model"] = clf.id
    report["data"] = args.data
    print(format_report(report, f"{args.data} scored with {clf.id}"))
    if args.events:  # a labelled continuous file is played as recorded, a UCI file's recordings joined
        if recs is None:  # EDF/BDF, XDF: straight from the file
            report["events"] = score_events(args, [(clf, Path(args.data))])
        else:
            continuous = [r for r in recs if r.sample_labels is not None]
            report["events"] = score_events(args, [(clf, continuous or recordings)])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


def score_events(args: argparse.Namespace, parts: list) -> dict:
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
                             band)
    print(format_events(events))
    return events
