"""The structured case form behind ``/cases/new`` and ``/cases/{id}/edit``: render, add rows,
score questionnaires, preview an assessment and save.

One POST handles every button of the form, so the page works without JavaScript: ``_add``
re-renders it with a blank row, ``_preview`` assesses without saving, ``_scores`` returns the
questionnaire scores as JSON, and anything else saves. With JavaScript (``static/caseform.js``)
the same requests come from ``fetch`` with ``X-Fragment: 1`` and only the changed part is sent
back. The form module maps controls to case paths; the service validates, assesses, stores and
audits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from markupsafe import Markup

from revspine.errors import CaseValidationError, FieldProblem, RevspineError, VersionConflictError
from revspine.report.html import DISPOSITION_LABELS
from revspine.web import form, service
from revspine.web.auth import Principal
from revspine.web.context import AppContext, app_context
from revspine.web.errors import Forbidden, problem_for
from revspine.web.render import TEMPLATES, render

__all__ = ["FormTarget", "form_page", "submit"]


@dataclass(frozen=True)
class FormTarget:
    """Where the form saves: a new case, or a new version of ``case_id`` based on a version."""

    case_id: str | None = None
    expected_version: int | None = None

    @property
    def action(self) -> str:
        """The form's URL."""
        return f"/cases/{self.case_id}/edit" if self.case_id else "/cases/new"


def _odi_max_missing(ctx: AppContext) -> int:
    return int(ctx.knowledge.num("proms.odi_max_missing_sections"))


def form_page(
    request: Request,
    target: FormTarget,
    values: form.FormValues,
    *,
    status: int = 200,
    problems: list[dict[str, str]] | None = None,
    message: str = "",
    conflict: VersionConflictError | None = None,
    preview: Markup | None = None,
    extra_rows: dict[str, int] | None = None,
) -> Response:
    """The structured form with ``values``, each problem next to its control."""
    ctx = app_context(request)
    view = form.FormView(
        values=values,
        placed=form.place_problems(problems or [], form.control_names(values)),
        scores=form.prom_scores(values, _odi_max_missing(ctx)),
        extra_rows=extra_rows or {},
    )
    context = {
        "target": target,
        "case_id": target.case_id,
        "expected_version": target.expected_version,
        "fv": view,
        "sections": form.SECTIONS,
        "F": form,
        "lab_units": json.dumps(form.lab_units_map(), separators=(",", ":")),
        "message": message,
        "conflict": conflict,
        "preview": preview,
    }
    return render(request, "case_form.html", context, status)


def _as_of(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CaseValidationError(
            [FieldProblem("as_of", "expected a date YYYY-MM-DD")], "form"
        ) from None


def _preview_fragment(request: Request, **context: Any) -> Markup:
    template = TEMPLATES.get_template("_preview.html")
    defaults: dict[str, Any] = {
        "evaluated": None,
        "problems": [],
        "message": "",
        "labels": DISPOSITION_LABELS,
        "F": form,
    }
    return Markup(template.render(request=request, **{**defaults, **context}))  # noqa: S704


def _on_form(problems: list[dict[str, str]], paths: form.PathMap) -> list[dict[str, str]]:
    """Problems with their case paths renamed to the form's controls."""
    return [{**p, "path": form.control_path(p.get("path", ""), paths)} for p in problems]


def _preview(
    request: Request, ctx: AppContext, who: Principal, target: FormTarget, values: form.FormValues
) -> Response:
    problems: list[dict[str, str]] = []
    paths: form.PathMap = {}
    try:
        doc = form.to_case(values, paths)
        if target.case_id:
            doc["case_id"] = target.case_id
        evaluated = service.assess_only(
            ctx, who, doc, _as_of(values.get("as_of", "")), detail="form preview"
        )
        fragment = _preview_fragment(request, evaluated=evaluated)
    except (RevspineError, Forbidden) as exc:
        problem = problem_for(exc)
        problems = _on_form(problem.fields, paths)
        placed = form.place_problems(problems, form.control_names(values))
        fragment = _preview_fragment(request, problems=placed.summary, message=problem.message)
    if request.headers.get("x-fragment"):
        return Response(str(fragment), media_type="text/html; charset=utf-8")
    return form_page(request, target, values, problems=problems, preview=fragment)


def _save(
    request: Request, ctx: AppContext, who: Principal, target: FormTarget, values: form.FormValues
) -> Response:
    paths: form.PathMap = {}
    try:
        doc = form.to_case(values, paths)
        as_of = _as_of(values.get("as_of", ""))
        if target.case_id is None:
            stored = service.create_case(ctx, who, doc, None, as_of)
        else:
            assert target.expected_version is not None
            stored = service.update_case(
                ctx, who, target.case_id, target.expected_version, doc, None, as_of
            )
    except (RevspineError, Forbidden) as exc:
        problem = problem_for(exc)
        conflict = exc if isinstance(exc, VersionConflictError) else None
        message = "" if problem.fields else problem.message  # field problems are listed
        return form_page(
            request,
            target,
            values,
            status=problem.status,
            problems=_on_form(problem.fields, paths),
            message=message,
            conflict=conflict,
        )
    return RedirectResponse(f"/cases/{stored.case_id}", status_code=303)


def submit(
    request: Request, who: Principal, target: FormTarget, posted: dict[str, str]
) -> Response:
    """Handle a POST of the structured form: scores, add a row, preview, or save."""
    if not who.user.can_edit:
        raise Forbidden(f"your role ({who.user.role}) may read cases but not create or change them")
    ctx = app_context(request)
    values = form.normalise(form.posted_values(posted.items()))
    if posted.get("_scores"):
        return JSONResponse(form.prom_scores(values, _odi_max_missing(ctx)))
    if posted.get("_add"):
        return form_page(request, target, values, extra_rows={posted["_add"]: 1})
    if posted.get("_preview"):
        return _preview(request, ctx, who, target, values)
    return _save(request, ctx, who, target, values)
