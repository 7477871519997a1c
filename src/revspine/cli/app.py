"""The Typer application: registers the command families, nothing else."""

from __future__ import annotations

from typing import Annotated

import typer

from revspine.cli import (
    assess,
    audit,
    batch,
    catalog,
    db,
    demo,
    fhir,
    knowledge,
    schema,
    serve,
    settings_cmd,
    trace,
    users,
)

HELP = (
    "revspine: explainable clinical decision support for failed back surgery syndrome (FBSS). "
    "Advice for a clinician, not an order.\n\n"
    "Exit codes: 0 ok, 2 invalid input or usage, 3 a check failed, 4 the system refused a file "
    "operation (disk full, no permission), 1 internal error."
)

app = typer.Typer(
    name="revspine",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from revspine import __version__

        typer.echo(f"revspine {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """revspine: explainable clinical decision support for failed back surgery syndrome (FBSS)."""


app.command("assess", short_help="Assess one case (text, JSON or HTML report).")(assess.assess)
app.command("validate", short_help="Check a case file; list every problem.")(assess.validate)
app.command("rules", short_help="The rule catalog (text, Markdown or JSON).")(catalog.rules)
app.command("schema", short_help="JSON Schema of the case or the assessment.")(schema.schema)
app.command("demo", short_help="Assess the bundled examples; write reports.")(demo.demo)
app.command("trace", short_help="Trace matrix: requirements, rules, hazards, tests.")(trace.trace)
app.add_typer(
    knowledge.app, name="knowledge", short_help="Show the knowledge base; check an override."
)
app.add_typer(fhir.app, name="fhir", short_help="FHIR R4: import a bundle as a case file.")
app.command("serve", cls=serve.Command, short_help="Run the web app and JSON API.")(serve.serve)
app.add_typer(users.app, name="user", short_help="Local accounts, API tokens, TOTP.")
app.add_typer(db.app, name="db", short_help="Database migrations.")
app.add_typer(audit.app, name="audit", short_help="List, verify or export the audit log.")
app.command(
    "settings", cls=settings_cmd.Command, short_help="Effective settings or their reference."
)(settings_cmd.settings)
batch.register(app)
