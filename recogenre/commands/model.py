"""The model for the commands that load one in this process (classify, serve, similar)."""

from __future__ import annotations

from recogenre.analysis.logs import typed_error_text
from recogenre.analysis.outcomes import CommandError, UsageError


def load_model(weights_flag: str | None, backend: str, precision: str):
    """The model; :class:`UsageError` (exit status 2) when the weights or options are wrong,
    :class:`CommandError` (1) when a good model cannot be loaded."""
    from recogenre.analysis.backends import check
    from recogenre.analysis.classifier import Model
    from recogenre.analysis.model_check import validated_weights
    from recogenre.analysis.weights import WeightsError

    try:
        check(backend, precision)
        path, digest = validated_weights(weights_flag)  # a .keras archive is also loaded once, safely
    except (WeightsError, ValueError) as e:
        raise UsageError(str(e)) from None
    try:
        return Model(path, digest, backend, precision)
    except WeightsError as e:
        raise UsageError(f"{weights_flag or path}: {e}") from None
    except Exception as e:
        raise CommandError(f"cannot load the {backend} model: {typed_error_text(e)}") from None
