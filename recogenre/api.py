"""The Python API behind ``import recogenre``: thin calls into the core the commands use.

Nothing heavy is imported here at module level: ``import recogenre`` must not
start Beam, TensorFlow or OpenVINO. Each function imports what it needs on
first use; the model is loaded once per process for each weights file, backend
and precision (see :mod:`recogenre.analysis.model_cache`). Options are checked,
and errors raised, with the commands' own code and messages.
"""

from __future__ import annotations

import argparse
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from recogenre.analysis.outcomes import RunError, RunRefused
from recogenre.analysis.wording import count

__all__ = [
    "RunError",
    "RunRefused",
    "Snapshot",
    "classify",
    "classify_array",
    "load_snapshot",
    "run",
    "train",
]

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from recogenre.analysis.classifier import Model, TrackResult
    from recogenre.apps.training import TrainResult

PathLike = str | bytes | os.PathLike


def classify(
    path: PathLike,
    *,
    weights: PathLike | None = None,
    backend: str | None = None,
    precision: str | None = None,
    trim_seconds: float = 0.0,
    max_duration: float | None = None,
    min_confidence: float | None = None,
    cover_tail: bool = False,
) -> TrackResult:
    """Classifies one audio file: the object ``recogenre classify`` prints.

    ``backend``/``precision`` default to the command's (openvino, fp32); ``weights`` is
    looked up as the command looks it up. The model is loaded on the first call and
    kept, so a loop over files loads it once. ``max_duration`` (hours, default 12)
    is ``--max-duration``; ``min_confidence`` (default 0.06) and ``cover_tail`` are
    ``--min-confidence`` and ``--cover-tail``.

    Raises :class:`recogenre.AudioError` for a file that is missing or not audio
    (``.kind`` says which), :class:`recogenre.WeightsError` for missing or wrong
    weights, ValueError for a bad option.

    >>> result = recogenre.classify("../shared/audio/disco.00000.au")
    >>> result.vector.top_genre, round(result.vector.top_score, 3)
    ('disco', 0.825)
    >>> print(result)            # the command's listing; result.to_json() is ``classify --json``
    """
    from recogenre.analysis.classifier import classify_file
    from recogenre.analysis.limits import DecodeLimits
    from recogenre.analysis.paths import from_os_path

    min_confidence = _min_confidence(min_confidence)
    _check_numbers(trim_seconds=trim_seconds, min_confidence=min_confidence)
    limits = DecodeLimits.from_hours(_hours(max_duration))
    model = _model(weights, backend, precision)
    return classify_file(
        from_os_path(os.fspath(path)),
        model,
        trim_seconds=trim_seconds,
        limits=limits,
        cover_tail=bool(cover_tail),
        min_confidence=min_confidence,
    )


def classify_array(
    samples: np.ndarray,
    sample_rate: int,
    *,
    weights: PathLike | None = None,
    backend: str | None = None,
    precision: str | None = None,
    trim_seconds: float = 0.0,
    name: str = "<array>",
    min_confidence: float | None = None,
    cover_tail: bool = False,
) -> TrackResult:
    """Classifies a waveform in memory at any sample rate, exactly as a file holding it.

    ``samples``: 1-D for mono, or 2-D with channels on the shorter axis -- librosa's
    ``(channels, n)`` and soundfile's ``(n, channels)`` both work; channels are averaged.
    Floats at full scale +-1, or integer PCM (int8, int16, int32, uint8) scaled by its
    dtype's range as libsndfile scales it; int64 (a Python list of ints) and floats beyond
    +-64 (integer values in a float array) are refused, not guessed at. The samples go
    through the decoder's own channel mix and soxr resampler to 12 kHz, so
    ``classify_array(*soundfile.read("x.wav"))`` equals ``classify("x.wav")`` to float rounding.
    ``name`` is the result's ``path``. ``min_confidence`` and ``cover_tail`` as for
    :func:`classify`.

    Raises ValueError for an empty waveform, NaN or infinite samples, a sample rate
    outside 4,000-768,000 Hz or not whole, a square 2-D array; :class:`recogenre.SampleScaleError`
    (a ValueError) for int64 samples or floats beyond +-64, saying how to scale them;
    TypeError for what is not an array of numbers.

    >>> import soundfile
    >>> y, sr = soundfile.read("../shared/audio/metal.00000.au", dtype="float32")
    >>> recogenre.classify_array(y, sr).vector.top_genre
    'metal'
    """
    from recogenre.analysis.classifier import classify_samples

    min_confidence = _min_confidence(min_confidence)
    _check_numbers(trim_seconds=trim_seconds, min_confidence=min_confidence)
    from recogenre.analysis.array_audio import model_input

    model_input(samples, sample_rate)  # refuse bad input before a model is loaded for it
    model = _model(weights, backend, precision)
    return classify_samples(
        samples,
        sample_rate,
        model,
        trim_seconds=trim_seconds,
        name=name,
        cover_tail=bool(cover_tail),
        min_confidence=min_confidence,
    )


