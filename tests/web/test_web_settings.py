"""The settings registry: sources and their priority, validation, the generated docs page,
the secret key file, and the rule that only settings.py reads the environment."""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

import pytest

from revspine.errors import ConfigError
from revspine.settings import (
    SETTINGS,
    Settings,
    describe,
    load_settings,
    render_settings_markdown,
    resolve_secret_key,
)

pytestmark = pytest.mark.req("REQ-501")

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "revspine"


def test_every_setting_is_documented_and_the_page_is_current() -> None:
    assert SETTINGS, "no settings"
    for setting in SETTINGS:
        assert len(setting.help) > 20, f"{setting.name} needs a help text"
        assert setting.type in (str, int, bool)
        assert isinstance(setting.default, setting.type)
    page = ROOT / "docs" / "SETTINGS.md"
    expected = render_settings_markdown()
    assert page.read_text(encoding="utf-8").rstrip("\n") == expected.rstrip("\n"), (
        "docs/SETTINGS.md is out of date: run `revspine settings --format md --out docs/SETTINGS.md`"
    )
    for setting in SETTINGS:
        assert f"## `{setting.name}`" in expected and setting.env in expected


def test_defaults_work_with_no_setup() -> None:
    settings = load_settings(env={})
    assert settings == Settings()
    assert settings.database_url == "sqlite:///revspine.db"
    assert settings.cookie_secure is False and settings.require_totp is False


def test_sources_in_priority_order(tmp_path: Path) -> None:
    config = tmp_path / "revspine.toml"
    config.write_text(
        "page_size = 20\nlogin_max_failures = 4\ncookie_secure = true\n", encoding="utf-8"
    )
    env = {
        "REVSPINE_CONFIG": str(config),
        "REVSPINE_LOGIN_MAX_FAILURES": "6",
        "REVSPINE_TEST_PG_URL": "x",
    }
    settings = load_settings([("login-max-failures", "8")], env=env)
    assert (settings.page_size, settings.login_max_failures, settings.cookie_secure) == (
        20,
        8,
        True,
    )
    assert load_settings(env=env).login_max_failures == 6


@pytest.mark.parametrize(
    ("pairs", "env", "words"),
    [
        ([("login_max_failure", "3")], {}, "did you mean 'login_max_failures'"),
        ([("page_size", "many")], {}, "whole number"),
        ([("page_size", "0")], {}, "at least 1"),
        ([], {"REVSPINE_COOKIE_SECURE": "perhaps"}, "REVSPINE_COOKIE_SECURE"),
    ],
)
def test_bad_settings_name_the_setting_and_source(
    pairs: list[tuple[str, str]], env: dict[str, str], words: str
) -> None:
    with pytest.raises(ConfigError, match=words):
        load_settings(pairs, env=env)


def test_a_bad_config_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("page_size = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(config_file=bad, env={})
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(config_file=tmp_path / "missing.toml", env={})


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_booleans_accept_common_spellings(value: str) -> None:
    assert load_settings(env={"REVSPINE_REQUIRE_TOTP": value}).require_totp is True


def test_describe_masks_secrets_and_url_passwords() -> None:
    settings = Settings(
        secret_key="k" * 40, database_url="postgresql+psycopg://app:hunter2@db/revspine"
    )
    shown = describe(settings)
    assert shown["secret_key"] == "********"
    assert shown["database_url"] == "postgresql+psycopg://app:********@db/revspine"


def test_the_secret_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(secret_key_file=str(tmp_path / "secret"))
    first = resolve_secret_key(settings)
    assert len(first) >= 32
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600
    assert resolve_secret_key(settings) == first
    assert resolve_secret_key(Settings(secret_key="x" * 40)) == b"x" * 40
    (tmp_path / "short").write_text("abc", encoding="utf-8")
    with pytest.raises(ConfigError, match="too short"):
        resolve_secret_key(Settings(secret_key_file=str(tmp_path / "short")))


def test_only_settings_reads_the_environment_in_web_and_storage() -> None:
    offenders = []
    for module in sorted((SRC / "web").rglob("*.py")) + sorted((SRC / "storage").rglob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                offenders.append(f"{module.relative_to(SRC)}:{node.lineno}")
    assert not offenders, offenders
    assert "environ" in (SRC / "settings.py").read_text(encoding="utf-8")
    assert os.environ is not None
