"""Human pages for cases: list and search, assessment view, create/edit form, history, export."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import yaml
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from revspine.domain.assessment import Disposition
from revspine.errors import CaseValidationError, FieldProblem, RevspineError, VersionConflictError
from revspine.storage import CaseVersion
from revspine.web import form, service
from revspine.web.auth import Principal, form_principal, page_principal
from revspine.web.context import AppContext, app_context
from revspine.web.diff import fact_changes, recommendation_changes
from revspine.web.documents import json_response, version_doc
from revspine.web.errors import Forbidden, problem_for
from revspine.web.pages_figures import case_figures
from revspine.web.pages_form import FormTarget, form_page, submit
from revspine.web.render import render, report_document, report_parts

router = APIRouter(include_in_schema=False)

PageUser = Annotated[Principal, Depends(page_principal)]
FormUser = Annotated[Principal, Depends(form_principal)]
CaseText = Annotated[str | None, Form(max_length=1_000_000)]
Mode = Annotated[Literal["form", "text"], Query()]
FormatField = Annotated[str, Form(pattern="^(auto|yaml|json)$")]
AsOfField = Annotated[str, Form(max_length=10)]


def _as_of(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CaseValidationError(
            [FieldProblem("as_of", "expected a date YYYY-MM-DD")], "form"
        ) from None


def _fmt(value: str) -> service.CaseFormat:
    return None if value == "auto" else "json" if value == "json" else "yaml"


def _knowledge_for(ctx: AppContext, version: CaseVersion) -> Any:
    return ctx.knowledge if ctx.knowledge.sha256 == version.knowledge_sha256 else None


@router.get("/")
def home() -> Response:
    """The case list is the home page."""
    return RedirectResponse("/cases", status_code=303)


@router.get("/cases")
def case_list(
    request: Request,
    who: PageUser,
    q: Annotated[str, Query(max_length=64)] = "",
    disposition: Disposition | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Cases by id, with a case-id search and a disposition filter."""
    ctx = app_context(request)
    page = service.search_cases(ctx, who, ctx.settings.page_size, cursor, q or None, disposition)
    params = {k: v for k, v in {"q": q, "disposition": disposition or ""}.items() if v}
    next_query = urlencode({**params, "cursor": page.next_cursor or ""})
    context = {"page": page, "q": q, "disposition": disposition or "", "next_query": next_query}
    return render(request, "cases.html", context)


def _form(request: Request, status: int = 200, **context: Any) -> Response:
    defaults: dict[str, Any] = {
        "case_id": None,
        "expected_version": None,
        "message": "",
        "problems": [],
        "conflict": None,
    }
    defaults.update({"case_text": "", "fmt": "auto", "as_of": ""})
    return render(request, "case_text.html", {**defaults, **context}, status)


def _refused(request: Request, exc: RevspineError | Forbidden, **context: Any) -> Response:
    problem = problem_for(exc)
    conflict = exc if isinstance(exc, VersionConflictError) else None
    message = "The case was not saved." if problem.fields else problem.message
    return _form(
        request,
        problem.status,
        message=message,
        problems=problem.fields,
        conflict=conflict,
        **context,
    )


async def _posted(request: Request) -> dict[str, str]:
    """Every text field of the posted form (the structured form has a control per case field)."""
    posted = await request.form()
    return {k: v for k, v in posted.multi_items() if isinstance(v, str)}


Posted = Annotated[dict[str, str], Depends(_posted)]


def _require_editor(who: Principal, verb: str) -> None:
    if not who.user.can_edit:
        raise Forbidden(f"your role ({who.user.role}) may read cases but not {verb} them")


@router.get("/cases/new")
def new_case_form(request: Request, who: PageUser, mode: Mode = "form") -> Response:
    """An empty case form, structured like the pathway (``?mode=text``: YAML/JSON; editors only)."""
    _require_editor(who, "create")
    if mode == "text":
        return _form(request)
    return form_page(request, FormTarget(), {}, extra_rows={"surgeries": 1})


@router.post("/cases/new")
def create_case(
    request: Request,
    posted: Posted,
    who: FormUser,
    case_text: CaseText = None,
    fmt: FormatField = "auto",
    as_of: AsOfField = "",
) -> Response:
    """Validate, assess and store a new case; show every problem and store nothing if invalid."""
    if case_text is None:
        return submit(request, who, FormTarget(), posted)
    ctx = app_context(request)
    kept = {"case_text": case_text, "fmt": fmt, "as_of": as_of}
    try:
        stored = service.create_case(ctx, who, case_text, _fmt(fmt), _as_of(as_of))
    except (RevspineError, Forbidden) as exc:
        return _refused(request, exc, **kept)
    return RedirectResponse(f"/cases/{stored.case_id}", status_code=303)


