"""The trace matrix: requirement → rules/code → tests, hazard → controls → tests, rule → tests.

``build_trace`` is a pure function of the safety data, the registered rules and the collected
tests, so that a test can check it on a modified copy (an extra, untested rule) without touching
the repository. ``collect_tests`` runs ``pytest --collect-only`` with the collector plugin.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from revspine.governance.safety_data import (
    HAZARD_ID,
    REQUIREMENT_ID,
    RULE_ID,
    Hazard,
    Requirement,
    SafetyData,
)
from revspine.rules.registry import Rule


@dataclass(frozen=True)
class CollectedTest:
    """One collected test and the trace ids it names."""

    nodeid: str
    ids: tuple[str, ...]
    xfail: bool = False

    @property
    def function(self) -> str:
        """The test function without its parametrisation (``file::test_name``)."""
        return self.nodeid.split("[", 1)[0]


@dataclass(frozen=True)
class Collection:
    """The tests pytest collected, and any collection errors."""

    tests: tuple[CollectedTest, ...]
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequirementRow:
    """A requirement with the rules and code implementing it and the tests verifying it."""

    requirement: Requirement
    rules: tuple[str, ...]
    tests: tuple[str, ...]


@dataclass(frozen=True)
class RuleRow:
    """A rule with the requirements it serves and the tests verifying it."""

    id: str
    title: str
    requirements: tuple[str, ...]
    tests: tuple[str, ...]


@dataclass(frozen=True)
class HazardRow:
    """A hazard, its risk before and after control, and the tests verifying it."""

    hazard: Hazard
    risk_before: str
    risk_after: str
    tests: tuple[str, ...]


@dataclass
class TraceMatrix:
    """The whole trace matrix and the problems ``--check`` fails on."""

    requirements: list[RequirementRow] = field(default_factory=list)
    rules: list[RuleRow] = field(default_factory=list)
    hazards: list[HazardRow] = field(default_factory=list)
    untraced_tests: list[str] = field(default_factory=list)
    open_findings: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    test_count: int = 0

    @property
    def ok(self) -> bool:
        """True when every rule, requirement and hazard is traced and verified."""
        return not self.problems


def resolve_code(ref: str) -> bool:
    """Whether ``module`` or ``module:attribute`` names existing code."""
    module, _, attr = ref.partition(":")
    try:
        obj: object = importlib.import_module(module)
    except ImportError:
        return False
    for part in filter(None, attr.split(".")):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def _group(nodeids: Iterable[str]) -> tuple[str, ...]:
    """Test functions (parametrisations folded), in collection order."""
    return tuple(dict.fromkeys(n.split("[", 1)[0] for n in nodeids))


def build_trace(
    safety: SafetyData,
    rules: Sequence[Rule],
    collection: Collection,
    *,
    code_exists: Callable[[str], bool] = resolve_code,
) -> TraceMatrix:
    """Build the trace matrix and list every gap (see ``safety/README.md`` for the checks)."""
    m = TraceMatrix(test_count=len(collection.tests))
    problems = m.problems
    problems.extend(f"collection error: {e}" for e in collection.errors)
    req_ids = safety.requirement_ids()
    haz_ids = {h.id for h in safety.hazards}
    rule_ids = {r.id for r in rules}
    by_id: dict[str, list[str]] = {}
    for t in collection.tests:
        if not t.ids:
            m.untraced_tests.append(t.nodeid)
        if t.xfail:  # an expected failure is an open finding, not a verification
            m.open_findings.append((t.nodeid, t.ids))
        for tid in t.ids:
            if not t.xfail:
                by_id.setdefault(tid, []).append(t.nodeid)
            known = tid in req_ids or tid in haz_ids or tid in rule_ids
            if not known:
                valid = REQUIREMENT_ID.match(tid) or HAZARD_ID.match(tid) or RULE_ID.match(tid)
                what = "unknown id" if valid else "not a REQ-/HAZ-/rule id"
                problems.append(f"test {t.nodeid} names {tid!r}: {what}")
    m.untraced_tests = list(_group(m.untraced_tests))

    rules_of: dict[str, list[str]] = {}
    for r in rules:
        tests = _group(by_id.get(r.id, ()))
        m.rules.append(RuleRow(r.id, r.title, tuple(r.requirements), tests))
        if not r.requirements:
            problems.append(f"rule {r.id} names no requirement")
        for rid in r.requirements:
            if rid not in req_ids:
                problems.append(f"rule {r.id} names unknown requirement {rid}")
            rules_of.setdefault(rid, []).append(r.id)
        if not tests:
            problems.append(f"rule {r.id} has no test")

    for req in safety.requirements:
        implementing = tuple(rules_of.get(req.id, ()))
        tests = _group(by_id.get(req.id, ()))
        m.requirements.append(RequirementRow(req, implementing, tests))
        if req.kind == "pathway" and not implementing:
            problems.append(f"requirement {req.id} (pathway) is implemented by no rule")
        elif not implementing and not req.code:
            problems.append(f"requirement {req.id} is implemented by no rule and no code")
        for ref in req.code:
            if not code_exists(ref):
                problems.append(f"requirement {req.id}: code {ref!r} does not exist")
        if not tests:
            problems.append(f"requirement {req.id} has no test")

    policy = safety.policy
    for hz in safety.hazards:
        tests = _group(by_id.get(hz.id, ()))
        before = policy.risk(hz.severity, hz.probability)
        after = policy.risk(hz.severity, hz.residual_probability)
        m.hazards.append(HazardRow(hz, before, after, tests))
        active = [c for c in hz.controls if c.kind != "information"]
        if not active:
            problems.append(f"hazard {hz.id} has no control (rule, requirement or code)")
        for c in active:
            if c.kind == "rule" and c.ref not in rule_ids:
                problems.append(f"hazard {hz.id}: control rule {c.ref} is not registered")
            elif c.kind == "requirement" and c.ref not in req_ids:
                problems.append(f"hazard {hz.id}: control requirement {c.ref} does not exist")
            elif c.kind == "code" and not code_exists(c.ref):
                problems.append(f"hazard {hz.id}: control code {c.ref!r} does not exist")
        if not tests:
            problems.append(f"hazard {hz.id} has no verifying test")
        if after == "unacceptable":
            problems.append(f"hazard {hz.id}: residual risk is unacceptable")
    return m


def collect_tests(root: Path, tests_dir: Path | None = None) -> Collection:
    """Collect the tests under ``tests_dir`` (default ``root/tests``) with pytest, in a
    subprocess run from the folder above them, and return them with their trace ids."""
    target = (tests_dir or root / "tests").resolve()
    cwd = target.parent
    with tempfile.TemporaryDirectory(prefix="revspine-trace-") as tmp:
        out = Path(tmp) / "collected.json"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "revspine.governance.collect",
            "-p",
            "no:cacheprovider",
            f"--revspine-trace-out={out}",
            f"--rootdir={cwd}",
            str(target),
        ]
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
        if not out.is_file():
            tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
            return Collection((), (f"pytest collection failed: {' | '.join(tail)}",))
        data = json.loads(out.read_text())
    tests = tuple(
        CollectedTest(t["nodeid"], tuple(t["ids"]), bool(t.get("xfail"))) for t in data["tests"]
    )
    return Collection(tests, tuple(data["errors"]))
