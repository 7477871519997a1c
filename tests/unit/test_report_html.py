"""The printable HTML report: self-contained, summary first, escaped, every rule id shown."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest

from revspine.domain.assessment import (
    CauseAssessment,
    Derived,
    DispositionResult,
    Fact,
    Finding,
    KnowledgeInfo,
    Recommendation,
    RedFlag,
    WorkupItem,
)
from revspine.domain.case import Case
from revspine.engine import Assessment, assess
from revspine.knowledge import load_knowledge
from revspine.report.html import render_html

pytestmark = pytest.mark.req("REQ-205")

AS_OF = "2025-03-01"


# -- factories ----------------------------------------------------------------------------------
def urgent_case(**extra: Any) -> dict[str, Any]:
    """Fever and sphincter dysfunction after a recent fusion."""
    return {
        "case_id": "urgent-1",
        "assessment_date": AS_OF,
        "surgeries": [{"type": "fusion", "date": "2025-01-20", "levels": ["L4-L5"]}],
        "symptoms": {"fever": True, "bowel_bladder_dysfunction": True},
        **extra,
    }


def incomplete_case(**extra: Any) -> dict[str, Any]:
    """Almost nothing recorded except one fusion."""
    return {
        "case_id": "incomplete-1",
        "assessment_date": AS_OF,
        "surgeries": [{"type": "fusion", "date": "2023-06-01", "levels": ["L4-L5"]}],
        **extra,
    }


def candidate_case(**extra: Any) -> dict[str, Any]:
    """Concordant recurrent L4-L5 herniation (left L5) after discectomy, fully worked up."""
    no = False
    return {
        "case_id": "candidate-1",
        "assessment_date": AS_OF,
        "patient": {"age": 52, "sex": "male", "weight": "84 kg", "height": "178 cm"},
        "surgeries": [
            {
                "type": "discectomy",
                "date": "2023-05-01",
                "region": "lumbar",
                "levels": ["L4-L5"],
                "instrumented": no,
                "approach": "posterior",
            }
        ],
        "symptoms": {
            "course": "pain_free_interval",
            "pain_free_interval_months": 12,
            "radicular_pain": True,
            "axial_pain": no,
            "predominant_pain": "radicular",
            "radicular_side": "left",
            "dermatomes": ["L5"],
            **dict.fromkeys(
                [
                    "weakness",
                    "bowel_bladder_dysfunction",
                    "saddle_anaesthesia",
                    "fever",
                    "chills",
                    "wound_drainage",
                    "widespread_pain",
                    "night_sweats",
                    "weight_loss",
                ],
                no,
            ),
        },
        "comorbidities": {
            "smoking_status": "never",
            "cancer": "none",
            **dict.fromkeys(
                [
                    "diabetes",
                    "fibromyalgia",
                    "prior_spine_infection",
                    "mrsa_colonisation",
                    "prior_vte",
                    "thrombophilia",
                    "peripheral_neuropathy",
                    "hip_osteoarthritis",
                    "depression",
                    "immunosuppression",
                ],
                no,
            ),
        },
        "allergies": [],
        "psychosocial": {"phq9_total": 4, "litigation_or_compensation": no},
        "exam": {
            "date": "2025-02-20",
            "dermatomal_deficit": True,
            "deficit_dermatomes": ["L5"],
            "deficit_side": "left",
            "straight_leg_raise": "positive",
            "straight_leg_raise_side": "left",
            "hip_exam": "normal",
            "wound": "healed",
        },
        "imaging": [
            {"modality": "xray", "date": "2025-02-01", "findings": []},
            {
                "modality": "mri_with_contrast",
                "date": "2025-02-01",
                "findings": [
                    {"finding": "recurrent_herniation", "levels": ["L4-L5"], "side": "left"}
                ],
            },
        ],
        "labs": [
            {"test": "esr", "value": 10, "unit": "mm/h", "date": "2025-02-01"},
            {"test": "crp", "value": 3, "unit": "mg/L", "date": "2025-02-01"},
            {"test": "albumin", "value": 4.0, "unit": "g/dL", "date": "2025-02-01"},
        ],
        "proms": [{"date": "2025-02-20", "odi_answers": [3, 2, 3, 2, 3, 2, 1, 3, 2, 3]}],
        "planned_procedure": {
            "procedure": "revision_discectomy",
            "levels": ["L4-L5"],
            "expected_duration_min": 90,
        },
        **extra,
    }


def synthetic(**update: Any) -> Assessment:
    """A hand-built surgical-candidate assessment exercising every renderer."""
    kb = load_knowledge()
    base = Assessment(
        case_id="synthetic-1",
        as_of=date(2025, 3, 1),
        knowledge=KnowledgeInfo(id=kb.meta.id, version=kb.version, sha256=kb.sha256),
        disposition=DispositionResult(
            code="surgical_candidate",
            summary="Revision-surgery candidate for surgeon review: concordant pseudarthrosis.",
            reasons=["pseudarthrosis: axial pain at a fused level"],
            rule_id="DS001",
        ),
        differential=[
            CauseAssessment(
                cause="pseudarthrosis",
                likelihood="high",
                rank=1,
                for_=[
                    Finding(
                        text="Non-union reported on ct.",
                        strength="confirmatory",
                        rule_id="DX002",
                        facts=[Fact(field="imaging[1].findings[0]", value="pseudarthrosis L5-S1")],
                    )
                ],
                against=[Finding(text="Never smoked.", strength="weak", rule_id="DX002")],
                surgically_correctable=True,
                rule_ids=["DX002"],
                evidence=["6", "37"],
            )
        ],
        workup=[
            WorkupItem(
                test="wbc",
                priority="routine",
                reason="Possible infection: white-cell count.",
                blocks_decision=False,
                rule_id="WU006",
                evidence=["14"],
            )
        ],
        surgical_planning=[
            Recommendation(
                code="timing",
                text="Schedule the elective revision when every gate is met.",
                status="optimise_first",
                details={"gates": {"smoking": "met", "nutrition": "not_met"}},
                rule_id="PL001",
                evidence=["6"],
            ),
            Recommendation(
                code="sagittal_alignment",
                text="PI−LL 22.0 (++); SVA (cm) 3.0 (0); PT 25.0 (+).",
                status="malaligned",
                details={
                    "PI−LL": {"value": 22.0, "grade": "++"},
                    "SVA (cm)": {"value": 3.0, "grade": "0"},
                    "PT": {"value": 25.0, "grade": "+"},
                    "ll_target_pi_plus_9": 67.0,
                    "ll_target_age_adjusted": 63.6,
                    "schwab_plus_count": 3,
                },
                rule_id="PL004",
                facts=[Fact(field="imaging[4].spinopelvic", value="PI 58, LL 36")],
                evidence=["41", "42"],
            ),
        ],
        postop_orders=[
            Recommendation(
                code="antibiotic_prophylaxis",
                text="Vancomycin 1380 mg IV starting within 120 min before incision.",
                status="check",
                details={
                    "agents": [
                        {
                            "agent": "vancomycin",
                            "dose": "1380 mg IV",
                            "start_within_min_before_incision": 120.0,
                            "redose_interval_h": None,
                        }
                    ],
                    "stop_within_h": 24.0,
                    "notes": ["MRSA status unknown: screen before surgery"],
                },
                rule_id="PO001",
                facts=[Fact(field="patient.weight", value="92.0 kg")],
                evidence=["58", "58b"],
            ),
            Recommendation(
                code="vte_prophylaxis",
                text="Mechanical prophylaxis.",
                details={
                    "caprini_score": 5,
                    "caprini_version": "2005",
                    "items": ["age 61–74 (2)"],
                    "not_recorded": ["other items"],
                    "pharmacologic": True,
                    "policy": "caprini",
                },
                rule_id="PO002",
                facts=[Fact(field="comorbidities.prior_vte", value=None)],
                evidence=["62"],
                unverified=True,
            ),
        ],
        derived=Derived(age=64, bmi=33.8, prior_surgeries=1, caprini_score=5),
        rules_fired=["DX002", "WU006", "DS001", "PL001", "PL004", "PO001", "PO002"],
    )
    return base.model_copy(update=update)


def run(data: dict[str, Any]) -> tuple[Assessment, Case, str]:
    case = Case.model_validate(data)
    assessment = assess(case)
    return assessment, case, render_html(assessment, case)


# -- an HTML structure checker -------------------------------------------------------------------
_VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "source", "wbr"}


class _Checker(HTMLParser):
    """Records tag balance problems, ids and text per section."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.counts: dict[str, int] = {}
        self.ids: list[str] = []
        self.section: str | None = None
        self.text: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1
        attr = dict(attrs)
        if attr.get("id"):
            self.ids.append(attr["id"] or "")
        if tag == "section":
            self.section = attr.get("id")
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.section = None
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.section:
            self.text.setdefault(self.section, []).append(data)


