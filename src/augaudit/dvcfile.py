"""dvc.yaml's code dependencies, written from the computed import graph: `augaudit dvc-yaml` (`make dvc.yaml`).

Snakemake's rules take each stage's code files from augaudit.graph at parse time; DVC cannot compute
them, so dvc.yaml lists them. This rewrites every stage's `scripts/` and `src/` deps from
`graph.code_files` and leaves the rest of the file as it is, comments included (ruamel.yaml's round
trip). `--check` only compares: tests/test_graph.py fails with "run make dvc.yaml" when they differ.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from augaudit import graph
from augaudit.files import write_text

DVC_YAML = Path("dvc.yaml")
STAGE_OF = {"predict_clean": "predict"}  # dvc.yaml runs predict as predict_clean (foreach) and predict (matrix)


def _yaml():
    from ruamel.yaml import YAML  # installed with DVC

    y = YAML()
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    y.preserve_quotes = True
    return y


def render(root: str | Path = ".") -> str:
    """dvc.yaml as it should read: each stage's code deps first, computed, then its other deps as listed."""
    y = _yaml()
    path = Path(root) / DVC_YAML
    doc = y.load(path.read_text())
    for name, stage in doc["stages"].items():
        body = stage.get("do", stage)
        stage_name = STAGE_OF.get(name, name)
        if stage_name not in graph.STAGES:
            raise ValueError(f"{path}: stage {name!r} is none of the pipeline's stages ({', '.join(graph.STAGES)})")
        deps = body["deps"]
        code = graph.code_files(stage_name, root)
        rest = [(d, deps.ca.items.get(i)) for i, d in enumerate(deps) if not str(d).startswith(("scripts/", "src/"))]
        deps.ca.items.clear()
        deps[:] = code + [d for d, _ in rest]
        for i, (_, comment) in enumerate(rest, start=len(code)):  # a dep's own comment stays beside it
            if comment:
                deps.ca.items[i] = comment
    out = io.StringIO()
    y.dump(doc, out)
    return out.getvalue()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--check", action="store_true", help="only compare: exit 1 when dvc.yaml is out of date")


def command(args: argparse.Namespace) -> int:
    want = render()
    if DVC_YAML.read_text() == want:
        print(f"{DVC_YAML} is up to date")
        return 0
    if args.check:
        print(f"error: {DVC_YAML}'s code dependencies differ from the computed ones: run make dvc.yaml",
              file=sys.stderr)
        return 1
    write_text(DVC_YAML, want)  # atomically
    print(f"wrote {DVC_YAML}")
    return 0
