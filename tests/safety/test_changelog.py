"""Immutable knowledge versions (issue 6 §3): a change to the built-in knowledge content needs a
new version and a CHANGELOG entry naming it and the rules it affects."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from revspine.cli.app import app
from revspine.governance.changelog import (
    RELEASED_PATH,
    Released,
    check_changelog,
    parse_released,
    render_released,
)
from revspine.knowledge import load_knowledge

pytestmark = pytest.mark.req("REQ-304", "REQ-302", "HAZ-005")

KB = load_knowledge()
OLD = Released("2026.11.0", "a" * 64)
NEW_SHA = "b" * 64


def test_the_built_in_knowledge_is_released_or_has_a_changelog_entry() -> None:
    """Fails when default.toml changed under a released version, or without a CHANGELOG entry."""
    released = parse_released((ROOT / RELEASED_PATH).read_text(encoding="utf-8"))
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert check_changelog(KB.meta.version, KB.sha256, released, changelog) == []
    assert released.version in changelog


def test_unchanged_content_needs_nothing() -> None:
    assert check_changelog("2026.11.0", OLD.sha256, OLD, "") == []


def test_changed_content_under_the_released_version_is_refused() -> None:
    (problem,) = check_changelog("2026.11.0", NEW_SHA, OLD, "- knowledge 2026.11.0 (DX001)")
    assert "version is still 2026.11.0" in problem and "bump" in problem


def test_a_new_version_needs_a_changelog_entry() -> None:
    (problem,) = check_changelog("2026.12.0", NEW_SHA, OLD, "## [Unreleased]\n- Other things.\n")
    assert problem == "CHANGELOG.md has no entry naming knowledge version 2026.12.0"


def test_the_entry_must_name_the_rules_it_affects() -> None:
    changelog = "## [Unreleased]\n- Knowledge 2026.12.0: HbA1c deferral at 8.5%.\n"
    (problem,) = check_changelog("2026.12.0", NEW_SHA, OLD, changelog)
    assert "names no rule id" in problem
    wrapped = (
        "## [Unreleased]\n- Knowledge 2026.12.0: HbA1c deferral at 8.5%\n"
        "  (affects OP003, PL001).\n"
    )
    assert check_changelog("2026.12.0", NEW_SHA, OLD, wrapped) == []


def test_released_file_round_trips_and_is_validated() -> None:
    text = render_released("revspine-fbss-core", "2026.12.0", NEW_SHA)
    assert parse_released(text) == Released("2026.12.0", NEW_SHA)
    for bad in ('version = "x"\n', 'version = "x"\nsha256 = "123"\n', "not toml ="):
        with pytest.raises(ValueError, match="RELEASED"):
            parse_released(bad)


def _root(tmp_path: Path, released: Released, changelog: str) -> Path:
    target = tmp_path / RELEASED_PATH
    target.parent.mkdir(parents=True)
    target.write_text(render_released(KB.meta.id, released.version, released.sha256))
    (tmp_path / "CHANGELOG.md").write_text(changelog, encoding="utf-8")
    return tmp_path


def test_cli_passes_on_the_repository() -> None:
    result = CliRunner().invoke(app, ["knowledge", "check-changelog", "--root", str(ROOT)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("ok: ")


def test_cli_fails_when_content_changed_under_the_released_version(tmp_path: Path) -> None:
    root = _root(tmp_path, Released(KB.meta.version, "c" * 64), "# Changelog\n")
    result = CliRunner().invoke(app, ["knowledge", "check-changelog", "--root", str(root)])
    assert result.exit_code == 3
    assert "released versions are immutable" in result.stderr


def test_cli_record_writes_the_released_file(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        Released("2000.1.0", "d" * 64),
        f"## [{KB.meta.version}]\n- Knowledge base {KB.meta.version} (RF001, DS001).\n",
    )
    result = CliRunner().invoke(
        app, ["knowledge", "check-changelog", "--root", str(root), "--record"]
    )
    assert result.exit_code == 0, result.stderr
    assert parse_released((root / RELEASED_PATH).read_text()) == Released(
        KB.meta.version, KB.sha256
    )


def test_cli_missing_released_file_is_a_usage_error(tmp_path: Path) -> None:
    shutil.copy(ROOT / "CHANGELOG.md", tmp_path)
    result = CliRunner().invoke(app, ["knowledge", "check-changelog", "--root", str(tmp_path)])
    assert result.exit_code == 2
