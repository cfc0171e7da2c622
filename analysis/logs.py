"""Logging set-up shared by every command (the CLI and the service).

Kept apart from ``recogenre.cli`` so that the commands it starts can use it
without importing the command line back (no import cycle).

The line rule: off a terminal (cron, systemd, Airflow), every line on stderr starts
with a timestamp and is one line of at most ``MAX_LINE_CHARS`` characters, so that
a log can be grepped, merged and read the next morning. Python warnings (numpy's
``RuntimeWarning``, ``RankWarning``...) go through ``logging`` instead of being
printed raw; a multi-line message (a Beam worker's forwarded log entry) is joined
into one line; a traceback becomes its exception type, message and innermost
frame; control characters are escaped (``analysis/paths.printable``); and a
longer line is cut with an ellipsis.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import sys
import traceback

# ISO 8601 with the UTC offset: a cron log read the next morning, or merged with
# another machine's, needs no guessing about the time zone.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# The longest line a command writes to stderr, timestamp included.
MAX_LINE_CHARS = 500
ELLIPSIS = "…"


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


def printable_line(message: str, limit: int = MAX_LINE_CHARS) -> str:
    """``message`` as one line of stderr: control characters escaped (a newline too), at most
    ``limit`` characters (the rest replaced by an ellipsis)."""
    from recogenre.analysis.paths import printable

    text = printable(message)
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def joined_lines(text: str) -> str:
    """A library's multi-line message (a warning and its source line, a Beam worker's log entry)
    as one line, its lines joined with `` | ``."""
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())


def say(message: str, prefix: str = "recogenre: ") -> None:
    """One line for the user on stderr, ``recogenre:`` first (time-stamped in logs); control
    characters (of a file name, say) are shown escaped, so it stays one intact line.

    The one way every command speaks to its user (progress lines pass ``prefix=""``).
    """
    print(printable_line(stamped(f"{prefix}{message}")), file=sys.stderr, flush=True)


class OneLineFormatter(logging.Formatter):
    """Every record as one line (see the module docstring): a traceback is summarised, not printed."""

    def format(self, record: logging.LogRecord) -> str:
        message = joined_lines(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            message += f" ({exception_summary(record.exc_info[1])})"
        elif record.exc_text:
            message += f" ({record.exc_text.strip().splitlines()[-1]})"
        if record.stack_info:
            message += " (stack: " + record.stack_info.strip().splitlines()[-1].strip() + ")"
        flat = copy.copy(record)  # the handler's other formatters (if any) still see the original
        flat.msg, flat.args = message, None
        flat.exc_info = flat.exc_text = flat.stack_info = None
        return printable_line(super().format(flat))


def error_text(e: BaseException, reason_only: bool = False) -> str:
    """An exception's message as one line (whitespace collapsed), or its type's name when it has none.

    ``reason_only``: an ``OSError``'s ``strerror`` alone (FFmpeg's errors otherwise repeat errno
    and the path). The one helper for an exception in a message or an error row.
    """
    text = (getattr(e, "strerror", None) if reason_only else None) or str(e)
    return " ".join(str(text).split()) or type(e).__name__


def typed_error_text(e: BaseException, limit: int | None = None) -> str:
    """``Type: message`` on one line, the message cut to ``limit`` characters."""
    return f"{type(e).__name__}: {' '.join(str(e).split())[:limit]}"


def exception_summary(e: BaseException) -> str:
    """``Type: message; at file.py:123 in function``: a traceback's useful part, on one line."""
    where = ""
    frames = traceback.extract_tb(e.__traceback__) if e.__traceback__ else []
    if frames:
        last = frames[-1]
        where = f"; at {last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name}"
    text = " ".join(str(e).split())
    return f"{type(e).__name__}{': ' + text if text else ''}{where}"


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
    handler.setFormatter(OneLineFormatter(fmt, datefmt=TIME_FORMAT))
    handler.addFilter(_not_beam_import_noise)
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # Python warnings (numpy's RuntimeWarning, RankWarning...) as log records on the "py.warnings"
    # logger, through the handler above: stamped and one line, instead of warnings' raw two lines.
    logging.captureWarnings(True)


def traceback_text_summary(text: str) -> str:
    """A traceback printed as text (``traceback.format_exc()``) as :func:`exception_summary` says it:
    ``Type: message; at file.py:123 in function``. Other text is returned as it is."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("Traceback (most recent call last):"):
        return text
    exception = next((line for line in reversed(lines) if not line[0].isspace()), lines[-1])
    frames = [line.strip() for line in lines if line.lstrip().startswith('File "')]
    where = ""
    if frames:  # File "/x/y.py", line 12, in main
        parts = frames[-1].split(", ")
        name = parts[0][len('File "') :].rstrip('"').rsplit("/", 1)[-1]
        line_no = parts[1].removeprefix("line ") if len(parts) > 1 else "?"
        function = parts[2].removeprefix("in ") if len(parts) > 2 else "?"
        where = f"; at {name}:{line_no} in {function}"
    return f"{exception}{where}"


class OneLineStderr:
    """``sys.stderr`` of a process whose prints we do not own (a Beam SDK worker), under the line rule.

    Beam's worker prints the traceback of a failed bundle straight to stderr
    (``sdk_worker._execute``: ``print(traceback_string, file=sys.stderr)``), and Python's
    hook for unraisable exceptions writes there too; the worker's stderr is the
    launcher's, so those lines would reach the log raw, unstamped and many. Each
    newline-terminated write becomes one stamped line (a traceback its summary).
    """

    def __init__(self, stream) -> None:
        self._stream = stream
        self._pending = ""

    def __getattr__(self, name: str):  # encoding, errors, buffer, fileno, isatty...: the stream's
        return getattr(self._stream, name)

    def write(self, text: str) -> int:
        self._pending += text
        if self._pending.endswith("\n"):
            self._emit()
        return len(text)

    def flush(self) -> None:
        self._emit()
        self._stream.flush()

    def _emit(self) -> None:
        text, self._pending = self._pending, ""
        message = joined_lines(traceback_text_summary(text))
        if message:
            self._stream.write(printable_line(stamped(message, self._stream)) + "\n")
            self._stream.flush()


def one_line_stderr_for_this_process() -> None:
    """Puts a worker process's stderr under the line rule (see :class:`OneLineStderr`), an
    exception ignored in a ``__del__`` (pyarrow's writer on a full disk) included."""
    sys.stderr = OneLineStderr(sys.stderr)
    sys.unraisablehook = _one_line_unraisable


def _one_line_unraisable(unraisable) -> None:
    where = f" in {unraisable.object!r}" if unraisable.object is not None else ""
    error = unraisable.exc_value
    summary = exception_summary(error) if error is not None else unraisable.exc_type.__name__
    sys.stderr.write(f"{unraisable.err_msg or 'Exception ignored'}{where}: {summary}\n")
