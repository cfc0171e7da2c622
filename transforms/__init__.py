"""The pipeline's Beam stages: PTransforms and DoFns, and nothing else.

``catalogue`` (ReadCatalogue), ``audio_frames`` (AudioToFrames), ``inference``
(ClassifyFrames, the RunInference model handler), ``track_rows`` (TrackVectorFn,
AssembleRows), ``incremental`` (PlanChanges, CarryFrames), ``user_genres`` (UserGenres:
``run --head``'s genres on every row) and ``albums`` (AlbumRows: the albums table from
the final tracks rows). The work inside each
stage is Beam-free code in ``analysis/``.

May import ``analysis`` (and Beam); never ``pipeline``, ``apps`` or ``recogenre``'s entry points.
"""
