"""The form where a person fills in a record and sees the prediction (form.html, no JS build step).

The fields are generated from the model package's input schema and example record, so a new field
shows up by itself, and the answer names the classes as the model package does.
"""

from functools import cache
from html import escape
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }} import EXAMPLE_RECORD, InputRecord

TEMPLATE = Path(__file__).with_name("form.html")


def field_html(name: str, spec: dict[str, Any], required: bool) -> str:
    options = next((item for item in spec.get("anyOf", []) if item.get("type") != "null"), spec)
    value = EXAMPLE_RECORD.get(name)
    shown = "" if value is None else str(value)
    attributes = f'name="{escape(name)}" data-field="{escape(name)}"' + (
        " required" if required else ""
    )
    if "enum" in options:
        choices = ([""] if not required else []) + [str(choice) for choice in options["enum"]]
        kind = "number" if options.get("type") in ("integer", "number") else "text"
        rendered = "".join(
            f"<option{' selected' if choice == shown else ''}>{escape(choice)}</option>"
            for choice in choices
        )
        control = f'<select {attributes} data-kind="{kind}">{rendered}</select>'
    elif options.get("type") in ("integer", "number"):
        step = "1" if options["type"] == "integer" else "any"
        bounds = "".join(
            f' {html}="{options[key]}"'
            for key, html in (("minimum", "min"), ("maximum", "max"))
            if key in options
        )
        control = (
            f'<input {attributes} data-kind="number" type="number" step="{step}"{bounds} '
            f'value="{escape(shown)}">'
        )
    else:
        control = f'<input {attributes} data-kind="text" value="{escape(shown)}">'
    description = escape(spec.get("description", ""))
    return f"<label>{escape(name)} {control}<small>{description}</small></label>"


@cache
def render_page(title: str) -> str:
    schema = InputRecord.model_json_schema()
    required = set(schema.get("required", []))
    fields = "\n".join(
        field_html(name, spec, name in required) for name, spec in schema["properties"].items()
    )
    page = TEMPLATE.read_text(encoding="utf-8")
    return page.replace("__TITLE__", escape(title)).replace("__FIELDS__", fields)
