"""``revspine schema case|assessment``: the JSON Schema of the input or the output contract."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from revspine.cli._common import cli_errors, write_output

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class SchemaKind(StrEnum):
    """Which schema to print."""

    case = "case"
    assessment = "assessment"


def schema_of(kind: SchemaKind) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the case file or of the assessment (with aliases)."""
    if kind is SchemaKind.case:
        from revspine.domain.case import Case

        body = Case.model_json_schema()
    else:
        from revspine.domain.assessment import Assessment

        body = Assessment.model_json_schema(by_alias=True)
    return {"$schema": JSON_SCHEMA_DIALECT, **body}


def schema(
    kind: Annotated[
        SchemaKind, typer.Argument(help="case (the input) or assessment (the output).")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the schema to this file.", show_default=False),
    ] = None,
) -> None:
    """Print the JSON Schema of a case file or of an assessment."""
    with cli_errors():
        import json

        write_output(
            json.dumps(schema_of(kind), indent=2, ensure_ascii=False), out, f"{kind} schema"
        )
