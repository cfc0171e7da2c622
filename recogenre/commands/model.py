"""The model for the commands that load one in this process (classify, serve, similar)."""

from __future__ import annotations

from recogenre.analysis.logs import say, typed_error_text


def load_model(weights_flag: str | None, backend: str, precision: str):
    """The model, or a one-line message and exit status 2 when the weights or options are wrong."""
    from recogenre.analysis.backends import check
    from recogenre.analysis.classifier import Model
    from recogenre.analysis.model_check import validated_weights
    from recogenre.analysis.weights import WeightsError

    try:
        check(backend, precision)
        path, digest = validated_weights(weights_flag)  # a .keras archive is also loaded once, safely
    except (WeightsError, ValueError) as e:
        say(str(e))
        raise SystemExit(2) from None
    try:
        return Model(path, digest, backend, precision)
    except WeightsError as e:
        say(f"{weights_flag or path}: {e}")
        raise SystemExit(2) from None
    except Exception as e:
        say(f"cannot load the {backend} model: {typed_error_text(e)}")
        raise SystemExit(1) from None
