"""Beam stage: the user's own genres (``run --head``) added to every tracks row.

A head made by ``recogenre train`` (``analysis/head.py``) reads only columns a
tracks row already holds (embedding, genre shares, rhythm), so it is applied
where the rows are written, to decoded and carried rows alike -- like
``--min-confidence`` it relabels and never decodes. Rows are predicted in
batches (one pandas frame and one ``predict_proba`` call per batch, not per
track). Without a head the columns are null: a carried row's user genres came
from the head of an earlier run, and are not this run's answer.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam
import pandas as pd
from apache_beam.metrics import Metrics

from recogenre.analysis.head import PREDICTION_SCHEMA, Head

USER_COLUMNS = tuple(PREDICTION_SCHEMA.names)
MAX_BATCH = 512  # rows per predict call: a few MB of features


def without_user_genres(row: dict) -> dict:
    """A row whose user genre columns are null (a run without ``--head``)."""
    return {**row, **dict.fromkeys(USER_COLUMNS)}


def _plain(value: Any) -> Any:
    """pandas' NaN for a missing confidence as the Parquet column's null."""
    if isinstance(value, float) and value != value:
        return None
    return value


class PredictUserGenres(beam.DoFn):
    """A batch of tracks rows -> the same rows with the head's ``user_*`` columns."""

    def __init__(self, head: Head):
        self.head = head
        self.labelled = Metrics.counter("recogenre", "user_genres")

    def process(self, rows: list[dict]):
        predicted = self.head.predict(pd.DataFrame(rows))
        records = predicted[list(USER_COLUMNS)].to_dict("records")
        for row, user in zip(rows, records):
            if user["user_genre"] is not None:
                self.labelled.inc()
            yield {**row, **{k: _plain(v) for k, v in user.items()}}


class UserGenres(beam.PTransform):
    """Tracks rows -> tracks rows with ``user_*`` from ``head`` (null columns when it is None)."""

    def __init__(self, head: Head | None):
        super().__init__()
        self.head = head

    def expand(self, rows):
        if self.head is None:
            return rows | "No head" >> beam.Map(without_user_genres)
        return (
            rows
            | "Batch rows" >> beam.BatchElements(min_batch_size=1, max_batch_size=MAX_BATCH)
            | "Predict" >> beam.ParDo(PredictUserGenres(self.head))
        )
