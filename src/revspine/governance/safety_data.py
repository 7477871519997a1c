"""Load and validate ``safety/requirements.toml`` and ``safety/hazards.toml``.

Requirements (``REQ-…``) say what the software must do; hazards (``HAZ-…``) say how wrong or
missing advice could harm a patient and which controls prevent it. Both are data so that the
trace matrix (``revspine trace``) can be generated and checked in CI.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revspine.errors import FieldProblem, SafetyFileError

REQUIREMENT_ID = re.compile(r"^REQ-\d{3}$")
HAZARD_ID = re.compile(r"^HAZ-\d{3}$")
RULE_ID = re.compile(r"^(RF|DX|WU|DS|OP|PL|PO|NS)\d{3}$")
KINDS = ("pathway", "safety", "contract", "governance", "integration")
CONTROL_KINDS = ("rule", "requirement", "code", "information")
REQUIREMENTS_FILE = "requirements.toml"
HAZARDS_FILE = "hazards.toml"


@dataclass(frozen=True)
class Requirement:
    """One software requirement."""

    id: str
    title: str
    kind: str
    text: str
    source: tuple[str, ...] = ()
    code: tuple[str, ...] = ()


@dataclass(frozen=True)
class Control:
    """One risk control of a hazard: a rule, a requirement, code, or information for safety."""

    kind: str
    ref: str = ""
    text: str = ""

    def label(self) -> str:
        """Short text for the trace matrix."""
        return self.text if self.kind == "information" else self.ref


@dataclass(frozen=True)
class Hazard:
    """One hazard with its risk estimate and controls (ISO 14971)."""

    id: str
    title: str
    cause: str
    situation: str
    harm: str
    severity: str
    probability: str
    residual_probability: str
    controls: tuple[Control, ...] = ()


@dataclass(frozen=True)
class RiskPolicy:
    """The qualitative risk matrix: ordered scales and the acceptability cut-offs."""

    severity: tuple[str, ...]
    probability: tuple[str, ...]
    acceptable_max: int
    alarp_max: int
    note: str = ""

    def risk(self, severity: str, probability: str) -> str:
        """'acceptable', 'ALARP' or 'unacceptable' for one severity/probability pair."""
        score = self.severity.index(severity) + self.probability.index(probability)
        if score <= self.acceptable_max:
            return "acceptable"
        if score <= self.alarp_max:
            return "ALARP"
        return "unacceptable"


@dataclass(frozen=True)
class SafetyData:
    """Requirements, hazards and the risk policy of one repository."""

    requirements: tuple[Requirement, ...]
    hazards: tuple[Hazard, ...]
    policy: RiskPolicy
    sources: tuple[str, ...] = field(default=())

    def requirement_ids(self) -> set[str]:
        """Every requirement id."""
        return {r.id for r in self.requirements}


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise SafetyFileError(str(path), [FieldProblem("(file)", str(exc))]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise SafetyFileError(str(path), [FieldProblem("(syntax)", str(exc))]) from exc


def _strs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError("expected a string or a list of strings")


def _text(entry: dict[str, Any], key: str, where: str, problems: list[FieldProblem]) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(FieldProblem(f"{where}.{key}", "required text is missing"))
        return ""
    return " ".join(value.split())


def parse_requirements(data: dict[str, Any], source: str) -> tuple[Requirement, ...]:
    """Validate the ``[[requirement]]`` tables of ``requirements.toml``."""
    problems: list[FieldProblem] = []
    out: list[Requirement] = []
    seen: set[str] = set()
    entries = data.get("requirement")
    if not isinstance(entries, list) or not entries:
        raise SafetyFileError(source, [FieldProblem("requirement", "no [[requirement]] tables")])
    for i, entry in enumerate(entries):
        where = f"requirement[{i}]"
        rid = entry.get("id")
        if not isinstance(rid, str) or not REQUIREMENT_ID.match(rid):
            problems.append(FieldProblem(f"{where}.id", f"{rid!r} is not an id like REQ-001"))
            continue
        where = rid
        if rid in seen:
            problems.append(FieldProblem(where, "duplicate requirement id"))
        seen.add(rid)
        unknown = set(entry) - {"id", "title", "kind", "text", "source", "code"}
        for key in sorted(unknown):
            problems.append(FieldProblem(f"{where}.{key}", "unknown key"))
        kind = entry.get("kind")
        if kind not in KINDS:
            problems.append(FieldProblem(f"{where}.kind", f"expected one of {', '.join(KINDS)}"))
        try:
            src = _strs(entry.get("source", []))
            code = _strs(entry.get("code", []))
        except TypeError as exc:
            problems.append(FieldProblem(f"{where}.source/code", str(exc)))
            src, code = (), ()
        out.append(
            Requirement(
                id=rid,
                title=_text(entry, "title", where, problems),
                kind=str(kind),
                text=_text(entry, "text", where, problems),
                source=src,
                code=code,
            )
        )
    if problems:
        raise SafetyFileError(source, problems)
    return tuple(out)


def parse_hazards(data: dict[str, Any], source: str) -> tuple[tuple[Hazard, ...], RiskPolicy]:
    """Validate the ``[policy]`` and ``[[hazard]]`` tables of ``hazards.toml``."""
    problems: list[FieldProblem] = []
    raw_policy = data.get("policy")
    if not isinstance(raw_policy, dict):
        raise SafetyFileError(source, [FieldProblem("policy", "missing [policy] table")])
    try:
        policy = RiskPolicy(
            severity=_strs(raw_policy["severity"]),
            probability=_strs(raw_policy["probability"]),
            acceptable_max=int(raw_policy["acceptable_max"]),
            alarp_max=int(raw_policy["alarp_max"]),
            note=" ".join(str(raw_policy.get("note", "")).split()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SafetyFileError(source, [FieldProblem("policy", f"invalid: {exc}")]) from exc
    out: list[Hazard] = []
    seen: set[str] = set()
    entries = data.get("hazard")
    if not isinstance(entries, list) or not entries:
        raise SafetyFileError(source, [FieldProblem("hazard", "no [[hazard]] tables")])
    for i, entry in enumerate(entries):
        hid = entry.get("id")
        if not isinstance(hid, str) or not HAZARD_ID.match(hid):
            problems.append(FieldProblem(f"hazard[{i}].id", f"{hid!r} is not an id like HAZ-001"))
            continue
        if hid in seen:
            problems.append(FieldProblem(hid, "duplicate hazard id"))
        seen.add(hid)
        for key, scale in (
            ("severity", policy.severity),
            ("probability", policy.probability),
            ("residual_probability", policy.probability),
        ):
            if entry.get(key) not in scale:
                problems.append(FieldProblem(f"{hid}.{key}", f"expected one of {', '.join(scale)}"))
        controls: list[Control] = []
        for j, c in enumerate(entry.get("controls", [])):
            where = f"{hid}.controls[{j}]"
            kind = c.get("kind") if isinstance(c, dict) else None
            if kind not in CONTROL_KINDS:
                problems.append(
                    FieldProblem(where, f"kind must be one of {', '.join(CONTROL_KINDS)}")
                )
                continue
            assert isinstance(c, dict)
            if kind == "information":
                if not isinstance(c.get("text"), str) or not c["text"].strip():
                    problems.append(FieldProblem(where, "information control needs a text"))
                    continue
                controls.append(Control(kind="information", text=" ".join(c["text"].split())))
            else:
                ref = c.get("ref")
                if not isinstance(ref, str) or not ref:
                    problems.append(FieldProblem(where, f"{kind} control needs a ref"))
                    continue
                controls.append(Control(kind=kind, ref=ref))
        if entry.get("severity") in policy.severity and all(
            entry.get(k) in policy.probability for k in ("probability", "residual_probability")
        ):
            if policy.probability.index(entry["residual_probability"]) > policy.probability.index(
                entry["probability"]
            ):
                problems.append(
                    FieldProblem(
                        f"{hid}.residual_probability", "is higher than before the controls"
                    )
                )
        out.append(
            Hazard(
                id=hid,
                title=_text(entry, "title", hid, problems),
                cause=_text(entry, "cause", hid, problems),
                situation=_text(entry, "situation", hid, problems),
                harm=_text(entry, "harm", hid, problems),
                severity=str(entry.get("severity")),
                probability=str(entry.get("probability")),
                residual_probability=str(entry.get("residual_probability")),
                controls=tuple(controls),
            )
        )
    if problems:
        raise SafetyFileError(source, problems)
    return tuple(out), policy


def load_safety(directory: Path) -> SafetyData:
    """Load ``requirements.toml`` and ``hazards.toml`` from ``directory`` (``safety/``)."""
    req_path = directory / REQUIREMENTS_FILE
    haz_path = directory / HAZARDS_FILE
    requirements = parse_requirements(_read(req_path), str(req_path))
    hazards, policy = parse_hazards(_read(haz_path), str(haz_path))
    return SafetyData(requirements, hazards, policy, (str(req_path), str(haz_path)))


def find_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding ``safety/requirements.toml``."""
    for directory in (start, *start.parents):
        if (directory / "safety" / REQUIREMENTS_FILE).is_file():
            return directory
    return None
