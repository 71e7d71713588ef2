"""dvc.yaml's code dependencies and params, written from the computed imports and the stages' declared
params, and prepare's dependencies on a user's dataset: `augaudit dvc-yaml` (`make dvc.yaml`).

Snakemake's rules take each stage's code files from augaudit.codedeps and its params from
stageparams.stage_params at parse time; DVC cannot compute them, so dvc.yaml lists them. This rewrites
every stage's `scripts/` and `src/` deps and its `params:`, and prepare's dataset deps
(`source_deps`: a `dvc repro` with other ones is refused, `check_source`), and leaves the rest of the
file as it is, comments included (ruamel.yaml's round trip): stages, commands, foreach/matrix, other
data deps and outs are written by hand. `--check` only compares: tests/test_graph.py fails with "run
make dvc.yaml" when they differ.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

import yaml

from augaudit import codedeps, paramsfile, stageparams, stages
from augaudit.files import write_text

DVC_YAML = Path("dvc.yaml")
STAGE_OF = {"predict_clean": "predict"}  # dvc.yaml runs predict as predict_clean (foreach) and predict (matrix)
# the item a foreach/matrix stage's params name, as dvc.yaml interpolates it
ITEM = {"perturb": "${key}", "predict": "${item.perturbation}", "predict_clean": "clean"}
# train reads its params through its scope file (results/scope/train/<variant>.json, a dep): DVC lists
# none, so that editing one variant retrains only that variant (augaudit.stages.scope)
THROUGH_SCOPE = {"train"}
SENTINEL = "dvc_item"  # a perturbation name no catalogue holds: stands for the item while params are listed


def _yaml():
    from ruamel.yaml import YAML  # installed with DVC

    y = YAML()
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    y.preserve_quotes = True
    return y


def _declared(params: dict, name: str) -> list[str]:
    """The params a dvc.yaml stage lists: its stage's declared keys, the item written as dvc.yaml's."""
    stage = STAGE_OF.get(name, name)
    if stage in THROUGH_SCOPE:
        return []
    item = ITEM.get(name)  # a perturbation stands in as SENTINEL, then is written as dvc.yaml names it
    job = {} if item is None else {"perturbation": item if item == "clean" else SENTINEL}
    return [k.replace(SENTINEL, item or SENTINEL) for k in stageparams.stage_params(params, stage, **job)]


def source_deps(params: dict, root: str | Path = ".") -> list[str]:
    """What prepare reads of a user's dataset, as dvc.yaml lists it: the data yaml and each split's images
    and labels folders (wherever `path:` leads; outside the project too), relative to `root`. DVC hashes
    them by content, so an edited label or an added image re-runs prepare."""
    from augaudit import datasets

    source = params["dataset"]["source"]
    if source == "synthetic":
        return []
    folders = datasets.source_folders(Path(root) / source)
    return [Path(os.path.relpath(f, root)).as_posix() for f in folders]


def check_source(params: dict, root: str | Path = ".") -> None:
    """Refuse a `dvc repro` whose dvc.yaml does not depend on the dataset params.yaml names now."""
    deps = yaml.safe_load((Path(root) / DVC_YAML).read_text())["stages"]["prepare"]["deps"]
    listed = [d for d in deps if not d.startswith(("scripts/", "src/"))]
    if listed != (want := source_deps(params, root)):
        raise paramsfile.ParamsError(
            f"{DVC_YAML}: stage prepare depends on {', '.join(listed) or 'no dataset files'}, but dataset.source "
            f"reads {', '.join(want) or 'none (synthetic)'}: run make dvc.yaml, then dvc repro")


def render(root: str | Path = ".") -> str:
    """dvc.yaml as it should read: each stage's code deps first, computed, then its other deps as listed;
    its params as its stage declares them (none: no `params:` key)."""
    y = _yaml()
    path = Path(root) / DVC_YAML
    params = yaml.safe_load((Path(root) / "params.yaml").read_text())
    params["perturbations"][SENTINEL] = {"severities": [1]}
    doc = y.load(path.read_text())
    known = stages.names(Path(root) / "src" / "augaudit" / "stages")
    for name, stage in doc["stages"].items():
        body = stage.get("do", stage)
        stage_name = STAGE_OF.get(name, name)
        if stage_name not in known:
            raise ValueError(f"{path}: stage {name!r} is none of the pipeline's stages ({', '.join(known)})")
        deps = body["deps"]
        code = codedeps.code_files(stage_name, root)
        rest = [(d, deps.ca.items.get(i)) for i, d in enumerate(deps) if not str(d).startswith(("scripts/", "src/"))]
        if stage_name == "prepare":  # its data deps are the user's dataset, written from params
            rest = [(d, None) for d in source_deps(params, root)]
        deps.ca.items.clear()
        deps[:] = code + [d for d, _ in rest]
        for i, (_, comment) in enumerate(rest, start=len(code)):  # a dep's own comment stays beside it
            if comment:
                deps.ca.items[i] = comment
        want = _declared(params, name)
        if want and "params" in body:
            body["params"][:] = want
        elif want:
            body.insert(list(body).index("deps") + 1, "params", want)
        elif "params" in body:
            del body["params"]
    if missing := set(known) - {STAGE_OF.get(name, name) for name in doc["stages"]}:
        raise ValueError(f"{path}: no stage runs {', '.join(sorted(missing))}: add one (cmd, deps, outs, as the "
                         "others), then run make dvc.yaml")
    out = io.StringIO()
    y.dump(doc, out)
    return out.getvalue()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--check", action="store_true", help="only compare: exit 1 when dvc.yaml is out of date")


def command(args: argparse.Namespace) -> int:
    try:
        want = render()
    except ValueError as e:  # a dataset that cannot be read, a stage dvc.yaml lacks
        from augaudit.cli import error_line

        print(f"error: {error_line(e)}", file=sys.stderr)
        return 1
    if DVC_YAML.read_text() == want:
        print(f"{DVC_YAML} is up to date")
        return 0
    if args.check:
        print(f"error: {DVC_YAML}'s code dependencies or params differ from the computed ones: run make dvc.yaml",
              file=sys.stderr)
        return 1
    write_text(DVC_YAML, want)  # atomically
    print(f"wrote {DVC_YAML}")
    return 0
