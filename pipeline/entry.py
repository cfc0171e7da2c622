"""What every command does before its own work, shared by ``recogenre`` (``recogenre/cli.py``)
and ``pipeline/main.py`` (the script schedulers launch), which may not import ``recogenre/``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from recogenre.analysis.logs import configure_logging
from recogenre.analysis.outcomes import UsageError
from recogenre.pipeline.options import check_options, usage_error

# ``recogenre run``'s parser texts (pipeline/main.py builds the same parser on its own)
RUN_HELP = "tag a catalogue with Apache Beam (other options go to Beam, e.g. --runner)"
RUN_DESCRIPTION = "Tag a catalogue; options not listed here are Beam pipeline options."


def prepare_process(starts_beam: bool) -> Callable[[], None]:
    """Logging, and for a command that starts Beam workers, the SIGINT shield (before Beam is
    imported). Returns what undoes the shield: the caller calls it when the command is done."""
    # gRPC's C core (Beam's runner API) otherwise logs INFO lines such as "skipping fork()
    # handlers" straight to stderr, between recogenre's own one-line messages.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    configure_logging()
    if not starts_beam:
        return lambda: None
    from recogenre.pipeline.interrupt import shield_workers_from_sigint  # before Beam is imported

    return shield_workers_from_sigint()


def checked(args: argparse.Namespace, rest: list[str]) -> int | None:
    """Options checked (exit status 2 and one line when wrong), ``args.beam_args`` set; None to go on."""
    if args.command == "run":  # before checking Beam's options imports Beam: see pipeline/warm_workers.py
        from recogenre.pipeline.warm_workers import start

        args.warm_pool = start(rest, args)
    try:
        check_options(args, rest)
    except UsageError as e:
        return usage_error(str(e))
    args.beam_args = rest
    return None
