"""Property-based bad input (hypothesis): whatever a params file or a label file holds, the answer is
either a one-line error naming the file and the key or line, or a valid result — never a traceback,
never a value that passes and breaks something later."""

from __future__ import annotations

import copy
import math

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augaudit import datasets, paramsfile

from conftest import default_params

# values a hand-edited YAML file can hold where a number, a name or a list belongs
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["evil\n", "auto", "", "-1", "1e309", "results/models/ghost"]),
    st.lists(st.integers(-3, 9), max_size=4), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(node, prefix=()):
    """Every key path in the params tree (mapping keys and list indices)."""
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield from _paths(child, (*prefix, key))


PATHS = [p for p in _paths(default_params()) if p]


def _set(tree, path, value):
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _get(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def _confusions(value) -> list:
    """Values a hand edit puts where `value` was: the same thing in another type or shape."""
    if isinstance(value, bool):
        return [int(value), str(value).lower(), None]
    if isinstance(value, int):
        return [float(value), value + 0.5, -value - 1, str(value), [value], True, 10**18]
    if isinstance(value, float):
        return [math.nan, math.inf, -math.inf, str(value), int(value), -value, 0.0]
    if isinstance(value, str):
        return [value + "\n", "", value.upper(), 3, [value]]
    if isinstance(value, list):
        return [[], [*value, *value], [1.5], value[:1] if value else [None], {}]
    return [{}, None, [], "x"]


EDITS = st.sampled_from(PATHS).flatmap(
    lambda p: st.tuples(st.just(p), st.one_of(st.sampled_from(_confusions(_get(default_params(), p))), VALUES)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit=EDITS, rename=st.sampled_from([None, "variants", "recipes", "perturbations"]))
def test_any_value_anywhere_in_params_is_valid_or_one_line_naming_the_key(tmp_path_factory, edit, rename):
    params = copy.deepcopy(default_params())
    path, value = edit
    _set(params, path, value)
    if rename and isinstance(params.get(rename), dict) and params[rename]:  # a name with a trailing newline
        first = next(iter(params[rename]))
        params[rename][first + "\n"] = params[rename].pop(first)
    file = tmp_path_factory.mktemp("p") / "params.yaml"
    file.write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    try:
        loaded = paramsfile.load(file)
    except paramsfile.ParamsError as e:
        message = str(e)
        assert "\n" not in message and message.startswith(str(file)), message
        return
    # accepted: then every number in it is finite and every integer field an integer
    for p in _paths(loaded):
        leaf = loaded
        for key in p:
            leaf = leaf[key]
        if isinstance(leaf, float):
            assert math.isfinite(leaf), (p, leaf)
    assert isinstance(loaded["train"]["epochs"], int) and isinstance(loaded["predict"]["batch"], int)
    assert all(isinstance(s, int) for p in loaded["perturbations"].values() for s in p["severities"])


TOKENS = st.one_of(st.integers(-5, 12).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                   st.sampled_from(["nan", "inf", "-inf", "1e400", "0.5", "cat", "", "0x1"]))


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.lists(TOKENS, min_size=0, max_size=7).map(" ".join), max_size=5))
def test_any_label_file_reads_as_finite_boxes_or_fails_naming_file_and_line(tmp_path_factory, lines):
    label = tmp_path_factory.mktemp("l") / "x.txt"
    label.write_text("\n".join(lines) + "\n")
    try:
        boxes = datasets.read_labels(label)
    except datasets.DatasetError as e:
        message = str(e)
        assert "\n" not in message and message.startswith(f"{label}:"), message
        return
    assert boxes.shape[1] == 5 and np.isfinite(boxes).all()
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 0] == np.round(boxes[:, 0])).all()
    assert len(boxes) == sum(bool(line.strip()) for line in lines)


# ---------------------------------------------------------------- the gate's inputs

NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6), st.none(),
                    st.booleans(), st.text(max_size=4))
RISK = st.fixed_dictionaries({}, optional={"risk": NUMBERS, "se": NUMBERS, "df": NUMBERS})
METRICS = st.dictionaries(st.text(min_size=1, max_size=6), st.fixed_dictionaries(
    {}, optional={"risk": st.one_of(RISK, NUMBERS), "risk_by_factor": st.dictionaries(
        st.sampled_from(["blur", "noise", "colour"]), st.one_of(RISK, NUMBERS), max_size=2),
        "tests": st.one_of(st.lists(st.text(max_size=3), max_size=2), NUMBERS)}), max_size=2)


@settings(max_examples=300, deadline=None)
@given(metrics=METRICS)
def test_any_metrics_file_is_a_finished_runs_or_one_line_naming_file_and_key(metrics):
    """Whatever a metrics file holds (NaN, strings, missing keys, empty sections): the gate reads a
    finished run's risks, every one finite within 0..100 with its standard error, or refuses naming the
    file — never a number that would read as "ok"."""
    import json

    from augaudit import gate

    text = json.dumps(metrics)  # NaN and Infinity as Python writes them
    try:
        read = gate.read_metrics(text, "m.json")
    except ValueError as e:
        assert "\n" not in str(e) and str(e).startswith("m.json: "), str(e)
        return
    assert read
    for m in read.values():
        for r in [m["risk"], *m["risk_by_factor"].values()]:
            assert 0 <= r["risk"] <= 100 and 0 <= r["se"] <= 100 and math.isfinite(r["risk"] + r["se"])


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=6),
                      st.sampled_from(["nan", "inf", "-0", "1", "0", "0.05", "1e-400"])))
def test_any_gate_option_is_in_its_domain_or_refused(text):
    import argparse

    from augaudit import gate

    for parse, ok in ((gate._tolerance, lambda v: math.isfinite(v) and v >= 0), (gate._alpha, lambda v: 0 < v < 1)):
        try:
            value = parse(text)
        except (argparse.ArgumentTypeError, ValueError):  # argparse turns both into one usage line
            continue
        assert ok(value), (text, value)


