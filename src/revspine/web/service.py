"""Case operations shared by the API and the pages: parse, check, assess, store, audit.

No clinical logic lives here: the engine assesses, the store stores. Every operation on a case
appends an audit entry (who, what, which case, from where, outcome): successful writes in the
same transaction as the write, everything else (reads, refusals, failures) on its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from revspine.casefile import load_case_data, load_case_text
from revspine.domain.assessment import Assessment
from revspine.domain.case import Case
from revspine.domain.checks import check_case
from revspine.engine import assess
from revspine.errors import (
    AlreadyExistsError,
    CaseValidationError,
    EngineError,
    FieldProblem,
    InputError,
    NotFoundError,
    StorageError,
    VersionConflictError,
)
from revspine.storage import CaseSummary, CaseVersion, NewVersion, Page, VersionSummary
from revspine.storage.records import Outcome
from revspine.web.auth import Principal
from revspine.web.context import AppContext
from revspine.web.errors import Forbidden, HttpProblem, problem_for

_log = logging.getLogger("revspine.web")
_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CaseFormat = Literal["yaml", "json"] | None


@dataclass(frozen=True)
class Evaluated:
    """A validated case, its assessment date and assessment, ready to be stored."""

    case: Case
    as_of: date
    assessment: Assessment
    version: NewVersion


def canonical_json(data: object) -> str:
    """Sorted-key, compact JSON (what is stored and hashed)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _resolve_as_of(
    case: Case, explicit: date | None, today: date
) -> tuple[date, list[FieldProblem]]:
    if explicit is not None:
        return explicit, []
    if case.assessment_date is None:
        return today, []
    if case.assessment_date > today:
        return case.assessment_date, [
            FieldProblem(
                "assessment_date",
                f"{case.assessment_date.isoformat()} is in the future (after today {today.isoformat()})",
            )
        ]
    return case.assessment_date, []


def evaluate(
    ctx: AppContext, case: Case, as_of: date | None, *, sensitivity: bool = True
) -> Evaluated:
    """Check and assess ``case``; CaseValidationError lists every problem.

    Stored versions carry the decision-sensitivity analysis (``sensitivity``; it only adds to an
    incomplete-workup assessment); the API's assess-only call and the form preview leave it out.
    """
    when, problems = _resolve_as_of(case, as_of, ctx.today())
    problems += check_case(case, when)
    if problems:
        raise CaseValidationError(problems, "case")
    assessment = assess(case, ctx.knowledge, when, sensitivity=sensitivity)
    case_json = canonical_json(case.model_dump(mode="json", by_alias=True, exclude_unset=True))
    version = NewVersion(
        case_json=case_json,
        input_sha256=hashlib.sha256(case_json.encode("utf-8")).hexdigest(),
        as_of=when,
        knowledge_id=assessment.knowledge.id,
        knowledge_version=assessment.knowledge.version,
        knowledge_sha256=assessment.knowledge.sha256,
        assessment_json=assessment.model_dump_json(by_alias=True),
        disposition=assessment.disposition.code,
        site=case.site,
        surgeon=case.surgeon,
    )
    return Evaluated(case, when, assessment, version)


def stored_case(version: CaseVersion) -> Case:
    """The case of a stored version."""
    return load_case_data(json.loads(version.case_json), f"{version.case_id} v{version.version}")


def stored_assessment(version: CaseVersion) -> Assessment:
    """The assessment a stored version produced (as it was stored)."""
    return Assessment.model_validate_json(version.assessment_json)


def case_document(version: CaseVersion) -> dict[str, object]:
    """A stored case in schema field order (for editing)."""
    return stored_case(version).model_dump(mode="json", by_alias=True, exclude_unset=True)


# -- audit ------------------------------------------------------------------------------------
def _reason(exc: BaseException) -> str:
    if isinstance(exc, CaseValidationError):
        return f"invalid case ({len(exc.problems)} problem(s))"
    if isinstance(exc, VersionConflictError):
        return f"conflict: expected v{exc.expected}, latest v{exc.current}"
    if isinstance(exc, AlreadyExistsError):
        return "already exists"
    if isinstance(exc, NotFoundError):
        return "not found"
    if isinstance(exc, HttpProblem):
        return exc.code
    if isinstance(exc, InputError):
        return "invalid input"
    if isinstance(exc, StorageError):
        return "storage error"
    if isinstance(exc, EngineError):
        return f"engine error ({exc.rule_id})"
    return f"error ({type(exc).__name__})"


@contextlib.contextmanager
def audited(
    ctx: AppContext,
    who: Principal,
    action: str,
    entity_id: str | None,
    *,
    detail: str | None = None,
    on_success: bool = True,
) -> Iterator[None]:
    """Audit the enclosed operation: success (unless the store already did) or failure."""
    try:
        yield
    except Exception as exc:
        outcome: Outcome = "failure" if problem_for(exc).status < 500 else "error"
        reason = _reason(exc) if detail is None else f"{detail}; {_reason(exc)}"
        try:
            ctx.store.append_audit(who.event(action, entity_id, outcome=outcome, detail=reason))
        except StorageError:
            _log.error("could not write the audit entry for a failed %s", action)
        raise
    if on_success:
        ctx.store.append_audit(who.event(action, entity_id, detail=detail))


