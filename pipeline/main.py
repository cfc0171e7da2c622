"""``python pipeline/main.py --catalogue SRC --output OUT [Beam options]``.

The same as ``recogenre run``, as a script file: schedulers that launch Beam
pipelines by file (Airflow's ``BeamRunPythonPipelineOperator``) need one.
"""

import sys

from recogenre.pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
