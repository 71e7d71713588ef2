"""Perturbed test sets versioned by their manifest: pixels kept or regenerated are the same pixels, and
a regeneration the manifest does not confirm is an error naming the test and the image."""

from __future__ import annotations

import pandas as pd
import pytest

from augaudit import datasets, testsets
from augaudit.stageparams import call

from conftest import tiny_params


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = tiny_params()
    params["dataset"]["synthetic"].update(train=2, val=1, test=5)
    call(params, "prepare")
    call(params, "check")
    return params


@pytest.mark.parametrize("name", ["gaussian_noise", "rotate", "fog"])
def test_kept_and_regenerated_pixels_are_the_same(project, tmp_path, name):
    project["perturb"] = {"materialize": "all", "sample": 2}
    call(project, "perturb", perturbation=name, workers=1)
    kept = {(i.severity, i.stem): i.rgb() for s in project["perturbations"][name]["severities"]
            for i in testsets.perturbed(name, s)}
    assert all(i.kept is not None for i in testsets.perturbed(name, 1))
    project["perturb"]["materialize"] = "sample"
    call(project, "perturb", perturbation=name, workers=1)
    for severity in project["perturbations"][name]["severities"]:
        images = testsets.perturbed(name, severity)
        assert [i.kept is not None for i in images] == [True, True, False, False, False]  # the first `sample`
        assert len(list((tmp_path / f"data/perturbed/{name}/{severity}/images").iterdir())) == 2
        for image in images:
            assert (image.rgb() == kept[(severity, image.stem)]).all()
            assert testsets.size(image) == datasets.image_size(image.source)


def test_a_manifest_the_code_does_not_reproduce_is_an_error_naming_the_image(project, tmp_path):
    project["perturb"] = {"materialize": "sample", "sample": 1}
    call(project, "perturb", perturbation="fog", workers=1)
    manifest = tmp_path / "data/perturbed/fog/manifest.csv"
    table = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    assert set(table.columns) >= {"image_id", "severity", "seed", "source", "source_sha256", "width", "height",
                                  "pixels_sha256", "kept", "png_sha256"}
    table.loc[3, "pixels_sha256"] = "0" * 64
    table.to_csv(manifest, index=False)
    severity, stem = int(table.loc[3, "severity"]), table.loc[3, "image_id"]
    image = next(i for i in testsets.perturbed("fog", severity) if i.stem == stem)
    with pytest.raises(datasets.DatasetError, match=f"fog severity {severity} image {stem}: regenerated from .* "
                                                    "does not match"):
        image.rgb()
    (tmp_path / "data/perturbed/fog/set.json").unlink()
    with pytest.raises(datasets.DatasetError, match="data/perturbed/fog: not a perturbed set"):
        testsets.perturbed("fog", 1)
