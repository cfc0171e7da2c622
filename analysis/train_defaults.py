"""The choices and defaults of ``recogenre train``, in one place: the command's options
(``pipeline/train_options.py``), the API (``recogenre.train``) and the code that uses them
(``apps/training.py``, ``analysis/head_models.py``) read them here. No heavy import: ``--help``
answers at once.
"""

from __future__ import annotations

LABEL_SOURCES_HELP = "FILE.csv|.jsonl|.parquet (path,label), tags, folder:N, or beets:LIBRARY.db[@MUSICDIR]"
MODELS = ("logistic", "mlp")
CALIBRATIONS = ("temperature", "sigmoid", "isotonic", "none")
DEFAULT_MODEL = "logistic"
DEFAULT_CALIBRATION = "temperature"
DEFAULT_MIN_TRACKS = 8
DEFAULT_FOLDS = 5
DEFAULT_TARGET_ACCURACY = 0.8
# Chosen by measurement (benchmarks/head_features.py; analysis/head_features.py defines the blocks).
DEFAULT_FEATURE_SET = "embedding+scores"
