"""Numbers for people, written one way everywhere: the report, the prescription and the CI gate.

Fixed decimals, never scientific notation, no "-0.0", "–" for a missing value, small p-values as
"<0.001".
"""

from __future__ import annotations

import math

import numpy as np


def number(value: object, digits: int = 1) -> str:
    """A number as a person reads it: fixed decimals, never scientific notation; '–' for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(value)
    text = f"{float(value):.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.0"


def p_value(value: float | None, spaced: bool = False) -> str:
    """A p-value to 3 decimals, '<0.001' below that ('< 0.001' in running text with `spaced`)."""
    if value is None or math.isnan(value):
        return "–"
    return ("< 0.001" if spaced else "<0.001") if value < 0.001 else f"{value:.3f}"


def interval(value: float, low: float, high: float, digits: int = 1, sign: bool = False) -> str:
    """`value [low, high]`, the value signed with `sign`; '[no interval]' where there is none."""
    fmt = (lambda v: f"{'+' if v > 0 and number(v, digits) != number(0.0, digits) else ''}{number(v, digits)}") \
        if sign else (lambda v: number(v, digits))
    if low is None or high is None:
        return f"{fmt(value)} [no interval]"
    return f"{fmt(value)} [{number(low, digits)}, {number(high, digits)}]"


def significant(value: object, digits: int = 3) -> str:
    """A parameter value to `digits` significant figures (lists item by item), as written in params."""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, list):
        return "[" + ", ".join(significant(x, digits) for x in value) + "]"
    return str(value)
