"""``recogenre serve``: the single-file classifier behind HTTP.

    GET  /          a small self-contained upload page (an HTML form posting to
                    /predict, and this list of endpoints)
    POST /predict   an audio file, as a multipart/form-data upload or as the raw
                    request body; answers the ``classify --json`` object
    GET  /healthz   {"status": "ready", "weights_sha256": ...}

The ``path`` of an answer is the client's file name, never the server's
temporary copy: the multipart part's filename; for a raw body the
``?filename=`` query parameter, else the ``X-Filename`` header, else the
filename of a ``Content-Disposition`` header; and when the client gave no
name, the placeholder ``"upload"`` plus the suffix of a known audio
Content-Type (``upload.mp3`` for ``audio/mpeg``; plain ``upload`` otherwise).

The application is a small hand-written WSGI callable served by waitress, a
pure-Python production server with no dependencies: a micro framework would
add more code than the three routes need, and waitress already does what a
production front needs -- a bounded thread pool, request bodies spooled off
the heap, a hard body-size ceiling checked against Content-Length before the
body is read, and no debugger.

Why things are the way they are:

- The model is loaded once, before the socket is bound, so ``/healthz``
  answers only when predictions can be made. Waitress runs requests on
  several threads; decoding and log-mel run concurrently, but calls into the
  Keras model are serialised by a lock (Keras does not promise that one
  model object may be called from several threads at once, and TensorFlow
  already uses every core for one batch, so nothing is lost).
- Each upload goes to its own file in a private temporary folder (created at
  start, removed at exit) and is deleted in a ``finally`` whatever happens;
  requests share nothing else, so concurrent results cannot mix.
- The decoders sniff content, but the upload's file suffix is kept because
  libsndfile and FFmpeg pick their demuxer faster and more reliably with it.
- Multipart bodies are parsed with ``multipart.PushMultipartParser`` (the
  parser behind Bottle): it streams, so the audio goes to disk in chunks
  instead of being held in memory, it enforces header and part limits, and
  it is maintained -- unlike ``cgi`` (deprecated, gone in Python 3.13) or
  ``email.parser``, which needs the whole body in memory and is lenient in
  ways that are wrong for HTTP.
- Every error is JSON, ``{"error": "...", "status": N}``, including the ones
  waitress answers on its own (413 for a body over the limit, 400 for a
  malformed request), so a client has one format to handle.
- ``curl -d @file`` strips the file's line ends, so the audio is damaged; it
  labels the body as a form, as ``--data-binary`` (and ``urllib``) do for
  intact files. A form-labelled body without a single CR or LF byte is
  therefore refused with 415 and a hint to use ``--data-binary @file`` or
  ``-F file=@file``, rather than "not an audio file" with no clue why; one
  with line ends is classified as the raw file it is.
- Idle, slow and oversized clients are handled in :mod:`recogenre.apps.http_guard`: a
  connection limit (``--connection-limit``, default 500) where the
  longest-waiting idle or slow connection makes room for a new client, a
  deadline for a request's line and headers and for silences (``--timeout``,
  default 10 s), a minimum body rate, a 413 sent instead of ``100 Continue``, and a lingering
  close so that a client still sending its body reads the 413 instead of a
  connection reset. A complete request waits for one of ``--threads`` worker
  threads; a slow upload holds no thread while it arrives.
- What one upload may cost once it has arrived -- audio length, decode CPU time, and one of
  ``--max-decodes`` decode slots, fewer than the threads so that ``/healthz`` always has one,
  503 at once when none is free -- is :mod:`recogenre.apps.upload_budget`; ``run`` keeps its
  own, looser limits.

Over 400 lines as one job: one WSGI application -- routing, the upload's name and body,
the answer -- whose parts share the request state; the budget (upload_budget.py) and the
hostile-request guards (http_guard.py) are already modules of their own.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import mimetypes
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from recogenre.analysis.genres import GENRES
from recogenre.apps.assets import asset
from recogenre.apps.http_guard import (
    DEFAULT_CONNECTION_LIMIT,
    DEFAULT_TIMEOUT_S,
    MIN_CONNECTION_LIMIT,
    ConnectionLimits,
    create_server,
)
from recogenre.apps.upload_budget import RETRY_AFTER_S, Busy, DecodeSlots, UploadBudget
from recogenre.pipeline import __version__

log = logging.getLogger("recogenre.service")

CHUNK_BYTES = 1 << 16
MIB = 1 << 20
DEFAULT_MAX_UPLOAD_MB = 100.0
DEFAULT_THREADS = 4
# An AudioError's kind -> the HTTP status that tells the client what to fix.
STATUS_FOR_KIND = {
    "empty": 400,  # nothing to classify
    "not_audio": 415,  # a format we cannot read at all
    "corrupt": 422,  # an audio container whose contents cannot be decoded
    "too_long": 413,  # over the upload budget: --max-duration
    "too_costly": 413,  # over the upload budget: --max-decode-cpu
}
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,10}$")
# The name an upload without one gets in answers and logs (plus the suffix of its Content-Type).
UNNAMED_UPLOAD = "upload"
FORM_URLENCODED = "application/x-www-form-urlencoded"
FORM_HINT = (
    "the body was sent as a form with its line ends stripped (what curl -d @FILE does to a file), "
    "so the audio is damaged: send the file itself with "
    "curl --data-binary @FILE -H 'Content-Type: application/octet-stream' or curl -F file=@FILE"
)
# The upload page (apps/static/upload.*, inlined when served): one form, no external assets; a little
# inline script shows the answer in the page, and without script the form posts to /predict and the
# browser shows the JSON.
INDEX_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "connect-src 'self'; form-action 'self'"
)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class HttpError(Exception):
    """A request the service refuses, with the status and message the client gets."""

    def __init__(self, status: int, message: str, headers: Iterable[tuple[str, str]] = ()):
        super().__init__(message)
        self.status = status
        self.headers = list(headers)


class LockedModel:
    """The shared model with one prediction at a time (see the module docstring)."""

    def __init__(self, model):
        self._model = model
        self._lock = threading.Lock()
        self.weights_sha256: str = model.weights_sha256

    def predict(self, melgrams: np.ndarray) -> np.ndarray:
        with self._lock:
            return self._model.predict(melgrams)

    def infer(self, melgrams: np.ndarray):
        with self._lock:
            return self._model.infer(melgrams)


def error_body(status: int, message: str) -> bytes:
    return json.dumps({"error": message, "status": status}).encode()


def client_name(name: str | None) -> str | None:
    """The upload's file name as echoed in answers and logs: no folders, no control characters."""
    if not name:
        return None
    base = os.path.basename(name.replace("\\", "/"))
    return "".join(c for c in base if c.isprintable())[:255] or None


