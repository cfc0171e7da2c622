"""What people use around the pipeline's results, outside the Beam graph.

The REST service, genre charts, the HTML report, tagging files, similar tracks,
the labelled evaluation and the weights command all run on the same core as
``recogenre classify`` and ``run`` (``analysis``), but none of them is part of the
pipeline, so they live here.

May import ``pipeline`` (layout, lock, read_tables, options), ``transforms`` and
``analysis``; never ``recogenre``'s entry points (``cli``, ``commands``, ``api``).
"""
