"""The mapping data of the FHIR adapter (``maps/*.csv``), loaded once and checked at load.

* ``codes.csv`` — coded elements (LOINC, SNOMED CT, ICD-10-CM, revspine-local) → case targets;
* ``keywords.csv`` — display-text rules, used only when no coding matched (all ``local``);
* ``targets.csv`` — how a Condition's status sets each case field, and the text exported for it.

Every file starts with ``#`` header lines naming its source and version; every row has a
``verified`` column (``yes`` | ``unverified`` | ``local``). A malformed file fails fast with
:class:`~revspine.errors.KnowledgeSchemaError` naming the file, the line and the reason.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from revspine._memo import remember
from revspine.errors import FieldProblem, KnowledgeSchemaError

__all__ = ["CodeRow", "KeywordRow", "Maps", "TargetRow", "load_maps", "norm_code"]

VERIFIED = frozenset({"yes", "unverified", "local"})
_TARGET_RE = re.compile(
    r"^(?:lab:[a-z0-9_]+|patient\.weight|patient\.height|smoking|nrs|note:.+|ignore:.+|refuse:.+"
    r"|score=\d+|[a-z0-9_.]+(?:=[a-z_]+)?)$"
)
_CONTEXTS = frozenset(
    {
        "condition",
        "smoking",
        "procedure",
        "procedure.region",
        "procedure.instrumented",
        "procedure.approach",
        "procedure.interbody",
        "procedure.complication",
        "allergy.none",
        "allergy.substance",
        "allergy.reaction",
        "medication",
        "pain_site",
    }
)
_STATUS_RULES = frozenset({"current", "history", "cancer"})
_TEXT_CACHE_SIZE = 4096


def norm_code(code: str) -> str:
    """A code compared without dots, surrounding space or case (``m96.1`` = ``M961``)."""
    return code.strip().replace(".", "").upper()


@dataclass(frozen=True)
class CodeRow:
    """One coded mapping (a row of ``codes.csv``)."""

    resource: str
    system: str
    code: str
    match: str
    display: str
    target: str
    verified: str
    source: str
    export: str
    line: int


@dataclass(frozen=True)
class KeywordRow:
    """One display-text rule (a row of ``keywords.csv``)."""

    context: str
    pattern: re.Pattern[str]
    require: re.Pattern[str] | None
    exclude: re.Pattern[str] | None
    target: str
    note: str
    line: int

    def fires(self, text: str) -> bool:
        """True when the rule matches ``text``."""
        return (
            self.pattern.search(text) is not None
            and (self.require is None or self.require.search(text) is not None)
            and (self.exclude is None or self.exclude.search(text) is None)
        )


@dataclass(frozen=True)
class TargetRow:
    """Status semantics and export text of one case field set by Conditions."""

    target: str
    status: str
    export_text: str


@dataclass(frozen=True)
class Maps:
    """All mapping data, indexed for lookup."""

    versions: dict[str, str]
    exact: dict[tuple[str, str, str], tuple[CodeRow, ...]]
    prefixes: dict[tuple[str, str], tuple[CodeRow, ...]]
    keywords: dict[str, tuple[KeywordRow, ...]]
    targets: dict[str, TargetRow]
    rows: tuple[CodeRow, ...]
    _text_cache: dict[tuple[str, str], tuple[KeywordRow, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _code_cache: dict[tuple[str, str, str], tuple[CodeRow, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _memos: dict[str, dict[Any, Any]] = field(default_factory=dict, compare=False, repr=False)

    def memo(self, name: str) -> dict[Any, Any]:
        """The cache ``name`` for values that the importer derives from these maps alone (such
        as what a Condition code means). It lives with the maps, so it never outlives them;
        fill it with :func:`revspine._memo.remember`, which keeps it bounded."""
        found = self._memos.get(name)
        if found is None:
            found = self._memos[name] = {}
        return found

    def lookup(self, resource: str, system: str, code: str) -> tuple[CodeRow, ...]:
        """Rows of ``resource`` for (system, code): exact matches, else prefix matches (cached,
        since the same codes recur in every record)."""
        if type(code) is not str:
            return self._lookup(resource, system, code)
        key = (resource, system, code)
        found = self._code_cache.get(key)
        if found is None:
            found = remember(self._code_cache, key, self._lookup(resource, system, code))
        return found

    def _lookup(self, resource: str, system: str, code: str) -> tuple[CodeRow, ...]:
        """:meth:`lookup` without the cache."""
        key = norm_code(code)
        found = self.exact.get((resource, system, key))
        if found:
            return found
        return tuple(
            row
            for row in self.prefixes.get((resource, system), ())
            if key.startswith(norm_code(row.code))
        )

    def match_text(self, context: str, text: str) -> list[KeywordRow]:
        """Keyword rules of ``context`` that fire on ``text`` (in file order; cached, since
        EHR display texts repeat)."""
        key = (context, text)
        found = self._text_cache.get(key)
        if found is None:
            if len(self._text_cache) >= _TEXT_CACHE_SIZE:
                self._text_cache.clear()
            found = tuple(rule for rule in self.keywords.get(context, ()) if rule.fires(text))
            self._text_cache[key] = found
        return list(found)

    def export_row(self, resource: str, target: str, unit: str | None = None) -> CodeRow | None:
        """The coding ``case_to_bundle`` writes for ``target`` (``unit=`` rows win for their unit)."""
        fallback = None
        for row in self.rows:
            if row.resource != resource or row.target != target:
                continue
            if unit is not None and row.export == f"unit={unit}":
                return row
            if row.export == "yes" and fallback is None:
                fallback = row
        return fallback


def _rows(name: str) -> tuple[dict[str, str], Iterator[tuple[int, dict[str, str]]]]:
    text = resources.files("revspine.adapters.fhir").joinpath("maps", name).read_text("utf-8")
    header: dict[str, str] = {}
    body: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            header.setdefault(key.strip(), value.strip())
        elif line.strip():
            body.append((number, line))
    problems = [f for f in ("source", "version") if f not in header]
    if problems:
        raise KnowledgeSchemaError(
            f"maps/{name}", [FieldProblem("(header)", f"missing '# {f}:' line") for f in problems]
        )
    reader = csv.reader(io.StringIO("\n".join(line for _, line in body)))
    lines = [n for n, _ in body]
    columns = next(reader)

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for index, values in enumerate(reader, start=1):
            if len(values) != len(columns):
                raise _problem(
                    name, lines[index], f"{len(values)} columns, expected {len(columns)}"
                )
            yield lines[index], dict(zip(columns, values, strict=True))

    return header, rows()


def _problem(name: str, line: int, message: str) -> KnowledgeSchemaError:
    return KnowledgeSchemaError(f"maps/{name}", [FieldProblem(f"line {line}", message)])


def _regex(name: str, line: int, pattern: str) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise _problem(name, line, f"bad regular expression {pattern!r}: {exc}") from None


@functools.cache
def load_maps() -> Maps:
    """Load and check every map file (cached)."""
    versions: dict[str, str] = {}
    code_rows: list[CodeRow] = []
    header, rows = _rows("codes.csv")
    versions["codes.csv"] = header["version"]
    for line, row in rows:
        item = CodeRow(line=line, **row)
        if item.verified not in VERIFIED:
            raise _problem("codes.csv", line, f"verified must be one of {sorted(VERIFIED)}")
        if item.match not in ("exact", "prefix"):
            raise _problem("codes.csv", line, "match must be 'exact' or 'prefix'")
        if not _TARGET_RE.match(item.target):
            raise _problem("codes.csv", line, f"unknown target {item.target!r}")
        if not item.system or not item.code:
            raise _problem("codes.csv", line, "system and code are required")
        code_rows.append(item)
    exact: dict[tuple[str, str, str], list[CodeRow]] = {}
    prefixes: dict[tuple[str, str], list[CodeRow]] = {}
    for item in code_rows:
        if item.match == "exact":
            exact.setdefault((item.resource, item.system, norm_code(item.code)), []).append(item)
        else:
            prefixes.setdefault((item.resource, item.system), []).append(item)

    keywords: dict[str, list[KeywordRow]] = {}
    header, rows = _rows("keywords.csv")
    versions["keywords.csv"] = header["version"]
    for line, row in rows:
        if row["context"] not in _CONTEXTS:
            raise _problem("keywords.csv", line, f"unknown context {row['context']!r}")
        if row["verified"] != "local":
            raise _problem("keywords.csv", line, "keyword rules are always verified=local")
        if not _TARGET_RE.match(row["target"]):
            raise _problem("keywords.csv", line, f"unknown target {row['target']!r}")
        pattern = _regex("keywords.csv", line, row["pattern"])
        if pattern is None:
            raise _problem("keywords.csv", line, "pattern is required")
        keywords.setdefault(row["context"], []).append(
            KeywordRow(
                context=row["context"],
                pattern=pattern,
                require=_regex("keywords.csv", line, row["require"]),
                exclude=_regex("keywords.csv", line, row["exclude"]),
                target=row["target"],
                note=row["note"],
                line=line,
            )
        )

    targets: dict[str, TargetRow] = {}
    header, rows = _rows("targets.csv")
    versions["targets.csv"] = header["version"]
    for line, row in rows:
        if row["status"] not in _STATUS_RULES:
            raise _problem("targets.csv", line, f"status must be one of {sorted(_STATUS_RULES)}")
        if row["verified"] != "local":
            raise _problem("targets.csv", line, "target rows are always verified=local")
        targets[row["target"]] = TargetRow(row["target"], row["status"], row["export_text"])
    return Maps(
        versions=versions,
        exact={k: tuple(v) for k, v in exact.items()},
        prefixes={k: tuple(v) for k, v in prefixes.items()},
        keywords={k: tuple(v) for k, v in keywords.items()},
        targets=targets,
        rows=tuple(code_rows),
    )
