"""The estimators a head is made of (scikit-learn), defined here so a saved head unpickles from
the bottom layer: a pickle names the classes it holds, and ``analysis/head.py`` loads heads.

- ``logistic`` (default): standardised features, then multinomial logistic regression with
  balanced class weights (a class of 8 tracks counts as much as one of 800) and an L2
  penalty of ``C=0.1`` (libraries give few tracks per class; see benchmarks/head_features.py);
- ``mlp``: standardised features, then one hidden layer of 64 units (``alpha=1e-2``) with
  balanced sample weights (:class:`BalancedMLP`).

Either is wrapped in ``CalibratedClassifierCV`` (``temperature`` by default: one factor that
keeps the ranking, fitted on held-out predictions of grouped inner folds) unless
``calibration="none"`` or there are too few groups for inner folds.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from recogenre.analysis.train_defaults import MODELS

LOGISTIC_C = 0.1
INNER_FOLDS = 3


class BalancedMLP(MLPClassifier):
    """MLPClassifier has no ``class_weight``: balanced sample weights give it the same effect."""

    def fit(self, X, y, sample_weight=None):
        return super().fit(X, y, sample_weight=compute_sample_weight("balanced", y))


def grouped_splits(
    y: np.ndarray, groups: np.ndarray, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds in which no group is on both sides (at most as many folds as groups);
    empty when there are fewer than two groups."""
    k = min(folds, len(set(groups)))
    if k < 2:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class has fewer members than folds"
        return list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(y, y, groups))


def classes_missing_from_training(y: np.ndarray, splits) -> list[str]:
    """The classes some split's training part lacks: with few albums per class a grouped fold
    can hold every album of a class, and a model fitted without it cannot be judged on it
    (scikit-learn refuses a training part of one class outright)."""
    every = set(y.tolist())
    return sorted({str(c) for train, _ in splits for c in every - set(y[train].tolist())})


def make_model(kind: str, calibration: str, y: np.ndarray, groups: np.ndarray, seed: int):
    """The unfitted estimator for training data ``y`` grouped by ``groups``."""
    if kind == "mlp":
        classifier = BalancedMLP(hidden_layer_sizes=(64,), alpha=1e-2, max_iter=2000, random_state=seed)
    elif kind == "logistic":
        classifier = LogisticRegression(class_weight="balanced", C=LOGISTIC_C, max_iter=5000)
    else:
        raise ValueError(f"unknown model {kind!r}: one of {', '.join(MODELS)}")
    base = make_pipeline(StandardScaler(), classifier)
    inner = grouped_splits(y, groups, INNER_FOLDS, seed) if calibration != "none" else []
    if not inner or classes_missing_from_training(y, inner):  # too few albums to calibrate on
        return base
    return CalibratedClassifierCV(base, method=calibration, cv=inner)


def fit_quietly(model, X: np.ndarray, y: np.ndarray):
    """``model.fit``; scikit-learn's convergence and small-fold warnings are not the user's business
    (the CV report says how well the head does)."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        return model.fit(X, y)
