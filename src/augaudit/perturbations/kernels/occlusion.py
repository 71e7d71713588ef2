"""Occlusion perturbations: coarse and grid dropout, random erasing that fits any aspect ratio."""

from __future__ import annotations

import albumentations as A

from augaudit.perturbations.kernels._shared import _const


class _Erasing(A.Erasing):
    """Erasing of a fixed fraction of the image whose aspect-ratio range is narrowed, per image, to
    the ratios at which a hole of that area fits. Albumentations 2.0.8 sizes the range for
    near-square images only: at scale 0.33 and ratio (0.5, 2) any image wider or taller than
    about 3:2 (coco128's 640x360) gets no hole and a params dict without `seed`, and apply()
    raises TypeError. Images where the range fits are erased exactly as A.Erasing does."""

    RATIO = (0.5, 2.0)  # hole aspect w/h, where the image allows it

    def __init__(self, fraction: float):
        super().__init__(scale=(fraction, fraction), ratio=self.RATIO, fill=0, p=1)

    def get_params_dependent_on_data(self, params: dict, data: dict) -> dict:
        height, width = params["shape"][:2]
        s = self.scale[0]
        # a hole of area s*H*W and aspect r = w/h fits when s*W/H <= r <= W/(s*H); Albumentations
        # checks the range's ends, so narrow it to that interval (a point when they do not meet)
        fit_lo, fit_hi = s * width / height * (1 + 1e-9), width / (s * height) * (1 - 1e-9)
        lo, hi = max(self.RATIO[0], fit_lo), min(self.RATIO[1], fit_hi)
        if lo > hi:
            lo = hi = fit_lo if fit_lo > self.RATIO[1] else fit_hi
        self.ratio = (lo, hi)
        return super().get_params_dependent_on_data(params, data)


BUILDERS = {  # perturbation name -> its transform at one ladder level
    "coarse_dropout": lambda n: A.CoarseDropout(num_holes_range=_const(int(n)), hole_height_range=(0.1, 0.1),
                                     hole_width_range=(0.1, 0.1), fill=0, p=1),
    "grid_dropout": lambda r: A.GridDropout(ratio=r, random_offset=True, fill=0, p=1),
    "random_erasing": _Erasing,
}
