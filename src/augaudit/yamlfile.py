"""One strict YAML reader for params files and data yamls: what YAML allows but a config must not.

`yaml.safe_load` quietly keeps the last of two equal keys, expands anchors and aliases (a few
nested aliases make a small file huge), and reads `.nan` / `.inf` as numbers that pass every range
check. Here each of those is an error naming the file and line.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml


class YamlError(ValueError):
    """The message is one line: file:line: problem."""


class _StrictLoader(yaml.SafeLoader):
    source = "<yaml>"

    def _fail(self, mark, problem: str) -> YamlError:
        return YamlError(f"{self.source}:{mark.line + 1}: {problem}")

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise self._fail(event.start_mark, "anchors and aliases (&name, *name) are not allowed; write the "
                                               "value out")
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise self._fail(key_node.start_mark, f"key {key!r} appears twice (first on line {seen[key]}); "
                                                      "YAML would silently keep the last one")
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_float(self, node):
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise self._fail(node.start_mark, f"{node.value!r} is not a finite number")
        return value


_StrictLoader.add_constructor("tag:yaml.org,2002:float", _StrictLoader.construct_yaml_float)


def load(text: str, source: str) -> object:
    """Parse YAML text strictly; errors name `source` and the line."""
    loader = _StrictLoader(text)
    loader.source = source
    try:
        return loader.get_single_data()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise YamlError(f"{where}: not valid YAML: {' '.join(str(getattr(e, 'problem', e)).split())}") from None
    finally:
        loader.dispose()


def load_file(path: str | Path) -> object:
    path = Path(path)
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise YamlError(f"{path}: not a text file") from None
    return load(text, str(path))
