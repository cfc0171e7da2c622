"""The Beam-free core: audio, features, model and rows, plus the helpers every layer uses.

Decoding (``decode``, ``segments``, ``noise_check``), log-mel frames (``frames``,
``melspec``, ``features``; ``rhythm``: tempo and onset descriptors), the CRNN and its
runtimes (``crnn*``, ``openvino*``, ``int8_calibration``, ``backends``, ``classifier``,
``weights``), aggregation into rows (``aggregate``,
``schemas``, ``genres``), listing a catalogue (``listing``, ``catalogue_files``,
``paths``, ``exclusions``: the junk and ``--exclude`` rules), a file's own tags
(``file_tags``, mutagen), which errors a nightly run keeps (``error_carry``), the
user-trained classifier head (``head``: its file and predictions; ``head_features``:
the stored columns it reads), and the cross-cutting helpers (``logs``: user messages
and log lines;
``wording``; ``paths.printable``). Plain Python and NumPy/OpenVINO (Keras optional),
so the same code serves the Beam stages, ``recogenre classify`` and the HTTP service.

Bottom layer: imports nothing of recogenre outside this folder. It defines no Beam
stage; a few functions use Beam's filesystem layer (``FileSystems``) for remote paths.
"""

import sys

# OpenVINO's Python package sends a telemetry event on every ``import openvino`` (unless a
# consent file in $HOME says no) by forking the importing process -- in a Beam worker, a
# copy of a ~1 GB process -- to post to Google Analytics. An offline tagger must not, so
# its model-conversion API finds no telemetry module and uses its own stub (it handles
# the ImportError); nothing else of OpenVINO uses it.
sys.modules.setdefault("openvino_telemetry", None)
