"""Each stage's code, computed from the imports: its entry script, its stage module and every augaudit
module that imports, directly or not (lazy imports included), and the templates (src/augaudit/templates/
*.j2) a module names, and the declarations of other stages it reads (`declarations`). Snakemake's rules
take their code inputs from here at parse time; dvc.yaml lists the same files, written by `make
dvc.yaml` (augaudit.dvcfile; tests/test_graph.py fails when it is out of date). Only the source's syntax
trees are read: nothing is imported, so planning stays fast.

The entry script's own imports (argument parsing, params validation) are not followed: they decide
whether a stage runs, not what it computes, so editing them re-runs nothing.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path


def _module_file(package: Path, name: str) -> Path | None:
    """The file of an augaudit module name (`augaudit.stages.score`), if it is one."""
    parts = name.split(".")
    if parts[0] != "augaudit":
        return None
    path = package.joinpath(*parts[1:])
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return path / "__init__.py" if (path / "__init__.py").is_file() else None


@cache
def _nodes(path: Path) -> tuple[ast.AST, ...]:
    """Every node of a source file's syntax tree, parsed once for `imports` and `declarations`."""
    return tuple(ast.walk(ast.parse(path.read_text(), str(path))))


@cache
def imports(package: Path, path: Path) -> frozenset[Path]:
    """The augaudit files one file imports, anywhere in it."""
    found = set()
    for node in _nodes(path):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.endswith(".j2"):
            if (template := package / "templates" / node.value).is_file():  # a template it renders by name
                found.add(template)
        for name in names:
            parts = name.split(".")
            found |= {f for i in range(1, len(parts) + 1) if (f := _module_file(package, ".".join(parts[:i])))}
    return frozenset(found)


@cache
def declarations(package: Path, path: Path) -> frozenset[Path]:
    """The other stage modules whose declared PARAMS one file reads (`stage_params(params, "train", ...)`:
    scope writes what train declares); their declarations, not their code, so their imports are not
    followed."""
    found = set()
    for node in _nodes(path):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == \
                "stage_params" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
            if (declared := package / "stages" / f"{node.args[1].value}.py").is_file():
                found.add(declared)
    return frozenset(found)


def code_files(stage: str, root: str | Path = ".") -> list[str]:
    """scripts/<stage>.py and every augaudit source file its stage module runs, relative to `root`
    (the project folder the engine runs in)."""
    root = Path(root).resolve()
    package = root / "src" / "augaudit"
    seen, todo = set(), [package / "stages" / f"{stage}.py"]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += imports(package, path) if path.suffix == ".py" else []
    seen |= {d for path in list(seen) if path.suffix == ".py" for d in declarations(package, path)}
    return [f"scripts/{stage}.py", *sorted(p.relative_to(root).as_posix() for p in seen)]
