"""The structured case form through HTTP: entering, previewing, scoring, adding rows, saving,
errors next to the field with nothing stored, and the case page with its figures and the
decision-sensitivity section."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from webtools import Client, form_token, sign_in

from revspine.storage import SqlStore, User

pytestmark = pytest.mark.req("REQ-501", "REQ-502", "REQ-503")

MakeClient = Callable[..., Client]
MakeUser = Callable[..., User]


@pytest.fixture
def clinician(client_for: MakeClient, make_user: MakeUser) -> Client:
    make_user("carol", "clinician")
    client = client_for()
    assert sign_in(client, "carol").status_code == 303
    return client


def entered(case_id: str = "S1", **more: str) -> dict[str, str]:
    """A case as a surgeon would enter it: recurrent L5 radiculopathy after a discectomy."""
    values = {
        "case_id": case_id,
        "assessment_date": "2026-11-01",
        "patient.age": "52",
        "patient.sex": "female",
        "patient.weight.value": "70",
        "patient.weight.unit": "kg",
        "surgeries[0].date": "2025-03-01",
        "surgeries[0].type": "discectomy",
        "surgeries[0].levels": "L4-L5",
        "surgeries[0].instrumented": "no",
        "symptoms.course": "pain_free_interval",
        "symptoms.radicular_pain": "yes",
        "symptoms.axial_pain": "no",
        "symptoms.fever": "",
        "symptoms.dermatomes": "L5",
        "symptoms.radicular_side": "left",
        "allergies#state": "none",
    }
    values.update(more)
    return values


def post(client: Client, url: str, values: dict[str, str], **headers: str) -> Any:
    page = client.get("/cases/new")
    data = {"csrf_token": form_token(page.text), **values}
    return client.post(url, data=data, headers=headers)


def test_the_new_case_form_is_organised_like_the_pathway(clinician: Client) -> None:
    page = clinician.get("/cases/new")
    assert page.status_code == 200
    titles = re.findall(r'<h2 id="h-[^"]+">([^<]+)</h2>', page.text)
    assert titles[:4] == ["Case", "Patient", "Prior spine surgeries", "Symptoms"]
    assert "Questionnaires (PROMs)" in titles and "Laboratory" in titles
    # every finding is yes / no / unknown, unknown chosen
    assert re.search(r'name="symptoms.fever" value=""\s*checked', page.text)
    assert 'name="surgeries[0].type"' in page.text  # one blank surgery row to start with
    assert '<script src="/static/caseform.js" defer></script>' in page.text
    assert clinician.get("/static/caseform.js").status_code == 200
    assert "?mode=text" in page.text and "case_text" in clinician.get("/cases/new?mode=text").text


def test_a_case_entered_in_the_form_is_stored_with_unknowns_left_out(
    clinician: Client, store: SqlStore
) -> None:
    saved = post(clinician, "/cases/new", entered())
    assert saved.status_code == 303 and saved.headers["location"] == "/cases/S1"
    stored = store.get_version("S1")
    import json

    case = json.loads(stored.case_json)
    assert case["symptoms"] == {
        "course": "pain_free_interval",
        "radicular_pain": True,
        "axial_pain": False,
        "dermatomes": ["L5"],
        "radicular_side": "left",
    }
    assert case["allergies"] == [] and "exam" not in case and "labs" not in case
    assert case["surgeries"] == [
        {"date": "2025-03-01", "type": "discectomy", "levels": ["L4-L5"], "instrumented": False}
    ]
    page = clinician.get("/cases/S1")
    assert f"disp-{stored.disposition}" in page.text


def test_invalid_input_is_shown_next_to_the_field_and_nothing_is_stored(
    clinician: Client, store: SqlStore
) -> None:
    values = entered(
        "BAD1",
        **{
            "patient.age": "300",
            "labs[0].test": "",
            "labs[0].value": "",
            "labs[2].test": "hba1c",
            "labs[2].value": "7",
            "labs[2].unit": "parsecs",
        },
    )
    response = post(clinician, "/cases/new", values)
    assert response.status_code == 422
    assert store.list_cases(10).items == []
    html = response.text
    # the message sits in the control's own block, linked by aria-describedby
    assert re.search(
        r'id="f-labs-2-unit" name="labs\[2\].unit" data-unit-of="f-labs-2-test" aria-invalid="true" aria-describedby="f-labs-2-unit-err"',
        html,
    )
    assert re.search(r'<span class="ferr" id="f-labs-2-unit-err" role="alert">[^<]*parsecs', html)
    assert re.search(r'<span class="ferr" id="f-patient-age-err" role="alert">', html)
    assert '<a href="#f-labs-2-unit"><code>labs[2].unit</code></a>' in html
    # what was typed is kept
    assert 'value="300"' in html and '<option value="parsecs" selected>' in html


def test_the_preview_assesses_without_storing_and_is_audited(
    clinician: Client, store: SqlStore
) -> None:
    fragment = post(
        clinician, "/cases/new", {**entered("P1"), "_preview": "1"}, **{"X-Fragment": "1"}
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert re.search(
        r'data-disposition="(urgent|incomplete_workup|non_surgical|surgical_candidate)"',
        fragment.text,
    )
    assert "not saved" in fragment.text
    assert store.list_cases(10).items == []
    assert [(e.action, e.entity_id, e.detail) for e in store.list_audit(1)] == [
        ("assess", "P1", "web: form preview")
    ]
    bad = post(
        clinician,
        "/cases/new",
        {**entered("P1"), "patient.age": "x", "_preview": "1"},
        **{"X-Fragment": "1"},
    )
    assert 'data-control="f-patient-age"' in bad.text
    page = post(clinician, "/cases/new", {**entered("P1"), "_preview": "1"})  # without JavaScript
    assert "<html" in page.text and 'id="preview"' in page.text and "not saved" in page.text


def test_scores_and_added_rows_come_from_the_server(clinician: Client) -> None:
    answers = {f"proms[3].odi_answers[{k}]": "3" for k in range(10)}
    scores = post(clinician, "/cases/new", {**answers, "_scores": "1"})
    assert scores.json() == {"proms[3]": {"odi": "ODI 60 % (severe)"}}
    added = post(clinician, "/cases/new", {**entered(), "_add": "labs"})
    assert added.status_code == 200 and 'name="labs[0].test"' in added.text
    nested = post(
        clinician, "/cases/new", {"imaging[0].modality": "mri", "_add": "imaging[0].findings"}
    )
    assert 'name="imaging[0].findings[0].finding"' in nested.text


def test_the_edit_form_is_filled_in_and_saves_a_new_version(
    clinician: Client, store: SqlStore
) -> None:
    post(clinician, "/cases/new", entered("E1"))
    form_page = clinician.get("/cases/E1/edit")
    assert 'name="expected_version" value="1"' in form_page.text
    assert re.search(r'name="symptoms.radicular_pain" value="yes"\s*checked', form_page.text)
    assert re.search(r'name="symptoms.axial_pain" value="no"\s*checked', form_page.text)
    assert re.search(r'name="symptoms.fever" value=""\s*checked', form_page.text)
    values = {
        **entered("E1"),
        "expected_version": "1",
        "labs[0].test": "crp",
        "labs[0].value": "3",
        "labs[0].unit": "mg/L",
        "labs[0].date": "2026-10-30",
    }
    token = form_token(form_page.text)
    saved = clinician.post("/cases/E1/edit", data={"csrf_token": token, **values})
    assert saved.status_code == 303
    assert store.get_case("E1").latest_version == 2
    stale = clinician.post("/cases/E1/edit", data={"csrf_token": token, **values})
    assert stale.status_code == 409 and "Version 2 is now the latest" in stale.text
    assert store.get_case("E1").latest_version == 2
    history = clinician.get("/cases/E1/history")
    assert "labs[0]" in history.text


def test_viewers_get_no_form_and_cannot_post_one(
    client_for: MakeClient, make_user: MakeUser, clinician: Client, store: SqlStore
) -> None:
    post(clinician, "/cases/new", entered("V1"))
    make_user("vera", "viewer")
    viewer = client_for()
    sign_in(viewer, "vera")
    token = form_token(viewer.get("/cases").text)
    for extra in ({}, {"_preview": "1"}, {"_scores": "1"}, {"_add": "labs"}):
        refused = viewer.post("/cases/new", data={"csrf_token": token, **entered("V2"), **extra})
        assert refused.status_code == 403
    refused = viewer.post(
        "/cases/V1/edit", data={"csrf_token": token, "expected_version": "1", **entered("V1")}
    )
    assert refused.status_code == 403
    assert [c.case_id for c in store.list_cases(10).items] == ["V1"]
    no_token = clinician.post("/cases/new", data=entered("V3"))
    assert no_token.status_code == 403


@pytest.mark.req("REQ-208")
def test_the_case_page_shows_figures_and_the_decision_sensitivity(clinician: Client) -> None:
    values = entered(
        "FIG1",
        **{
            "proms[0].date": "2026-06-01",
            "proms[0].nrs_back": "6",
            **{f"proms[0].odi_answers[{k}]": "3" for k in range(10)},
            "proms[1].date": "2026-10-01",
            "proms[1].nrs_back": "4",
            **{f"proms[1].odi_answers[{k}]": "2" for k in range(10)},
            "imaging[0].modality": "standing_full_spine_xray",
            "imaging[0].date": "2026-10-01",
            "imaging[0].spinopelvic.pi": "55",
            "imaging[0].spinopelvic.ll": "30",
            "imaging[0].spinopelvic.pt": "28",
            "imaging[0].spinopelvic.sva.value": "60",
            "imaging[0].spinopelvic.sva.unit": "mm",
        },
    )
    assert post(clinician, "/cases/new", values).status_code == 303
    page = clinician.get("/cases/FIG1").text
    assert 'class="plot prom-plot"' in page and 'class="plot sagittal-plot"' in page
    assert (
        'data-label="PI−LL" data-value="25"' in page
        and 'data-label="SVA (cm)" data-value="6"' in page
    )
    assert "ODI 60 % (severe)" in page and "ODI 40 % (moderate)" in page
    # an incomplete workup carries the decision sensitivity, with expandable reasons
    assert 'id="sensitivity"' in page and "Decision sensitivity" in page
    assert '<details class="prov">' in page and 'data-expand="all"' in page
    # the report summary comes first, then the figures, then the differential
    assert page.index('id="summary"') < page.index('id="figures"') < page.index('id="differential"')