def check(html: str) -> _Checker:
    parser = _Checker()
    parser.feed(html)
    parser.close()
    return parser


CASES = {
    "urgent": urgent_case,
    "incomplete": incomplete_case,
    "candidate": candidate_case,
}


@pytest.fixture(params=sorted(CASES))
def rendered(request: pytest.FixtureRequest) -> tuple[Assessment, Case, str]:
    return run(CASES[request.param]())


# -- tests --------------------------------------------------------------------------------------
@pytest.mark.req("REQ-017")
def test_engine_vignettes_reach_the_expected_dispositions() -> None:
    assert run(urgent_case())[0].disposition.code == "urgent"
    assert run(incomplete_case())[0].disposition.code == "incomplete_workup"
    assert run(candidate_case())[0].disposition.code == "surgical_candidate"


def test_single_self_contained_document(rendered: tuple[Assessment, Case, str]) -> None:
    html = rendered[2]
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert html.lower().count("<html") == 1 and html.lower().count("</html>") == 1
    lowered = html.lower()
    for needle in ('src="http', "src='http", 'href="http', "<link", "<script", "@import", "url("):
        assert needle not in lowered, needle
    assert "<style>" in html


def test_html_is_balanced_with_unique_ids(rendered: tuple[Assessment, Case, str]) -> None:
    parser = check(rendered[2])
    assert parser.problems == []
    assert parser.stack == []
    for tag in ("html", "head", "title", "body", "main", "footer"):
        assert parser.counts.get(tag) == 1, tag
    assert len(parser.ids) == len(set(parser.ids))


