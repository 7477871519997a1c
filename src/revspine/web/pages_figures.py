"""What the case page shows above the report: the PROM trajectory and its scores, and the
sagittal-alignment figure. Values come from the stored versions, the engine and the knowledge
base; :mod:`revspine.web.plots` draws them."""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from revspine.domain.assessment import Assessment
from revspine.domain.case import Case
from revspine.storage import CaseVersion
from revspine.web import form, plots
from revspine.web.context import AppContext

__all__ = ["MAX_VERSIONS", "case_figures"]

MAX_VERSIONS = 200
"""The trajectory reads at most this many versions (the most recent ones)."""


def _versions(ctx: AppContext, shown: CaseVersion) -> list[plots.VersionCase]:
    """The shown version and the versions before it (a past version shows its own past)."""
    first = max(1, shown.version - MAX_VERSIONS + 1)
    out = [plots.VersionCase(shown.version, shown.as_of, json.loads(shown.case_json))]
    for number in range(first, shown.version):
        stored = ctx.store.get_version(shown.case_id, number)
        out.append(plots.VersionCase(number, stored.as_of, json.loads(stored.case_json)))
    return out


def case_figures(
    ctx: AppContext, version: CaseVersion, case: Case, assessment: Assessment
) -> dict[str, Any]:
    """Context for the case page: ``prom_svg``, ``prom_rows``, ``sagittal_svg`` and notes."""
    max_missing = int(ctx.knowledge.num("proms.odi_max_missing_sections"))
    versions = _versions(ctx, version)
    points = plots.prom_points(versions, max_missing)
    prom = plots.prom_svg(points)
    document = versions[0].case
    scores = form.prom_scores(form.from_case(document), max_missing)
    rows = [
        {
            "date": row.get("date") or f"{version.as_of.isoformat()} (undated)",
            "nrs_back": row.get("nrs_back"),
            "nrs_leg": row.get("nrs_leg"),
            "odi": "",
            "phq9": "",
            **scores.get(f"proms[{i}]", {}),
        }
        for i, row in enumerate(document.get("proms") or [])
    ]
    same_knowledge = ctx.knowledge.sha256 == version.knowledge_sha256
    sagittal = plots.sagittal_svg(plots.sagittal_rows(assessment, case, ctx.knowledge))
    return {
        "prom_svg": Markup(prom) if prom else None,  # noqa: S704 - built by ElementTree
        "prom_points": points,
        "prom_rows": rows,
        "sagittal_svg": Markup(sagittal) if sagittal else None,  # noqa: S704
        "bands_note": ""
        if same_knowledge
        else f"Bands of the current knowledge base ({ctx.knowledge.meta.id} "
        f"{ctx.knowledge.version}), not the one that assessed this version.",
    }
