"""A small page where a person fills in a record and sees the prediction (no JS build step).

The form is generated from the model package's input schema and example record, so a new field
shows up by itself, and the answer names the classes as the model package does.
"""

from functools import cache
from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from {{ cookiecutter.package_name }} import EXAMPLE_RECORD, InputRecord

from app.api.deps import ServicesDep

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
label { display: grid; grid-template-columns: 10rem 1fr; gap: .5rem; margin: .4rem 0; }
small { grid-column: 2; color: #555; }
output { display: block; margin-top: 1rem; padding: .8rem; background: #f2f2f2; }
</style>
</head>
<body>
<h1>__TITLE__</h1>
<form id="record" novalidate>
__FIELDS__
<label>API key <input name="api-key" type="password" autocomplete="off">
<small>only if the service requires one</small></label>
<button type="submit">Predict</button>
</form>
<output id="result" aria-live="polite"></output>
<script>
const form = document.getElementById("record");
const result = document.getElementById("result");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const record = {};
  for (const input of form.querySelectorAll("[data-field]")) {
    const value = input.value.trim();
    record[input.dataset.field] = value === "" ? null
      : input.dataset.kind === "number" ? Number(value) : value;
  }
  const headers = {"Content-Type": "application/json"};
  const key = form.elements["api-key"].value;
  if (key) headers["X-API-Key"] = key;
  result.textContent = "Predicting...";
  const response = await fetch("api/v1/predict", {
    method: "POST", headers, body: JSON.stringify({records: [record]}),
  });
  const body = await response.json();
  if (!response.ok) {
    const problems = (body.errors || []).map((e) => `${e.field}: ${e.message}`).join("; ");
    result.textContent = `Error ${response.status}: ${body.detail} ${problems}`;
    return;
  }
  const prediction = body.predictions[0];
  const shares = Object.entries(prediction.probabilities)
    .map(([name, probability]) => `${name} ${(probability * 100).toFixed(1)}%`).join(", ");
  result.textContent = `${prediction.label}: probabilities ${shares} (model ${body.model_version})`;
});
</script>
</body>
</html>
"""


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
    return PAGE.replace("__TITLE__", escape(title)).replace("__FIELDS__", fields)


@router.get("/", response_class=HTMLResponse)
async def index(services: ServicesDep) -> HTMLResponse:
    return HTMLResponse(render_page(services.settings.project_name))
