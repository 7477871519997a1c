"""Load, validate and merge knowledge files.

The built-in file (``default.toml``) holds every threshold, dose and window a rule uses, each
with its REFERENCE.md sources. A site override is a partial file with the same keys; it may
change values only (never add unknown keys or change a value's type), and the difference from
the base is recorded in every assessment.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from revspine.errors import FieldProblem, KnowledgeSchemaError

Value = bool | int | float | str | list[float]


class Alternative(BaseModel):
    """Another published value for a parameter (REFERENCE.md §10)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: Value
    sources: list[str] = Field(default_factory=list)
    note: str | None = None


class Param(BaseModel):
    """One parameter with its provenance."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: Value
    unit: str | None = None
    sources: list[str] = Field(default_factory=list)
    status: Literal["verified", "unverified", "todo_clinical"] = "verified"
    alternatives: list[Alternative] = Field(default_factory=list)
    note: str | None = None


class Meta(BaseModel):
    """Identity of a knowledge file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    title: str | None = None


class Override(BaseModel):
    """One parameter a site changed."""

    model_config = ConfigDict(frozen=True)
    key: str
    base: Value
    value: Value
    source: str


@dataclass(frozen=True)
class Knowledge:
    """A validated, merged knowledge base; ``value(key)`` is what rules call."""

    meta: Meta
    params: dict[str, Param]
    sha256: str
    overrides: tuple[Override, ...] = ()
    _values: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._values.update({k: p.value for k, p in self.params.items()})

    def value(self, key: str) -> Any:
        """The value of parameter ``key`` (``group.name``); KeyError names it if absent."""
        return self._values[key]

    def num(self, key: str) -> float:
        """A numeric parameter as float."""
        return float(self._values[key])

    def pair(self, key: str) -> tuple[float, float]:
        """A two-element numeric parameter (a band)."""
        lo, hi = self._values[key]
        return float(lo), float(hi)

    @property
    def version(self) -> str:
        """The version string reported in assessments (marks site overrides)."""
        return self.meta.version + ("+site" if self.overrides else "")


def _parse_file(
    data: dict[str, Any], source: str, *, partial: bool
) -> tuple[Meta | None, dict[str, Param]]:
    problems: list[FieldProblem] = []
    meta: Meta | None = None
    params: dict[str, Param] = {}
    for group, table in data.items():
        if group == "meta":
            try:
                meta = Meta.model_validate(table)
            except ValidationError as exc:
                problems.extend(_problems(exc, "meta"))
            continue
        if not isinstance(table, dict):
            problems.append(FieldProblem(group, "expected a table of parameters"))
            continue
        for name, raw in table.items():
            key = f"{group}.{name}"
            if partial and not isinstance(raw, dict):
                raw = {"value": raw}
            try:
                params[key] = Param.model_validate(raw)
            except ValidationError as exc:
                problems.extend(_problems(exc, key))
    if meta is None and not partial:
        problems.append(FieldProblem("meta", "missing [meta] table with id and version"))
    if problems:
        raise KnowledgeSchemaError(source, problems)
    return meta, params


def _problems(exc: ValidationError, prefix: str) -> list[FieldProblem]:
    return [
        FieldProblem(".".join([prefix, *(str(p) for p in err["loc"])]), err["msg"])
        for err in exc.errors()
    ]


def _same_type(base: Value, new: Value) -> bool:
    if isinstance(base, bool) or isinstance(new, bool):
        return isinstance(base, bool) and isinstance(new, bool)
    if isinstance(base, int | float):
        return isinstance(new, int | float)
    if isinstance(base, list):
        return isinstance(new, list) and len(new) == len(base)
    return type(base) is type(new)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise KnowledgeSchemaError(str(path), [FieldProblem("(file)", str(exc))]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeSchemaError(str(path), [FieldProblem("(syntax)", str(exc))]) from exc


def _hash(meta: Meta, params: dict[str, Param]) -> str:
    blob = json.dumps(
        {
            "meta": meta.model_dump(),
            "params": {k: p.model_dump() for k, p in sorted(params.items())},
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()


_DEFAULT_CACHE: dict[str, Knowledge] = {}


def load_knowledge(base: Path | None = None, override: Path | None = None) -> Knowledge:
    """Load the base knowledge file (built-in by default) and merge an optional site override."""
    if base is None and override is None and "default" in _DEFAULT_CACHE:
        return _DEFAULT_CACHE["default"]
    if base is None:
        text = resources.files("revspine.knowledge").joinpath("default.toml").read_bytes()
        data = tomllib.loads(text.decode())
        base_name = "revspine/knowledge/default.toml"
    else:
        data = _read_toml(base)
        base_name = str(base)
    meta, params = _parse_file(data, base_name, partial=False)
    assert meta is not None
    overrides: list[Override] = []
    if override is not None:
        site_meta, site = _parse_file(_read_toml(override), str(override), partial=True)
        problems: list[FieldProblem] = []
        for key, param in site.items():
            if key not in params:
                problems.append(FieldProblem(key, "unknown parameter (not in the base knowledge)"))
            elif not _same_type(params[key].value, param.value):
                problems.append(
                    FieldProblem(
                        key, f"expected a value like {params[key].value!r}, got {param.value!r}"
                    )
                )
        if problems:
            raise KnowledgeSchemaError(str(override), problems)
        for key, param in site.items():
            old = params[key]
            if param.value != old.value:
                overrides.append(
                    Override(key=key, base=old.value, value=param.value, source=override.name)
                )
            update: dict[str, Any] = {"value": param.value}
            if param.sources:
                update["sources"] = param.sources
            if param.note:
                update["note"] = param.note
            params[key] = old.model_copy(update=update)
        if site_meta is not None:
            meta = meta.model_copy(update={"title": f"{meta.title} + {site_meta.id}"})
    knowledge = Knowledge(
        meta=meta, params=params, sha256=_hash(meta, params), overrides=tuple(overrides)
    )
    if base is None and override is None:
        _DEFAULT_CACHE["default"] = knowledge
    return knowledge
