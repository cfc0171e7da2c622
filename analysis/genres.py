"""The ten GTZAN genres, in the order of the CRNN's output units.

This tuple is the single source of truth for genre names and their column
order everywhere: model outputs, Parquet schemas, JSON and charts.
"""

GENRES: tuple[str, ...] = (
    "blues",
    "classical",
    "country",
    "disco",
    "hiphop",
    "jazz",
    "metal",
    "pop",
    "reggae",
    "rock",
)
