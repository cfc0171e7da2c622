"""Logging set-up shared by every command (the CLI and the service).

Kept apart from ``recogenre.pipeline.cli`` so that the commands it starts can use it
without importing the command line back (no import cycle).
"""

from __future__ import annotations

import datetime as dt
import logging
import sys

# ISO 8601 with the UTC offset: a cron log read the next morning, or merged with
# another machine's, needs no guessing about the time zone.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def to_terminal(stream=None) -> bool:
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def stamped(message: str, stream=None) -> str:
    """``message``, with the local time in front when it goes to a log rather than a terminal."""
    if to_terminal(stream):
        return message
    return f"{dt.datetime.now().astimezone().strftime(TIME_FORMAT)} {message}"


def say(message: str) -> None:
    """One line for the user on stderr, ``recogenre:`` first (time-stamped in logs); control
    characters (of a file name, say) are shown escaped, so it stays one intact line."""
    from recogenre.transforms.paths import printable

    print(stamped(f"recogenre: {printable(message)}"), file=sys.stderr, flush=True)


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
    if not to_terminal(handler.stream) and "%(asctime)" not in fmt:  # cron, systemd, Airflow: say when
        fmt = "%(asctime)s " + fmt
    handler.setFormatter(logging.Formatter(fmt, datefmt=TIME_FORMAT))
    handler.addFilter(_not_beam_import_noise)
    logging.basicConfig(level=level, handlers=[handler], force=True)
