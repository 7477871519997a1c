"""The knowledge file: validated at load, overridable by a site, hashed and versioned."""

from __future__ import annotations

from pathlib import Path

import pytest

from revspine.errors import KnowledgeSchemaError
from revspine.knowledge import load_knowledge
from revspine.rules.registry import ordered_rules

pytestmark = pytest.mark.req("REQ-301")


@pytest.mark.req("REQ-302")
def test_default_loads_with_version_and_hash() -> None:
    kb = load_knowledge()
    assert kb.meta.version
    assert len(kb.sha256) == 64
    assert kb.overrides == ()


def test_every_param_a_rule_declares_exists() -> None:
    kb = load_knowledge()
    for r in ordered_rules():
        for key in r.params:
            assert key in kb.params, f"{r.id} declares unknown parameter {key}"


def test_every_param_has_sources_or_is_flagged() -> None:
    for key, p in load_knowledge().params.items():
        assert p.sources or p.status != "verified", f"{key} is 'verified' without a source"
        if p.status == "todo_clinical":
            assert p.note is None or "TODO(clinical)" in p.note or key.startswith("plausibility.")


@pytest.mark.req("REQ-303", "HAZ-020")
def test_override_changes_value_and_is_recorded(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[antibiotics]\nbeta_lactam_allergy_agent = "clindamycin"\n')
    kb = load_knowledge(override=site)
    assert kb.value("antibiotics.beta_lactam_allergy_agent") == "clindamycin"
    assert [o.key for o in kb.overrides] == ["antibiotics.beta_lactam_allergy_agent"]
    assert kb.sha256 != load_knowledge().sha256
    assert kb.version.endswith("+site")


@pytest.mark.req("REQ-303")
def test_override_as_full_table(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[blocks]\nsi_joint_positive_pct = { value = 50, sources = ["53"] }\n')
    kb = load_knowledge(override=site)
    assert kb.num("blocks.si_joint_positive_pct") == 50
    assert kb.params["blocks.si_joint_positive_pct"].sources == ["53"]


@pytest.mark.req("REQ-303")
def test_override_identical_value_is_not_an_override(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text("[antibiotics]\ncefazolin_dose_g = 2\n")
    assert load_knowledge(override=site).overrides == ()


@pytest.mark.req("REQ-303", "HAZ-020")
@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[antibiotics]\nnot_a_param = 1\n", "antibiotics.not_a_param"),
        ('[antibiotics]\ncefazolin_dose_g = "two"\n', "antibiotics.cefazolin_dose_g"),
        ("[sagittal]\npi_ll_deg = [10]\n", "sagittal.pi_ll_deg"),
        (
            '[antibiotics]\ncefazolin_dose_g = { value = 2, status = "maybe" }\n',
            "antibiotics.cefazolin_dose_g",
        ),
    ],
)
def test_bad_override_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    site = tmp_path / "site.toml"
    site.write_text(text)
    with pytest.raises(KnowledgeSchemaError) as exc:
        load_knowledge(override=site)
    assert key in str(exc.value)
    assert str(site) in str(exc.value)


@pytest.mark.req("HAZ-020")
def test_syntax_error_names_the_file(tmp_path: Path) -> None:
    site = tmp_path / "broken.toml"
    site.write_text("[antibiotics\n")
    with pytest.raises(KnowledgeSchemaError, match="broken.toml"):
        load_knowledge(override=site)


def test_base_without_meta_is_refused(tmp_path: Path) -> None:
    base = tmp_path / "base.toml"
    base.write_text("[x]\ny = { value = 1 }\n")
    with pytest.raises(KnowledgeSchemaError, match="meta"):
        load_knowledge(base=base)
