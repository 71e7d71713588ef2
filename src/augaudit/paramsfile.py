"""Load params.yaml strictly (augaudit.yamlfile) and validate it against the JSON schema and the checks a
schema cannot express (ladders, recipes, checkpoints); each stage's own keys are cut out by
augaudit.stageparams.

Errors are one line naming the file, the line and the key path, so a typo is found at once by
Snakemake (which validates at parse time) and by every entry point (which validate before work).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

from augaudit import paths, yamlfile
from augaudit.files import hash_sources, sha256_bytes, write_text
from augaudit.stageparams import parent_variant, replicates, train_settings

PACKAGE = Path(__file__).parent
SCHEMA_PATH = PACKAGE / "schemas" / "params.schema.yaml"


class ParamsError(ValueError):
    """An invalid params file; the message is one line: file:line: key: problem."""


@functools.cache
def _validator_class():
    """jsonschema's Draft 2020-12 validator with two fixes. Built on first use: a job whose params
    already passed (load's cache) does not import jsonschema at all."""
    import jsonschema

    def fullmatch(validator, pattern, instance, schema):
        """JSON Schema's `pattern` as a whole-string match: Python's `$` also matches before a trailing
        newline, so `^[a-z]+$` would accept "evil\n" as a name."""
        if isinstance(instance, str) and not re.fullmatch(pattern, instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")

    # integers are integers: JSON Schema counts 4.0 as one, which then fails deep inside a library
    types = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool))
    return jsonschema.validators.extend(jsonschema.Draft202012Validator, validators={"pattern": fullmatch},
                                        type_checker=types)


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


def _fail(source: str, text: str, path: list, message: str) -> ParamsError:
    line = _key_line(text, path)
    where = f"{source}:{line}" if line else source
    return ParamsError(f"{where}: {_dotted(path)}: {message}")


def validate(params: dict, source: str = "params.yaml", text: str | None = None) -> dict:
    """Check schema and cross-references; return the params unchanged, or raise ParamsError."""
    text = text if text is not None else yaml.safe_dump(params, sort_keys=False)
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    errors = sorted(_validator_class()(schema).iter_errors(params),
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


def _check_dataset(params: dict, source: str, text: str) -> None:
    """A user's data yaml exists, lies outside the project's outputs, and its evaluation split is not the
    folder the variants train on (scores on seen images would look finished and mean nothing)."""
    data = params["dataset"]
    split = data["eval_split"]
    trains = [n for n, v in params["variants"].items() if not v.get("evaluate_only")]
    seen = trains and split == "train"
    if data["source"] != "synthetic":
        resolved = Path(data["source"]).resolve()
        for outputs in (paths.CLEAN.parent, paths.CHECK.parent):  # data/ and results/: what the stages write
            if resolved.is_relative_to(outputs.resolve()):
                raise _fail(source, text, ["dataset", "source"], f"{data['source']} is inside the project's own "
                            f"outputs ({outputs}/, rewritten by the run); point it at the original dataset")
        if not resolved.is_file():
            what = "is a folder: name its data yaml" if resolved.is_dir() else "no such file"
            raise _fail(source, text, ["dataset", "source"], f"{data['source']}: {what} (a YOLO data yaml, or "
                        "synthetic)")
        from augaudit import datasets

        try:
            splits = datasets.read_data_yaml(data["source"])["splits"]
        except datasets.DatasetError as e:
            raise _fail(source, text, ["dataset", "source"], " ".join(str(e).split())) from None
        seen = seen or trains and split in splits and splits[split] == splits.get("train")
    if seen:
        raise _fail(source, text, ["dataset", "eval_split"],
                    f"{split!r} holds the images variant {trains[0]} trains on (the train split"
                    f"{'' if split == 'train' else ' is the same folder'}): its scores would be on seen images; "
                    "evaluate on a held-out split, or make every variant evaluate_only")


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
        if "prescribed" in v and "baseline" not in v:
            raise _fail(source, text, ["variants", name, "prescribed"], "a prescription is validated against the "
                        "variant it was prescribed for: give that variant as `baseline`")
        if "prescribed_for" in v:
            if "prescribed" not in v:
                raise _fail(source, text, ["variants", name, "prescribed_for"], "only a prescribed variant (with "
                            "`prescribed: [factors]`) names the variant it was prescribed for")
            if v["prescribed_for"] not in variants or v["prescribed_for"] == name:
                raise _fail(source, text, ["variants", name, "prescribed_for"],
                            f"{v['prescribed_for']!r}: not another variant of variants")
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
        if parent is None and not Path(v["init"]).is_file():
            raise _fail(source, text, ["variants", name, "init"],
                        f"{v['init']}: no such file (an architecture yaml such as models/yolov8n.yaml, a .pt "
                        "checkpoint, or results/models/<variant> to warm-start)")
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
        sizes = sorted({train_settings(params, v)["imgsz"] for v, spec in variants.items() if spec["recipe"] == name
                        and not spec.get("evaluate_only")})
        for i, spec in enumerate(recipe["albumentations"]):
            try:
                transform = recipes.build_transform(spec)
            except Exception as e:  # Albumentations' own validation: unknown class or bad argument
                raise _fail(source, text, ["recipes", name, "albumentations", i],
                            " ".join(str(e).split())[:300]) from None
            try:  # and run, before any job starts: a recipe must not first fail minutes into training
                for imgsz in sizes:
                    recipes.check_runs(transform, imgsz)
            except ValueError as e:
                raise _fail(source, text, ["recipes", name, "albumentations", i], f"{spec['transform']} {e}") from None
    for name, p in params["perturbations"].items():
        if name not in perturbations.CATALOGUE:
            raise _fail(source, text, ["perturbations", name],
                        f"unknown perturbation; known: {', '.join(sorted(perturbations.CATALOGUE))}")
        ladder = p.get("ladder", perturbations.CATALOGUE[name].ladder)
        for i, value in enumerate(p.get("ladder", [])):
            if problem := perturbations.CATALOGUE[name].ladder_problem(value):
                raise _fail(source, text, ["perturbations", name, "ladder", i], problem)
        if max(p["severities"]) > len(ladder):
            raise _fail(source, text, ["perturbations", name, "severities"],
                        f"severity {max(p['severities'])} is beyond the ladder of {len(ladder)} levels")
    _check_dataset(params, source, text)
    zones = params["compare"]["zones"]
    if zones["yellow"] >= zones["red"]:
        raise _fail(source, text, ["compare", "zones"], "yellow must be below red")


def load(path: str | Path = "params.yaml", cache: Path | None = None) -> dict:
    """Read and validate a params file (strict safe YAML: never executes anything, see yamlfile).

    With `cache` (a folder), a file whose text already passed with this very code is not validated
    again: validation runs every recipe and builds the perturbation catalogue, which imports
    Albumentations and torch (seconds), and Snakemake plans on every invocation.
    """
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: {'a folder, not a params file' if path.is_dir() else 'params file not found'}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        byte = e.object[e.start:e.start + 1]
        raise ParamsError(f"{path}: not UTF-8 text (byte {byte!r} at offset {e.start})") from None
    try:
        params = yamlfile.load(text, str(path))
    except yamlfile.YamlError as e:
        raise ParamsError(str(e)) from None
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: expected a mapping of parameters at the top level")
    passed = cache / f"valid-{sha256_bytes(text.encode() + hash_sources(PACKAGE).encode())[:32]}" if cache else None
    if passed is not None and passed.is_file():
        return params
    validate(params, str(path), text)
    if passed is not None:
        write_text(passed, "")
    return params
