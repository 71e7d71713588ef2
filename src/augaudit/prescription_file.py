"""The prescribed params file: the user's params.yaml, its text and comments kept, with the new recipes
and variants inserted at the end of their sections, each added transform and variant under a comment
saying why, and a note on top saying how to run it (augaudit.prescribe).

Inserted as text, not through ruamel.yaml's round trip: ruamel keeps the blank lines and comments that
lead into the next section on the previous section's last entry (a comment about `variants:` would end
up above a prescribed recipe) and re-flows a flow mapping written over several lines, so the diff a user
reviews (params.diff) would show lines they did not change. A file that writes recipes or variants in
flow style is written out whole instead (its comments are lost).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from augaudit import yamlfile
from augaudit.numbers import significant

HEADER_START = "# --- augaudit prescribe"
HEADER_END = "# --- end of augaudit prescribe's note ---"


def _flow(value: object) -> str:
    """One value as one line of flow-style YAML."""
    return yaml.safe_dump([value], default_flow_style=True, sort_keys=False, width=1 << 20).strip()[1:-1]


def _comment(text: str, indent: str, width: int = 110) -> list[str]:
    return [f"{indent}# {line}\n" for line in textwrap.wrap(text, width - len(indent) - 2, break_on_hyphens=False)]


def _recipe_lines(name: str, recipe: dict, items: list[dict], ind: str) -> list[str]:
    """A recipe in block style, the added transforms (the last len(items)) each under its rationale."""
    lines = [f"{ind}{name}:\n", f"{ind}  targets: {_flow(recipe['targets'])}\n", f"{ind}  albumentations:\n"]
    n_old = len(recipe["albumentations"]) - len(items)
    for k, spec in enumerate(recipe["albumentations"]):
        if k >= n_old:
            item = items[k - n_old]
            if k == n_old or items[k - n_old - 1]["factor"] != item["factor"]:
                lines += _comment(item["factor_why"], ind + "    ")
            note = f" Note: {item['note']}" if "note" in item else ""
            lines += _comment(f"{item['why']} {item['rationale']}{note}", ind + "    ")
        lines.append(f"{ind}    - {_flow(spec)}\n")
    if "ultralytics" in recipe:
        lines.append(f"{ind}  ultralytics: {_flow(recipe['ultralytics'])}\n")
    return lines


def _variant_lines(name: str, spec: dict, why: str, ind: str) -> list[str]:
    lines = _comment(why, ind)
    lines.append(f"{ind}{name}:\n")
    for key, value in spec.items():
        lines.append(f"{ind}  {key}: {_flow(value)}\n")
    return lines


def _block_end(lines: list[str], node: yaml.Node, indent: int) -> int:
    """Index of the line after a block mapping's last entry (trailing comments at lower indent excluded)."""
    end = node.end_mark.line + (1 if node.end_mark.column > 0 else 0)
    start = node.start_mark.line
    while end > start + 1:
        line = lines[end - 1]
        stripped = line.strip()
        if stripped and not (stripped.startswith("#") and len(line) - len(line.lstrip()) < indent):
            break
        end -= 1
    return end


def _strip_header(text: str) -> str:
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith(HEADER_START):
        for i, line in enumerate(lines):
            if line.startswith(HEADER_END):
                return "".join(lines[i + 1:])
    return text


def _control_why(name: str, v: dict) -> str:
    return (f"the control of {name} (augaudit prescribe): {v['prescribed_for']}'s models fine-tuned as {name} "
            f"is, with {v['prescribed_for']}'s own recipe, so that the audit of {name} against it measures the "
            "new augmentations, not the extra training")


def header(record: dict, out: Path) -> str:
    """The note on top of the prescribed params file: what is new and how to run it."""
    rows = [f"{HEADER_START}: params.yaml plus the variants it prescribes ---\n"]
    for name, v in record["variants"].items():
        rows += _comment(f"{name}: {v['prescribed_for']} + training augmentations for "
                         f"{', '.join(f['factor'] for f in v['factors'])}; {v['start']}"
                         + (f"; audited against its control {v['control']} (the same fine-tuning, "
                            f"{v['prescribed_for']}'s recipe)." if v["control"] else "."), "")
    rows += _comment(f"Why: {out.as_posix()}/prescription.json; what changed: {out.as_posix()}/params.diff.", "")
    rows += [f"# Run: cp {out.as_posix()}/params.yaml params.yaml && snakemake --cores all\n",
             f"#  or: cp {out.as_posix()}/params.yaml params.yaml && dvc repro\n"]
    rows += _comment("Only the new variants' train, predict and score jobs run, then compare and report; the "
                     "rest of the finished run is reused. Edit anything below first: magnitudes, probabilities, "
                     "the start (--from-scratch starts each new variant where its variant started, and needs no "
                     "control).", "")
    return "".join(rows) + f"{HEADER_END}\n"


def render(text: str, new_params: dict, record: dict, out: Path) -> str:
    """The original params text with the new recipes and variants inserted at the end of their blocks
    (its comments kept), under a header saying how to run it. A file that writes recipes or variants in
    flow style is written out whole instead (its comments are lost)."""
    body = _strip_header(text)
    body = body if body.endswith("\n") else body + "\n"
    lines = body.splitlines(keepends=True)
    root = yaml.compose(body)
    blocks = {k.value: val for k, val in root.value} if isinstance(root, yaml.MappingNode) else {}
    sections = ("recipes", "variants")
    if all(isinstance(blocks.get(s), yaml.MappingNode) and not blocks[s].flow_style and blocks[s].value
           for s in sections):
        inserts = []
        for section in sections:
            node = blocks[section]
            indent = node.value[0][0].start_mark.column
            new = []
            for name, v in record["variants"].items():
                if section == "recipes":
                    new += _recipe_lines(name, new_params["recipes"][name], v["transforms"], " " * indent)
                    continue
                if v["control"]:
                    new += _variant_lines(v["control"], new_params["variants"][v["control"]], _control_why(name, v),
                                          " " * indent)
                new += _variant_lines(name, new_params["variants"][name],
                                      f"prescribed for {v['prescribed_for']} (augaudit prescribe): {v['start']}; "
                                      f"audited against {v['baseline']}", " " * indent)
            inserts.append((_block_end(lines, node, indent), new))
        for at, new in sorted(inserts, key=lambda a: -a[0]):
            lines[at:at] = new
        result = header(record, out) + "".join(lines)
        if yamlfile.load(result, str(out / "params.yaml")) == new_params:
            return result
    return header(record, out) + yaml.safe_dump(new_params, sort_keys=False, width=120)


def summary_lines(record: dict) -> list[str]:
    """What the command prints: one line per prescribed transform, one per variant left out."""
    lines = []
    for name, v in record["variants"].items():
        against = f"; against its control {v['control']}" if v["control"] else ""
        lines.append(f"{name} (for {v['prescribed_for']}; {v['start']}{against}):")
        for t in v["transforms"]:
            bp = t["breaking_point"]
            where = ("single-level" if bp is None else
                     f"{bp['zone']} at {bp['unit']} {significant(bp['used'])}" if bp["reached"] else
                     f"never {bp['zone']}, ladder top {bp['unit']} {significant(bp['used'])}")
            mags = ", ".join(f"{k} {significant(x)}" for k, x in t["magnitude"].items())
            lines.append(f"  {t['factor']:<9} {t['source']:<17} ({where}) -> {t['transform']}"
                         f"{' ' + mags if mags else ''}, p {t['p']:g}")
    for name, why in record["not_prescribed"].items():
        lines.append(f"{name}: nothing prescribed: {why}")
    return lines
