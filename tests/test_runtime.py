"""Device choice and seeding: CPU by default, CUDA when present, never a silent fall back."""

from __future__ import annotations

import pytest
import torch

from augaudit import runtime


def test_auto_uses_cuda_only_when_present():
    assert runtime.resolve_device("auto") == ("0" if torch.cuda.is_available() else "cpu")
    assert runtime.resolve_device("cpu") == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("requested", ["cuda", "cuda:1"])
def test_cuda_requested_without_cuda_is_an_error(requested):
    with pytest.raises(runtime.DeviceError, match=r"^params.yaml: device: .* CUDA is not available"):
        runtime.resolve_device(requested)


def test_derived_seeds_are_stable_and_distinct():
    assert runtime.derive_seed(0, "perturb", "fog", 1, "img") == runtime.derive_seed(0, "perturb", "fog", 1, "img")
    seeds = {runtime.derive_seed(0, "perturb", "fog", s, "img") for s in range(1, 6)}
    assert len(seeds) == 5 and runtime.derive_seed(1, "perturb", "fog", 1, "img") not in seeds
