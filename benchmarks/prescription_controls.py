"""Prescribed variants against fine-tuned controls, in a finished run (docs/prescribe.md).

A warm-started prescription fine-tunes its variant's models for a few more epochs, and extra
training alone can lower risk. A control `<variant>_ft` (the same `init` and `train` as the
prescribed variant, the variant's own recipe) separates the two: this script audits every
prescribed variant against its control, when the run has one, with the audit's own method
(stages.compare.audit: images both can break, seeds and images, the multiplicity correction).
Run it from the project folder: `python benchmarks/prescription_controls.py`.
"""

from __future__ import annotations

import copy

from augaudit import config, stageparams
from augaudit.stages import compare


def main() -> None:
    params = config.load("params.yaml")
    p = copy.deepcopy(params)
    pairs = {v: f"{s['baseline']}_ft" for v, s in params["variants"].items()
             if "prescribed" in s and f"{s['baseline']}_ft" in params["variants"]}
    if not pairs:
        raise SystemExit("no prescribed variant with a control <variant>_ft in params.yaml")
    names = [n for pair in pairs.items() for n in pair]
    for v, control in pairs.items():
        p["variants"][v]["baseline"] = control
        p["variants"][control].pop("baseline", None)
    p["variants"] = {n: p["variants"][n] for n in names}
    scoped = stageparams.scope(p, "compare")
    tables, overall = {}, {}
    for v in names:
        per_image, _, test_metrics = compare._load(v)
        tables[v] = per_image
        overall[v] = compare.variant_metrics(scoped, v, per_image, test_metrics)
    audit = compare.audit(scoped, tables, overall)
    for v in pairs:
        info = audit["variants"][v]
        print(f"{v} vs {info['baseline']}: clean mAP50 change {info['map50_clean_change']:+.3f}, "
              f"{info['n_images']} images; {info['note']}")
        for f in info["prescription"]:
            if f["verdict"] == "not tested":
                print(f"   {f['factor']:9s} not tested")
                continue
            print(f"   {f['factor']:9s} {f['baseline_risk']:5.1f} -> {f['risk']:5.1f} %  {f['difference']:+.1f} "
                  f"[{f['low']:+.1f}, {f['high']:+.1f}]  p_adj {f['p_adjusted']:.2g}  {f['verdict']}"
                  f"{'  validated' if f['validated'] else ''}")


if __name__ == "__main__":
    main()
