"""Beam's DaskRunner, fixed so that a recogenre run on a Dask cluster is complete and spread out.

Why this module exists: Beam 2.77's ``apache_beam.runners.dask.DaskRunner``
runs this pipeline to exit status 0 and publishes an *empty* snapshot. Each
of its bugs is worked around here, in one place, and named ``BEAM-DASK-n``
(the numbers of issue 11); ``tests/test_dask.py`` has a probe pipeline per fix
that fails on the stock runner:

BEAM-DASK-1  only the last leaf of the graph is computed (dask_runner.py ~251),
             so three of four writes never ran. Here every unconsumed output is
             computed (as a count, so no data travels to the launcher).
BEAM-DASK-2  outputs emitted in ``finish_bundle`` are lost: results are taken
             (transform_evaluator.py ~198) before ``invoke_finish_bundle``
             (~200). Writes report their files and ``BatchElements`` its last
             batch there. Here outputs are taken after ``finish_bundle``.
BEAM-DASK-3  every consumer of a multi-output ParDo gets every output: all tags
             share one list (transform_evaluator.py ~99-121) and bags are
             looked up by producer (dask_runner.py ~192). Here each output
             PCollection is its own bag holding only its tag's elements.
BEAM-DASK-4  a side input is recomputed inside every consuming task
             (transform_evaluator.py ~95: ``list(bag)`` runs the whole upstream
             again, on the worker). Here a side input is one dask task whose
             result the consuming tasks depend on, so it is computed once.
BEAM-DASK-5  ``beam.io.Read`` becomes a no-op returning None (overrides.py
             ~125, no translation), so ``ReadFromParquet`` fails. Here the
             source is split on the launcher and each split read in a task.
BEAM-DASK-6  no scale-out: ``Reshuffle`` does nothing (overrides.py ~117) and
             ``Create`` puts up to 128 items in one partition (~169). Here
             ``Reshuffle`` deals elements round-robin into as many partitions
             as the cluster has threads (x ``PARTITIONS_PER_THREAD``), partition
             j preferring worker j mod W, and
             ``Create`` spreads its items the same way. ``metrics()`` raised
             NotImplementedError; here each bundle runs in a Beam metrics
             container and the launcher sums them, so Beam counters (the
             manifest's ``stage_cpu_seconds``) work as on the DirectRunner.

What is kept from Beam: its PTransform overrides (``dask_overrides``), its
DoFn invoker (``DoFnInvoker``), its GroupByKey semantics and its options
(``--dask_client_address``, ``--dask_scheduler_file``, ...). Dask's own
scheduler does all scheduling and data transfer. Workers must be able to
import this module (install this package on them, same pins).

The fixes depend on Beam internals, so the runner refuses any Beam version
other than ``BEAM_VERSION``: a Beam upgrade must come with a re-check of the
probes in ``tests/test_dask.py``, never with silently empty snapshots.

Over 400 lines as one job: the fixes to one runner, each next to the Beam code it
replaces, so a Beam upgrade is checked against one file.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import typing as t

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.runners.common import Receiver
from apache_beam.runners.dask.dask_runner import DaskOptions, DaskRunner
from apache_beam.runners.runner import PipelineResult, PipelineState

BEAM_VERSION = "2.77.0"
PARTITIONS_PER_THREAD = 2
READ_BUNDLE_BYTES = 64 << 20


class UnsupportedBeam(RuntimeError):
    """The installed Beam is not the version these fixes were written and tested for."""


def check_beam_version(version: str | None = None) -> None:
    version = version or beam.__version__
    if version != BEAM_VERSION:
        raise UnsupportedBeam(
            f"the Dask runner works around bugs of Beam {BEAM_VERSION}, but Beam {version} is installed; "
            f"re-run tests/test_dask.py and update pipeline/dask_runner.py first"
        )


def dask_client_args(address: str | None, scheduler_file: str | None) -> list[str]:
    """recogenre's ``--dask_address``/``--dask_scheduler_file`` as Beam's DaskOptions flags."""
    if address:
        return [f"--dask_client_address={address}"]
    if scheduler_file:
        return [f"--dask_scheduler_file={scheduler_file}"]
    return []


# ---------------------------------------------------------------- worker side


@dataclasses.dataclass
class _DoFnSpec:
    """What a bundle task needs to run one ParDo (pickled into its tasks)."""

    label: str
    fn: beam.DoFn
    args: list
    kwargs: dict
    window_fn: t.Any
    side_views: list  # (view class, view options) per side input, in order
    tags: dict  # Beam output tag (None: main) -> index into the bundle's output lists


class _Receiver(Receiver):
    def __init__(self, values: list | None):
        self.values = values

    def receive(self, windowed_value) -> None:
        if self.values is not None:  # an undeclared tag: dropped, as on other runners
            self.values.append(windowed_value.value)


class _Outputs(dict):
    """Receivers by output tag, each appending to its own list (BEAM-DASK-3)."""

    def __init__(self, n: int, tags: dict):
        super().__init__()
        self.lists: list[list] = [[] for _ in range(n)]
        self.tags = tags

    def __missing__(self, tag):
        index = self.tags.get(tag)
        receiver = self[tag] = _Receiver(None if index is None else self.lists[index])
        return receiver


@dataclasses.dataclass
class _Bundle:
    outputs: list  # one list of elements per output PCollection
    metrics: t.Any  # (step label, MetricUpdates) or None


def _run_bundle(items, spec: _DoFnSpec, *side_values) -> _Bundle:
    """One dask partition through one ParDo, with Beam's invoker, in a Beam metrics container."""
    from apache_beam.metrics.execution import MetricsContainer
    from apache_beam.runners.common import DoFnContext, DoFnInvoker, DoFnSignature, _OutputHandler
    from apache_beam.runners.dask.transform_evaluator import get_windowed_value
    from apache_beam.runners.worker import statesampler
    from apache_beam.transforms.sideinputs import SideInputMap
    from apache_beam.utils import counters

    check_beam_version()
    receivers = _Outputs(len(set(spec.tags.values())), spec.tags)
    side_inputs = [
        SideInputMap(view, options, [get_windowed_value(v, None) for v in values])
        for (view, options), values in zip(spec.side_views, side_values)
    ]
    invoker = DoFnInvoker.create_invoker(
        DoFnSignature(spec.fn),
        _OutputHandler(
            window_fn=spec.window_fn,
            main_receivers=receivers[None],
            tagged_receivers=receivers,
            per_element_output_counter=None,
            output_batch_converter=None,
            process_yields_batches=False,
            process_batch_yields_elements=False,
        ),
        context=DoFnContext(spec.label, state=None),
        side_inputs=side_inputs,
        input_args=spec.args,
        input_kwargs=spec.kwargs,
        user_state_context=None,
        bundle_finalizer_param=beam.DoFn.BundleFinalizerParam(),
    )
    container = MetricsContainer(spec.label)
    sampler = statesampler.StateSampler("", counters.CounterFactory())
    statesampler.set_current_tracker(sampler)
    try:
        with sampler.scoped_state(spec.label, "process", metrics_container=container):
            invoker.invoke_setup()
            invoker.invoke_start_bundle()
            for item in items:
                invoker.invoke_process(get_windowed_value(item, spec.window_fn))
            invoker.invoke_finish_bundle()  # BEAM-DASK-2: before the outputs are taken
            invoker.invoke_teardown()
    finally:
        statesampler.set_current_tracker(None)
    updates = container.get_cumulative()
    has_metrics = any((updates.counters, updates.distributions, updates.gauges, updates.string_sets))
    return _Bundle(receivers.lists, (spec.label, updates) if has_metrics else None)


