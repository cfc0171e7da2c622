"""The Beam pipeline around the stages: the graph, the launcher, runners, the snapshot layout.

``graph`` wires the stages of ``transforms/`` into one pipeline; ``run`` launches it
and publishes the snapshot (``layout``, ``lock``); ``dask_runner`` and ``warm_workers``
are runners; ``options``/``options_check`` declare and check the command-line options
every entry point shares; ``main.py`` is the script schedulers launch.

May import ``transforms`` and ``analysis``; never ``apps`` or ``recogenre``'s entry points.
"""

__version__ = "0.1.0"
