"""``recogenre serve``: POST /predict and GET /healthz over HTTP (``apps/service.py``)."""

from __future__ import annotations

import argparse

from recogenre.analysis.limits import DEFAULT_SERVICE_MAX_DURATION_HOURS
from recogenre.analysis.logs import say
from recogenre.commands.model import load_model
from recogenre.pipeline.options import add_model_options


def add_parser(sub) -> None:
    from recogenre.apps.service import add_arguments

    p = sub.add_parser("serve", help="serve POST /predict and GET /healthz over HTTP")
    add_arguments(p)
    # uploads: a tighter budget, and a header declaring more is refused before decoding
    add_model_options(p, DEFAULT_SERVICE_MAX_DURATION_HOURS, "413")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from recogenre.apps.service import argument_problem, serve_command

    problem = argument_problem(args)  # before the model is loaded: a bad option costs no start-up time
    if problem:
        say(problem)
        return 2
    return serve_command(args, load_model(args.weights, args.backend, args.precision))
