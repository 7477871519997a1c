"""Plumbing for the commands that use the database: settings options, the store, errors.

``--setting NAME VALUE`` (repeatable) and ``--config FILE`` are accepted by every such command.
Typer cannot declare a repeatable two-value option, so the command classes here join each
``--setting NAME VALUE`` pair into ``NAME=VALUE`` before Click parses the arguments.
"""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from revspine.cli._common import EXIT_INPUT, EXIT_INTERNAL, cli_errors, echo_err

if TYPE_CHECKING:
    from revspine.settings import Settings
    from revspine.storage import SqlStore

_SETTING_FLAGS = ("--setting", "-s")


def join_setting_pairs(args: list[str]) -> list[str]:
    """``[--setting, NAME, VALUE]`` → ``[--setting, NAME=VALUE]`` (``NAME=VALUE`` kept as is)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out.extend(args[i:])
            break
        if arg in _SETTING_FLAGS and i + 2 < len(args) and "=" not in args[i + 1]:
            out += [arg, f"{args[i + 1]}={args[i + 2]}"]
            i += 3
            continue
        out.append(arg)
        i += 1
    return out


class SettingsCommand(TyperCommand):
    """A command accepting ``--setting NAME VALUE``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, join_setting_pairs(args))


class SettingsGroup(TyperGroup):
    """A command group accepting ``--setting NAME VALUE`` in its own options."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, join_setting_pairs(args))


SettingOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--setting",
        "-s",
        metavar="NAME VALUE",
        help="Set a setting (repeatable); see `revspine settings` and docs/SETTINGS.md.",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML settings file (default: $REVSPINE_CONFIG).",
        show_default=False,
        dir_okay=False,
    ),
]


def load(setting: list[str] | None, config: Path | None) -> Settings:
    """Settings from the environment, the config file and ``--setting`` pairs."""
    from revspine.errors import ConfigError
    from revspine.settings import load_settings

    pairs: list[tuple[str, str]] = []
    for item in setting or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--setting {item}: expected NAME VALUE")
        pairs.append((name, value))
    return load_settings(pairs, config_file=config)


@contextlib.contextmanager
def opened_store(settings: Settings) -> Iterator[SqlStore]:
    """The configured store (migrated when ``db_auto_upgrade`` is on), closed afterwards."""
    from revspine.storage import open_store as _open

    store = _open(settings.database_url)
    try:
        if settings.db_auto_upgrade:
            store.upgrade()
        yield store
    finally:
        store.close()


def cli_actor() -> str:
    """The audit actor for command-line actions: ``cli:<OS user>``."""
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli:unknown"


@contextlib.contextmanager
def store_errors() -> Iterator[None]:
    """Map settings and storage errors to exit codes (2 for usage, 1 for the database)."""
    from revspine.errors import AlreadyExistsError, ConfigError, NotFoundError, StorageError

    with cli_errors():
        try:
            yield
        except (ConfigError, AlreadyExistsError, NotFoundError) as exc:
            echo_err(f"revspine: {exc}")
            raise typer.Exit(EXIT_INPUT) from None
        except StorageError as exc:
            echo_err(f"revspine: {exc}")
            raise typer.Exit(EXIT_INTERNAL) from None


def typer_app(name: str, help: str, **kwargs: Any) -> typer.Typer:
    """A command group whose commands accept ``--setting NAME VALUE``."""
    return typer.Typer(name=name, help=help, cls=SettingsGroup, add_completion=False, **kwargs)
