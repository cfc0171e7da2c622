"""``python pipeline/main.py --catalogue SRC --output OUT [Beam options]``.

The same as ``recogenre run``, as a script file: schedulers that launch Beam
pipelines by file (Airflow's ``BeamRunPythonPipelineOperator``) need one. It
builds ``run``'s parser from the shared declarations (``pipeline/options.py``)
and calls the launcher directly, so the pipeline never imports the ``recogenre``
command line above it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from recogenre.pipeline.entry import RUN_DESCRIPTION, checked, prepare_process
from recogenre.pipeline.options import OneLineParser, add_run_options


def main(argv: Sequence[str] | None = None) -> int:
    unshield = prepare_process(starts_beam=True)
    try:
        parser = OneLineParser(prog="recogenre run", description=RUN_DESCRIPTION)
        add_run_options(parser)
        args, rest = parser.parse_known_args(argv)
        args.command = "run"
        status = checked(args, rest)
        if status is not None:
            return status
        from recogenre.pipeline.run import main as run_main

        return run_main(args, warm_pool=args.warm_pool)  # started by checked(), before Beam loads
    finally:
        unshield()


if __name__ == "__main__":
    sys.exit(main())
