"""The Parquet schemas of a run's tables -- the output contract.

Columns are added, never renamed or removed, so nightly snapshots stay
comparable. Genre columns follow :data:`GENRES`.
"""

from __future__ import annotations

import pyarrow as pa

from recogenre.analysis.genres import GENRES
from recogenre.analysis.head import PREDICTION_SCHEMA

RAW_PREFIX = "raw_"

# The last GRU layer's 32 outputs (tracks: the mean over voting frames): a similarity
# feature for `recogenre similar`, not a genre; null for a silent frame or track.
# Always 32 values, but stored as a variable-size list: pyarrow 25 writes a null
# fixed-size list to Parquet that it cannot read back (apache/arrow#35692).
EMBEDDING = pa.list_(pa.float32())

# A track's rhythm descriptors (analysis/rhythm.py: RHYTHM_COMPONENTS, in that order), float32.
RHYTHM = pa.list_(pa.float32())

TRACKS = pa.schema(
    [
        ("track_id", pa.string()),
        ("path", pa.string()),
        ("duration_s", pa.float64()),
        ("n_frames", pa.int32()),
        ("n_silent_frames", pa.int32()),
        *[(g, pa.float64()) for g in GENRES],  # fractions 0-1 summing to 1; null for a silent track
        ("top_genre", pa.string()),  # null for a silent track; "unknown" below --min-confidence
        ("top_score", pa.float64()),
        ("label", pa.string()),
        ("size_bytes", pa.int64()),
        ("mtime", pa.timestamp("us", tz="UTC")),
        ("content_sha256", pa.string()),  # lets a nightly run tell a touched file from a changed one
        ("sample_rate", pa.int32()),
        ("codec", pa.string()),
        ("weights_sha256", pa.string()),
        ("run_id", pa.string()),
        ("decode_warnings", pa.string()),  # what a damaged file's decode skipped or missed; null when clean
        ("embedding", EMBEDDING),  # mean of the voting frames' embeddings
        ("confidence", pa.float64()),  # 0-1, see analysis/aggregate.py; null for a silent track
        ("analysed_s", pa.float64()),  # seconds of the track inside some frame (the rest was not heard)
        ("white_noise", pa.bool_()),  # decoded audio is white noise (random data): top_genre unknown
        # The file's own tags (analysis/file_tags.py), null when absent or unreadable:
        ("artist", pa.string()),
        ("album", pa.string()),
        ("albumartist", pa.string()),
        ("title", pa.string()),
        ("tracknumber", pa.int32()),  # "3/12" -> 3
        ("year", pa.int32()),  # the date tag's first four digits
        ("file_genre", pa.list_(pa.string())),  # the genre tag's values as stored; null when none
        # analysis/rhythm.py's RHYTHM_COMPONENTS (tempo, pulse, onsets, tempogram profile), the
        # audio-share-weighted mean over voting frames; null for a silent track
        ("rhythm", RHYTHM),
        # `run --head`: the user's own genres from a head made by `recogenre train` (analysis/head.py:
        # user_genre, or "unknown" below the head's threshold; user_confidence; user_scores in the
        # head's taxonomy order, which the manifest records; user_parent); null without --head
        *((f.name, f.type) for f in PREDICTION_SCHEMA),
    ]
)

FRAMES = pa.schema(
    [
        ("track_id", pa.string()),
        ("frame_index", pa.int32()),
        ("start_s", pa.float64()),
        ("end_s", pa.float64()),
        ("silent", pa.bool_()),
        *[(g, pa.float64()) for g in GENRES],  # normalised; null for a silent frame
        *[(RAW_PREFIX + g, pa.float32()) for g in GENRES],  # the CRNN's sigmoid outputs
        ("embedding", EMBEDDING),
    ]
)

ERRORS = pa.schema(
    [
        ("path", pa.string()),
        ("stage", pa.string()),  # read, decode or classify
        ("error_type", pa.string()),
        ("message", pa.string()),
        ("run_id", pa.string()),
        # The file as it was when it failed: an error about its content (analysis/error_carry.py)
        # is carried over, not decoded again, while size and mtime stay the same. Null for
        # errors that are not about a file's content.
        ("size_bytes", pa.int64()),
        ("mtime", pa.timestamp("us", tz="UTC")),
        ("first_run_id", pa.string()),  # the run that first gave this error
    ]
)

# What a run did with each input, relative to the snapshot it started from. ``unverified``:
# a previous track under a folder that could not be listed, carried over as it was.
# ``unchanged_error``: a file that failed before, unchanged since, its error row carried over.
CHANGE_KINDS = ("new", "changed", "unchanged", "retried", "removed", "moved", "unverified", "unchanged_error")
CHANGES = pa.schema(
    [
        ("path", pa.string()),
        ("track_id", pa.string()),
        ("change", pa.string()),  # one of CHANGE_KINDS
        ("reason", pa.string()),
        ("run_id", pa.string()),
        ("previous_path", pa.string()),  # moved: where the file was in the previous snapshot
    ]
)

# One row per album of the run's final tracks (decoded and carried over): see analysis/albums.py
# for the key and how the columns are computed from the tracks.
ALBUMS = pa.schema(
    [
        ("album_id", pa.string()),  # sha1 of the album's key, 16 hex digits: stable across runs
        ("albumartist", pa.string()),  # the tracks' albumartist tag; null when the key is the folder
        ("album", pa.string()),  # the tracks' album tag; null when they have none
        ("folder", pa.string()),  # the tracks' parent folder (the first, by path, when they differ)
        ("n_tracks", pa.int32()),  # silent tracks included
        ("duration_s", pa.float64()),  # summed over all its tracks
        *[(g, pa.float64()) for g in GENRES],  # tracks' vectors weighted by analysed_s; null: all silent
        ("top_genre", pa.string()),  # null when all silent; "unknown" below --min-confidence
        ("top_score", pa.float64()),
        ("confidence", pa.float64()),  # the tracks' confidence weighted by analysed_s
        ("agreement", pa.float64()),  # share of its non-silent tracks whose top_genre is the album's
        ("run_id", pa.string()),
    ]
)
