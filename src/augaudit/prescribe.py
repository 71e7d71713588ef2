"""prescribe: from a finished run, a new variant whose recipe adds training augmentations for the
weakest factors of an existing one. Not a pipeline stage: a command run after a run
(`augaudit prescribe`), whose params file then runs with either engine.

The rules live in data, `prescriptions.yaml` beside this module (docs/prescribe.md):

- **which factors**: per variant, the `policy.factors` (2) highest-risk factors its recipe does not
  target, among those whose risk reaches `policy.min_risk` (the yellow zone); within a factor, one
  transform per perturbation the run tested that reaches that risk too (a perturbation the model
  copes with gets none);
- **magnitude**: the table maps the perturbation's breaking point for `policy.zone` (red), in the
  ladder's own unit, to the transform's argument -- usually a range from about unperturbed up to it.
  A model that breaks earlier on the ladder gets a milder augmentation, one that breaks later a
  stronger one; one that never reaches the zone on the run's ladder gets the ladder's top;
- **probability**: every added transform gets the table's p, lowered where needed so that the added
  transforms together leave at least `policy.keep_clean` (half) of the training images untouched:
  p <= 1 - keep_clean ** (1 / n) for n added transforms, rounded down to 0.01;
- **control**: a warm start fine-tunes the variant's models for more epochs, so it comes with a control
  `<variant>_ft` fine-tuned the same way with the variant's own recipe, and the prescribed variant is
  audited against that control (from scratch, the variant itself is the control).

Everything is a pure function of the run's params, metrics.json and audit.json: the same run gives
byte-identical files.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from augaudit import paramsfile, paths, prescription_file, prescription_table, stageparams, yamlfile
from augaudit.files import atomic_dir, sha256_file, write_json, write_text
from augaudit.numbers import significant

OUT = Path("results/prescription")
SUFFIX = "_rx"
CONTROL_SUFFIX = "_ft"
RECORD_KEYS = ("factor", "source", "source_risk", "transform", "breaking_point", "magnitude", "p", "p_table", "spec",
               "factor_why", "why", "rationale", "note")


class PrescriptionError(paramsfile.ParamsError):
    """A run that cannot be prescribed from; the message is one line naming the file and key."""


# ---------------------------------------------------------------- choosing

@dataclass(frozen=True)
class Options:
    variants: tuple[str, ...] = ()      # empty: every variant with results, less those prescribed_already
    factors: int | None = None          # None: the table's policy
    zone: str | None = None
    min_risk: float | str | None = None
    keep_clean: float | None = None
    from_scratch: bool = False


def _policy(params: dict, options: Options) -> dict:
    policy = prescription_table.table()["policy"]
    for key in ("factors", "zone", "min_risk", "keep_clean"):
        if getattr(options, key) is not None:
            policy[key] = getattr(options, key)
    zones = params["compare"]["zones"]
    if policy["zone"] not in zones:
        raise PrescriptionError(f"zone {policy['zone']!r}: compare.zones has {', '.join(zones)}")
    if isinstance(policy["min_risk"], str):
        if policy["min_risk"] not in zones:
            raise PrescriptionError(f"min_risk {policy['min_risk']!r}: a number or one of {', '.join(zones)}")
        policy["min_risk_zone"] = policy["min_risk"]
        policy["min_risk"] = zones[policy["min_risk"]]
    if not (isinstance(policy["min_risk"], (int, float)) and 0 <= policy["min_risk"] <= 100):  # NaN fails too
        raise PrescriptionError(f"min_risk {policy['min_risk']!r}: a risk in percent, 0 to 100")
    if not (isinstance(policy["factors"], int) and policy["factors"] >= 1):
        raise PrescriptionError(f"factors {policy['factors']!r}: a count of at least 1")
    if not 0 < policy["keep_clean"] < 1:
        raise PrescriptionError(f"keep_clean {policy['keep_clean']!r}: a share between 0 and 1")
    return policy


def _ordinal(i: int) -> str:
    return "highest" if i == 1 else f"{i}{ {2: 'nd', 3: 'rd'}.get(i, 'th') } highest"


def _interval(d: dict) -> str:
    lo, hi = d.get("low"), d.get("high")
    if lo is None and hi is None:
        return ""
    ends = ("beyond ladder" if v is None else significant(v) for v in (lo, hi))
    return " [{}, {}]".format(*ends)


def _transform(params: dict, variant: str, metrics: dict, factor: str, entry: dict, policy: dict,
               imgsz: int) -> tuple[dict | None, str | None]:
    """One table entry for one variant: (what to add, None) or (None, why not)."""
    src = entry["source"]
    m = metrics[variant]
    src_risk = m["risk_by_perturbation"][src]
    if src_risk["risk"] < policy["min_risk"]:
        return None, f"risk {src_risk['risk']:.1f} % is below {policy['min_risk']:g} %: the model copes with {src}"
    item = {"factor": factor, "source": src, "source_risk": src_risk["risk"], "transform": entry["transform"]}
    args = prescription_table._fixed_args(entry.get("args", {}), imgsz)
    if not entry.get("magnitude"):
        item["breaking_point"], item["magnitude"] = None, {}
        facts = f"{src} is a single-level test (risk {src_risk['risk']:.1f} %): no ladder, no magnitude to set"
    else:
        bp = m.get("breaking_points", {}).get(src)
        if bp is None:
            return None, f"metrics.json has no breaking points for {src}"
        if bp["unit"] != entry["unit"]:
            return None, (f"its breaking points are in {bp['unit']}, the table maps {entry['unit']} "
                          "(the run overrides the ladder)")
        if bp["unit"] == "severity" and "ladder" in params["perturbations"].get(src, {}):
            return None, "the run overrides its ladder; the table maps the catalogue's severities"
        zone = policy["zone"]
        point = bp[zone]
        reached = point["value"] is not None
        x = point["value"] if reached else bp["ladder"][-1]
        item["breaking_point"] = {"zone": zone, "unit": bp["unit"], "value": point["value"], "low": point["low"],
                                  "high": point["high"], "reached": reached, "ladder": bp["ladder"], "used": x}
        for spec in entry["magnitude"]:
            args[spec["arg"]] = prescription_table.map_value(src, spec, x, imgsz)
        mags = ", ".join(f"{s['arg']} {significant(args[s['arg']])}" for s in entry["magnitude"])
        item["magnitude"] = {s["arg"]: args[s["arg"]] for s in entry["magnitude"]}
        if reached:
            facts = f"{src} reaches the {zone} zone at {bp['unit']} = {significant(x)}{_interval(point)} -> {mags}"
        else:
            facts = (f"{src} never reaches the {zone} zone on the run's ladder (up to {bp['unit']} = "
                     f"{significant(x)}), so the ladder's top sets the magnitude -> {mags}")
    item["p_table"] = entry["p"]
    item["spec"] = {"transform": entry["transform"], "p": entry["p"], **args}
    item["facts"] = facts
    item["rationale"] = " ".join(str(entry["rationale"]).split())
    if entry.get("note"):
        item["note"] = " ".join(str(entry["note"]).split())
    return item, None


def _audit_row(audit: dict, variant: str, factor: str) -> dict | None:
    for row in audit.get("rows", []):
        if row["variant"] == variant and row["level"] == "factor" and row["name"] == factor:
            return {k: row[k] for k in ("baseline", "difference", "low", "high", "verdict", "reason")}
    return None


def _free_name(params: dict, base: str, suffix: str = SUFFIX) -> str:
    name, i = f"{base}{suffix}", 2
    while name in params["variants"] or name in params["recipes"]:
        name, i = f"{base}{suffix}{i}", i + 1
    return name


def _new_variant(params: dict, variant: str, name: str, control: str | None, policy: dict,
                 factors: list[str]) -> tuple[dict, dict | None, str]:
    """The prescribed variant's spec, its control's (warm start) and, in words, where it starts.

    From scratch the prescribed variant starts and trains as its variant did: that variant is the
    control. A warm start fine-tunes the variant's models for more epochs, and extra training alone
    can lower risk, so the control fine-tunes the same models the same way with the variant's own
    recipe: the audit of the prescribed variant against it measures the new augmentations only."""
    v = params["variants"][variant]
    own = copy.deepcopy(v.get("train", {}))
    if control is None:
        new = {"init": v["init"], "recipe": name, "baseline": variant, "prescribed_for": variant,
               "prescribed": factors}
        start = f"as {variant} started: from {v['init']}" + (", with its train settings" if own else "")
        ctl = None
    else:
        own["epochs"] = max(1, int(math.floor(policy["warm_start"]["epochs"] * params["train"]["epochs"] + 0.5)))
        own["lr0"] = prescription_table._sig(policy["warm_start"]["lr0"] * params["train"]["lr0"])
        init = f"{paths.MODELS.as_posix()}/{variant}"
        new = {"init": init, "recipe": name, "baseline": control, "prescribed_for": variant, "prescribed": factors}
        ctl = {"init": init, "recipe": v["recipe"], "baseline": variant, "train": copy.deepcopy(own)}
        epochs = f"{own['epochs']} epoch{'s' * (own['epochs'] != 1)}"
        start = (f"warm start from {variant}'s models, fine-tuned {epochs} at lr0 {own['lr0']:g} "
                 f"({policy['warm_start']['epochs']:g} x train.epochs, {policy['warm_start']['lr0']:g} x train.lr0)")
    if own:
        new["train"] = own
    return new, ctl, start


def prescribed_already(params: dict) -> dict[str, str]:
    """Variants a default prescription leaves out, with why: those prescribed for, and the controls."""
    done = {}
    for name, spec in params["variants"].items():
        if "prescribed" in spec:
            target, control = stageparams.prescription_arms(spec)
            done.setdefault(target, f"already prescribed for ({name})")
            if control:
                done[control] = f"the fine-tuned control of {name}"
    return done


def prescribe(params: dict, metrics: dict, audit: dict, options: Options | None = None,
              provenance: dict | None = None, sources: dict | None = None) -> tuple[dict, dict]:
    """The params with the prescribed variants and recipes added, and the record of why.

    `sources` names the files the inputs came from, for error messages and the record.
    """
    options = options or Options()
    sources = sources or {"params": "params.yaml", "metrics": "results/summary/metrics.json",
                          "audit": "results/summary/audit.json", "provenance": "results/summary/provenance.json"}
    policy = _policy(params, options)
    t = prescription_table.table()
    chosen = list(options.variants) or list(params["variants"])
    skip = {} if options.variants else prescribed_already(params)
    for v in options.variants:
        if v not in params["variants"]:
            raise PrescriptionError(f"{sources['params']}: variants.{v}: not declared "
                                    f"(known: {', '.join(params['variants'])})")
        if v not in metrics:
            raise PrescriptionError(f"{sources['metrics']}: {v}: no results for this variant (it has "
                                    f"{', '.join(metrics) or 'none'}): run the workflow with it first")
    if provenance is not None:
        _check_same_run(params, provenance, [v for v in chosen if v in metrics], sources["provenance"])
    new_params = copy.deepcopy(params)
    record = {"policy": {k: policy[k] for k in sorted(policy)},
              "start": "the variant's own init (--from-scratch)" if options.from_scratch else "warm start",
              "variants": {}, "not_prescribed": {}}
    chosen_on = {m["selection"]["split"] for m in metrics.values() if "selection" in m}
    if chosen_on:
        record["chosen_on"] = {"images": {v: m["selection"]["images"] for v, m in metrics.items() if "selection" in m},
                               "split": chosen_on.pop()}
    for variant in chosen:
        if variant in skip:
            record["not_prescribed"][variant] = f"{skip[variant]}: name it with --variant to prescribe for it"
            continue
        if variant not in metrics:
            record["not_prescribed"][variant] = f"no results in {sources['metrics']}: not run yet"
            continue
        v = params["variants"][variant]
        recipe = params["recipes"][v["recipe"]]
        targets = list(recipe["targets"])
        risks = metrics[variant]["risk_by_factor"]
        candidates = sorted(((f, r) for f, r in risks.items() if f not in targets),
                            key=lambda fr: (-fr[1]["risk"], fr[0]))
        imgsz = stageparams.train_settings(params, variant)["imgsz"]
        factors, items, below = [], [], []
        for rank, (factor, r) in enumerate(candidates, 1):
            if len(factors) == policy["factors"]:
                break
            if r["risk"] < policy["min_risk"]:
                below.append(f"{factor} {r['risk']:.1f} %")
                continue
            tested = [e for e in t["factors"][factor] if e["source"] in metrics[variant]["risk_by_perturbation"]]
            added, skipped = [], []
            for entry in tested:
                item, why = _transform(params, variant, metrics, factor, entry, policy, imgsz)
                if item is None:
                    skipped.append({"source": entry["source"], "transform": entry["transform"], "reason": why})
                else:
                    item["factor_rank"] = rank
                    added.append(item)
            record_factor = {"factor": factor, "rank": rank, "risk": r["risk"], "risk_low": r.get("risk_low"),
                             "risk_high": r.get("risk_high"), "audit": _audit_row(audit, variant, factor),
                             "transforms": [i["source"] for i in added], "skipped": skipped,
                             "not_tested": [e["source"] for e in t["factors"][factor] if e not in tested]}
            if added:
                factors.append(record_factor)
                items += added
            else:
                record.setdefault("unprescribable", {}).setdefault(variant, []).append(record_factor)
        if not items:
            stuck = record.get("unprescribable", {}).get(variant)
            if stuck:
                why = (f"{', '.join(f['factor'] for f in stuck)} reach {policy['min_risk']:g} % but no transform "
                       "could be set (see unprescribable)")
            elif below:
                why = f"no factor its recipe does not target reaches {policy['min_risk']:g} % ({', '.join(below)})"
            else:
                why = "its recipe targets every factor the run measured"
            record["not_prescribed"][variant] = why
            continue
        cap = prescription_table.probability_cap(len(items), policy["keep_clean"])
        if cap <= 0:
            raise PrescriptionError(f"keep_clean {policy['keep_clean']:g} leaves under 1 % per transform for "
                                    f"{len(items)} transforms")
        already = {spec["transform"] for spec in recipe["albumentations"]}
        for item in items:
            item["p"] = min(item["p_table"], cap)
            item["spec"]["p"] = item["p"]
            r = next(f for f in factors if f["factor"] == item["factor"])
            ci = _interval({"low": r["risk_low"], "high": r["risk_high"]})
            item["factor_why"] = (f"{item['factor']}: risk {r['risk']:.1f} %{ci}, the {_ordinal(r['rank'])} of the "
                                  f"factors {variant}'s recipe does not target.")
            lowered = "" if item["p"] == item["p_table"] else (
                f", lowered from {item['p_table']:g} so that the {len(items)} added transforms leave at least "
                f"{policy['keep_clean'] * 100:g} % of the images untouched")
            item["why"] = (f"{item['facts']}; p {item['p']:g}{lowered}."
                           + (f" {variant}'s recipe already has a {item['transform']}; this one is set from the "
                              "breaking point." if item["transform"] in already else ""))
        name = _free_name(new_params, variant)
        control = None if options.from_scratch else _free_name(new_params, variant, CONTROL_SUFFIX)
        specs = list(recipe["albumentations"]) + [i["spec"] for i in items]
        new_recipe = {"targets": targets + [f["factor"] for f in factors if f["factor"] not in targets],
                      "albumentations": copy.deepcopy(specs)}
        if "ultralytics" in recipe:
            new_recipe["ultralytics"] = copy.deepcopy(recipe["ultralytics"])
        new_params["recipes"][name] = new_recipe
        new, ctl, start = _new_variant(params, variant, name, control, policy, [f["factor"] for f in factors])
        if ctl is not None:
            new_params["variants"][control] = ctl
        new_params["variants"][name] = new
        record["variants"][name] = {
            "prescribed_for": variant, "recipe": name, "baseline": new["baseline"], "control": control,
            "init": new["init"], "start": start, "targets": new_recipe["targets"],
            "factors": factors, "transforms": [{k: i[k] for k in RECORD_KEYS if k in i} for i in items],
            "untouched": {"by_added": round(prescription_table.untouched([i["spec"] for i in items]), 4),
                          "by_recipe_before": round(prescription_table.untouched(recipe["albumentations"]), 4),
                          "by_recipe": round(prescription_table.untouched(specs), 4)},
        }
    return new_params, record


def _check_same_run(params: dict, provenance: dict, variants: list[str], where: str) -> None:
    """The summary must come from these variants and recipes: a changed recipe makes its risks stale."""
    ran = provenance.get("params", {})
    if "variants" not in ran or "recipes" not in ran:
        return
    for v in variants:
        spec = params["variants"][v]
        if ran["variants"].get(v) != spec or ran["recipes"].get(spec["recipe"]) != params["recipes"][spec["recipe"]]:
            raise PrescriptionError(f"{where}: variants.{v}: the finished run used other settings for this variant or "
                                    "its recipe than params.yaml has now; re-run the workflow, or prescribe with the "
                                    "params it ran with")


# ---------------------------------------------------------------- files

def _read_json(path: Path, required: bool = True) -> dict | None:
    if not path.is_file():
        if not required:
            return None
        raise PrescriptionError(f"{path}: not found: no finished run here (run `snakemake --cores all` or "
                                "`dvc repro` first, or point --summary at a run's results/summary)")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PrescriptionError(f"{path}: not valid JSON ({e})") from None


def run(params: dict, params_path: str | Path = "params.yaml", summary: str | Path = paths.SUMMARY,
        out: str | Path = OUT, options: Options | None = None) -> Path:
    """Write out/params.yaml, out/params.diff and out/prescription.json (the folder atomically, whole)."""
    params_path, summary, out = Path(params_path), Path(summary), Path(out)
    files = {"metrics": summary / "metrics.json", "audit": summary / "audit.json",
             "provenance": summary / "provenance.json"}
    metrics = _read_json(files["metrics"])
    audit = _read_json(files["audit"])
    provenance = _read_json(files["provenance"], required=False)
    for variant, m in metrics.items():
        for key in ("risk_by_factor", "risk_by_perturbation", "breaking_points", "selection"):
            if not isinstance(m, dict) or key not in m:
                raise PrescriptionError(f"{files['metrics']}: {variant}.{key}: missing (written by an older augaudit? "
                                        "re-run compare)")
    # Chosen in sample, validated out of it: factors and magnitudes come from the half of the test images
    # that compare sets aside for choosing; the audit validates prescriptions on the other half.
    metrics = {v: {**m, **{k: m["selection"][k] for k in ("risk_by_factor", "risk_by_perturbation",
                                                           "breaking_points")}} for v, m in metrics.items()}
    sources = {"params": params_path.as_posix(), **{k: p.as_posix() for k, p in files.items()}}
    new_params, record = prescribe(params, metrics, audit, options, provenance, sources)
    record["inputs"] = {p.as_posix(): sha256_file(p) for p in (params_path, *files.values()) if p.is_file()}
    record["rules"] = prescription_table.RULES
    with atomic_dir(out) as tmp:
        write_json(tmp / "prescription.json", record)
        if record["variants"]:
            text = params_path.read_text()
            new_text = prescription_file.render(text, new_params, record, out)
            paramsfile.validate(yamlfile.load(new_text, str(out / "params.yaml")), str(out / "params.yaml"), new_text)
            write_text(tmp / "params.yaml", new_text)
            write_text(tmp / "params.diff", "".join(difflib.unified_diff(
                text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                fromfile=params_path.as_posix(), tofile=(out / "params.yaml").as_posix())))
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    p.add_argument("--variant", action="append", default=[],
                   help="prescribe for this variant (repeatable; default: every variant with results that is neither "
                        "prescribed for already nor a control)")
    p.add_argument("--factors", type=int, help="how many of the weakest factors (default: the table's policy, 2)")
    p.add_argument("--zone", help="whose breaking point sets magnitudes: yellow or red (default: red)")
    p.add_argument("--min-risk", type=float, help="risk a factor must reach, percent (default: the yellow zone)")
    p.add_argument("--keep-clean", type=float,
                   help="share of training images the added transforms leave untouched (default: 0.5)")
    p.add_argument("--from-scratch", action="store_true",
                   help="start from the variant's own init instead of warm-starting from its trained models")
    p.add_argument("--summary", default=str(paths.SUMMARY), help="the finished run's summary (default: %(default)s)")
    p.add_argument("--out", default=str(OUT), help="output folder (default: %(default)s)")


def command(args: argparse.Namespace) -> int:
    """`augaudit prescribe`: params validated and errors reported as a stage's (augaudit.cli)."""
    from augaudit import cli

    options = Options(variants=tuple(args.variant), factors=args.factors, zone=args.zone, min_risk=args.min_risk,
                      keep_clean=args.keep_clean, from_scratch=args.from_scratch)

    def go(params: dict) -> None:
        out = run(params, args.params, args.summary, args.out, options)
        record = json.loads((out / "prescription.json").read_text())
        print("\n".join(prescription_file.summary_lines(record)))
        if record["variants"]:
            print(f"wrote {out}/params.yaml, params.diff, prescription.json; run it with:\n"
                  f"  cp {out}/params.yaml params.yaml && snakemake --cores all   (or: dvc repro)")
        else:
            print(f"wrote {out}/prescription.json (nothing to run)")

    cli.main(args, go, "prescribe")
    return 0
