"""``python pipeline/main.py --catalogue SRC --output OUT [Beam options]``.

The same as ``recogenre run``, as a script file: schedulers that launch Beam
pipelines by file (Airflow's ``BeamRunPythonPipelineOperator``) need one.
"""

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
