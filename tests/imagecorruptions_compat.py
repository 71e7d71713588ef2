"""Import the `imagecorruptions` package (1.1.2) under today's NumPy, scikit-image and setuptools.

Shared by tests/test_imagecorruptions.py and benchmarks/perturbations_vs_imagecorruptions.py. The
package is a test-only dependency installed without its dependencies (`make setup` does it: its
`opencv-python` requirement would shadow the project's opencv-python-headless).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
import warnings

import numpy as np


def load_imagecorruptions():
    """Import imagecorruptions 1.1.2, written for NumPy 1, scikit-image < 0.19 and setuptools'
    pkg_resources, under today's versions: shims for the three names it needs, nothing else."""
    if importlib.util.find_spec("pkg_resources") is None:
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda module, path: os.path.join(
            os.path.dirname(sys.modules[module].__file__), path)
        sys.modules["pkg_resources"] = shim
    if "float_" not in np.__dict__:
        np.float_ = np.float64
    with warnings.catch_warnings():  # scipy.ndimage.interpolation, imported by the package, is deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        import imagecorruptions
        from imagecorruptions import corruptions

    gaussian = corruptions.gaussian

    def gaussian_compat(image, sigma=1, multichannel=None, **kw):
        return gaussian(image, sigma=sigma, channel_axis=-1 if multichannel else None, **kw)

    corruptions.gaussian = gaussian_compat
    return imagecorruptions
