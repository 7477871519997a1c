"""Bad input exits 2 and names every offending field; our own bugs exit 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

pytestmark = pytest.mark.req("REQ-206")

Run = Callable[..., Result]
WriteCase = Callable[..., Path]
CaseFactory = Callable[..., dict[str, Any]]


def _fails(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.mark.req("REQ-107", "HAZ-001")
def test_unknown_lab_unit_names_the_unit_field(
    run: Run, write_case: WriteCase, case: CaseFactory
) -> None:
    labs = [{"test": "albumin", "value": 3.1, "unit": "mg/dl", "date": "2025-12-20"}]
    _fails(run("assess", write_case(case(labs=labs))), "labs[0].unit:", "mg/dl", "g/dL")


@pytest.mark.req("HAZ-015")
def test_surgery_in_the_future(run: Run, write_case: WriteCase, case: CaseFactory) -> None:
    surgeries = [{"date": "2026-03-01", "type": "discectomy", "levels": ["L5-S1"]}]
    _fails(
        run("assess", write_case(case(surgeries=surgeries))),
        "surgeries[0].date: 2026-03-01 is in the future (after the assessment date 2026-01-10)",
    )


def test_surgery_before_birth(run: Run, write_case: WriteCase, case: CaseFactory) -> None:
    patient = {"birth_date": "1990-05-01"}
    surgeries = [{"date": "1985-01-01", "type": "laminectomy"}]
    _fails(
        run("assess", write_case(case(patient=patient, surgeries=surgeries))),
        "surgeries[0].date:",
        "before the patient's birth date",
    )


def test_age_inconsistent_with_birth_date(
    run: Run, write_case: WriteCase, case: CaseFactory
) -> None:
    patient = {"age": 30, "birth_date": "1960-01-01"}
    _fails(run("assess", write_case(case(patient=patient))), "patient.age:", "age 66")


@pytest.mark.req("HAZ-015")
def test_assessment_date_after_today(run: Run, write_case: WriteCase, case: CaseFactory) -> None:
    _fails(
        run("assess", write_case(case(assessment_date="2999-01-01"))),
        "assessment_date: 2999-01-01 is in the future (after today",
    )


@pytest.mark.req("HAZ-015")
def test_as_of_before_the_data(run: Run, write_case: WriteCase, case: CaseFactory) -> None:
    _fails(
        run("assess", write_case(case()), "--as-of", "2025-01-01"),
        "labs[0].date: 2025-12-20 is in the future (after the assessment date 2025-01-01)",
    )


def test_bad_as_of_is_a_usage_error(run: Run, write_case: WriteCase, case: CaseFactory) -> None:
    result = run("assess", write_case(case()), "--as-of", "10/01/2026")
    assert result.exit_code == 2
    assert "--as-of" in result.stderr


def test_malformed_yaml(run: Run, write_case: WriteCase) -> None:
    text = "patient:\n  age: 60\nsymptoms: [fever\nlabs: []\n"
    _fails(run("assess", write_case(text)), "(syntax): invalid YAML at line")


def test_malformed_json(run: Run, write_case: WriteCase) -> None:
    _fails(
        run("assess", write_case('{"patient": {"age": 60,}}', "c.json")),
        "(syntax): invalid JSON at line 1",
    )


def test_duplicate_yaml_key(run: Run, write_case: WriteCase) -> None:
    text = "symptoms:\n  fever: false\n  fever: true\n"
    _fails(run("assess", write_case(text)), "duplicate key 'fever'")


def test_unknown_field_is_named_with_a_suggestion(
    run: Run, write_case: WriteCase, case: CaseFactory
) -> None:
    _fails(
        run("assess", write_case(case(symptoms={"axial_pain": True, "feverr": True}))),
        "symptoms.feverr: unknown field",
        "did you mean 'fever'?",
    )


def test_field_at_the_wrong_level_is_located(
    run: Run, write_case: WriteCase, case: CaseFactory
) -> None:
    data = case()
    data["fever"] = True
    _fails(run("assess", write_case(data)), "fever: unknown field", "belongs under symptoms.fever")


def test_every_problem_is_reported(run: Run, write_case: WriteCase, case: CaseFactory) -> None:
    data = case(
        patient={"age": "sixty", "sex": "female"},
        surgeries=[{"date": "2024-13-01", "type": "fusion", "levels": ["L4-L9"]}],
        imaging=[{"modality": "mri", "findings": [{"finding": "recurrent_herniaton"}]}],
    )
    _fails(
        run("assess", write_case(data)),
        "patient.age:",
        'got "sixty"',
        "surgeries[0].date: expected a date YYYY-MM-DD",
        "surgeries[0].levels[0]:",
        "imaging[0].findings[0].finding:",
        "did you mean 'recurrent_herniation'?",
        "4 problems",
    )


@pytest.mark.req("REQ-107", "HAZ-001", "HAZ-010")
def test_bad_weight_unit_names_the_field(
    run: Run, write_case: WriteCase, case: CaseFactory
) -> None:
    patient = {"age": 60, "weight": "12 stone"}
    _fails(run("assess", write_case(case(patient=patient))), "patient.weight:")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("", "(file): the file is empty"), ("- 1\n- 2\n", "(root): expected a mapping")],
)
def test_empty_or_non_mapping_file(
    run: Run, write_case: WriteCase, content: str, fragment: str
) -> None:
    _fails(run("assess", write_case(content)), fragment)


def test_missing_case_file(run: Run, tmp_path: Path) -> None:
    _fails(run("assess", tmp_path / "nope.yaml"), "(file): cannot read the file")


@pytest.mark.req("REQ-303", "HAZ-020")
def test_override_with_unknown_key(
    run: Run, write_case: WriteCase, case: CaseFactory, tmp_path: Path
) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[antibiotics]\nbeta_lactam_alergy_agent = "clindamycin"\n')
    key = "antibiotics.beta_lactam_alergy_agent"
    _fails(run("assess", write_case(case()), "--knowledge", site), key)
    _fails(run("knowledge", "validate", site), key)


@pytest.mark.req("HAZ-020")
def test_missing_override_file(
    run: Run, write_case: WriteCase, case: CaseFactory, tmp_path: Path
) -> None:
    _fails(run("assess", write_case(case()), "-k", tmp_path / "none.toml"), "(file)")


@pytest.mark.req("HAZ-019")
def test_internal_error_exits_1(
    run: Run, write_case: WriteCase, case: CaseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import revspine.engine

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(revspine.engine, "assess", broken)
    result = run("assess", write_case(case()))
    assert result.exit_code == 1
    assert "internal error" in result.stderr
    assert "RuntimeError: boom" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("number", "code", "fragment"),
    [
        ("ENOSPC", 4, "/srv/out/report.html: No space left on device"),
        ("EACCES", 4, "/srv/out/report.html: Permission denied"),
        ("EROFS", 4, "/srv/out/report.html: Read-only file system"),
        ("EIO", 1, "internal error"),  # not the machine's refusal: reported as ours
    ],
)
def test_a_refused_file_operation_exits_4_and_names_the_file(
    run: Run,
    write_case: WriteCase,
    case: CaseFactory,
    monkeypatch: pytest.MonkeyPatch,
    number: str,
    code: int,
    fragment: str,
) -> None:
    import errno
    import os

    import revspine.engine

    def refused(*args: object, **kwargs: object) -> None:
        err = getattr(errno, number)
        raise OSError(err, os.strerror(err), "/srv/out/report.html")

    monkeypatch.setattr(revspine.engine, "assess", refused)
    result = run("assess", write_case(case()))
    assert result.exit_code == code, result.stderr
    assert fragment in result.stderr
    assert ("bug" in result.stderr) == (code == 1)
    assert result.stdout == ""