@pytest.mark.req("REQ-101", "HAZ-007")
def test_summary_comes_before_the_differential(rendered: tuple[Assessment, Case, str]) -> None:
    a, _, html = rendered
    label = {
        "urgent": "URGENT",
        "incomplete_workup": "INCOMPLETE WORKUP",
        "surgical_candidate": "SURGICAL CANDIDATE",
    }[a.disposition.code]
    badge = html.index(f'<span class="badge" role="status">{label}</span>')
    assert badge < html.index('id="differential"') < html.index('id="workup"')
    assert html.index("Advice for a qualified clinician, not an order") < badge


@pytest.mark.req("REQ-202", "HAZ-017")
def test_every_fired_rule_id_appears(rendered: tuple[Assessment, Case, str]) -> None:
    a, _, html = rendered
    assert a.rules_fired
    for rule_id in a.rules_fired:
        assert rule_id in html, rule_id
    assert f"Rules fired ({len(set(a.rules_fired))})" in html


@pytest.mark.req("REQ-302", "HAZ-005")
def test_knowledge_version_and_sha_prefix_appear(rendered: tuple[Assessment, Case, str]) -> None:
    a, _, html = rendered
    assert a.knowledge.version in html
    assert a.knowledge.sha256[:12] in html
    assert a.knowledge.id in html


def test_patient_section_is_plain_and_has_no_numbers(
    rendered: tuple[Assessment, Case, str],
) -> None:
    parser = check(rendered[2])
    text = " ".join(parser.text["patient"])
    assert "What this means for you" in text
    assert not re.search(r"\d", text), text


@pytest.mark.req("REQ-101", "HAZ-007")
def test_red_flags_are_in_the_summary() -> None:
    a, _, html = run(urgent_case())
    assert {rf.code for rf in a.red_flags} >= {
        "cauda_equina_syndrome",
        "spinal_infection_suspected",
    }
    summary = html[html.index('id="summary"') : html.index('id="differential"')]
    assert "RED FLAGS" in summary.upper()
    assert "Cauda equina syndrome" in summary
    assert "Spinal infection suspected" in summary
    assert summary.index("Red flags") < summary.index("Top causes")
    for rf in a.red_flags:
        assert rf.action in summary
        assert f'<span class="rid">{rf.rule_id}</span>' in summary
    assert '<code>symptoms.fever</code> = <span class="v">yes</span>' in summary


@pytest.mark.req("REQ-202", "HAZ-017")
def test_facts_and_evidence_are_shown_for_workup() -> None:
    a, _, html = run(urgent_case())
    workup = html[html.index('id="workup"') : html.index('id="optimisation"')]
    for item in a.workup:
        assert f'<span class="rid">{item.rule_id}</span>' in workup
        for e in item.evidence:
            assert ("seed document" if e == "seed" else f"REFERENCE.md [{e}]") in workup
    assert "BLOCKS" in workup and "URGENT" in workup