def utf8_header_text(value: str | None) -> str | None:
    """A multipart header value, parsed as latin-1 so that every byte is kept, as the UTF-8 text the
    client meant; None when its bytes are not UTF-8 (such a name gets the placeholder)."""
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None


def safe_suffix(filename: str | None, content_type: str | None = None) -> str:
    """The file suffix to give the temporary copy: the upload's own, when harmless."""
    if filename:
        suffix = os.path.splitext(os.path.basename(filename.replace("\\", "/")))[1].lower()
        if _SAFE_SUFFIX.match(suffix):
            return suffix
    if content_type:
        media_type = content_type.split(";")[0].strip().lower()
        kind, _, subtype = media_type.partition("/")
        # mimetypes knows some audio types only by their old x- names (audio/x-wav, not audio/wav)
        guessed = mimetypes.guess_extension(media_type) or mimetypes.guess_extension(f"{kind}/x-{subtype}")
        if guessed and _SAFE_SUFFIX.match(guessed):
            return guessed
    return ""


def unnamed_upload(content_type: str | None) -> str:
    """The documented name of an upload that came without one: ``upload`` + its audio type's suffix."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type.startswith(("audio/", "video/")):
        return UNNAMED_UPLOAD + safe_suffix(None, media_type)
    return UNNAMED_UPLOAD  # application/octet-stream and the like say nothing about the format


class GenreService:
    """The WSGI application. One instance serves every request; it holds no per-request state."""

    def __init__(
        self,
        model,
        upload_dir: str,
        max_upload_bytes: int,
        trim_seconds: float = 0.0,
        limits=None,
        classify_options: dict | None = None,
        max_decode_cpu_s: float | None = None,
        max_decodes: int = DEFAULT_THREADS - 1,
    ):
        self.model = model
        self.classify_options = classify_options or {}  # cover_tail, min_confidence
        # the upload budget (apps/upload_budget.py): length (a DecodeLimits), decode CPU, decode slots
        self.budget = UploadBudget.of(limits, max_decode_cpu_s)
        self.decode_slots = DecodeSlots(max_decodes)
        self.upload_dir = upload_dir
        self.max_upload_bytes = max_upload_bytes
        self.trim_seconds = trim_seconds
        self.routes = {
            "/": {"GET": self.index, "HEAD": self.index},
            "/predict": {"POST": self.predict},
            "/healthz": {"GET": self.healthz, "HEAD": self.healthz},
        }

    def __call__(self, environ: dict, start_response: StartResponse) -> list[bytes]:
        started = time.monotonic()
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "")
        try:
            handlers = self.routes.get(path)
            if handlers is None:
                raise HttpError(404, f"no such endpoint: {path} (try POST /predict or GET /healthz)")
            handler = handlers.get(method)
            if handler is None:
                allow = ", ".join(handlers)
                raise HttpError(405, f"{method} is not allowed on {path}; use {allow}", [("Allow", allow)])
            status, payload, note = handler(environ)
            if isinstance(payload, Page):
                body, headers = payload.body, [("Content-Security-Policy", INDEX_CSP)]
                content_type = payload.content_type
            else:
                body, headers, content_type = json.dumps(payload).encode(), [], "application/json"
        except HttpError as e:
            status, body, headers, note = e.status, error_body(e.status, str(e)), e.headers, str(e)
            content_type = "application/json"
        except Exception:
            log.exception("%s %s failed", method, path)
            status, headers, note, content_type = 500, [], "internal error", "application/json"
            body = error_body(500, "internal error while classifying; see the server log")
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *headers,
        ]
        start_response(f"{status} {REASONS.get(status, '')}".rstrip(), headers)
        log.info(
            "%s %s %d %.2fs%s", method, path, status, time.monotonic() - started, f" {note}" if note else ""
        )
        return [b"" if method == "HEAD" else body]

    def index(self, environ: dict) -> tuple[int, Page, str]:
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        page = (
            asset("upload.html")
            .replace("__STYLE__", asset("upload.css"))
            .replace("__SCRIPT__", asset("upload.js"))
            .replace("__GENRES__", ", ".join(GENRES))
            .replace("__MAX__", f"{self.max_upload_bytes / MIB:g}")
            .replace("__URL__", html.escape(f"http://{host}/"))
        )
        return 200, Page(page.encode()), ""

    def healthz(self, environ: dict) -> tuple[int, dict, str]:
        return (
            200,
            {
                "status": "ready",
                "weights_sha256": self.model.weights_sha256,
                "genres": list(GENRES),
                "max_upload_bytes": self.max_upload_bytes,
                "max_duration_s": self.budget.limits.max_duration_s,
                "max_decode_cpu_s": self.budget.max_decode_cpu_s,
                "max_decodes": self.decode_slots.size,
                "decodes_running": self.decode_slots.running,
                "version": __version__,
            },
            "",
        )

    def predict(self, environ: dict) -> tuple[int, dict, str]:
        # A slot first: a busy server answers at once, before it copies the upload anywhere.
        try:
            with self.decode_slots.held():
                return self._predict(environ)
        except Busy as e:
            raise HttpError(503, str(e), [("Retry-After", str(RETRY_AFTER_S))]) from None

    def _predict(self, environ: dict) -> tuple[int, dict, str]:
        from recogenre.analysis.classifier import classify_reader
        from recogenre.analysis.decode import AudioError
        from recogenre.analysis.features import TrackReader

        upload = None
        try:
            upload, filename = self._receive(environ)
            try:
                options = dict(self.classify_options)
                reader = TrackReader(
                    upload,
                    self.trim_seconds,
                    stream=self.budget.stream(upload),
                    cover_tail=options.pop("cover_tail", False),
                )
                result = classify_reader(reader, self.model, **options)
            except AudioError as e:
                # every kind the decoder reports (including budgets it adds later) is the client's
                # file's fault: 4xx, with the decoder's message
                status = STATUS_FOR_KIND.get(e.kind, 422)
                raise HttpError(status, f"{filename}: {e}") from None
        finally:
            if upload is not None:
                _remove(upload)
        answer = result.to_json()
        answer["path"] = filename  # the client's name for the file, not our temporary copy
        return 200, answer, filename

    def _receive(self, environ: dict) -> tuple[str, str]:
        """Streams the upload into a temporary file; returns its path and the client's file name."""
        length = self._content_length(environ)
        reader = _LimitedReader(environ["wsgi.input"], length, self.max_upload_bytes)
        content_type = environ.get("CONTENT_TYPE", "")
        if content_type.split(";")[0].strip().lower() == "multipart/form-data":
            return self._receive_multipart(reader, content_type, length)
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        given = (
            (query.get("filename") or [None])[0]
            or environ.get("HTTP_X_FILENAME")
            or _disposition_filename(environ.get("HTTP_CONTENT_DISPOSITION", ""))
        )
        suffix = safe_suffix(given, content_type)
        filename = client_name(given) or unnamed_upload(content_type)
        path, line_ends = None, False
        try:
            with self._new_file(suffix) as f:
                path = f.name
                while chunk := reader.read(CHUNK_BYTES):
                    f.write(chunk)
                    line_ends = line_ends or b"\n" in chunk or b"\r" in chunk
            # `curl -d @FILE` and `curl --data-binary @FILE` both label the body as a form; only -d
            # strips every CR and LF from the file, which damages audio (a decoder may still make
            # noise of it and answer a confident genre). A "form" body with line ends therefore came
            # intact (--data-binary, or urllib's default label) and is treated as the raw file; one
            # without any -- which no audio file of more than a few bytes is -- gets the hint.
            if content_type.split(";")[0].strip().lower() == FORM_URLENCODED and not line_ends:
                raise HttpError(415, FORM_HINT)
        except BaseException:
            if path:
                _remove(path)
            raise
        return path, filename

    def _receive_multipart(self, reader: _LimitedReader, content_type: str, length: int):
        from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

        boundary = parse_options_header(content_type)[1].get("boundary")
        if not boundary:
            raise HttpError(400, "multipart/form-data without a boundary")
        path = filename = target = None
        try:
            # Part headers are read as latin-1, which keeps every byte: a file name that is not UTF-8
            # (the parser's default) must not make the whole upload a 400; see utf8_header_text.
            parts = PushMultipartParser(boundary, length, max_segment_count=64, header_charset="latin-1")
            with parts as parser:
                for event in parser.parse_blocking(reader.read, CHUNK_BYTES):
                    if isinstance(event, MultipartSegment):
                        # The first file part is the upload; other parts are read and dropped.
                        if path is None and (event.filename is not None or event.name == "file"):
                            suffix = safe_suffix(event.filename, event.content_type)
                            given = utf8_header_text(event.filename)
                            placeholder = unnamed_upload(event.content_type)
                            if event.filename and given is None:  # named, but not in UTF-8
                                placeholder = UNNAMED_UPLOAD + suffix
                            filename = client_name(given) or placeholder
                            target = self._new_file(suffix)
                            path = target.name
                    elif event is None:
                        if target is not None:
                            target.close()
                            target = None
                    elif target is not None:
                        target.write(event)
        except MultipartError as e:
            if path:
                _remove(path)
            raise HttpError(400, f"malformed multipart/form-data body: {e}") from None
        except BaseException:
            if path:
                _remove(path)
            raise
        finally:
            if target is not None:
                target.close()
        if path is None:
            raise HttpError(400, "the multipart body has no file part; send the audio as a file field")
        if os.path.getsize(path) == 0:
            _remove(path)
            raise HttpError(400, f"{filename}: empty file (0 bytes)")
        return path, filename

    def _content_length(self, environ: dict) -> int:
        text = (environ.get("CONTENT_LENGTH") or "").strip()
        try:
            length = int(text) if text else 0
        except ValueError:
            raise HttpError(400, f"invalid Content-Length: {text!r}") from None
        if length > self.max_upload_bytes:
            raise HttpError(413, _too_large(self.max_upload_bytes))
        if length <= 0:
            raise HttpError(400, "empty request body: send an audio file (multipart field or raw body)")
        return length

    def _new_file(self, suffix: str):
        return tempfile.NamedTemporaryFile(dir=self.upload_dir, prefix="upload-", suffix=suffix, delete=False)


