"""The OpenAPI document of /api/v1 is generated (spectree, from the pydantic models of
backend.schemas), valid OpenAPI 3, and covers every route of the API."""
import json
import os
import subprocess
from pathlib import Path

from backendutil import make_app

from backend.api.openapi import spec
from backend.schemas.invoices import IssueRequest

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = Path(os.environ.get("OPENAPI_SPEC_VALIDATOR",
                                ROOT / ".venv-schemathesis" / "bin" / "openapi-spec-validator"))


def test_served_document_is_valid_openapi_3(tmp_path):
    """openapi-spec-validator (in the schemathesis virtualenv: its jsonschema conflicts
    with brownie's pins) on the document as served, with a non-default configuration."""
    app = make_app(tmp_path, INVOICE_MAX_ITEMS=7)
    r = app.test_client().get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = r.get_json()
    assert doc["openapi"].startswith("3.1")
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(doc, ensure_ascii=False))
    out = subprocess.run([str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "OK" in out.stdout, out.stdout + out.stderr
    # a broken document is refused by the same check (the check can fail)
    path.write_text(json.dumps({**doc, "paths": {"/x": {"get": {"responses": "nope"}}}}))
    assert subprocess.run([str(VALIDATOR), str(path)], capture_output=True, timeout=120).returncode != 0


def test_every_api_route_is_in_the_document(tmp_path):
    app = make_app(tmp_path)
    doc = spec()
    documented = {(path, method.upper()) for path, item in doc["paths"].items() for method in item}
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi_document":
            continue
        path = rule.rule.removeprefix("/api/v1")
        for arg in rule.arguments:
            path = path.replace(f"<number:{arg}>", f"{{{arg}}}").replace(f"<int:{arg}>", f"{{{arg}}}") \
                .replace(f"<rid:{arg}>", f"{{{arg}}}")
        path = path.replace('<any("grant-role", "revoke-role"):action>', "{action}")
        routes |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented


def test_request_schemas_are_the_models():
    """The document's request schemas are the models' own JSON Schema (one definition)."""
    doc = spec()
    body = doc["paths"]["/invoices"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/IssueRequest"}
    generated = doc["components"]["schemas"]["IssueRequest"]
    model = IssueRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    assert set(generated["properties"]) == set(model["properties"])
    assert generated["properties"]["buyer_name"] == model["properties"]["buyer_name"]
    assert generated["additionalProperties"] is False and generated["required"] == model["required"]