def _require_editor(who: Principal) -> None:
    if not who.user.can_edit:
        raise Forbidden(f"your role ({who.user.role}) may read cases but not create or change them")


def _case_id_for_storage(case: Case) -> str:
    if case.case_id is None:
        raise CaseValidationError(
            [
                FieldProblem(
                    "case_id", "required to store a case (a pseudonymous id, never a name or MRN)"
                )
            ],
            "case",
        )
    if not _CASE_ID.match(case.case_id):
        raise CaseValidationError(
            [
                FieldProblem(
                    "case_id",
                    "to be stored, a case id is 1-64 letters, digits, '.', '_' or '-', "
                    "starting with a letter or digit",
                )
            ],
            "case",
        )
    return case.case_id


CaseInput = str | dict[str, Any]
"""Case text (YAML or JSON) or an already-parsed case document (the structured form)."""


def _peek_case_id(source: CaseInput) -> str | None:
    if isinstance(source, dict):
        value = source.get("case_id")
        return value if isinstance(value, str) and _CASE_ID.match(value) else None
    found = re.search(r"""["']?case_id["']?\s*:\s*["']?([A-Za-z0-9._-]{1,64})""", source)
    return found.group(1) if found else None


def _load(source: CaseInput, fmt: CaseFormat) -> Case:
    if isinstance(source, dict):
        return load_case_data(source, "form")
    return load_case_text(source, "case", fmt)


# -- operations ---------------------------------------------------------------------------------
def create_case(
    ctx: AppContext, who: Principal, text: CaseInput, fmt: CaseFormat, as_of: date | None
) -> CaseVersion:
    """Validate, assess and store a new case (version 1); nothing is stored on any error."""
    with audited(ctx, who, "create", _peek_case_id(text), on_success=False):
        _require_editor(who)
        case = _load(text, fmt)
        case_id = _case_id_for_storage(case)
        evaluated = evaluate(ctx, case, as_of)
        event = who.event("create", case_id, detail="v1")
        stored = ctx.store.create_case(case_id, evaluated.version, who.user.username, event)
    _log.debug("case %s stored as version 1", case_id)  # case ids at DEBUG only
    return stored


def update_case(
    ctx: AppContext,
    who: Principal,
    case_id: str,
    expected_version: int,
    text: CaseInput,
    fmt: CaseFormat,
    as_of: date | None,
) -> CaseVersion:
    """Store a new version if ``expected_version`` is still the latest; else nothing is stored."""
    with audited(ctx, who, "update", case_id, on_success=False):
        _require_editor(who)
        case = _load(text, fmt)
        if case.case_id is None:
            case = case.model_copy(update={"case_id": case_id})
        elif case.case_id != case_id:
            raise CaseValidationError(
                [FieldProblem("case_id", f"must stay {case_id!r} (a case id cannot be changed)")],
                "case",
            )
        evaluated = evaluate(ctx, case, as_of)
        event = who.event("update", case_id, detail=f"v{expected_version + 1}")
        stored = ctx.store.add_version(
            case_id, expected_version, evaluated.version, who.user.username, event
        )
    _log.debug("case %s stored as version %d", case_id, stored.version)
    return stored


def assess_only(
    ctx: AppContext,
    who: Principal,
    text: CaseInput,
    as_of: date | None,
    *,
    detail: str | None = None,
) -> Evaluated:
    """Assess a case (JSON text or a case document) without storing anything (audited as
    ``assess``)."""
    with audited(ctx, who, "assess", _peek_case_id(text), detail=detail):
        return evaluate(ctx, _load(text, "json"), as_of, sensitivity=False)


def read_version(
    ctx: AppContext,
    who: Principal,
    case_id: str,
    version: int | None = None,
    *,
    action: str = "view",
    detail: str | None = None,
) -> CaseVersion:
    """One version (latest when None), audited as a view (or export)."""
    shown = detail or ("latest" if version is None else f"v{version}")
    with audited(ctx, who, action, case_id, detail=shown):
        return ctx.store.get_version(case_id, version)


def read_history(
    ctx: AppContext, who: Principal, case_id: str
) -> tuple[CaseSummary, list[VersionSummary]]:
    """A case and all its versions, audited as a view of the history."""
    with audited(ctx, who, "view", case_id, detail="history"):
        return ctx.store.get_case(case_id), ctx.store.list_versions(case_id)


def search_cases(
    ctx: AppContext,
    who: Principal,
    limit: int,
    cursor: str | None,
    query: str | None,
    disposition: str | None,
) -> Page[CaseSummary]:
    """A page of cases, audited as a query (with its filters)."""
    filters = f"q={query!r} disposition={disposition!r}" if query or disposition else "all"
    with audited(ctx, who, "query", None, detail=filters[:200]):
        return ctx.store.list_cases(limit, cursor, query, disposition)
