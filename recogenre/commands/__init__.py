"""One module per ``recogenre`` sub-command: each adds its parser (``add_parser``) and runs it (``command``).

The options they share are declared once in ``pipeline/options.py``. Heavy imports
(Beam, TensorFlow, OpenVINO, NumPy) happen inside ``command`` so that ``--help`` and
argument errors answer at once. This is the top layer: it may import everything below
(``apps``, ``pipeline``, ``transforms``, ``analysis``); nothing imports it.
"""

# In the order ``recogenre --help`` lists them.
COMMANDS = ("classify", "run", "serve", "report", "evaluate", "tag", "similar", "train", "weights")
