"""A sub-command whose options and work are an app's own (its ``add_arguments`` and ``main``)."""

from __future__ import annotations

import argparse
import importlib


def add_app_command(sub, name: str, app: str, **texts: str) -> argparse.ArgumentParser:
    """Adds ``name`` to ``sub`` with ``app``'s options; running it calls ``app.main(args)``.

    ``app`` is imported here (its options are needed for ``--help``), so it must be light
    at import: heavy imports belong inside its ``main``.
    """
    p = sub.add_parser(name, **texts)
    importlib.import_module(app).add_arguments(p)
    p.set_defaults(func=lambda args: importlib.import_module(app).main(args))
    return p