@dataclass(frozen=True, repr=False)
class Snapshot:
    """One run of an output folder: its tables as pandas DataFrames, and its manifest.

    ``snapshot.tracks``, ``.frames``, ``.errors``, ``.changes`` (and any other table the
    run wrote) are DataFrames with the columns docs/results.md "Output layout" lists.
    """

    run_id: str
    path: str
    manifest: dict[str, Any]
    tables: Mapping[str, pd.DataFrame]

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name.startswith("_") or name == "tables":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        try:
            return self.tables[name]
        except KeyError:
            tables = ", ".join(self.tables)
            raise AttributeError(f"Snapshot has no table {name!r} (tables: {tables})") from None

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.tables})

    def __repr__(self) -> str:
        sizes = ", ".join(count(len(t), name.removesuffix("s"), name) for name, t in self.tables.items())
        return f"Snapshot(run {self.run_id}: {sizes}; {self.path})"


def load_snapshot(output: PathLike, run: str | None = None) -> Snapshot:
    """The published run of ``recogenre run --output OUTPUT`` (``OUTPUT/latest``), or run ``run``.

    ``run`` is a run id (a folder name under ``OUTPUT/runs``); a finished run that was
    not published (``rejected.json``) can be loaded by its id too.
    Raises FileNotFoundError when there is no such run (or no published run yet).

    >>> snap = recogenre.load_snapshot("output")
    >>> snap.tracks.groupby("top_genre").size()
    """
    from recogenre.pipeline import layout
    from recogenre.pipeline.layout import read_tables

    out = _text(output)
    if run is None:
        path = layout.latest_run(out)
        if path is None:
            raise FileNotFoundError(f"{out}: no published run (no {layout.LATEST}); run recogenre.run first")
    else:
        if not isinstance(run, str) or not layout.RUN_ID.fullmatch(run):
            raise ValueError(f"not a run id: {run!r} (run ids look like 20261126T065544Z-3c20)")
        path = layout.run_dir(out, run)
    manifest = layout.read_manifest(path) or _rejection(path)
    if manifest is None:
        known = [os.path.basename(p) for p in layout.complete_runs(out)]
        raise FileNotFoundError(
            f"{path}: not a finished run" + (f" (finished runs: {', '.join(known)})" if known else "")
        )
    return Snapshot(manifest.get("run_id", os.path.basename(path)), path, manifest, read_tables(path))


def run(catalogue: PathLike, output: PathLike, **options: Any) -> Snapshot:
    """Tags a catalogue exactly as ``recogenre run --catalogue CATALOGUE --output OUTPUT`` does.

    Each keyword is one option of the command: ``full=True`` is ``--full``,
    ``max_error_rate=0.2`` is ``--max-error-rate=0.2``, ``backend="keras"``; keywords the
    command does not know are Beam pipeline options with their own spelling
    (``direct_num_workers=1``, ``runner="DataflowRunner"``). True gives a bare flag,
    None or False leaves an option out, a list repeats it. The run prints its progress
    and summary as the command does, in this process (its DirectRunner workers are
    processes of their own unless ``direct_num_workers=1``).

    Returns the published run as a :class:`Snapshot`. Raises ValueError with the
    command's message for a bad option (checked before anything starts),
    :class:`RunRefused` when the run could not start and wrote nothing (bad weights or
    catalogue, ``status`` 2; another run holds the output folder, ``status`` 1, the holder
    named), and :class:`RunError` when it failed or was not published. Their ``str()`` is
    the command's message, from the exception the run raised (nothing parses printed text).

    >>> snap = recogenre.run("../shared/audio", "output", direct_num_workers=1)
    >>> snap.manifest["counts"]["tracks"]
    """
    from recogenre.analysis.outcomes import UsageError
    from recogenre.cli import parse_checked
    from recogenre.pipeline import run as run_command
    from recogenre.pipeline.interrupt import interruptible_in_process

    out = _text(output)
    argv = ["run", "--catalogue", _text(catalogue), "--output", out, *_flags(options)]
    try:
        args = parse_checked(argv)
    except UsageError as e:
        raise ValueError(str(e)) from None
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # as the command: no gRPC INFO lines on stderr
    run_command.quiet_beam_logging()
    result = interruptible_in_process(lambda: run_command.launch(args))  # RunRefused, RunError
    print(result.summary(), flush=True)  # as the command prints it
    return load_snapshot(out, result.run_id)