class Page:
    """A non-JSON answer (the upload page)."""

    def __init__(self, body: bytes, content_type: str = "text/html; charset=utf-8"):
        self.body, self.content_type = body, content_type


def _disposition_filename(header: str) -> str | None:
    if not header:
        return None
    from multipart import parse_options_header

    return parse_options_header(header)[1].get("filename") or None


def _too_large(limit: int) -> str:
    return f"upload larger than the limit of {limit} bytes ({limit / MIB:g} MiB)"


class _LimitedReader:
    """``wsgi.input`` read at most up to Content-Length, and never past the upload limit.

    The limit is enforced here too, not only on the header: a server that
    does not check Content-Length itself (or a chunked body) still cannot
    make the service write more than the limit to disk.
    """

    def __init__(self, stream, length: int, limit: int):
        self.stream, self.remaining, self.limit, self.total = stream, length, limit, 0

    def read(self, size: int = CHUNK_BYTES) -> bytes:
        if self.remaining <= 0:
            return b""
        chunk = self.stream.read(min(size, self.remaining))
        if not chunk:
            raise HttpError(400, "request body ended before Content-Length bytes")
        self.remaining -= len(chunk)
        self.total += len(chunk)
        if self.total > self.limit:
            raise HttpError(413, _too_large(self.limit))
        return chunk


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def serve(
    model,
    host: str = "127.0.0.1",
    port: int = 8080,
    max_upload_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * MIB),
    threads: int = DEFAULT_THREADS,
    trim_seconds: float = 0.0,
    on_ready: Callable[[str, int], None] | None = None,
    limits: ConnectionLimits | None = None,
    decode_limits=None,
    classify_options: dict | None = None,
    max_decode_cpu_s: float | None = None,
    max_decodes: int | None = None,
) -> int:
    """Serves until SIGINT or SIGTERM; removes the upload folder on the way out.

    ``classify_options``: ``cover_tail`` and ``min_confidence`` for :func:`classify_file`;
    ``decode_limits``, ``max_decode_cpu_s`` and ``max_decodes`` (default ``threads - 1``): the
    upload budget of :mod:`recogenre.apps.upload_budget`.
    """
    upload_dir = tempfile.mkdtemp(prefix="recogenre-serve-")
    app = GenreService(
        LockedModel(model),
        upload_dir,
        max_upload_bytes,
        trim_seconds,
        decode_limits,
        classify_options,
        max_decode_cpu_s,
        max_decodes or max(1, threads - 1),
    )
    try:
        server = create_server(
            app,
            host,
            port,
            threads,
            max_upload_bytes,
            limits or ConnectionLimits(),
            error_body=error_body,
            too_large=_too_large,
        )

        def stop(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        if on_ready:
            on_ready(server.effective_host, server.effective_port)
        server.run()  # returns on KeyboardInterrupt after stopping its worker threads
        log.info("stopped")
        return 0
    finally:
        shutil.rmtree(upload_dir, ignore_errors=True)


def add_arguments(p) -> None:
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)"
    )
    p.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; 0 picks a free one)")
    p.add_argument(
        "--max-upload-mb",
        type=float,
        default=DEFAULT_MAX_UPLOAD_MB,
        metavar="MB",
        help=f"largest request body in MiB; larger ones get 413 (default {DEFAULT_MAX_UPLOAD_MB:g})",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        metavar="N",
        help=f"requests handled at once (default {DEFAULT_THREADS})",
    )
    p.add_argument(
        "--connection-limit",
        type=int,
        default=DEFAULT_CONNECTION_LIMIT,
        metavar="N",
        help="open connections at most; when full, the longest-waiting idle or slow one makes room "
        f"for a new client (default {DEFAULT_CONNECTION_LIMIT})",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help="seconds a client has to send a request's line and headers, and the longest silence "
        f"allowed while idle or sending a body (default {DEFAULT_TIMEOUT_S:g})",
    )
    from recogenre.apps import upload_budget

    upload_budget.add_arguments(p)


