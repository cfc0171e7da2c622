"""``recogenre classify FILE...``: each file's genres, printed (or as JSON lines)."""

from __future__ import annotations

import argparse
import json

from recogenre.analysis.limits import DecodeLimits
from recogenre.analysis.logs import say, typed_error_text
from recogenre.commands.model import load_model
from recogenre.pipeline.options import add_model_options


def add_parser(sub) -> None:
    p = sub.add_parser("classify", help="classify audio files and print their genres")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    p.add_argument(
        "--plot",
        metavar="PNG",
        help="also draw each file's genre bar chart; with several files PNG's stem gets -1, -2, …",
    )
    add_model_options(p)
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from recogenre.analysis.classifier import classify_file
    from recogenre.analysis.decode import AudioError
    from recogenre.analysis.paths import from_os_path

    model = load_model(args.weights, args.backend, args.precision)
    failed = 0
    for index, name in enumerate(args.files):  # by position: a file named twice gets two charts
        path = from_os_path(name)  # printable even when the name is not UTF-8; opened via to_os_path
        try:
            result = classify_file(
                path,
                model,
                trim_seconds=args.trim_seconds,
                limits=DecodeLimits.from_hours(args.max_duration),
                cover_tail=args.cover_tail,
                min_confidence=args.min_confidence,
            )
        except AudioError as e:
            say(f"{path}: {e}")
            failed += 1
            continue
        except Exception as e:  # one bad file must not stop the others
            say(f"{path}: {typed_error_text(e)}")
            failed += 1
            continue
        if args.json:
            print(json.dumps(result.to_json()), flush=True)
        else:
            print(result, flush=True)  # TrackResult prints as analysis.result_text.format_text
        if args.plot:
            from recogenre.apps.charts import plot_result

            chart = plot_result(result, args.plot, index, len(args.files))
            say(f"chart for {path}: {chart}")
    return 1 if failed else 0
