"""The prescription table (`prescriptions.yaml`, beside this module; docs/prescribe.md): which training
transform answers each tested perturbation, and how a breaking point maps to its magnitude and
probability. Checked on every read; a malformed entry is one line naming it."""

from __future__ import annotations

import copy
import functools
import math
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import numpy as np

from augaudit import perturbations, yamlfile

TABLE_PATH = Path(__file__).parent / "prescriptions.yaml"
MAP_KINDS = ("linear", "points", "ladder")
SHAPES = ("from", "to", "around")
_ENTRY_KEYS = {"source", "unit", "transform", "args", "magnitude", "p", "rationale", "note"}
_MAGNITUDE_KEYS = {"arg", *MAP_KINDS, "clean", "times_imgsz", "clamp", "round", *SHAPES}
RULES = {  # how a prescription was made, recorded in each prescription.json
    "factors": "per variant, the highest-risk factors its recipe does not target whose risk reaches min_risk "
               "(policy.factors of them); within each, one transform per tested perturbation that reaches "
               "min_risk itself",
    "magnitude": "from the perturbation's breaking point for policy.zone, in its ladder's unit, through the "
                 "table's map (src/augaudit/prescriptions.yaml); usually a range from about unperturbed up to "
                 "it. Breaking earlier gives a milder augmentation; never breaking on the run's ladder gives "
                 "its top",
    "probability": "the table's p, lowered so the added transforms together leave at least policy.keep_clean "
                   "of the training images untouched: p <= 1 - keep_clean ** (1 / n), rounded down to 0.01",
    "control": "a warm start comes with a control <variant>_ft (the same init and fine-tuning, the variant's "
               "own recipe), the prescribed variant's baseline: the audit then measures the new augmentations, "
               "not the extra training; from scratch the variant itself is the control",
    "reference": "docs/prescribe.md"}


def expected_unit(source: str) -> str | None:
    """The unit a perturbation's breaking points are reported in, on its catalogue ladder."""
    if len(perturbations.CATALOGUE[source].ladder) < 2:
        return None
    return perturbations.UNITS[source][0] if source in perturbations.UNITS else "severity"


def check_table(table: dict, where: str = str(TABLE_PATH)) -> dict:
    """Raise ValueError naming the entry when the table is malformed; return it unchanged."""
    policy = table.get("policy", {})
    need = {"factors", "min_risk", "zone", "keep_clean", "warm_start"}
    if set(policy) != need:
        raise ValueError(f"{where}: policy: expected keys {sorted(need)}, got {sorted(policy)}")
    factors = table.get("factors", {})
    if set(factors) != set(perturbations.FACTORS):
        raise ValueError(f"{where}: factors: expected {sorted(perturbations.FACTORS)}, got {sorted(factors)}")
    seen = set()
    for factor, entries in factors.items():
        for i, e in enumerate(entries):
            at = f"{where}: factors.{factor}[{i}]"
            if not set(e) <= _ENTRY_KEYS or not {"source", "transform", "p", "rationale"} <= set(e):
                raise ValueError(f"{at}: keys {sorted(e)}; allowed {sorted(_ENTRY_KEYS)}")
            src = e["source"]
            if src not in perturbations.CATALOGUE or perturbations.CATALOGUE[src].factor != factor:
                raise ValueError(f"{at}: source {src!r} is no {factor} perturbation of the catalogue")
            if src in seen:
                raise ValueError(f"{at}: source {src!r} appears twice")
            seen.add(src)
            if e.get("unit") != expected_unit(src):
                raise ValueError(f"{at}: unit {e.get('unit')!r}, but {src}'s breaking points are in "
                                 f"{expected_unit(src)!r}")
            if bool(e.get("magnitude")) != (expected_unit(src) is not None):
                raise ValueError(f"{at}: a magnitude needs a ladder, and a ladder needs a magnitude")
            if not (0 < e["p"] <= 1) or not str(e["rationale"]).strip():
                raise ValueError(f"{at}: p must be in (0, 1] and the rationale must be written")
            for m in e.get("magnitude", []):
                kinds = [k for k in MAP_KINDS if k in m]
                if not set(m) <= _MAGNITUDE_KEYS or "arg" not in m or len(kinds) != 1 \
                        or sum(s in m for s in SHAPES) > 1:
                    raise ValueError(f"{at}: magnitude {m}: needs arg, one of {MAP_KINDS}, at most one of {SHAPES}")
                if kinds[0] == "ladder" and e["unit"] != "severity" or "clean" in m and kinds[0] != "ladder":
                    raise ValueError(f"{at}: magnitude {m['arg']}: `ladder` (and `clean`) map severities only")
                if kinds[0] == "points" and [p[0] for p in m["points"]] != sorted(p[0] for p in m["points"]):
                    raise ValueError(f"{at}: magnitude {m['arg']}: points must be sorted by x")
    return table


