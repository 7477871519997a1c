"""``revspine audit [--limit N]``, ``audit verify``, ``audit export --format fhir``, ``audit prune``."""

from __future__ import annotations

import json
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from revspine.cli._common import EXIT_INTERNAL, write_output
from revspine.cli._store import (
    ConfigOpt,
    SettingOpt,
    SettingsCommand,
    cli_actor,
    load,
    opened_store,
    store_errors,
    typer_app,
)

app = typer_app(
    "audit",
    "The hash-chained audit log: list it, verify it, export it as FHIR AuditEvents.",
    invoke_without_command=True,
)


class ListFormat(StrEnum):
    """Output formats of ``audit``."""

    text = "text"
    json = "json"


class ExportFormat(StrEnum):
    """Output formats of ``audit export``."""

    fhir = "fhir"
    json = "json"


@app.callback()
def audit(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="How many entries (newest first).")
    ] = 50,
    output_format: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.text,
    setting: SettingOpt = None,
    config: ConfigOpt = None,
) -> None:
    """List the most recent audit entries (who, when, what, from where, outcome)."""
    if ctx.invoked_subcommand is not None:
        return
    with store_errors():
        with opened_store(load(setting, config)) as store:
            entries = store.list_audit(limit)
            if output_format is ListFormat.json:
                typer.echo(json.dumps([e.__dict__ for e in entries], indent=2))
                return
            for e in entries:
                target = f"{e.entity}:{e.entity_id}" if e.entity_id else e.entity
                typer.echo(
                    f"{e.seq}\t{e.ts}\t{e.actor}\t{e.action}\t{target}\t{e.source_ip or '-'}\t{e.outcome}\t{e.detail or ''}"
                )


@app.command("verify", cls=SettingsCommand)
def verify(setting: SettingOpt = None, config: ConfigOpt = None) -> None:
    """Recompute the hash chain; report the first modified or missing entry (exit 1)."""
    with store_errors():
        from revspine.storage import verify_chain

        with opened_store(load(setting, config)) as store:
            report = verify_chain(store.iter_audit(), store.audit_state())
            if not report.ok:
                typer.echo(f"audit log TAMPERED: {report.problem}", err=True)
                typer.echo(
                    f"first bad entry: {report.problem_seq}; {report.checked} entries verified before it"
                )
                raise typer.Exit(EXIT_INTERNAL)
            typer.echo(
                f"audit log intact: {report.checked} entries, head {report.head_seq} {report.head_hash}"
            )


@app.command("export", cls=SettingsCommand)
def export(
    output_format: Annotated[
        ExportFormat,
        typer.Option("--format", "-f", help="fhir: a FHIR R4 Bundle of AuditEvent resources."),
    ] = ExportFormat.fhir,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write to this file instead of stdout.", show_default=False
        ),
    ] = None,
    setting: SettingOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Export the whole audit log (the export itself is audited)."""
    with store_errors():
        from revspine import __version__
        from revspine.storage import AuditEvent, system_clock
        from revspine.storage.fhir_audit import audit_bundle

        with opened_store(load(setting, config)) as store:
            store.append_audit(
                AuditEvent(
                    cli_actor(),
                    "audit_export",
                    "audit_log",
                    None,
                    None,
                    "success",
                    output_format.value,
                )
            )
            entries = list(store.iter_audit())
            if output_format is ExportFormat.fhir:
                doc: object = audit_bundle(entries, __version__, system_clock())
            else:
                doc = [e.__dict__ for e in entries]
            write_output(json.dumps(doc, indent=2, ensure_ascii=False), out, "audit export")


@app.command("prune", cls=SettingsCommand)
def prune(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    setting: SettingOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Remove entries older than audit_retention_days (the chain stays verifiable)."""
    with store_errors():
        from revspine.storage import AuditEvent, system_clock

        settings = load(setting, config)
        cutoff = system_clock() - timedelta(days=settings.audit_retention_days)
        if not yes:
            typer.confirm(f"Remove audit entries recorded before {cutoff:%Y-%m-%d}?", abort=True)
        with opened_store(settings) as store:
            event = AuditEvent(
                cli_actor(),
                "audit_prune",
                "audit_log",
                None,
                None,
                "success",
                f"before {cutoff:%Y-%m-%d}",
            )
            removed = store.prune_audit(cutoff, event)
            typer.echo(f"removed {removed} entries recorded before {cutoff:%Y-%m-%d}")
