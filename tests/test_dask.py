"""recogenre on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on 127.0.0.1.

The probes show each Beam 2.77 DaskRunner bug that pipeline/dask_runner.py works
around: they pass on the fixed runner and fail on Beam's own (``test_stock_runner_*``),
so a Beam upgrade that fixes a bug shows up here. The end-to-end tests run the
real pipeline on the shared clips plus hostile files and compare with the DirectRunner.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import apache_beam as beam
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recogenre.pipeline.dask_runner import BEAM_VERSION, FixedDaskRunner, UnsupportedBeam, check_beam_version
from tests.conftest import AUDIO, ROOT, assert_tables_agree, run_command, stored, unstamped, wait_until

# ------------------------------------------------------------------ the cluster


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded worker processes, stopped by pid at the end."""
    from distributed import Client, default_client

    d = tmp_path_factory.mktemp("dask")
    scheduler_file = d / "scheduler.json"
    # Workers import this module to run the probes' functions, as they import recogenre.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])}
    dask = [sys.executable, "-m", "dask"]
    procs: list[subprocess.Popen] = []
    logs = []

    def start(name: str, *args: str) -> None:
        log = open(d / f"{name}.log", "w")  # noqa: SIM115 -- closed in the finaliser
        logs.append(log)
        procs.append(subprocess.Popen([*dask, *args], stdout=log, stderr=subprocess.STDOUT, env=env))

    try:
        start(
            "scheduler",
            "scheduler",
            "--host=127.0.0.1",
            "--port=0",
            "--no-dashboard",
            f"--scheduler-file={scheduler_file}",
        )
        wait_until(lambda: scheduler_file.exists() and scheduler_file.stat().st_size > 0,
                   "the dask scheduler's address file", timeout_s=300)  # fmt: skip
        for i in (1, 2):
            start(
                f"worker{i}",
                "worker",
                f"--scheduler-file={scheduler_file}",
                "--host=127.0.0.1",
                "--nworkers=1",
                "--nthreads=1",
                "--no-nanny",  # the pid we hold is the worker itself
                "--no-dashboard",
                f"--local-directory={d / f'w{i}'}",
            )
        client = Client(scheduler_file=str(scheduler_file), timeout=60)
        client.wait_for_workers(2, timeout=120)
        yield {"scheduler_file": str(scheduler_file), "client": client, "folder": d}
    finally:
        while True:  # every client of this process, also one a failed stock-runner probe left open
            try:
                default_client().close()
            except ValueError:
                break
        _stop(procs)
        for log in logs:
            log.close()


# ------------------------------------------------------------------ probe pipelines


