"""``recogenre serve``: POST /predict and GET /healthz over HTTP (``apps/service.py``)."""

from __future__ import annotations

import argparse

from recogenre.analysis.limits import DEFAULT_SERVICE_MAX_DURATION_HOURS
from recogenre.analysis.logs import say
from recogenre.commands.model import load_model
from recogenre.pipeline.options import (
    add_backend,
    add_confidence,
    add_max_duration_argument,
    add_trim,
    add_weights,
)


def add_parser(sub) -> None:
    from recogenre.apps.service import add_arguments

    p = sub.add_parser("serve", help="serve POST /predict and GET /healthz over HTTP")
    add_arguments(p)
    add_weights(p)
    add_trim(p)
    # uploads: a tighter budget, and a header declaring more is refused before decoding
    add_max_duration_argument(p, DEFAULT_SERVICE_MAX_DURATION_HOURS, "413")
    add_backend(p)
    add_confidence(p)
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from recogenre.apps.service import argument_problem, serve_command

    problem = argument_problem(args)  # before the model is loaded: a bad option costs no start-up time
    if problem:
        say(problem)
        return 2
    return serve_command(args, load_model(args.weights, args.backend, args.precision))
