"""Airflow DAG: recogenre every night through the Apache Beam provider.

Copy this file into the DAGs folder of an Airflow installation that has
``apache-airflow-providers-apache-beam``; set RECOGENRE_HOME (a checkout set up
with ``./run_local.sh``), RECOGENRE_CATALOGUE and RECOGENRE_OUTPUT in the
scheduler's environment. The task fails only when the run fails (exit status
1 or 2); bad audio files are rows in ``errors/`` of a successful run.

The ``RECOGENRE_*`` variables must exist on the Airflow *workers* too, not only on
the scheduler: a worker parses this file again before it runs the task, and
without them it would silently fall back to the defaults below (/opt/recogenre,
/srv/music, /srv/recogenre). Set them in the workers' environment (or in the
executor's pod template / systemd unit), or replace the defaults here.

The interpreter is the checkout's ``.venv/bin/python``: nothing is installed at
run time (``./run_local.sh`` would reinstall with pip after ``setup.py`` or
``requirements.lock`` changed, which needs the network in the middle of the night).

The settings are plain module constants so that they can be checked without
Airflow (tests/test_scheduling.py runs exactly the command the operator runs).
"""

import os
from datetime import datetime, timedelta

HOME = os.environ.get("RECOGENRE_HOME", "/opt/recogenre")
PY_FILE = f"{HOME}/pipeline/main.py"
PY_INTERPRETER = f"{HOME}/.venv/bin/python"
RUNNER = "DirectRunner"
PIPELINE_OPTIONS = {
    "catalogue": os.environ.get("RECOGENRE_CATALOGUE", "/srv/music"),
    "output": os.environ.get("RECOGENRE_OUTPUT", "/srv/recogenre"),
    "direct_running_mode": "multi_processing",
    "direct_num_workers": 0,  # one worker per core
    # Progress: stderr is not a terminal here, so a timestamped line every minute and per 10 %.
}

try:
    from airflow import DAG
    from airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator
except ImportError:  # imported outside Airflow: only the settings above are wanted
    DAG = None

if DAG is not None:
    with DAG(
        dag_id="recogenre_nightly",
        schedule="30 2 * * *",
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,  # recogenre's own lock refuses overlaps too
        default_args={"retries": 1, "retry_delay": timedelta(minutes=30)},
        tags=["recogenre"],
    ) as dag:
        BeamRunPythonPipelineOperator(
            task_id="tag_catalogue",
            runner=RUNNER,
            py_file=PY_FILE,
            py_interpreter=PY_INTERPRETER,
            py_system_site_packages=False,
            pipeline_options=PIPELINE_OPTIONS,
        )
