"""Load params.yaml, validate it against the JSON schema, and cut out each stage's own keys.

Errors are one line naming the file, the line and the key path, so a typo is found at once by
Snakemake (which validates at parse time) and by every entry point (which validate before work).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jsonschema
import yaml

from augaudit import paths, yamlfile

SCHEMA_PATH = Path(__file__).parent / "schemas" / "params.schema.yaml"
VARIANT_MODELS = re.compile(r"^results/models/([a-z][a-z0-9_]*)/?$")  # init: warm start from another variant


class ConfigError(ValueError):
    """An invalid params file; the message is one line: file:line: key: problem."""


def _fullmatch(validator, pattern, instance, schema):
    """JSON Schema's `pattern` as a whole-string match: Python's `$` also matches before a trailing
    newline, so `^[a-z]+$` would accept "evil\n" as a name."""
    if isinstance(instance, str) and not re.fullmatch(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


# integers are integers: JSON Schema counts 4.0 as one, which then fails deep inside a library
_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool))
Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, validators={"pattern": _fullmatch},
                                         type_checker=_TYPES)


def _key_line(text: str, path: list) -> int | None:
    """1-based line of a key path in the YAML text (deepest key found), for error messages."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _dotted(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _fail(source: str, text: str, path: list, message: str) -> ConfigError:
    line = _key_line(text, path)
    where = f"{source}:{line}" if line else source
    return ConfigError(f"{where}: {_dotted(path)}: {message}")