def record(element, folder: str):
    """Keeps an element where the test can read it (the workers share this machine's disk)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / uuid.uuid4().hex).write_text(json.dumps(element))
    return element


def recorded(folder: Path) -> list:
    values = [json.loads(f.read_text()) for f in folder.glob("*")] if folder.exists() else []
    return sorted(values, key=json.dumps)


class EmitAtFinish(beam.DoFn):
    def process(self, x):
        yield x

    def finish_bundle(self):
        from apache_beam.transforms.window import GlobalWindow
        from apache_beam.utils.windowed_value import WindowedValue

        yield WindowedValue("end of bundle", 0, [GlobalWindow()])


def _pid(x):
    time.sleep(0.2)  # long enough that one worker cannot take every element
    beam.metrics.Metrics.counter("probe", "elements").inc()
    return os.getpid()


def probe_all_leaves(p, d):
    """BEAM-DASK-1: every leaf runs, not only the last one."""
    xs = p | beam.Create([1, 2, 3])
    xs | "a" >> beam.Map(record, str(d / "a"))
    xs | "b" >> beam.Map(record, str(d / "b"))
    yield
    assert recorded(d / "a") == recorded(d / "b") == [1, 2, 3]


def probe_finish_bundle(p, d):
    """BEAM-DASK-2: what finish_bundle emits reaches the next step."""
    p | beam.Create([1, 2, 3]) | beam.ParDo(EmitAtFinish()) | beam.Map(record, str(d))
    yield
    got = recorded(d)
    assert [x for x in got if x != "end of bundle"] == [1, 2, 3] and "end of bundle" in got


def probe_tagged_outputs(p, d):
    """BEAM-DASK-3: each output of a multi-output step goes to its own consumers only."""
    even, odd = p | beam.Create(list(range(6))) | beam.Partition(lambda x, n: x % 2, 2)
    even | "even" >> beam.Map(record, str(d / "even"))
    odd | "odd" >> beam.Map(record, str(d / "odd"))
    yield
    assert recorded(d / "even") == [0, 2, 4] and recorded(d / "odd") == [1, 3, 5]


def probe_side_input_once(p, d):
    """BEAM-DASK-4: a side input is computed once, however many tasks read it."""
    once = p | "once" >> beam.Create([None]) | "init" >> beam.Map(lambda _: record("init", str(d / "init")))
    xs = p | "xs" >> beam.Create(list(range(4)))
    single = beam.pvalue.AsSingleton(once)
    xs | "use" >> beam.Map(lambda x, s: record([x, s], str(d / "use")), single)
    xs | "use again" >> beam.Map(lambda x, s: record([x, s], str(d / "again")), single)
    yield
    assert recorded(d / "init") == ["init"]
    assert recorded(d / "use") == recorded(d / "again") == [[x, "init"] for x in range(4)]


def probe_read_parquet(p, d):
    """BEAM-DASK-5: beam.io.Read (here ReadFromParquet, as incremental runs use) yields the rows."""
    d.mkdir(parents=True, exist_ok=True)
    for i in range(2):
        pq.write_table(pa.table({"x": [3 * i, 3 * i + 1, 3 * i + 2]}), d / f"part-{i}.parquet")
    rows = p | beam.io.ReadFromParquet(str(d / "part-*.parquet"))
    rows | beam.Map(lambda row: record(row["x"], str(d / "x")))
    yield
    assert recorded(d / "x") == list(range(6))


def probe_spread_and_metrics(p, d):
    """BEAM-DASK-6: Create and Reshuffle spread work over both workers; Beam counters come back."""
    xs = p | beam.Create(list(range(8))) | beam.Reshuffle() | beam.Map(_pid)
    xs | beam.Map(record, str(d))
    result = yield
    assert len(set(recorded(d))) >= 2
    counters = result.metrics().query(beam.metrics.MetricsFilter().with_name("elements"))["counters"]
    assert sum(c.committed for c in counters) == 8


PROBES = [
    probe_all_leaves,
    probe_finish_bundle,
    probe_tagged_outputs,
    probe_side_input_once,
    probe_read_parquet,
    probe_spread_and_metrics,
]


def run_probe(probe, runner, cluster, tmp_path) -> None:
    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions([f"--dask_scheduler_file={cluster['scheduler_file']}"])
    p = beam.Pipeline(runner=runner, options=options)
    steps = probe(p, tmp_path / "out")
    next(steps)
    result = p.run()
    try:
        result.wait_until_finish()
    finally:
        result.client.close()  # Beam's runner leaves its client open
    with contextlib.suppress(StopIteration):
        steps.send(result)


@pytest.mark.parametrize("probe", PROBES, ids=lambda f: f.__name__.removeprefix("probe_"))
def test_fixed_runner(probe, cluster, tmp_path):
    run_probe(probe, FixedDaskRunner(), cluster, tmp_path)


@pytest.mark.parametrize("probe", PROBES, ids=lambda f: f.__name__.removeprefix("probe_"))
def test_stock_runner_has_the_bug(probe, cluster, tmp_path):
    """Beam's DaskRunner fails each probe; when one passes, Beam fixed that bug (drop the work-around)."""
    from apache_beam.runners.dask.dask_runner import DaskRunner

    # A wrong result, except for Read, which crashes the stock runner.
    with pytest.raises(Exception if probe is probe_read_parquet else AssertionError):
        run_probe(probe, DaskRunner(), cluster, tmp_path)


def test_other_beam_versions_are_refused(tmp_path):
    check_beam_version(BEAM_VERSION)
    with pytest.raises(UnsupportedBeam, match=r"Beam 2\.99\.0 is installed"):
        check_beam_version("2.99.0")


def test_dask_options_without_the_dask_runner_are_a_usage_error(tmp_path):
    cmd = run_command(AUDIO, tmp_path / "out", "--runner=DirectRunner", "--dask_address=tcp://127.0.0.1:1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and unstamped(proc.stderr).strip().splitlines() == [
        "recogenre: --dask_address/--dask_scheduler_file need --runner dask, not DirectRunner"
    ]


# ------------------------------------------------------------------ the real pipeline


