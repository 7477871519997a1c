"""A spine surgeon's path through the app in real headless Chromium: sign in, enter a case in
the structured form (the questionnaire is scored as it is answered, the case is previewed
without saving), see the disposition, add a lab result, see the assessment change, open the
history. Screenshots of each step go to test-output/e2e/."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from e2etools import LiveApp

pytestmark = pytest.mark.req("REQ-501", "REQ-502", "REQ-503")

DAY = timedelta(days=1)


def sign_in(page: Any, app: LiveApp) -> None:
    page.goto("/cases")
    assert "/login" in page.url  # no session: sent to sign in
    page.fill("input[name=username]", app.username)
    page.fill("input[name=password]", app.password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/cases$"))


def finding(page: Any, name: str, answer: str) -> None:
    """Click yes / no / unknown of a three-valued finding (the radio's visible label)."""
    control = "f-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")
    page.click(f"label[for='{control}-{answer or 'unknown'}']")


def add_lab(page: Any, index: int, value: str, when: date) -> None:
    page.click("button[data-add='labs']")
    page.select_option(f"#f-labs-{index}-test", "crp")
    assert page.input_value(f"#f-labs-{index}-unit") == "mg/L"  # the test's units, canonical first
    page.fill(f"#f-labs-{index}-value", value)
    page.fill(f"#f-labs-{index}-date", when.isoformat())


def test_a_surgeon_enters_a_case_and_follows_it(page: Any, live_app: LiveApp, shot: Any) -> None:
    today = date.today()
    surgery = today - 14 * DAY
    sign_in(page, live_app)

    # -- a new case through the structured form ----------------------------------------------
    page.click("nav >> text=New case")
    page.wait_for_url(re.compile(r"/cases/new$"))
    page.fill("#f-case_id", "E2E-1")
    page.fill("#f-patient-age", "61")
    page.select_option("#f-patient-sex", "male")
    page.fill("#f-patient-weight-value", "84")
    page.fill("#f-surgeries-0-date", surgery.isoformat())
    page.select_option("#f-surgeries-0-type", "fusion")
    page.select_option("#f-surgeries-0-region", "lumbar")
    page.fill("#f-surgeries-0-levels", "L4-L5")
    finding(page, "surgeries[0].instrumented", "yes")
    finding(page, "symptoms.axial_pain", "yes")
    finding(page, "symptoms.radicular_pain", "no")
    for absent in ("fever", "chills", "wound_drainage"):
        finding(page, f"symptoms.{absent}", "no")
    page.fill("#f-symptoms-back_pain_nrs", "6")
    add_lab(page, 0, "95", surgery + 4 * DAY)

    page.click("button[data-add='proms']")
    page.fill("#f-proms-0-date", today.isoformat())
    for k in range(10):
        page.select_option(f"#f-proms-0-odi_answers-{k}", "2")
    score = page.locator("output[data-score='proms[0].odi']")
    score.filter(has_text="ODI 40 %").wait_for()  # scored by the server as it is answered
    for k in range(9):
        page.select_option(f"#f-proms-0-phq9_answers-{k}", "1" if k < 8 else "0")
    page.locator("output[data-score='proms[0].phq9']").filter(has_text="PHQ-9 8 (mild)").wait_for()
    page.click("button[data-copy-phq9='proms[0]']")  # the assessment reads it under Psychosocial
    page.locator("#f-psychosocial-phq9_total.copied").wait_for()
    assert page.input_value("#f-psychosocial-phq9_total") == "8"
    assert page.input_value("#f-psychosocial-phq9_item9") == "0"

    page.click("#preview-button")
    preview = page.locator("#preview .pv")
    preview.wait_for()
    assert preview.get_attribute("data-disposition") == "incomplete_workup"
    assert "not saved" in preview.inner_text()
    shot(page, "01-new-case-form")
    page.locator("#sec-labs").scroll_into_view_if_needed()
    shot(page, "01b-form-preview", full=False)

    page.click("#save")
    page.wait_for_url(re.compile(r"/cases/E2E-1$"))
    badge = page.locator("#summary .badge")
    assert badge.inner_text() == "INCOMPLETE WORKUP"
    assert page.locator("#sensitivity").is_visible()  # which missing test would decide
    assert page.locator("svg.prom-plot").is_visible()
    page.click("button[data-expand='all']")
    assert page.locator("details.prov").first.get_attribute("open") is not None
    shot(page, "02-case-incomplete-workup")

    # -- a second CRP, higher than the first after the post-operative peak -------------------------
    page.click(".case-bar >> text=Edit")
    page.wait_for_url(re.compile(r"/cases/E2E-1/edit$"))
    assert page.input_value("#f-labs-0-value") == "95"
    assert page.is_checked("#f-symptoms-fever-no") and page.is_checked(
        "#f-symptoms-night_pain-unknown"
    )
    add_lab(page, 1, "140", surgery + 12 * DAY)
    shot(page, "03-edit-add-lab")
    page.click("#save")
    page.wait_for_url(re.compile(r"/cases/E2E-1$"))
    assert badge.inner_text() == "URGENT"
    assert "CRP second rise" in page.locator(".redflags").inner_text()
    assert "version 2" in page.locator(".case-bar").inner_text()
    shot(page, "04-case-urgent-after-lab")

    # -- the history: both versions and what changed -----------------------------------------
    page.click(".case-bar >> text=History")
    page.wait_for_url(re.compile(r"/cases/E2E-1/history$"))
    rows = page.locator("table.list").first.locator("tbody tr")
    assert rows.count() == 2
    changes = page.locator("section.diff").inner_text()
    assert "What changed in version 2 since version 1" in changes
    assert "labs[1]" in changes and "crp_second_rise" in changes
    shot(page, "05-history")
    audit = [
        (e.action, e.entity_id) for e in live_app.store.list_audit(50) if e.entity_id == "E2E-1"
    ]
    assert (
        ("create", "E2E-1") in audit
        and ("update", "E2E-1") in audit
        and ("assess", "E2E-1") in audit
    )


def test_invalid_input_is_shown_next_to_the_field_and_nothing_is_saved(
    page: Any, live_app: LiveApp, shot: Any
) -> None:
    sign_in(page, live_app)
    page.goto("/cases/new")
    page.fill("#f-case_id", "E2E-BAD")
    page.fill("#f-patient-age", "300")
    page.click("button[data-add='labs']")
    page.select_option("#f-labs-0-test", "hba1c")
    page.fill("#f-labs-0-value", "seven")

    page.click("#preview-button")  # in place, without leaving the page
    page.locator("#preview .pv-problems").wait_for()
    assert page.locator("#f-patient-age").evaluate(
        "e => e.closest('.fld').classList.contains('invalid')"
    )

    page.click("#save")
    page.wait_for_load_state()
    age_error = page.locator("#f-patient-age-err")
    assert age_error.is_visible() and "120" in age_error.inner_text()
    assert page.locator("#f-labs-0-value-err").is_visible()
    assert page.input_value("#f-labs-0-value") == "seven"  # what was typed is kept
    assert "nothing was stored" in page.locator("#problems").inner_text()
    shot(page, "06-invalid-input")
    page.goto("/cases?q=E2E-BAD")
    assert "No cases match" in page.locator("main").inner_text()
