"""recogenre: offline music-genre tagging for whole catalogues.

In Python (a notebook, a script)::

    import recogenre
    result = recogenre.classify("song.mp3")              # one file: what `recogenre classify` prints
    result = recogenre.classify_array(y, sr)             # a waveform in memory, at any sample rate
    snap = recogenre.run("/music", "output", full=True)  # `recogenre run`; options as keywords
    snap = recogenre.load_snapshot("output")             # the published run: snap.tracks, .frames, ...
    result = recogenre.train("output", "folder:2", "my.head")  # `recogenre train`: a head for your genres

``import recogenre`` itself is cheap: these names are imported on first use,
and Beam, TensorFlow or OpenVINO only when a call needs them (see ``api.py``).

This folder is the top layer, the entry points: the ``recogenre`` command
(``cli.py``, one module per sub-command in ``commands/``), ``python -m recogenre``
and the API. It may import every layer below (``apps`` → ``pipeline`` →
``transforms`` → ``analysis``, each importing only those after it; see
``tests/test_layers.py``); nothing below imports it. The repository keeps those
folders at its top; installed, they are ``recogenre.apps``, ``recogenre.pipeline``,
``recogenre.transforms`` and ``recogenre.analysis`` (see ``setup.py``), so no generic
top-level name reaches a user's environment.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# public name -> the module that defines it, imported when the name is first used
_EXPORTS = {
    "classify": "recogenre.api",
    "classify_array": "recogenre.api",
    "load_snapshot": "recogenre.api",
    "run": "recogenre.api",
    "train": "recogenre.api",
    "TrainResult": "recogenre.apps.training",
    "TrainError": "recogenre.apps.training",
    "load_head": "recogenre.analysis.head",
    "HeadError": "recogenre.analysis.head",
    "Snapshot": "recogenre.api",
    "RunError": "recogenre.api",
    "RunRefused": "recogenre.api",
    "TrackResult": "recogenre.analysis.classifier",
    "AudioError": "recogenre.analysis.decode",
    "SampleScaleError": "recogenre.analysis.array_audio",
    "WeightsError": "recogenre.analysis.weights",
    "GENRES": "recogenre.analysis.genres",
    "__version__": "recogenre.pipeline",
}
__all__ = [
    "GENRES",
    "AudioError",
    "HeadError",
    "RunError",
    "RunRefused",
    "SampleScaleError",
    "Snapshot",
    "TrackResult",
    "TrainError",
    "TrainResult",
    "WeightsError",
    "__version__",
    "classify",
    "classify_array",
    "load_head",
    "load_snapshot",
    "run",
    "train",
]

if TYPE_CHECKING:  # for editors and type checkers; at run time __getattr__ imports on demand
    from recogenre.analysis.array_audio import SampleScaleError
    from recogenre.analysis.classifier import TrackResult
    from recogenre.analysis.decode import AudioError
    from recogenre.analysis.genres import GENRES
    from recogenre.analysis.head import HeadError, load_head
    from recogenre.analysis.weights import WeightsError
    from recogenre.api import (
        RunError,
        RunRefused,
        Snapshot,
        classify,
        classify_array,
        load_snapshot,
        run,
        train,
    )
    from recogenre.apps.training import TrainError, TrainResult
    from recogenre.pipeline import __version__


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'recogenre' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
