"""What people use around the pipeline's results, outside the Beam graph.

The REST service, genre charts, the HTML report and the labelled evaluation
all run on the same core as ``recogenre classify`` and ``run`` (``transforms``),
but none of them is part of the pipeline, so they live here.
"""
