"""``revspine settings``: the effective settings, or the settings reference (docs/SETTINGS.md)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from revspine.cli._common import write_output
from revspine.cli._store import ConfigOpt, SettingOpt, load, store_errors
from revspine.cli._store import SettingsCommand as Command

__all__ = ["Command", "settings"]


class SettingsFormat(StrEnum):
    """Output formats of ``settings``."""

    text = "text"
    json = "json"
    md = "md"


def settings(
    output_format: Annotated[
        SettingsFormat,
        typer.Option("--format", "-f", help="text/json: effective values; md: the reference page."),
    ] = SettingsFormat.text,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file.", show_default=False)
    ] = None,
    setting: SettingOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Show the effective settings (secrets masked) or write the settings reference."""
    with store_errors():
        from revspine.settings import describe, render_settings_markdown

        if output_format is SettingsFormat.md:
            write_output(render_settings_markdown(), out, "settings reference")
            return
        values = describe(load(setting, config))
        if output_format is SettingsFormat.json:
            write_output(json.dumps(values, indent=2), out, "settings")
        else:
            write_output("\n".join(f"{k} = {v}" for k, v in values.items()), out, "settings")