def argument_problem(args) -> str | None:
    """What is wrong with ``serve``'s own options, in one line; checked before the model is loaded."""
    if not args.max_upload_mb > 0 or args.threads < 1:
        return "--max-upload-mb must be positive and --threads at least 1"
    if args.connection_limit < MIN_CONNECTION_LIMIT or not 0 < args.timeout <= 3600:
        return f"--connection-limit must be at least {MIN_CONNECTION_LIMIT} and --timeout within (0, 3600] s"
    from recogenre.apps import upload_budget

    return upload_budget.argument_problem(args) or _raise_open_files_limit(args.connection_limit)


def serve_command(args, model) -> int:
    """``recogenre serve`` once the model is loaded (``argument_problem`` was checked before it)."""

    limits = ConnectionLimits(args.connection_limit, args.timeout)
    from recogenre.analysis.limits import DecodeLimits
    from recogenre.analysis.logs import configure_logging, say  # say: stamped in a log, one line
    from recogenre.apps import upload_budget
    from recogenre.pipeline.confidence_options import confidence_settings

    configure_logging(logging.INFO, "%(asctime)s %(name)s %(message)s")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        say(f"warning: listening on {args.host}: anyone who can reach it can use the service")

    def ready(host: str, port: int) -> None:
        say(f"serving on http://{host}:{port}/ (weights sha256 {model.weights_sha256}); Ctrl-C stops")

    try:
        return serve(
            model,
            host=args.host,
            port=args.port,
            max_upload_bytes=int(args.max_upload_mb * MIB),
            threads=args.threads,
            trim_seconds=args.trim_seconds,
            on_ready=ready,
            limits=limits,
            decode_limits=DecodeLimits.from_hours(args.max_duration),
            classify_options=confidence_settings(args),
            max_decode_cpu_s=args.max_decode_cpu,
            max_decodes=upload_budget.decode_slots(args),
        )
    except OSError as e:
        say(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}")
        return 1


def _raise_open_files_limit(connections: int) -> str | None:
    """Every connection is a file descriptor: make sure the process may open that many, or say why not."""
    import resource

    needed = connections + 256  # the model, libraries, uploads and waitress' own descriptors
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return None
    if hard != resource.RLIM_INFINITY and hard < needed:
        return (
            f"--connection-limit {connections} needs about {needed} open files but this process may "
            f"open at most {hard} (ulimit -n); lower --connection-limit"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return None
