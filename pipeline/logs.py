"""Logging set-up shared by every command (the CLI and the service).

Kept apart from ``pipeline.cli`` so that the commands it starts can use it
without importing the command line back (no import cycle).
"""

from __future__ import annotations

import logging


def _not_beam_import_noise(record: logging.LogRecord) -> bool:
    # apache-beam 2.77 without its GCP extra warns "apitools not found" on import.
    return "apitools not found" not in record.getMessage()


def configure_logging(level: int = logging.WARNING, fmt: str = "%(levelname)s %(name)s: %(message)s") -> None:
    """One stderr handler, installed before Beam is imported.

    Otherwise the first library warning (Beam's import-time one above) makes
    ``logging`` install a default handler, and our own settings (the
    service's access log, for one) silently stop applying.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(_not_beam_import_noise)
    logging.basicConfig(level=level, handlers=[handler], force=True)
