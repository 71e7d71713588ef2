"""The catalogue of test-time perturbations: each one's name, factor, severity ladder, ladder domain,
unit, COCO-C membership and imagecorruptions counterpart -- metadata only. No image library is
imported here, so stages that read names, factors, units and ladders (compare, report, prescribe)
do not depend on the kernels; augaudit.perturbations.pipeline builds and applies the transforms.
Adding a perturbation: one entry here plus its builder in its factor's kernel module
(CONTRIBUTING.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FACTORS = ("blur", "noise", "quality", "lighting", "colour", "geometry", "occlusion", "weather")


@dataclass(frozen=True)
class Perturbation:
    """One named perturbation: its factor and default ladder (severity 1..n); its transform is built by
    its factor's kernel module (`kernels.<factor>.BUILDERS[name]`, augaudit.perturbations.pipeline).

    `stochastic` says whether the seed changes the result; `imagecorruptions` names the matching
    corruption of that package, and a non-empty `note` says why the match is only approximate.
    `unit`: the ladder's own unit for breaking points (unit, which element of a compound level, the
    value that means unperturbed); None where the severity is the unit -- single-level ladders,
    compound ones whose parameters do not move together, shot noise (a clean image has infinitely
    many photons). `coco_c`: its position among the 15 corruptions of the COCO-C / ImageNet-C
    benchmark (Michaelis et al. 2019; Hendrycks & Dietterich 2019), whose mPC and rPC are reported
    only when all of them ran at severities 1-5 on their own ladders. `occluder`: what it blacks out
    hides objects, measured per box (`hidden`); a box mostly hidden becomes an ignore region when
    scored (score.ignore_hidden).
    """

    name: str
    factor: str
    ladder: tuple
    geometric: bool = False
    stochastic: bool = True
    imagecorruptions: str | None = None
    note: str = ""
    # what every number of a ladder level may be: one (lo, hi), or one per item of a compound level
    domain: tuple = (-math.inf, math.inf)
    integers: tuple[int, ...] = ()  # positions of a level (0 for a one-number level) that count things
    unit: tuple[str, int | None, float] | None = None
    coco_c: int | None = None
    occluder: bool = False

    def ladder_problem(self, value: object) -> str | None:
        """Why `value` cannot be a level of this perturbation's ladder, or None: a level has the shape and
        kinds of the catalogue's own (one number, or a list of as many items), every number finite and
        within `domain`, whole where it counts things (a JPEG quality of 1000 or -0.1 noise is refused,
        never clipped or mirrored into another test)."""
        ref = self.ladder[0]
        refs = ref if isinstance(ref, tuple) else (ref,)
        items = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        if isinstance(ref, tuple) != isinstance(value, (list, tuple)) or len(items) != len(refs):
            like = f"a list of {len(refs)}, like {list(ref)}" if isinstance(ref, tuple) else f"one number, like {ref}"
            return f"{value!r}: a level of {self.name} is {like}"
        for i, (x, r) in enumerate(zip(items, refs, strict=True)):
            lo, hi = self.bounds(i)
            if isinstance(r, str):
                if not isinstance(x, str):
                    return f"{x!r}: item {i} of a level of {self.name} is a name, like {r!r}"
            elif isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                return f"{x!r}: not a finite number"
            elif not lo <= x <= hi:
                where = f"item {i} of " if isinstance(self.domain[0], tuple) else ""
                return f"{x!r}: outside {where}{self.name}'s domain {lo:g} to {hi:g}"
            elif i in self.integers and x != int(x):
                return f"{x!r}: item {i} of a level of {self.name} counts things (a whole number)"
        return None

    def bounds(self, item: int) -> tuple[float, float]:
        """The (lo, hi) a number at position `item` of a level may take."""
        return self.domain[item] if isinstance(self.domain[0], tuple) else self.domain


_P = Perturbation
CATALOGUE: dict[str, Perturbation] = {
    p.name: p
    for p in [
        # blur
        _P("gaussian_blur", "blur", (1, 2, 3, 4, 6), stochastic=False, imagecorruptions="gaussian_blur",
           note="kernel cut at 3.5 sigma (PIL) instead of skimage's 4, reflect-101 instead of replicated border",
           domain=(0.01, 100), unit=("sigma (px)", None, 0.0)),
        _P("motion_blur", "blur", ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)), imagecorruptions="motion_blur",
           domain=(0.01, 200), integers=(0,), unit=("sigma (px)", 1, 0.0), coco_c=6),
        _P("defocus_blur", "blur", ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)), stochastic=False,
           imagecorruptions="defocus_blur", domain=((1, 100), (0, 100)), integers=(0,),
           unit=("radius (px)", 0, 0.0), coco_c=4),
        _P("zoom_blur", "blur", ((1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02), (1.31, 0.03)),
           stochastic=False, imagecorruptions="zoom_blur",
           note="same zoom steps; OpenCV's half-pixel-centred resize instead of scipy's corner-aligned zoom "
                "(sub-pixel shifts)",
           domain=((1, 10), (0.001, 10)), unit=("zoom factor", 0, 1.0), coco_c=7),
        _P("glass_blur", "blur", ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)),
           imagecorruptions="glass_blur", domain=(0.01, 100), integers=(1, 2), unit=("sigma (px)", 0, 0.0), coco_c=5),
        # noise
        _P("gaussian_noise", "noise", (0.08, 0.12, 0.18, 0.26, 0.38), imagecorruptions="gaussian_noise", domain=(0, 10),
           unit=("std (fraction of 255)", None, 0.0), coco_c=1),
        _P("shot_noise", "noise", (60, 25, 12, 5, 3), imagecorruptions="shot_noise", domain=(0.01, 1e6), coco_c=2),
        _P("impulse_noise", "noise", (0.03, 0.06, 0.09, 0.17, 0.27), imagecorruptions="impulse_noise", domain=(0, 1),
           unit=("fraction of values", None, 0.0), coco_c=3),
        _P("speckle_noise", "noise", (0.15, 0.2, 0.35, 0.45, 0.6), imagecorruptions="speckle_noise", domain=(0, 10),
           unit=("std (relative)", None, 0.0)),
        _P("iso_noise", "noise", ((0.01, 0.1), (0.02, 0.2), (0.03, 0.3), (0.04, 0.4), (0.05, 0.5)), domain=(0, 1),
           unit=("intensity", 1, 0.0)),
        # quality
        _P("jpeg_compression", "quality", (25, 18, 15, 10, 7), stochastic=False, imagecorruptions="jpeg_compression",
           domain=(1, 100), integers=(0,), unit=("JPEG quality", None, 100.0), coco_c=15),
        _P("pixelate", "quality", (0.6, 0.5, 0.4, 0.3, 0.25), stochastic=False, imagecorruptions="pixelate",
           domain=(0.01, 1), unit=("scale", None, 1.0), coco_c=14),
        _P("pixel_dropout", "quality", (0.01, 0.02, 0.05, 0.1, 0.2), domain=(0, 1),
           unit=("fraction of pixels", None, 0.0)),
        _P("packet_loss", "quality", (0.02, 0.05, 0.1, 0.2, 0.3), domain=(0, 1),
           unit=("fraction of packets", None, 0.0), occluder=True),
        # lighting
        _P("brightness", "lighting", (0.1, 0.2, 0.3, 0.4, 0.5), stochastic=False, imagecorruptions="brightness",
           domain=(-1, 1), unit=("value shift (fraction)", None, 0.0), coco_c=11),
        _P("darken", "lighting", (0.1, 0.2, 0.3, 0.4, 0.5), stochastic=False, domain=(0, 1),
           unit=("value shift (fraction)", None, 0.0)),
        _P("contrast", "lighting", (0.4, 0.3, 0.2, 0.1, 0.05), stochastic=False, imagecorruptions="contrast",
           domain=(0, 10), unit=("contrast factor", None, 1.0), coco_c=12),
        _P("gamma", "lighting", (1.5, 2.0, 2.5, 3.0, 4.0), stochastic=False, domain=(0.01, 100),
           unit=("gamma", None, 1.0)),
        _P("shadow", "lighting", ((1, 0.3), (1, 0.5), (2, 0.5), (2, 0.7), (3, 0.8)), domain=((1, 10), (0, 1)),
           integers=(0,)),
        # colour
        _P("grayscale", "colour", (1,), stochastic=False, domain=(0, 1)),
        _P("hue_shift", "colour", (10, 20, 40, 60, 90), stochastic=False, domain=(-180, 180),
           unit=("degrees", None, 0.0)),
        _P("saturate", "colour", ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)), stochastic=False,
           imagecorruptions="saturate", domain=(-1, 100)),
        _P("channel_shuffle", "colour", (1,), domain=(0, 1)),
        # geometry
        _P("hflip", "geometry", (1,), geometric=True, stochastic=False, domain=(0, 1)),
        _P("vflip", "geometry", (1,), geometric=True, stochastic=False, domain=(0, 1)),
        _P("rotate", "geometry", (5, 10, 15, 20, 30), geometric=True, stochastic=False, domain=(-180, 180),
           unit=("degrees", None, 0.0)),
        _P("scale", "geometry", (0.9, 0.8, 0.7, 0.6, 0.5), geometric=True, stochastic=False, domain=(0.01, 10),
           unit=("scale", None, 1.0)),
        _P("translate", "geometry", (0.05, 0.1, 0.15, 0.2, 0.3), geometric=True, domain=(-1, 1),
           unit=("fraction of the frame", None, 0.0)),
        _P("perspective", "geometry", (0.02, 0.04, 0.06, 0.08, 0.1), geometric=True, domain=(0, 0.5),
           unit=("corner shift (fraction)", None, 0.0)),
        _P("elastic_transform", "geometry", (12.5, 16.25, 21.25, 25.0, 30.0), geometric=True,
           imagecorruptions="elastic_transform", domain=(0, 1000), unit=("alpha", None, 0.0), coco_c=13),
        # occlusion
        _P("coarse_dropout", "occlusion", (2, 4, 6, 8, 10), domain=(1, 1000), integers=(0,), unit=("holes", None, 0.0),
           occluder=True),
        _P("grid_dropout", "occlusion", (0.1, 0.2, 0.3, 0.4, 0.5), domain=(0.01, 0.99),
           unit=("fraction dropped", None, 0.0), occluder=True),
        _P("random_erasing", "occlusion", (0.02, 0.05, 0.1, 0.2, 0.33), domain=(0.001, 0.9),
           unit=("fraction erased", None, 0.0), occluder=True),
        # weather
        _P("fog", "weather", ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)), imagecorruptions="fog",
           domain=((0, 100), (0.01, 100)), coco_c=10),
        _P("rain", "weather",
           (("drizzle", 0.9, 3), ("default", 0.85, 3), ("heavy", 0.8, 5), ("heavy", 0.7, 5), ("torrential", 0.6, 7)),
           domain=((-math.inf, math.inf), (0.01, 1), (1, 100)), integers=(2,)),
        _P("snow", "weather",
           ((0.1, 0.3, 3, 0.5, 10, 4, 0.8), (0.2, 0.3, 2, 0.5, 12, 4, 0.7), (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
            (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65), (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55)),
           imagecorruptions="snow",
           domain=((0, 100), (0, 100), (0.01, 100), (0, 100), (1, 100), (0.01, 100), (0, 1)), coco_c=8),
        _P("frost", "weather", ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)), imagecorruptions="frost",
           note="same blend weights over a procedural frost texture matched to the mean and spread of "
                "imagecorruptions' frost photos, which are not redistributed here",
           domain=(0, 10), coco_c=9),
        _P("sun_flare", "weather", (0.1, 0.15, 0.2, 0.3, 0.4), domain=(0, 1), unit=("radius (fraction)", None, 0.0)),
        _P("spatter", "weather",
           ((0.65, 0.3, 4, 0.69, 0.6, 0), (0.65, 0.3, 3, 0.68, 0.6, 0), (0.65, 0.3, 2, 0.68, 0.5, 0),
            (0.65, 0.3, 1, 0.65, 1.5, 1), (0.67, 0.4, 1, 0.65, 1.5, 1)),
           imagecorruptions="spatter", domain=(0, 10)),
    ]
}

# The COCO-C / ImageNet-C corruptions in the benchmark's order (noise, blur, weather, digital).
COCO_C = tuple(sorted((p.name for p in CATALOGUE.values() if p.coco_c), key=lambda n: CATALOGUE[n].coco_c))
# Breaking points are reported in a ladder's own unit, where it has one (`Perturbation.unit`).
UNITS: dict[str, tuple[str, int | None, float]] = {p.name: p.unit for p in CATALOGUE.values() if p.unit}
OCCLUDERS = frozenset(p.name for p in CATALOGUE.values() if p.occluder)


def ladder_axis(name: str, severities: list[int], ladder: list | None = None) -> tuple[str, list[float]] | None:
    """The unit of a perturbation's breaking points and the x values of clean followed by the given
    severities; None for a single-level ladder (nothing to interpolate)."""
    values = ladder if ladder is not None else CATALOGUE[name].ladder
    if len(values) < 2:
        return None
    if name in UNITS:
        unit, index, clean = UNITS[name]
        xs = [clean] + [float(v if index is None else v[index]) for v in (values[s - 1] for s in severities)]
        steps = np.diff(xs)
        if np.all(steps > 0) or np.all(steps < 0):
            return unit, xs
    return "severity", [0.0, *map(float, severities)]


def ladder_value(name: str, severity: int, ladder: list | None = None) -> object:
    """The transform parameter at a severity (1-based) of the default or an overriding ladder."""
    values = ladder if ladder is not None else CATALOGUE[name].ladder
    return values[severity - 1]