# ---------------------------------------------------------------- ladder levels

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(__import__("augaudit.perturbations").perturbations.CATALOGUE)),
       level=st.one_of(VALUES, st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                                  st.integers(-10**4, 10**4)), min_size=1, max_size=4)))
def test_any_ladder_level_is_in_its_domain_or_refused_naming_the_key(tmp_path_factory, name, level):
    """A user ladder of any perturbation: either a level the catalogue's domain admits (finite, within
    bounds, whole where it counts), which then perturbs an image, or a one-line error naming the key."""
    from augaudit import perturbations
    from augaudit.perturbations import pipeline

    params = copy.deepcopy(default_params())
    params["perturbations"] = {name: {"severities": [1], "ladder": [level]}}
    try:
        paramsfile.validate(params)
    except paramsfile.ParamsError as e:
        assert "\n" not in str(e) and f"perturbations.{name}.ladder" in str(e), str(e)
        return
    spec = perturbations.CATALOGUE[name]
    assert spec.ladder_problem(level) is None
    rgb = np.full((32, 32, 3), 128, np.uint8)
    out, boxes = pipeline.apply(name, rgb, np.zeros((0, 5)), 1, 0, [level])
    assert out.dtype == np.uint8 and out.ndim == 3 and len(boxes) == 0


# ---------------------------------------------------------------- prescribe's options

@settings(max_examples=300, deadline=None)
@given(factors=st.one_of(st.none(), st.integers(-10, 10**12)),
       zone=st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["red", "yellow"])),
       min_risk=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
                          st.sampled_from(["red", "yellow"])),
       keep_clean=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
def test_any_prescribe_option_is_in_its_domain_or_one_line_naming_it(factors, zone, min_risk, keep_clean):
    from augaudit import prescribe

    options = prescribe.Options(factors=factors, zone=zone, min_risk=min_risk, keep_clean=keep_clean)
    try:
        policy = prescribe._policy(default_params(), options)
    except prescribe.PrescriptionError as e:
        assert "\n" not in str(e) and str(e).split()[0] in ("zone", "min_risk", "factors", "keep_clean"), str(e)
        return
    assert policy["zone"] in default_params()["compare"]["zones"]
    assert 0 <= policy["min_risk"] <= 100 and isinstance(policy["factors"], int) and policy["factors"] >= 1
    assert 0 < policy["keep_clean"] < 1


# ---------------------------------------------------------------- a user's dataset, edited

EDITS = st.lists(st.tuples(st.sampled_from(["label", "image", "add", "remove", "touch", "path"]),
                           st.integers(0, 3)), min_size=1, max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_the_dataset_fingerprint_changes_exactly_when_what_prepare_reads_does(tmp_path_factory, edits):
    """Edits, additions and removals of a user's files (images and labels, reached through `path:`) and
    a `path:` pointing elsewhere change the fingerprint that re-runs prepare under Snakemake; touching a
    file (mtime only) does not; the stat cache never hides a change. The same edits change what
    dvc.yaml's prepare depends on (its folders' content) or the folders themselves."""
    import os
    import shutil

    from augaudit import dvcfile, synthetic

    top = tmp_path_factory.mktemp("ds")
    for seed, name in enumerate("ab"):  # two datasets: `path:` may be pointed at the other one
        synthetic.generate(top / name, seed, 32, {"train": 2, "val": 2}, 1, 0)
    (top / "yamls").mkdir()
    data_yaml = top / "yamls" / "data.yaml"
    data_yaml.write_text("path: ../a\ntrain: images/train\nval: images/val\nnames: [circle, square, triangle]\n")
    cache = top / "cache.json"
    before = datasets.fingerprint(data_yaml, cache)

    def contents():  # what prepare reads: the yaml and what it reaches
        root = datasets.read_data_yaml(data_yaml)["root"]
        return data_yaml.read_bytes(), {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*"))
                                        if p.is_file() and p.name != "data.yaml"}

    start = contents()
    for kind, i in edits:
        root = datasets.read_data_yaml(data_yaml)["root"]
        images = sorted((root / "images/val").glob("*.png"))
        labels = sorted((root / "labels/val").glob("*.txt"))
        if kind == "label" and labels:
            f = labels[i % len(labels)]
            f.write_text(f.read_text() + "0 0.5 0.5 0.1 0.1\n")
        elif kind == "image" and images:
            f = images[i % len(images)]
            data = bytearray(f.read_bytes())
            data[-20] = (data[-20] + 1) % 256  # the same size, in place (same inode), moments after hashing
            f.write_bytes(bytes(data))
        elif kind == "add":
            shutil.copy(root / "images/train/train_00000.png", root / f"images/val/new_{i}_{len(images)}.png")
        elif kind == "remove" and images:
            images[i % len(images)].unlink()
        elif kind == "touch" and images:
            os.utime(images[i % len(images)])
        elif kind == "path":
            text = data_yaml.read_text()
            data_yaml.write_text(text.replace("../a", "../b") if "../a" in text else text.replace("../b", "../a"))
    after = datasets.fingerprint(data_yaml, cache)
    assert (after != before) == (contents() != start), edits
    assert datasets.fingerprint(data_yaml) == after  # the cache gives what a cold hash gives
    deps = dvcfile.source_deps({"dataset": {"source": "yamls/data.yaml"}}, top)
    root = datasets.read_data_yaml(data_yaml)["root"].name
    assert deps == ["yamls/data.yaml", f"{root}/images/train", f"{root}/labels/train", f"{root}/images/val",
                    f"{root}/labels/val"]