@pytest.mark.req("REQ-105")
def test_incomplete_case_lists_tests_in_plain_words() -> None:
    a, _, html = run(incomplete_case())
    assert a.disposition.code == "incomplete_workup"
    patient = " ".join(check(html).text["patient"])
    assert "Your team needs a few more tests" in patient
    assert "an MRI scan with contrast dye" in patient
    assert "mri_with_contrast" not in patient
    summary = html[html.index('id="summary"') : html.index('id="differential"')]
    assert "Workup that blocks a decision" in summary
    assert "MRI with contrast" in summary
    assert "unknown (not recorded)" in html  # unknowns are never shown as negatives


@pytest.mark.req("HAZ-021")
def test_case_id_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    a, case, html = run(incomplete_case(case_id=evil))
    assert a.case_id == evil
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert check(html).problems == []


@pytest.mark.req("REQ-106", "REQ-019")
def test_candidate_report_renders_orders_and_planning() -> None:
    a, _, html = run(candidate_case())
    assert "SURGICAL CANDIDATE" in html
    assert "Prophylactic agents" in html and "cefazolin" in html
    assert "Caprini score" in html
    assert "Prior surgeries" in html and "2023-05-01 discectomy L4-L5" in html
    patient = " ".join(check(html).text["patient"])
    assert "a disc that has bulged out again" in patient


@pytest.mark.req("REQ-204", "REQ-207")
def test_synthetic_assessment_renders_every_detail_block() -> None:
    html = render_html(synthetic())
    assert check(html).problems == []
    assert "Optimisation gates" in html and "NOT MET" in html
    assert "<svg" in html and "grade ++" in html
    assert "&lt; 10 / 10–20 / &gt; 20" in html  # bands from the matching default knowledge
    assert "PI + 9° = <strong>67°</strong>" in html
    assert "no routine redose" in html and "MRSA status unknown" in html
    assert "Stop within <strong>24 h</strong>" in html
    card = html[html.index("<h3>VTE prophylaxis</h3>") :][:400]
    assert '<span class="tag unv">unverified</span>' in card
    assert "REFERENCE.md [58b]" in html
    assert '<span class="unknown">unknown (not recorded)</span>' in html


@pytest.mark.req("REQ-303", "HAZ-005", "HAZ-020")
def test_site_overrides_are_listed() -> None:
    kb = load_knowledge()
    info = KnowledgeInfo(
        id=kb.meta.id,
        version=kb.version + "+site",
        sha256="f" * 64,
        overrides=[
            {
                "key": "antibiotics.beta_lactam_allergy_agent",
                "base": "vancomycin",
                "value": "clindamycin",
                "source": "site.toml",
            },
            {"key": "sagittal.pt_deg", "base": [20, 30], "value": [22, 32], "source": "site.toml"},
        ],
    )
    html = render_html(synthetic(knowledge=info))
    assert "antibiotics.beta_lactam_allergy_agent: vancomycin → clindamycin (site.toml)" in html
    assert "ffffffffffff" in html and "+site" in html
    assert "&lt; 22 / 22–32 / &gt; 32" in html  # the site's PT band, not the base one


@pytest.mark.req("REQ-302")
def test_unknown_knowledge_draws_no_bands() -> None:
    info = KnowledgeInfo(id="other-kb", version="1.0", sha256="0" * 64)
    html = render_html(synthetic(knowledge=info))
    assert "<svg" in html and "Grade bands not shown" in html


@pytest.mark.req("REQ-017", "REQ-203")
@pytest.mark.parametrize(
    ("code", "label", "phrase"),
    [
        ("urgent", "URGENT", "checked by a doctor today"),
        ("incomplete_workup", "INCOMPLETE WORKUP", "a few more tests"),
        ("non_surgical", "NON-SURGICAL", "not expected to help"),
        ("surgical_candidate", "SURGICAL CANDIDATE", "may be able to correct"),
    ],
)
def test_every_disposition_has_a_badge_and_patient_text(code: str, label: str, phrase: str) -> None:
    base = synthetic()
    a = base.model_copy(
        update={
            "disposition": base.disposition.model_copy(update={"code": code}),
            "red_flags": [
                RedFlag(
                    code="cauda_equina_syndrome",
                    rationale="Sphincter dysfunction.",
                    action="Emergency MRI.",
                    rule_id="RF001",
                )
            ]
            if code == "urgent"
            else [],
            "nonsurgical_plan": [
                Recommendation(code="physical_therapy", text="Physical therapy.", rule_id="NS001")
            ],
        }
    )
    html = render_html(a)
    assert f'<span class="badge" role="status">{label}</span>' in html
    assert f"disp-{code}" in html
    patient = " ".join(check(html).text["patient"])
    assert phrase in patient
    assert not re.search(r"\d", patient)
