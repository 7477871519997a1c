"""Server-rendered pages: the Jinja2 environment and the HTML report embedded in a page."""

from __future__ import annotations

import re
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from revspine.domain.assessment import Assessment
from revspine.domain.case import Case
from revspine.knowledge import Knowledge
from revspine.report.html import DISPOSITION_LABELS, render_html
from revspine.web.errors import Problem

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("revspine.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.globals["DISPOSITIONS"] = DISPOSITION_LABELS


def _show(value: Any) -> str:
    """A diff value as short text (``—`` for absent)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_show(v)}" for k, v in value.items()) or "{}"
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value) or "none"
    return str(value)


_ENV.filters["show"] = _show
TEMPLATES = Jinja2Templates(env=_ENV)

_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S)
_BODY_SELECTOR = re.compile(r"(?<![\w.#-])body(?=\s*[{,])")


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render a page template with the signed-in user and CSRF token in its context."""
    principal = getattr(request.state, "principal", None)
    session = principal.session if principal is not None else None
    base: dict[str, Any] = {
        "principal": principal,
        "csrf_token": session.csrf_token if session is not None else "",
    }
    return TEMPLATES.TemplateResponse(
        request, name, {**base, **(context or {})}, status_code=status
    )


def render_error(request: Request, problem: Problem) -> HTMLResponse:
    """The error page for a refused or failed request."""
    return render(request, "error.html", {"problem": problem}, problem.status)


def report_parts(
    assessment: Assessment, case: Case, knowledge: Knowledge | None
) -> tuple[Markup, Markup]:
    """The HTML report's stylesheet and body, to embed in a page (both already escaped)."""
    html = render_html(assessment, case, knowledge=knowledge, interactive=True)
    style, body = _STYLE.search(html), _BODY.search(html)
    # The report styles its <body>; in the page that is the report's container instead.
    css = _BODY_SELECTOR.sub(".embedded-report", style.group(1)) if style else ""
    return (
        Markup(css),  # noqa: S704 - the report escapes its own content
        Markup(body.group(1) if body else html),  # noqa: S704
    )


def report_document(assessment: Assessment, case: Case, knowledge: Knowledge | None) -> str:
    """The stand-alone HTML report (for download)."""
    return render_html(assessment, case, knowledge=knowledge)