@functools.cache
def _table_text() -> str:
    return TABLE_PATH.read_text()


def table() -> dict:
    """The factor -> transform table and its policy (a fresh copy: callers may change it)."""
    return check_table(yamlfile.load(_table_text(), str(TABLE_PATH)))


# ---------------------------------------------------------------- magnitudes

def _sig(v: float, digits: int = 3) -> float:
    return float(f"{float(v):.{digits}g}")


def _round(v: float, how: str | None) -> float | int:
    if how == "int":
        return int(math.floor(v + 0.5))
    if how == "odd":
        return int(2 * math.floor(v / 2) + 1)
    return _sig(v)


def map_value(source: str, spec: dict, x: float, imgsz: int) -> object:
    """One argument's value from the breaking point `x` (in the source's ladder unit)."""
    if "linear" in spec:
        a, b = spec["linear"]
        v = a * x + b
    elif "points" in spec:
        xs, vs = zip(*spec["points"], strict=True)
        v = float(np.interp(x, xs, vs))
    else:
        column = [level[spec["ladder"]] for level in perturbations.CATALOGUE[source].ladder]
        if isinstance(column[0], str):  # a kind, not an amount: the level at or above x
            return column[min(max(math.ceil(x - 1e-9), 1), len(column)) - 1]
        xs = list(range(1, len(column) + 1))
        if "clean" in spec:
            xs, column = [0, *xs], [spec["clean"], *column]
        v = float(np.interp(x, xs, column))
    if spec.get("times_imgsz"):
        v *= imgsz
    if "clamp" in spec:
        v = min(max(v, spec["clamp"][0]), spec["clamp"][1])
    v = _round(v, spec.get("round"))
    if "from" in spec:
        return [spec["from"], max(v, spec["from"])]
    if "to" in spec:
        return [min(v, spec["to"]), spec["to"]]
    if "around" in spec:
        c = spec["around"]
        return [_sig(c - v, 6), _sig(c + v, 6)]
    return v


def _fixed_args(args: dict, imgsz: int) -> dict:
    """The entry's fixed arguments; {per_imgsz: f, min: m} is max(f x imgsz, m)."""
    def value(v):
        if isinstance(v, dict) and "per_imgsz" in v and set(v) <= {"per_imgsz", "min"}:
            return max(_sig(v["per_imgsz"] * imgsz), v.get("min", 0))
        return copy.deepcopy(v)

    return {k: value(v) for k, v in args.items()}


def _floor2(x: float) -> float:
    return float(Decimal(repr(x)).quantize(Decimal("0.01"), rounding=ROUND_FLOOR))


def probability_cap(n: int, keep_clean: float) -> float:
    """The largest p, to 0.01 below, at which n transforms together leave `keep_clean` untouched."""
    return _floor2(1 - keep_clean ** (1 / n)) if n else 1.0


def untouched(specs: list[dict]) -> float:
    """The share of images a recipe leaves untouched: product of (1 - p); p defaults to 0.5 (build_transform)."""
    return float(np.prod([1 - s.get("p", 0.5) for s in specs])) if specs else 1.0
