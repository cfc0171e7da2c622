"""Core of recogenre: audio decoding, log-mel frames, the CRNN and aggregation.

Everything here is plain Python and NumPy/Keras so the same code serves the
Beam pipeline, the single-track classifier and the HTTP service.
"""

import sys

# OpenVINO's Python package sends a telemetry event on every ``import openvino`` (unless a
# consent file in $HOME says no) by forking the importing process -- in a Beam worker, a
# copy of a ~1 GB process -- to post to Google Analytics. An offline tagger must not, so
# its model-conversion API finds no telemetry module and uses its own stub (it handles
# the ImportError); nothing else of OpenVINO uses it.
sys.modules.setdefault("openvino_telemetry", None)