def validate(params: dict, source: str = "params.yaml", text: str | None = None) -> dict:
    """Check schema and cross-references; return the params unchanged, or raise ConfigError."""
    text = text if text is not None else yaml.safe_dump(params, sort_keys=False)
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    errors = sorted(Validator(schema).iter_errors(params),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        e = errors[0]
        message = e.message
        if e.instance == "auto" and list(e.absolute_path)[-1:] == ["optimizer"]:
            message = ("'auto' is refused: Ultralytics would pick the optimizer and learning rate itself and ignore "
                       "lr0; name one (SGD, AdamW, ...)")
        raise _fail(source, text, list(e.absolute_path), message)
    _check_references(params, source, text)
    return params


def _check_references(params: dict, source: str, text: str) -> None:
    from augaudit import perturbations, recipes

    variants = params["variants"]
    for name, v in variants.items():
        if v["recipe"] not in params["recipes"]:
            raise _fail(source, text, ["variants", name, "recipe"],
                        f"unknown recipe {v['recipe']!r}; recipes are {sorted(params['recipes'])}")
        if "baseline" in v and v["baseline"] not in variants:
            raise _fail(source, text, ["variants", name, "baseline"], f"unknown variant {v['baseline']!r}")
        if v.get("baseline") == name:
            raise _fail(source, text, ["variants", name, "baseline"], "a variant cannot be its own baseline")
        if v["init"].startswith("results/models/") and parent_variant(v) is None:
            raise _fail(source, text, ["variants", name, "init"],
                        f"{v['init']!r}: to warm-start from another variant's models write results/models/<variant> "
                        "(replicate i starts from that variant's replicate i)")
        if v.get("evaluate_only") and "replicates" in v.get("train", {}):
            raise _fail(source, text, ["variants", name, "train", "replicates"],
                        "an evaluate_only variant is one fixed checkpoint: it has no training replicates")
        if v.get("evaluate_only") and not v["init"].endswith(".pt"):
            raise _fail(source, text, ["variants", name, "init"], "an evaluate_only variant needs a .pt checkpoint")
        parent = parent_variant(v)
        if parent is not None and parent not in variants:
            raise _fail(source, text, ["variants", name, "init"], f"warm-starts from unknown variant {parent!r}")
        seen, cur = {name}, parent
        while cur is not None:
            if cur in seen:
                raise _fail(source, text, ["variants", name, "init"], "warm-start chain forms a cycle")
            seen.add(cur)
            cur = parent_variant(variants[cur])
        if parent is not None and 1 < replicates(params, parent) < replicates(params, name):
            raise _fail(source, text, ["variants", name, "train", "replicates"],
                        f"{replicates(params, name)} replicates, but it warm-starts from {parent!r}, which has "
                        f"{replicates(params, parent)}: replicate i starts from {parent}'s replicate i")
    for name, recipe in params["recipes"].items():
        for i, spec in enumerate(recipe["albumentations"]):
            try:
                recipes.build_transform(spec)
            except Exception as e:  # Albumentations' own validation: unknown class or bad argument
                raise _fail(source, text, ["recipes", name, "albumentations", i],
                            " ".join(str(e).split())[:300]) from None
    for name, p in params["perturbations"].items():
        if name not in perturbations.CATALOGUE:
            raise _fail(source, text, ["perturbations", name],
                        f"unknown perturbation; known: {', '.join(sorted(perturbations.CATALOGUE))}")
        ladder = p.get("ladder", perturbations.CATALOGUE[name].ladder)
        if max(p["severities"]) > len(ladder):
            raise _fail(source, text, ["perturbations", name, "severities"],
                        f"severity {max(p['severities'])} is beyond the ladder of {len(ladder)} levels")
    zones = params["compare"]["zones"]
    if zones["yellow"] >= zones["red"]:
        raise _fail(source, text, ["compare", "zones"], "yellow must be below red")


def load(path: str | Path = "params.yaml") -> dict:
    """Read and validate a params file (strict safe YAML: never executes anything, see yamlfile)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found")
    text = path.read_text()
    try:
        params = yamlfile.load(text, str(path))
    except yamlfile.YamlError as e:
        raise ConfigError(str(e)) from None
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: expected a mapping of parameters at the top level")
    return validate(params, str(path), text)


def parent_variant(variant: dict) -> str | None:
    """The variant whose trained weights this one warm-starts from, if any."""
    m = VARIANT_MODELS.match(variant["init"])
    return m.group(1) if m else None


def replicates(params: dict, variant: str) -> int:
    """How many training seeds a variant has; an evaluate-only checkpoint is one fixed model."""
    v = params["variants"][variant]
    if v.get("evaluate_only"):
        return 1
    return int({**params["train"], **v.get("train", {})}.get("replicates", 1))


def replicate_names(params: dict, variant: str) -> list[str]:
    return [paths.replicate_name(i) for i in range(replicates(params, variant))]


def init_path(params: dict, variant: str, replicate: str) -> str:
    """What one replicate starts from: an architecture yaml, a checkpoint, or the parent variant's
    replicate of the same index (its only model when it has one)."""
    v = params["variants"][variant]
    parent = parent_variant(v)
    if parent is None:
        return v["init"]
    theirs = replicate if replicates(params, parent) > 1 else paths.replicate_name(0)
    return str(paths.model_dir(parent, theirs) / "best.pt")


def train_settings(params: dict, variant: str) -> dict:
    """Global train settings overlaid with the variant's own: the arguments of one training run."""
    settings = {**params["train"], **params["variants"][variant].get("train", {})}
    settings.pop("replicates", None)
    return settings


def stage_params(params: dict, stage: str, item: str | None = None) -> dict:
    """The keys a stage reads: recorded in provenance and used as Snakemake's rerun trigger.

    dvc.yaml lists the same keys for each stage; keep the two in step.
    """
    p = params
    if stage == "prepare":
        sub = {"seed": p["seed"], "dataset": p["dataset"]}
    elif stage == "check":
        sub = {}
    elif stage == "train":  # one replicate's job: the replicate count is not among its inputs
        v = copy.deepcopy(p["variants"][item])
        v.get("train", {}).pop("replicates", None)
        if v.get("train") == {}:
            del v["train"]
        sub = {"seed": p["seed"], "device": p["device"],
               "train": {k: x for k, x in p["train"].items() if k != "replicates"},
               f"variants.{item}": v, f"recipes.{v['recipe']}": p["recipes"][v["recipe"]]}
    elif stage == "perturb":
        sub = {"seed": p["seed"], "dataset.eval_split": p["dataset"]["eval_split"],
               f"perturbations.{item}": p["perturbations"][item]}
    elif stage == "predict":
        sub = {"device": p["device"], "predict": p["predict"], "dataset.eval_split": p["dataset"]["eval_split"]}
    elif stage == "score":
        sub = {"seed": p["seed"], "score": p["score"], "perturbations": p["perturbations"]}
    elif stage == "compare":
        sub = {"seed": p["seed"], "compare": p["compare"], "score.break_drop": p["score"]["break_drop"],
               "variants": p["variants"], "recipes": p["recipes"], "perturbations": p["perturbations"]}
    elif stage == "report":
        sub = {"compare": p["compare"], "score": p["score"], "variants": p["variants"],
               "perturbations": p["perturbations"], "dataset.eval_split": p["dataset"]["eval_split"]}
    else:
        raise KeyError(stage)
    return copy.deepcopy(sub)
