"""The session's catalog writer (ordered worker, event pages kept as pages) stores what the
plain ``TiledWriter(catalog)`` stores: every node's metadata, every stream column, every file
record, for a fly scan, a step scan, a SAXS and a WAXS exposure on the sim."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from bluesky_tiled_plugins import TiledWriter
from event_model import compose_run

from usaxs_bluesky.catalog.files import FILES_KEY, describe_file, run_files
from usaxs_bluesky.catalog.journal import JournaledCatalogWriter, JournaledFileRecorder
from usaxs_bluesky.catalog.normalizer import PageNormalizer
from usaxs_bluesky.plan_stubs.modes import USAXS, set_mode
from usaxs_bluesky.plans.area_detector import saxsExp, waxsExp
from usaxs_bluesky.plans.usaxs import USAXSscan, uascan

from .conftest import copy_empty_catalog


def content(node: Any, path: str = "") -> dict[str, Any]:
    """Every metadata dict and every stored column or array under ``node``, by node path."""
    out: dict[str, Any] = {f"{path}@": dict(node.metadata)}
    family = node.structure_family
    if family == "container":
        for key in node:
            out.update(content(node[key], f"{path}/{key}"))
    elif family == "table":
        frame = node.read()
        for column in frame.columns:
            out[f"{path}:{column}"] = frame[column].to_numpy()
    else:
        out[path] = np.asarray(node.read())
    return out


def assert_same_content(new: dict[str, Any], old: dict[str, Any]) -> None:
    """Same node paths, equal metadata, columns of the same dtype, shape and values."""
    assert sorted(new) == sorted(old)
    for key, value in old.items():
        if isinstance(value, dict):
            assert new[key] == value, key
            continue
        got = new[key]
        assert (got.dtype, got.shape) == (value.dtype, value.shape), key
        if value.dtype.kind == "O":
            assert [repr(v) for v in got.ravel()] == [repr(v) for v in value.ravel()], key
        else:
            assert np.array_equal(got, value, equal_nan=value.dtype.kind in "fc"), key


@pytest.fixture
def inst(usaxs_session):
    inst = usaxs_session.instrument
    x, y = inst.s_stage.x.position, inst.s_stage.y.position
    yield inst
    usaxs_session.RE(set_mode(inst, USAXS))
    inst.s_stage.x.move(x, wait=True, timeout=60)
    inst.s_stage.y.move(y, wait=True, timeout=60)


def _fly(inst):
    inst.terms.use_flyscan.put(1, wait=True)
    return USAXSscan(inst, 20.0, 0.0, 1.0, "content fly")


def _step(inst):
    return uascan(inst, title="content step", thickness_mm=1.0, intervals=8, count_time=0.05)


def _saxs(inst):
    return saxsExp(inst, 20.0, 0.0, 1.0, "content saxs", acquire_time=0.2)


def _waxs(inst):
    return waxsExp(inst, 20.0, 0.0, 1.0, "content waxs", acquire_time=0.2)


@pytest.mark.parametrize(
    "make_plan", [_fly, _step, _saxs, _waxs], ids=["fly", "step", "saxs", "waxs"]
)
def test_session_catalog_equals_plain_tiledwriter(
    usaxs_session, inst, make_plan, tmp_path, empty_catalog
):
    docs: list[tuple[str, dict]] = []
    token = usaxs_session.RE.subscribe(lambda name, doc: docs.append((name, doc)))
    try:
        usaxs_session.RE(make_plan(inst))
    finally:
        usaxs_session.RE.unsubscribe(token)
    start = docs[0][1]
    assert docs[-1][1]["exit_status"] == "success"
    if usaxs_session.reducer is not None:
        assert usaxs_session.reducer.join(timeout=120)
    assert usaxs_session.wait_for_catalog(timeout=120)
    new_node = usaxs_session.catalog[start["uid"]]
    # the old path: every document through the plain TiledWriter, files recorded synchronously
    old_catalog = copy_empty_catalog(tmp_path / "old", empty_catalog)
    writer = TiledWriter(old_catalog)
    for name, doc in docs:
        writer(name, doc)
    records = run_files(new_node)
    assert [r.kind for r in records][:1] == ["raw"]
    assert records[0].path.endswith(start["hdf5_file"])
    old_recorder = JournaledFileRecorder(old_catalog, tmp_path / "old_journal")
    for record in records:
        assert record == describe_file(record.path, record.kind), "checksum of the file on disk"
        old_recorder(start["uid"], record.path, record.kind)
    old_node = old_catalog[start["uid"]]
    assert run_files(old_node) == records
    new, old = content(new_node), content(old_node)
    new["@"].pop(FILES_KEY)
    old["@"].pop(FILES_KEY)
    assert any(":" in key or "/" in key for key in old), "the run has stored data"
    assert_same_content(new, old)
    if make_plan is _fly:
        assert any(name == "event_page" for name, _ in docs), "the fly scan emits pages"


def test_page_normalizer_unpacks_what_it_must_rename(tmp_path, empty_catalog):
    """A page with a reserved key name ('time') is renamed as RunNormalizer does ('time_')."""
    bundle = compose_run()
    desc = bundle.compose_descriptor(
        name="primary",
        data_keys={
            "time": {"source": "x", "dtype": "number", "shape": []},
            "I0": {"source": "y", "dtype": "integer", "shape": []},
        },
    )
    page = desc.compose_event_page(
        data={"time": [1.5, 2.5, np.nan], "I0": [3, -4, 2**40]},
        timestamps={"time": [1.0, 2.0, 3.0], "I0": [1.0, 2.0, 3.0]},
        seq_num=[1, 2, 3],
        time=[1.0, 2.0, 3.0],
    )
    docs = [
        ("start", bundle.start_doc),
        ("descriptor", desc.descriptor_doc),
        ("event_page", page),
        ("stop", bundle.compose_stop()),
    ]
    nodes = {}
    for label, normalizer in (("old", None), ("new", PageNormalizer)):
        catalog = copy_empty_catalog(tmp_path / label, empty_catalog)
        writer = (
            TiledWriter(catalog)
            if normalizer is None
            else TiledWriter(catalog, normalizer=normalizer)
        )
        for name, doc in docs:
            writer(name, doc)
        nodes[label] = catalog[bundle.start_doc["uid"]]
    new, old = content(nodes["new"]), content(nodes["old"])
    assert "/primary/time_" in old, sorted(old)
    assert_same_content(new, old)


def test_journaled_writer_with_page_normalizer_stores_pages(tmp_path, empty_catalog):
    """A 5000-row page through the journaled writer (no worker): all rows, journal removed."""
    catalog = copy_empty_catalog(tmp_path / "data", empty_catalog)
    bundle = compose_run()
    desc = bundle.compose_descriptor(
        name="primary", data_keys={"ar": {"source": "x", "dtype": "number", "shape": []}}
    )
    n = 5000
    values = np.linspace(-1e300, 1e300, n)
    page = desc.compose_event_page(
        data={"ar": values.tolist()},
        timestamps={"ar": [0.0] * n},
        seq_num=list(range(1, n + 1)),
        time=[0.0] * n,
    )
    writer = JournaledCatalogWriter(catalog, tmp_path / "journal")
    for name, doc in [
        ("start", bundle.start_doc),
        ("descriptor", desc.descriptor_doc),
        ("event_page", page),
        ("stop", bundle.compose_stop()),
    ]:
        writer(name, doc)
    stream = catalog[bundle.start_doc["uid"]]["primary"]
    assert np.array_equal(np.asarray(stream["ar"].read()), values)
    assert np.asarray(stream["seq_num"].read()).tolist() == list(range(1, n + 1))
    assert not list((tmp_path / "journal").glob("*.jsonl"))