def _case_page(request: Request, version: CaseVersion, latest: int) -> Response:
    ctx = app_context(request)
    case, assessment = service.stored_case(version), service.stored_assessment(version)
    knowledge = _knowledge_for(ctx, version)
    style, body = report_parts(assessment, case, knowledge)
    # The figures go after the report's summary, before the differential.
    head, marker, rest = str(body).partition('<section id="differential"')
    context = {
        "version": version,
        "latest": latest,
        "report_style": style,
        "report_head": Markup(head) if marker else Markup(""),  # noqa: S704 - the report's own
        "report_body": Markup(marker + rest) if marker else body,  # noqa: S704
        **case_figures(ctx, version, case, assessment),
    }
    return render(request, "case.html", context)


@router.get("/cases/{case_id}")
def case_view(request: Request, who: PageUser, case_id: str) -> Response:
    """The latest assessment of a case (the HTML report, embedded)."""
    version = service.read_version(app_context(request), who, case_id)
    return _case_page(request, version, version.version)


@router.get("/cases/{case_id}/versions/{number}")
def version_view(request: Request, who: PageUser, case_id: str, number: int) -> Response:
    """The assessment a past version produced, as it was stored."""
    ctx = app_context(request)
    version = service.read_version(ctx, who, case_id, number)
    return _case_page(request, version, ctx.store.get_case(case_id).latest_version)


@router.get("/cases/{case_id}/edit")
def edit_form(request: Request, who: PageUser, case_id: str, mode: Mode = "form") -> Response:
    """The latest version in the structured form (``?mode=text``: as YAML), with its version
    number for the save."""
    _require_editor(who, "change")
    version = service.read_version(app_context(request), who, case_id, detail="edit form")
    document = service.case_document(version)
    if mode == "form":
        target = FormTarget(case_id, version.version)
        return form_page(request, target, form.from_case(document))
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    return _form(request, case_id=case_id, expected_version=version.version, case_text=text)


@router.post("/cases/{case_id}/edit")
def update_case(
    request: Request,
    posted: Posted,
    who: FormUser,
    case_id: str,
    expected_version: Annotated[int, Form(ge=1)],
    case_text: CaseText = None,
    fmt: FormatField = "auto",
    as_of: AsOfField = "",
) -> Response:
    """Save a new version unless someone saved since the form was opened (then nothing is stored)."""
    if case_text is None:
        return submit(request, who, FormTarget(case_id, expected_version), posted)
    ctx = app_context(request)
    kept = {
        "case_text": case_text,
        "fmt": fmt,
        "as_of": as_of,
        "case_id": case_id,
        "expected_version": expected_version,
    }
    try:
        service.update_case(
            ctx, who, case_id, expected_version, case_text, _fmt(fmt), _as_of(as_of)
        )
    except (RevspineError, Forbidden) as exc:
        return _refused(request, exc, **kept)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.get("/cases/{case_id}/history")
def history(
    request: Request, who: PageUser, case_id: str, v: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    """Every version with its disposition and knowledge, and what changed in one of them."""
    ctx = app_context(request)
    case, versions = service.read_history(ctx, who, case_id)
    shown = min(v or case.latest_version, case.latest_version)
    context: dict[str, Any] = {"case": case, "versions": versions, "shown": shown}
    context["fact_changes"] = context["recommendation_changes"] = []
    if shown > 1:
        new, old = ctx.store.get_version(case_id, shown), ctx.store.get_version(case_id, shown - 1)
        context["fact_changes"] = fact_changes(json.loads(old.case_json), json.loads(new.case_json))
        context["recommendation_changes"] = recommendation_changes(
            json.loads(old.assessment_json), json.loads(new.assessment_json)
        )
    return render(request, "history.html", context)


@router.get("/cases/{case_id}/versions/{number}/export.json")
def export_json(request: Request, who: PageUser, case_id: str, number: int) -> Response:
    """Download a version (case and assessment) as JSON; audited as an export."""
    version = service.read_version(
        app_context(request), who, case_id, number, action="export", detail=f"v{number} json"
    )
    disposition = f'attachment; filename="revspine-{case_id}-v{number}.json"'
    return json_response(version_doc(version), headers={"Content-Disposition": disposition})


@router.get("/cases/{case_id}/versions/{number}/report.html")
def export_report(request: Request, who: PageUser, case_id: str, number: int) -> Response:
    """Download a version's stand-alone HTML report; audited as an export."""
    ctx = app_context(request)
    version = service.read_version(
        ctx, who, case_id, number, action="export", detail=f"v{number} html"
    )
    html = report_document(
        service.stored_assessment(version),
        service.stored_case(version),
        _knowledge_for(ctx, version),
    )
    disposition = f'attachment; filename="revspine-{case_id}-v{number}.html"'
    return Response(
        html, media_type="text/html; charset=utf-8", headers={"Content-Disposition": disposition}
    )