def _select(bundle: _Bundle, index: int) -> list:
    return bundle.outputs[index]


def _bundle_metrics(bundle: _Bundle) -> list:
    return [bundle.metrics] if bundle.metrics else []


def _concat(lists) -> list:
    return [x for part in lists for x in part]


def _deal(everything: list, j: int, n: int) -> list:
    return everything[j::n]


def _read_splits(splits) -> list:
    out = []
    for split in splits:
        tracker = split.source.get_range_tracker(split.start_position, split.stop_position)
        out.extend(split.source.read(tracker))
    return out


def _count(part) -> int:
    return sum(1 for _ in part)


# ---------------------------------------------------------------- launcher side


def _token(label: str) -> str:
    """A dask key prefix from a Beam label, so the task stream says which step ran where."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:80] or "step"


class _Translator(beam.pipeline.PipelineVisitor):
    """Beam graph (after Beam's dask overrides) -> dask bags, one bag per PCollection."""

    def __init__(self, n_partitions: int, workers: list[str] | None = None):
        import dask.bag as db

        self.db = db
        self.n = n_partitions
        self.workers = sorted(workers or [])
        self.bags: dict[pvalue.PCollection, t.Any] = {}
        self.consumed: set = set()
        self.side_items: dict[pvalue.PCollection, t.Any] = {}
        self.metric_bags: list = []

    # -- helpers
    def _empty(self):
        return self.db.from_sequence([0], npartitions=1).map_partitions(lambda _: [])

    def _spread(self, items: list, token: str):
        if not items:
            return self._empty()
        # BEAM-DASK-6: one partition per item up to n, never 128 items in one.
        return self.db.from_sequence(items, npartitions=min(len(items), self.n)).map_partitions(
            list, token=token
        )

    def _side_item(self, pcoll):
        # BEAM-DASK-4: one task gathers the side input; consumers depend on it.
        if pcoll not in self.side_items:
            bag = self.bags[pcoll]
            item = bag.reduction(list, _concat, split_every=64, name=f"side-{bag.name}")
            # Passed as a Delayed without graph optimisation: given as an Item, dask would
            # fuse (and so copy) the whole upstream graph into every consumer.
            self.side_items[pcoll] = item.to_delayed(optimize_graph=False)
        return self.side_items[pcoll]

    # -- the visitor
    def visit_transform(self, node) -> None:
        from apache_beam.runners.dask import overrides as o

        transform = node.transform
        inputs = [p for p in node.inputs if not isinstance(p, pvalue.PBegin)]
        self.consumed.update(inputs)
        self.consumed.update(si.pvalue for si in node.side_inputs)
        token = _token(node.full_label)
        outputs = {tag: p for tag, p in node.outputs.items() if isinstance(p, pvalue.PCollection)}
        if isinstance(transform, o._Create):
            bags = {tag: self._spread(list(transform.values), token) for tag in outputs}
        elif isinstance(transform, beam.Impulse):
            bags = {tag: self.db.from_sequence([b""], npartitions=1) for tag in outputs}
        elif isinstance(transform, o._Read):
            bags = {tag: self._read(transform.source, token) for tag in outputs}
        elif isinstance(transform, o._Reshuffle):
            bags = {tag: self._reshuffle(self.bags[inputs[0]], token) for tag in outputs}
        elif isinstance(transform, o._Flatten):
            parts = [self.bags[p] for p in inputs]
            merged = self.db.concat(parts) if parts else self._empty()
            if merged.npartitions > self.n:  # concat adds partitions up; every later step pays per task
                merged = merged.repartition(npartitions=self.n)
            bags = {tag: merged for tag in outputs}
        elif isinstance(transform, o._GroupByKeyOnly):
            grouped = self._group(self.bags[inputs[0]])
            bags = {tag: grouped for tag in outputs}
        elif isinstance(transform, o._GroupAlsoByWindow):
            # As in Beam's translation: the group step already yields (key, values) in the global window.
            bags = {tag: self.bags[inputs[0]] for tag in outputs}
        elif isinstance(transform, beam.ParDo):  # also WindowInto, Beam maps it to a no-op
            bags = self._pardo(node, transform, self.bags[inputs[0]], outputs, token)
        elif not outputs:
            bags = {}
        else:
            raise NotImplementedError(
                f"the Dask runner cannot run {type(transform).__name__} ({node.full_label})"
            )
        self.bags.update({outputs[tag]: bag for tag, bag in bags.items()})

    def _pardo(self, node, transform, bag, outputs: dict, token: str) -> dict:
        # The invoker hands main outputs to tag None, which is also the main output's key here.
        index = {tag: i for i, tag in enumerate(sorted(outputs, key=lambda tag: (tag is not None, str(tag))))}
        args, kwargs = transform.raw_side_inputs
        main_input = next(iter(node.main_inputs.values()))
        side = list(node.side_inputs)
        spec = _DoFnSpec(
            label=node.full_label,
            fn=transform.fn,
            args=list(args),
            kwargs=kwargs,
            window_fn=getattr(getattr(main_input, "windowing", None), "windowfn", None),
            side_views=[(type(si), si._view_options()) for si in side],
            tags=index,
        )
        side_items = [self._side_item(si.pvalue) for si in side]
        bundles = bag.map_partitions(_run_bundle, spec, *side_items, token=token)
        self.metric_bags.append(bundles.map_partitions(_bundle_metrics, token="metrics"))
        return {
            tag: bundles.map_partitions(_select, i, token=f"{token}-{_token(str(tag))}")
            for tag, i in index.items()
        }

    def _reshuffle(self, bag, token: str):
        # BEAM-DASK-6: deal the elements round-robin into n partitions. One task
        # holds them all for a moment; the elements are paths and segment plans.
        import dask
        from dask.base import tokenize
        from dask.highlevelgraph import HighLevelGraph

        everything = bag.reduction(list, _concat, split_every=64, name=f"gather-{bag.name}")
        name = f"{token}-{tokenize(bag.name, self.n)}"
        dsk = {(name, j): (_deal, everything.key, j, self.n) for j in range(self.n)}
        # Partition j goes to worker j mod W (a preference: another worker takes it if that
        # one is gone). Left to itself, dask runs every partition where the gathered list
        # lies, and the decode and CRNN steps after it follow their input there.
        workers = self.workers
        with dask.annotate(
            workers=(lambda key: [workers[key[1] % len(workers)]]) if workers else None,
            allow_other_workers=True,
        ):
            graph = HighLevelGraph.from_collections(name, dsk, dependencies=[everything])
        return self.db.Bag(graph, name, self.n)

    def _group(self, bag):
        # Beam's GroupByKey translation, with dask's task shuffle (the disk
        # shuffle would keep each worker's part on its own disk).
        from apache_beam.runners.dask.transform_evaluator import defenestrate

        def key(item):
            return item[0]

        def values(item):
            k, v = item
            return k, [defenestrate(e[1]) for e in v]

        return bag.groupby(key, shuffle="tasks", npartitions=max(1, min(bag.npartitions, self.n))).map(values)

    def _read(self, source, token: str):
        # BEAM-DASK-5: split on the launcher (as Beam's other runners do), read each split in a task.
        splits = list(source.split(desired_bundle_size=READ_BUNDLE_BYTES))
        if not splits:
            return self._empty()
        return self.db.from_sequence(splits, npartitions=min(len(splits), self.n)).map_partitions(
            _read_splits, token=token
        )

    def leaves(self) -> list:
        """Every PCollection nothing consumes (BEAM-DASK-1), counted rather than fetched."""
        return [
            bag.reduction(_count, sum, name=f"done-{bag.name}")
            for pcoll, bag in self.bags.items()
            if pcoll not in self.consumed
        ]


class DaskMetrics(beam.metrics.metric.MetricResults):
    """The sum of every bundle's Beam metrics (counters, distributions, gauges, string sets)."""

    def __init__(self, per_bundle: list):
        from apache_beam.runners.direct.direct_metrics import DirectMetrics

        self._metrics = DirectMetrics()
        for i, (_, updates) in enumerate(per_bundle):
            self._metrics.commit_physical(i, updates)
            self._metrics.commit_logical(i, updates)

    def query(self, filter=None):
        return self._metrics.query(filter)


@dataclasses.dataclass
class DaskResult(PipelineResult):
    client: t.Any
    futures: list
    cluster: t.Any = None  # a LocalCluster this runner started (closed at the end)
    _metrics: DaskMetrics | None = None

    def __post_init__(self):
        super().__init__(PipelineState.RUNNING)

    def wait_until_finish(self, duration=None) -> str:
        from dask.distributed import wait

        if self._state != PipelineState.RUNNING:
            return self._state
        try:
            wait(self.futures, timeout=None if duration is None else duration / 1000)
            *_, metrics = self.client.gather(self.futures)  # raises a worker's error here
            self._metrics = DaskMetrics(metrics)
            self._state = PipelineState.DONE
        except BaseException:
            self._state = PipelineState.FAILED
            raise
        finally:
            self.close()
        return self._state

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def cancel(self) -> str:
        self.client.cancel(self.futures)
        self.close()
        self._state = PipelineState.CANCELLED
        return self._state

    def metrics(self) -> DaskMetrics:
        if self._metrics is None:
            raise RuntimeError("metrics are known once the run has finished")
        return self._metrics


class FixedDaskRunner(DaskRunner):
    """Beam's DaskRunner with BEAM-DASK-1..6 fixed (see the module docstring)."""

    def run_pipeline(self, pipeline, options):
        import dask.bag as db
        from apache_beam.runners.dask.overrides import dask_overrides
        from dask.distributed import Client, LocalCluster

        check_beam_version()
        dask_options = options.view_as(DaskOptions).get_all_options(drop_default=True, current_only=True)
        bag_kwargs = DaskOptions._extract_bag_kwargs(dask_options)
        cluster = None
        if not dask_options.get("address") and not dask_options.get("scheduler_file"):
            # No cluster given: one worker process per core on this machine.
            cluster = LocalCluster(
                n_workers=os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            dask_options["address"] = cluster.scheduler_address
        client = Client(**dask_options)
        try:
            threads = sum(client.nthreads().values()) or 1
            n = bag_kwargs.get("npartitions") or PARTITIONS_PER_THREAD * threads
            if bag_kwargs.get("partition_size"):
                n = max(1, math.ceil(n / bag_kwargs["partition_size"]))
            pipeline.replace_all(dask_overrides())
            translator = _Translator(n, list(client.scheduler_info()["workers"]))
            pipeline.visit(translator)
            metrics = (
                db.concat(translator.metric_bags).reduction(list, _concat, split_every=64, name="metrics")
                if translator.metric_bags
                else None
            )
            graph = [*translator.leaves(), *([metrics] if metrics is not None else [])]
            futures = client.compute(graph, optimize_graph=False)
            if metrics is None:
                futures.append(client.submit(list))
        except BaseException:
            client.close()
            if cluster is not None:
                cluster.close()
            raise
        return DaskResult(client, futures, cluster)
