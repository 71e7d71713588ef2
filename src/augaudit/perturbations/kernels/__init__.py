"""The perturbations' transforms, one module per factor: the kernels Albumentations lacks and each
perturbation's builder (`BUILDERS`: name -> its transform at one ladder level)."""