def tables(out: Path) -> dict[str, pd.DataFrame]:
    latest = out / "latest"
    return {
        name: pd.read_parquet(latest / name)
        .drop(columns=["run_id", "first_run_id"], errors="ignore")  # ids of the run that wrote them
        .sort_values(keys)
        .reset_index(drop=True)
        for name, keys in (
            ("tracks", ["path"]),
            ("frames", ["track_id", "frame_index"]),
            ("errors", ["path"]),
        )
    }


def manifest(out: Path) -> dict:
    return json.loads((out / "latest" / "manifest.json").read_text())


def task_name(key) -> str:
    return (key[0] if isinstance(key, tuple) else key).rsplit("-", 1)[0]


@pytest.fixture(scope="module")
def runs(cluster, bad_files, tmp_path_factory):
    """The shared clips plus hostile files, with the DirectRunner and on the cluster (twice)."""
    from distributed import get_task_stream

    d = tmp_path_factory.mktemp("runs")
    inputs = sorted(str(p) for p in AUDIO.iterdir() if p.suffix != ".md") + sorted(bad_files.values())
    catalogue = d / "catalogue.csv"
    pd.DataFrame({"path": inputs}).to_csv(catalogue, index=False)
    on_dask = ["--runner", "dask", "--dask_scheduler_file", cluster["scheduler_file"]]

    def run(out: Path, *args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(run_command(catalogue, out, *args), capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    run(d / "direct", "--direct_num_workers=1")
    with get_task_stream(cluster["client"]) as stream:
        run(d / "dask", *on_dask)
    return {
        "inputs": inputs,
        "direct": d / "direct",
        "dask": d / "dask",
        "manifest": manifest(d / "dask"),
        "tasks": stream.data,
        "on_dask": on_dask,
    }


def test_dask_tables_equal_the_direct_runners(runs):
    a, b = tables(runs["direct"]), tables(runs["dask"])
    for name in ("tracks", "frames", "errors"):
        assert len(a[name]) == len(b[name]) > 0, name
        assert_tables_agree(a[name], b[name])


def test_every_input_is_once_in_tracks_or_errors(runs):
    t = tables(runs["dask"])
    seen = list(t["tracks"]["path"]) + list(t["errors"]["path"])
    assert sorted(seen) == sorted(stored(p) for p in runs["inputs"])
    counts = runs["manifest"]["counts"]
    assert counts["tracks"] + counts["errors"] == counts["inputs"] == len(runs["inputs"])


def test_both_workers_decode_and_classify(runs):
    """From the scheduler's task stream: decode and CRNN tasks ran in two worker processes."""
    workers: dict[str, set[str]] = {"decode": set(), "inference": set()}
    for task in runs["tasks"]:
        name = task_name(task["key"])
        if name.startswith("audio_to_frames"):
            workers["decode"].add(task["worker"])
        elif name.startswith("classify_frames_crnn") and "runinference" in name:
            workers["inference"].add(task["worker"])
    assert len(workers["decode"]) == 2 and len(workers["inference"]) == 2, workers


def test_stage_counters_reach_the_manifest(runs):
    stages = runs["manifest"]["stage_cpu_seconds"]
    assert stages["decode"] > 0 and stages["inference"] > 0 and stages["model_load"] > 0
    assert runs["manifest"]["runner"] == "dask"


def test_warm_workers_load_no_model_and_a_nightly_run_decodes_nothing(runs, tmp_path):
    """After a run, the cluster's workers keep the CRNN: the next full run loads none; the run
    after that (incremental, nothing changed) decodes no file."""
    clips = tmp_path / "clips.csv"
    paths = [str(AUDIO / "disco.00000.au"), str(AUDIO / "metal.00000.au")]
    pd.DataFrame({"path": paths}).to_csv(clips, index=False)
    out = tmp_path / "out"
    for extra in (["--full"], []):
        proc = subprocess.run(
            run_command(clips, out, *runs["on_dask"], *extra), capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        if extra:
            stages = manifest(out)["stage_cpu_seconds"]
            assert stages["inference"] > 0 and stages.get("model_load", 0) == 0, stages
            full = tables(out)
    counts = manifest(out)["counts"]
    assert counts["decoded"] == 0 and counts["unchanged"] == counts["tracks"] == 2
    assert "; 0 decoded" in proc.stdout
    pd.testing.assert_frame_equal(tables(out)["tracks"], full["tracks"])
