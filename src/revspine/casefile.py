"""Read a case file (YAML or JSON) into a validated :class:`~revspine.domain.case.Case`.

This is the boundary between files and the domain: every foreign error (an unreadable file,
a YAML or JSON syntax error, a pydantic ``ValidationError``) is translated here into one
:class:`~revspine.errors.CaseValidationError` that lists *every* problem as a
:class:`~revspine.errors.FieldProblem` whose path is written the way a clinician reads the file
(``labs[2].unit``, ``symptoms.fever``). Special paths: ``(file)`` (cannot be read or is empty),
``(syntax)`` (not valid YAML/JSON; the message gives line and column) and ``(root)`` (the
document is not a mapping of case fields).

Duplicate keys are rejected in both formats: YAML and JSON parsers silently keep the last one,
which would drop a clinical fact without a word.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from revspine.domain.case import Case
from revspine.errors import CaseValidationError, FhirParseError, FieldProblem, UnitError

if TYPE_CHECKING:
    from revspine.adapters.fhir import ImportResult

__all__ = ["format_loc", "load_case", "load_case_data", "load_case_text"]

FhirImportHook = Callable[["ImportResult"], None]
"""Called with the import result when a case is read from a FHIR Bundle."""
_log = logging.getLogger("revspine.fhir")

_JSON_SUFFIXES = frozenset({".json"})
_YAML_SUFFIXES = frozenset({".yaml", ".yml"})
_MAX_INPUT_REPR = 60
_YAML_TIMESTAMP = "tag:yaml.org,2002:timestamp"


def load_case(
    path: Path, *, as_of: date | None = None, on_fhir_import: FhirImportHook | None = None
) -> Case:
    """Read and validate the case in ``path`` (YAML or JSON, by extension, else by content).

    A JSON FHIR R4 Bundle (``resourceType: Bundle``) is detected and imported; ``as_of`` then
    fixes the age from the birth date, and ``on_fhir_import`` receives the import result (its
    unmapped items, warnings and notes; without a hook they are logged as warnings).

    Raises :class:`CaseValidationError` listing every problem, or
    :class:`~revspine.errors.FhirParseError` for a bad bundle; never a foreign exception.
    """
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise CaseValidationError(
            [FieldProblem("(file)", f"cannot read the file: {reason}")], source
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaseValidationError(
            [
                FieldProblem(
                    "(file)",
                    f"not UTF-8 text (byte {exc.start}): expected a YAML or JSON case file",
                )
            ],
            source,
        ) from None
    if not text.strip():
        raise CaseValidationError(
            [
                FieldProblem(
                    "(file)", "the file is empty: expected a YAML or JSON mapping of case fields"
                )
            ],
            source,
        )
    fmt: Literal["yaml", "json"] = "json" if _is_json(path, text) else "yaml"
    return load_case_text(text, source, fmt, as_of=as_of, on_fhir_import=on_fhir_import)


def load_case_text(
    text: str,
    source: str,
    fmt: Literal["yaml", "json"] | None = None,
    *,
    as_of: date | None = None,
    on_fhir_import: FhirImportHook | None = None,
) -> Case:
    """Parse and validate case text (YAML or JSON; by content when ``fmt`` is None).

    Duplicate keys are rejected in both formats. Raises :class:`CaseValidationError`.
    """
    if not text.strip():
        raise CaseValidationError(
            [
                FieldProblem(
                    "(file)", "the case is empty: expected a YAML or JSON mapping of case fields"
                )
            ],
            source,
        )
    as_json = text.lstrip().startswith(("{", "[")) if fmt is None else fmt == "json"
    data = _parse_json(text, source) if as_json else _parse_yaml(text, source)
    return load_case_data(data, source, as_of=as_of, on_fhir_import=on_fhir_import)


def load_case_data(
    data: object,
    source: str,
    *,
    as_of: date | None = None,
    on_fhir_import: FhirImportHook | None = None,
) -> Case:
    """Validate already-parsed case data (a mapping of case fields, or a FHIR R4 Bundle),
    naming ``source`` in errors."""
    if isinstance(data, dict) and "resourceType" in data:
        return _from_fhir(data, source, as_of, on_fhir_import)
    if data is None:
        raise CaseValidationError(
            [FieldProblem("(file)", "the case is empty: expected a mapping of case fields")], source
        )
    if not isinstance(data, dict):
        raise CaseValidationError(
            [
                FieldProblem(
                    "(root)",
                    f"expected a mapping of case fields (patient, surgeries, symptoms, ...), got {_kind(data)}",
                )
            ],
            source,
        )
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        raise CaseValidationError([_problem(err) for err in exc.errors()], source) from None


def _from_fhir(
    data: dict[str, Any], source: str, as_of: date | None, hook: FhirImportHook | None
) -> Case:
    """Import a FHIR Bundle; its unmapped items go to ``hook`` (or the log), never nowhere."""
    from revspine.adapters.fhir import bundle_to_case

    if data.get("resourceType") != "Bundle":
        raise FhirParseError(
            f"a FHIR {data.get('resourceType')!r} resource, not a Bundle "
            "(revspine reads a FHIR R4 Bundle or a native case file)",
            "$.resourceType",
            source,
        )
    try:
        result = bundle_to_case(data, as_of=as_of)
    except FhirParseError as exc:
        raise FhirParseError(exc.reason, exc.path, source) from None
    if hook is not None:
        hook(result)
    else:
        for item in [*result.warnings, *result.unmapped]:
            _log.warning("%s: FHIR import: %s", source, item)
    return result.case


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


def _is_json(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in _JSON_SUFFIXES:
        return True
    if suffix in _YAML_SUFFIXES:
        return False
    return text.lstrip().startswith(("{", "["))


def _syntax(source: str, message: str) -> CaseValidationError:
    return CaseValidationError([FieldProblem("(syntax)", message)], source)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _json_constant(name: str) -> float:
    raise _NonFinite(name)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _NonFinite(ValueError):
    pass


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_json_pairs, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise _syntax(
            source, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except _DuplicateKey as exc:
        raise _syntax(source, f"duplicate key {exc.key!r} in a JSON object") from None
    except _NonFinite as exc:
        raise _syntax(source, f"{exc.args[0]} is not a number: expected a finite value") from None


def _yaml_loader() -> type[yaml.SafeLoader]:
    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _Loader(base):  # type: ignore[valid-type,misc]
        """Safe YAML loader that rejects duplicate keys."""

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                except TypeError:  # unhashable key: the base constructor reports it
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key!r}",
                        key_node.start_mark,
                    )
                seen.add(key)
            result: dict[Any, Any] = super().construct_mapping(node, deep=deep)
            return result

    # Dates stay strings so that pydantic validates them and names the field (YAML's own
    # timestamp constructor fails on 2024-13-01 with no path).
    _Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _YAML_TIMESTAMP]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    return _Loader


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_yaml_loader())  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = exc.problem or exc.context or "syntax error"
        raise _syntax(source, f"invalid YAML{where}: {what}") from None
    except yaml.YAMLError as exc:
        raise _syntax(source, f"invalid YAML: {exc}") from None
    except (ValueError, TypeError, RecursionError) as exc:  # a value the constructor rejects
        raise _syntax(source, f"invalid YAML: {exc}") from None


# ---------------------------------------------------------------------------------------------
# Validation errors → FieldProblem
# ---------------------------------------------------------------------------------------------


def format_loc(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a readable path: ``("labs", 2, "unit")`` → ``labs[2].unit``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"


def _problem(err: ErrorDetails) -> FieldProblem:
    loc = tuple(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    cause = ctx.get("error")
    if (
        isinstance(cause, BaseException)
        and isinstance(cause.__cause__, UnitError)
        and isinstance(err.get("input"), dict)
        and "unit" in err["input"]
    ):
        # LabResult checks its unit in a model validator: point at the unit itself.
        loc = (*loc, "unit")
    path = format_loc(loc)
    if kind == "missing":
        return FieldProblem(path, "required field is missing")
    if kind == "extra_forbidden":
        return FieldProblem(path, _unknown_field_message(loc))
    if kind in ("value_error", "assertion_error"):
        message = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return FieldProblem(path, message)
    message = err["msg"]
    bad = err.get("input")
    if kind == "literal_error" and "expected" in ctx:
        message = f"expected one of {ctx['expected']}"
    elif kind.startswith("date") and isinstance(ctx.get("error"), str):
        message = f"expected a date YYYY-MM-DD ({ctx['error']})"
    shown = _short(bad)
    if shown is not None:
        message = f"{message}; got {shown}"
    if kind == "literal_error" and isinstance(bad, str):
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        close = difflib.get_close_matches(bad.lower(), options, n=1, cutoff=0.6)
        if close:
            message = f"{message} (did you mean {close[0]!r}?)"
    return FieldProblem(path, message)


def _short(value: Any) -> str | None:
    """A short, neutral rendering of a bad input value, or None when too long to help."""
    if isinstance(value, date):
        text = value.isoformat()
    else:
        try:
            text = json.dumps(value, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= _MAX_INPUT_REPR else None


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _model_at(parts: tuple[int | str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Case
    for part in parts:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        inner = _inner_model(field.annotation) if field is not None else None
        if inner is None:
            return None
        model = inner
    return model


def _all_paths(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(field name, dotted path) for every field of the case tree."""
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        yield name, path
        inner = _inner_model(field.annotation)
        if inner is not None and inner is not model:
            yield from _all_paths(inner, path)


def _unknown_field_message(loc: tuple[int | str, ...]) -> str:
    name = str(loc[-1]) if loc else ""
    parent = _model_at(loc[:-1])
    message = "unknown field (not in the case schema; see `revspine schema case`)"
    if parent is None:
        return message
    elsewhere = [p for n, p in _all_paths(Case) if n == name]
    if elsewhere:
        return f"{message}; it belongs under {' or '.join(elsewhere)}"
    close = difflib.get_close_matches(name, list(parent.model_fields), n=1, cutoff=0.7)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    return message