def train(
    snapshot: PathLike,
    labels: str | PathLike,
    head: PathLike,
    *,
    run: str | None = None,
    mapping: PathLike | None = None,
    ignore: str | list[str] | tuple[str, ...] = (),
    min_tracks: int | None = None,
    model: str | None = None,
    calibration: str | None = None,
    features: str | None = None,
    folds: int | None = None,
    threshold: float | None = None,
    target_accuracy: float | None = None,
) -> TrainResult:
    """Learns a head exactly as ``recogenre train --snapshot SNAPSHOT --labels LABELS --head HEAD``.

    ``labels`` is a label file (.csv/.jsonl/.parquet with ``path,label``), ``"tags"``,
    ``"folder:N"`` or ``"beets:LIBRARY.db[@MUSICDIR]"``; the keywords are the command's options
    (``None``: its default). Prints nothing; returns a ``TrainResult`` (``.head``, ``.report``,
    ``.head_path``, ``.report_path``, ``.balanced_accuracy``) once the head and its report
    are written. Raises :class:`recogenre.TrainError` (a ValueError) with the command's one line
    when it cannot train (no labels, one class, every class under ``min_tracks``, no labelled
    path in the snapshot, a bad option); nothing is written then.

    >>> result = recogenre.train("output", "folder:2", "my.head")
    >>> result.report["cv"]["balanced_accuracy"], result.head.taxonomy
    """
    from recogenre.analysis import train_defaults as d
    from recogenre.apps.training import main

    args = argparse.Namespace(
        snapshot=_text(snapshot),
        run=run,
        labels=labels if isinstance(labels, str) and not os.path.exists(labels) else _text(labels),
        head=_text(head),
        mapping=None if mapping is None else _text(mapping),
        ignore=[ignore] if isinstance(ignore, str) else list(ignore),
        min_tracks=d.DEFAULT_MIN_TRACKS if min_tracks is None else min_tracks,
        model=model or d.DEFAULT_MODEL,
        calibration=calibration or d.DEFAULT_CALIBRATION,
        features=features,
        folds=d.DEFAULT_FOLDS if folds is None else folds,
        threshold=threshold,
        target_accuracy=d.DEFAULT_TARGET_ACCURACY if target_accuracy is None else target_accuracy,
    )
    return main(args)


# ---- helpers ---------------------------------------------------------------------------------


def _text(path: PathLike) -> str:
    from recogenre.analysis.paths import from_os_path

    if not isinstance(path, str | bytes | os.PathLike):
        raise TypeError(f"expected a path, not {type(path).__name__}")
    return from_os_path(os.fspath(path))


def _model(weights: PathLike | None, backend: str | None, precision: str | None) -> Model:
    """The process's model for these options; the weights are checked before their first load."""
    from recogenre.analysis.backends import DEFAULT_BACKEND, DEFAULT_PRECISION, check
    from recogenre.analysis.model_cache import loaded_model, process_model
    from recogenre.analysis.model_check import check_weights_file
    from recogenre.analysis.weights import resolve_weights

    backend, precision = backend or DEFAULT_BACKEND, precision or DEFAULT_PRECISION
    check(backend, precision)  # ValueError, with the command's message
    flag = None if weights is None else _text(weights)
    path, digest = resolve_weights(flag)  # the digest of the file as it is now: changed weights reload
    model = loaded_model(digest, backend, precision)
    if model is None:
        check_weights_file(path, shown=flag or path)
        model, _ = process_model(path, digest, backend, precision)
    return model


def _min_confidence(value: float | None) -> float:
    """``--min-confidence``'s default when not given (``analysis/aggregate.py`` holds it)."""
    from recogenre.analysis.aggregate import DEFAULT_MIN_CONFIDENCE

    return DEFAULT_MIN_CONFIDENCE if value is None else value


def _check_numbers(**values: Any) -> None:
    """The command's ranges for numeric options (``--trim-seconds`` ...), as ValueError."""
    from recogenre.analysis.outcomes import UsageError
    from recogenre.pipeline.options_check import check_numbers

    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    try:
        check_numbers(argparse.Namespace(**values))
    except UsageError as e:
        raise ValueError(str(e)) from None


def _hours(value: float | None) -> float | None:
    if value is None:
        return None
    from recogenre.analysis.limits import valid_hours

    number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not number or not valid_hours(value):
        raise ValueError(f"max_duration must be a positive number of hours, not {value!r}")
    return float(value)


_NOT_OPTIONS = {"help", "version"}


def _run_flags() -> dict[str, argparse.Action]:
    """``recogenre run``'s own flags, from the command's parser (so no list is kept here)."""
    from recogenre.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices["run"]._option_string_actions


def _flags(options: Mapping[str, Any]) -> list[str]:
    """Keyword arguments as the command line's words; the parser then checks them."""
    own = _run_flags()
    words: list[str] = []
    for key, value in options.items():
        if key in _NOT_OPTIONS:
            raise TypeError(f"run() has no option {key!r}")
        dashed = "--" + key.replace("_", "-")
        flag = dashed if dashed in own else "--" + key  # Beam spells its options with underscores
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            if v is None or v is False:
                continue
            if v is True:
                words.append(flag)
            elif isinstance(v, str | bytes | os.PathLike | numbers.Real):
                words.append(f"{flag}={_text(v) if not isinstance(v, numbers.Real) else v}")
            else:
                raise TypeError(f"run() option {key}: a string, number or bool, not {type(v).__name__}")
    return words


def _rejection(path: str) -> dict | None:
    import json

    from recogenre.pipeline.layout import REJECTED

    try:
        with open(os.path.join(path, REJECTED)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
