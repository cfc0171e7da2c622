"""The scheduling examples run the real pipeline exactly as a scheduler would."""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

from tests.conftest import AUDIO, ROOT, STAMP

SCHEDULING = ROOT / "pipeline" / "scheduling"


def small_library(tmp_path: Path) -> Path:
    lib = tmp_path / "music"
    lib.mkdir()
    for name in ("die.au", "disco.00000.au"):
        shutil.copyfile(AUDIO / name, lib / name)
    return lib


def options_to_args(options: dict) -> list[str]:
    """How the Beam provider turns ``pipeline_options`` into arguments (its documented rules:
    True or None -> --flag, False -> nothing, a list -> the option repeated, else --key=value)."""
    args = []
    for key, value in options.items():
        if value is None or value is True:
            args.append(f"--{key}")
        elif value is False:
            continue
        elif isinstance(value, list):
            args += [f"--{key}={v}" for v in value]
        else:
            args.append(f"--{key}={value}")
    return args


def test_airflow_dag_runs_the_pipeline(tmp_path, monkeypatch):
    lib, out = small_library(tmp_path), tmp_path / "tags"
    monkeypatch.setenv("RECOGENRE_HOME", str(ROOT))
    monkeypatch.setenv("RECOGENRE_CATALOGUE", str(lib))
    monkeypatch.setenv("RECOGENRE_OUTPUT", str(out))
    spec = importlib.util.spec_from_file_location("airflow_dag", SCHEDULING / "airflow_dag.py")
    dag = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dag)

    assert Path(dag.PY_FILE).is_file() and Path(dag.PY_INTERPRETER).exists()
    command = [
        dag.PY_INTERPRETER,
        dag.PY_FILE,
        *options_to_args({**dag.PIPELINE_OPTIONS, "runner": dag.RUNNER}),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((out / "latest" / "manifest.json").read_text())
    assert manifest["counts"]["tracks"] == 2 and manifest["runner"] == "DirectRunner"


VENV_COMMAND = [
    "/opt/recogenre/.venv/bin/recogenre",
    "run",
    "--catalogue",
    "/srv/music",
    "--output",
    "/srv/recogenre",
    "--direct_running_mode=multi_processing",
    "--direct_num_workers=0",
]


def cron_entry() -> tuple[str, str]:
    """(user, command) of the /etc/cron.d line: five time fields, the user, the command."""
    lines = [
        ln
        for ln in (SCHEDULING / "crontab.example").read_text().splitlines()
        if ln and not ln.startswith("#")
    ]
    assert len(lines) == 1
    fields = lines[0].split(maxsplit=6)
    assert len(fields) == 7 and fields[:5] == ["30", "2", "*", "*", "*"]
    return fields[5], fields[6]


def test_cron_file_is_for_cron_d_and_never_installs():
    text = (SCHEDULING / "crontab.example").read_text()
    user, command = cron_entry()
    assert "/etc/cron.d" in text and "crontab -e" in text and user == "recogenre"
    assert "run_local.sh" not in command and "pip" not in command  # the venv's recogenre, directly
    assert command.split(">>")[0].split() == VENV_COMMAND


def test_cron_line_runs_and_logs(tmp_path):
    lib, out, log = small_library(tmp_path), tmp_path / "tags", tmp_path / "recogenre.log"
    _, command = cron_entry()
    command = (
        command.replace("/opt/recogenre", shlex.quote(str(ROOT)))
        .replace("/srv/music", shlex.quote(str(lib)))
        .replace("/srv/recogenre", shlex.quote(str(out)))
        .replace("/var/log/recogenre/nightly.log", shlex.quote(str(log)))
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOGENRE_")}
    proc = subprocess.run(["bash", "-c", command], env=env, timeout=600, cwd="/")
    assert proc.returncode == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "run " in text and "2 tracks" in text and "results: " in text
    assert (out / "latest" / "tracks").is_dir()
    # Not a terminal: the launcher's lines carry a timestamp.
    launcher = [ln for ln in text.splitlines() if "recogenre: run " in ln]
    assert launcher and all(STAMP.match(ln) for ln in launcher)


def unit(name: str) -> configparser.ConfigParser:
    parsed = configparser.ConfigParser(strict=False, interpolation=None)
    parsed.optionxform = str  # systemd keys are case-sensitive
    parsed.read(SCHEDULING / name)
    return parsed


def test_systemd_units_run_the_same_command_nightly_as_an_unprivileged_user():
    service, timer = unit("recogenre-nightly.service"), unit("recogenre-nightly.timer")
    s = service["Service"]
    assert s["Type"] == "oneshot"
    assert s["ExecStart"].split() == VENV_COMMAND == cron_entry()[1].split(">>")[0].split()
    assert s["User"] == "recogenre" or s.get("DynamicUser") == "yes"
    assert s["ProtectSystem"] == "strict" and s["ReadWritePaths"].split() == ["/srv/recogenre"]
    assert s["KillMode"] == "mixed"  # SIGTERM to the launcher, which stops its workers itself
    on_failure = service["Unit"]["OnFailure"]
    template = on_failure.split("@")[0] + "@.service"
    failure = unit(template)
    assert failure["Service"]["Type"] == "oneshot" and "%i" in failure["Service"]["ExecStart"]
    assert timer["Timer"]["OnCalendar"] == "*-*-* 02:30:00" and timer["Timer"]["Persistent"] == "true"
    if shutil.which("systemd-analyze"):
        proc = subprocess.run(
            ["systemd-analyze", "calendar", timer["Timer"]["OnCalendar"]], capture_output=True
        )
        assert proc.returncode == 0


def test_airflow_dag_says_the_variables_must_exist_on_workers():
    text = (SCHEDULING / "airflow_dag.py").read_text()
    assert "RECOGENRE_*" in text and "workers" in text
