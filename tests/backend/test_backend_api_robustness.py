"""What a schema fuzzer (schemathesis against /api/v1/openapi.json) found, one test per
defect, and a sweep of hostile input that must never give a 500: empty batches, huge page
numbers and non-integer query parameters, 405 answers without Allow, requests the
document calls valid but the validators refused (checked field by field with hypothesis
strategies drawn from the document itself), lone surrogates, deep nesting, huge ids,
non-object and non-UTF-8 bodies, control characters in query parameters."""
import json
import re
from datetime import date, datetime

import pytest
from backendutil import csrf_token, make_app, sample_invoice
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.core import given  # hypothesis' own (brownie wraps hypothesis.given for its chain's snapshots)

from backend.core import canonical
from backend.schemas.invoices import ReviewRequest
from backend.schemas.merchants import uscc_check_char
from backend.schemas.tax_ids import org_code_check_char, resident_id_check_char
from backend.schemas.verification import VerifyQuery
from backend.services import errors, validation, verification
from backend.core.config import DEFAULTS
from backend.api.openapi import spec


DOC = spec()
SCHEMAS = DOC["components"]["schemas"]
QUERY = {"number": "1" * 20, "issue_date": "2026-01-01", "gross": 1, "check_code": "123456"}


# ---------------------------------------------------------------- the fuzzer's findings
@pytest.mark.parametrize("body", [[], {"rows": []}])
def test_empty_batch_is_400_not_500(api, body):
    r = api().post("/verify/batch", json=body)
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert r.get_json()["error"] == "validation_error"
    assert "至少需要一行" in r.get_json()["message"]
    assert "empty batch" in api().post("/verify/batch", json=body, headers={"Accept-Language": "en"}).get_json()["message"]
    schema = DOC["paths"]["/verify/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    shapes = [_resolve(s) for s in _resolve(schema)["anyOf"]]
    assert [s.get("minItems", s.get("properties", {}).get("rows", {}).get("minItems")) for s in shapes] == [1, 1]


def test_empty_csv_batch_is_400(api, chain_app):
    r = api().post("/verify/batch", data=b"number,issue_date,gross,check_code\n", content_type="text/csv")
    assert r.status_code == 400 and "至少需要一行" in r.get_json()["message"]
    # the page says the same, as a 400, without a 500
    import io

    c = chain_app.test_client()
    token = csrf_token(c, "/verify/batch")
    r = c.post("/verify/batch", data={"csrf_token": token, "file": (io.BytesIO(b"number,issue_date,gross,check_code\n"),
                                                                    "x.csv")}, content_type="multipart/form-data")
    assert r.status_code == 400 and "至少需要一行" in r.get_data(as_text=True)


def test_huge_page_is_400_and_past_the_end_is_empty(api):
    r = api("auditor").get("/invoices?page=1000000000000000000")
    assert r.status_code == 400 and "page" in r.get_json()["fields"]
    r = api("auditor").get("/invoices?page=1000000")  # the document's maximum: an empty page
    assert r.status_code == 200 and r.get_json()["invoices"] == [] and r.get_json()["page"] == 1000000
    params = {p["name"]: p["schema"] for p in DOC["paths"]["/invoices"]["get"]["parameters"]}
    assert params["page"]["maximum"] == 1000000
    assert {k: params["per_page"][k] for k in ("type", "minimum", "maximum", "default")} == {
        "type": "integer", "minimum": 1, "maximum": 200, "default": 50}


@pytest.mark.parametrize("query", ["per_page=null", "per_page=abc", "per_page=1.5", "per_page=", "per_page=0",
                                   "per_page=201", "per_page=-1", "page=0", "page=null", "page=%C2%B2",
                                   "page=99999999999999999999999999", "from=yesterday", "to=2026-1-1",
                                   "q=a%00b", "buyer=%1b", "status=" + "x" * 33])
def test_bad_query_parameters_are_400(api, query):
    r = api("auditor").get("/invoices?" + query)
    assert r.status_code == 400, (query, r.status_code)
    assert r.get_json()["error"] == "validation_error" and r.get_json()["fields"]


@pytest.mark.parametrize("query", ["limit=null", "limit=0", "limit=1001", "limit=1e3", "q=%00", "result=%07"])
def test_bad_history_parameters_are_400(api, query):
    assert api("buyer").get("/verifications?" + query).status_code == 400


def test_good_query_parameters(api):
    for query in ("page=1&per_page=200", "per_page=1", "from=2026-01-01&to=2026-12-31", "q=&status=", "page=+2"):
        assert api("auditor").get("/invoices?" + query).status_code == 200, query
    assert api("buyer").get("/verifications?limit=1000").status_code == 200


@pytest.mark.parametrize("method,path,allowed", [
    ("TRACE", "/api/v1/verify", {"POST"}),
    ("PUT", "/api/v1/invoices", {"GET", "POST"}),
    ("DELETE", "/api/v1/openapi.json", {"GET"}),
    ("PATCH", "/api/v1/audit/parameters", {"GET", "POST"}),
])
def test_405_carries_allow_and_the_error_shape(chain_app, method, path, allowed):
    r = chain_app.test_client().open(path, method=method)
    assert r.status_code == 405
    header = {m.strip() for m in r.headers["Allow"].split(",")}
    assert allowed <= header
    body = r.get_json()
    assert body["error"] == "method_not_allowed" and set(body) <= {"error", "message", "fields"}
    assert "此地址不接受这种请求方法，允许的方法：" in body["message"] and "OPTIONS" in body["message"]
    english = chain_app.test_client().open(path, method=method, headers={"Accept-Language": "en"}).get_json()
    assert english["error"] == "method_not_allowed" and "it takes:" in english["message"]


def test_405_on_pages_carries_allow(chain_app):
    r = chain_app.test_client().open("/verify/", method="TRACE")
    assert r.status_code == 405 and "POST" in r.headers["Allow"] and "GET" in r.headers["Allow"]
    assert r.mimetype == "text/html"


# ---------------------------------------------------------------- the document matches the validators
def _resolve(schema):
    return SCHEMAS[schema["$ref"].split("/")[-1]] if "$ref" in schema else schema


def _strategy(schema):
    """Values a schema calls valid (the JSON Schema subset the document uses)."""
    if "$ref" in schema:
        return _strategy(SCHEMAS[schema["$ref"].split("/")[-1]])
    if "anyOf" in schema:
        return st.one_of([_strategy(s) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    base = None
    t = schema.get("type")
    if t == "null":
        return st.none()
    if t == "integer":
        base = st.integers(schema.get("minimum", -2**70), schema.get("maximum", 2**70))
    elif t == "boolean":
        base = st.booleans()
    elif t == "string" and schema.get("format") == "date":
        base = st.dates(date(1, 1, 1), date(9999, 12, 31)).map(date.isoformat)
        if "pattern" in schema:
            base = base.filter(re.compile(schema["pattern"]).search)
    elif t == "string":
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", 300)
        base = st.from_regex(schema["pattern"]) if "pattern" in schema else st.text(max_size=hi)
        base = base.filter(lambda s: lo <= len(s) <= hi)
    elif t == "array":
        base = st.lists(_strategy(schema["items"]), min_size=schema.get("minItems", 0),
                        max_size=min(schema.get("maxItems", 3), 3))
    assert base is not None, schema
    return st.one_of(base, st.none()) if schema.get("nullable") else base


def _draw_field(schema_name, skip=()):
    props = SCHEMAS[schema_name]["properties"]
    return st.sampled_from(sorted(set(props) - set(skip))).flatmap(
        lambda name: st.tuples(st.just(name), _strategy(props[name])))


FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
CONFIG = dict(DEFAULTS)
CROSS_FIELD = ("net", "tax", "gross", "rate", "amount", "items")  # sums the server computes: documented, not schema
CHECKED = ("buyer_tax_id",)  # its check character: in the description (test_buyer_tax_ids_the_document_allows...)


@FUZZ
@given(_draw_field("IssueRequest", skip=CROSS_FIELD + CHECKED))
def test_issue_request_fields_the_document_allows_are_accepted(field):
    name, value = field
    if name == "issue_date" and value and value > datetime.now(canonical.CHINA).date().isoformat():
        return  # "not in the future (China time)": in the description
    body = {**sample_invoice(), name: value}
    try:
        validation.validate_issue(body, CONFIG)
    except errors.ValidationError as exc:
        assert name not in exc.fields, (name, value, exc.fields)


def _with_check_character(tax_id):
    """A tax ID of the document's pattern, its check character made right (18: USCC; 15: the
    organisation code's; 20: the resident ID number's)."""
    code = tax_id.strip().upper()  # the pattern's $ lets Python's re end in a newline: stripped
    if len(code) == 18:
        return code[:17] + uscc_check_char(code[:17])
    if len(code) == 15:
        return code[:14] + org_code_check_char(code[6:14])
    return code[:17] + resident_id_check_char(code[:17]) + code[18:]


@FUZZ
@given(_strategy(SCHEMAS["IssueRequest"]["properties"]["buyer_tax_id"]).map(_with_check_character))
def test_buyer_tax_ids_the_document_allows_are_accepted_with_their_check_character(tax_id):
    assert validation.validate_issue({**sample_invoice(), "buyer_tax_id": tax_id}, CONFIG)["buyer_tax_id"] == tax_id


@FUZZ
@given(_draw_field("Item", skip=("amount", "tax")))
def test_item_fields_the_document_allows_are_accepted(field):
    name, value = field
    item = {"name": "x", "quantity": 1, "unit_price": 100, "tax_rate": 13, name: value}
    try:
        validation.validate_issue({**sample_invoice(), "items": [item]}, CONFIG)
    except errors.ValidationError as exc:
        assert f"items[0].{name}" not in exc.fields and "items[0]" not in exc.fields, (name, value, exc.fields)


@FUZZ
@given(_draw_field("VerifyQuery"))
def test_verify_query_fields_the_document_allows_are_accepted(field):
    name, value = field
    validation.validated(VerifyQuery, {**QUERY, name: value})


@FUZZ
@given(_strategy(SCHEMAS["ReviewRequest"]["properties"]["reason_code"]))
def test_reason_codes_the_document_allows_are_accepted(code):
    validation.validated(ReviewRequest, {"reason_code": code})


@FUZZ
@given(st.from_regex(DOC["paths"]["/verify/batch"]["post"]["requestBody"]["content"]["text/csv"]["schema"]["pattern"]))
def test_csv_batches_the_document_allows_are_parsed(text):
    assert verification.parse_batch(text.encode(), "text/csv", 20000)


def test_document_lengths_are_the_validators():
    """Boundaries: the document's maximum passes, one more is refused (a shared table)."""
    issue = SCHEMAS["IssueRequest"]["properties"]
    item = SCHEMAS["Item"]["properties"]
    for schema, build, path in [
        (issue["buyer_name"], lambda v: {**sample_invoice(), "buyer_name": v}, "buyer_name"),
        (issue["remarks"], lambda v: {**sample_invoice(), "remarks": v}, "remarks"),
        (issue["drawer"], lambda v: {**sample_invoice(), "drawer": v}, "drawer"),
        (item["name"], lambda v: {**sample_invoice(), "items": [{"name": v, "unit_price": 1, "tax_rate": 13}]},
         "items[0].name"),
        (item["spec"], lambda v: {**sample_invoice(), "items": [{"name": "x", "spec": v, "unit_price": 1,
                                                                 "tax_rate": 13}]}, "items[0].spec"),
        (item["unit"], lambda v: {**sample_invoice(), "items": [{"name": "x", "unit": v, "unit_price": 1,
                                                                 "tax_rate": 13}]}, "items[0].unit"),
    ]:
        n = next(s for s in schema.get("anyOf", [schema]) if s.get("type") == "string")["maxLength"]
        validation.validate_issue(build("票" * n), CONFIG)
        with pytest.raises(errors.ValidationError) as exc:
            validation.validate_issue(build("票" * (n + 1)), CONFIG)
        assert path in exc.value.fields
    assert SCHEMAS["IssueRequest"]["properties"]["items"]["maxItems"] == CONFIG["INVOICE_MAX_ITEMS"]
    assert item["unit_price"]["maximum"] == CONFIG["INVOICE_MAX_AMOUNT"]
    reg = _resolve(DOC["paths"]["/merchant/registration"]["post"]["requestBody"]["content"]["application/json"]
                   ["schema"])
    assert reg["properties"]["name"]["maxLength"] == 100 and reg["properties"]["licence_number"]["maxLength"] == 64
    assert re.search(reg["properties"]["tax_id"]["pattern"], "91350100M000100Y43")
    params = DOC["paths"]["/audit/parameters"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert SCHEMAS[params["$ref"].split("/")[-1]]["properties"]["per_item_tolerance"]["anyOf"][0]["maximum"] == 65535


def test_document_limits_follow_the_configuration(tmp_path):
    app = make_app(tmp_path, VERIFY_BATCH_MAX_ROWS=7, INVOICE_MAX_ITEMS=5)
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    assert doc["components"]["schemas"]["VerifyBatch"]["anyOf"][0]["maxItems"] == 7
    assert doc["components"]["schemas"]["IssueRequest"]["properties"]["items"]["maxItems"] == 5


def test_registration_boundaries(api):
    m = api("merchant2")
    ok = {"name": "名" * 100, "tax_id": "91110000802100433b", "licence_number": "L" * 64}
    for field, value in (("name", "名" * 101), ("licence_number", "L" * 65), ("name", "  "), ("tax_id", "x" * 18)):
        r = m.post("/merchant/registration", json={**ok, field: value})
        assert r.status_code in (400, 409) and (r.status_code == 409 or field in r.get_json()["fields"]), (field, r.get_json())


def test_merchant_actions_have_their_own_bodies_in_the_document():
    paths = DOC["paths"]
    for action in ("reject", "suspend"):
        body = paths[f"/merchants/{{id}}/{action}"]["post"]["requestBody"]
        assert body["required"] and _resolve(body["content"]["application/json"]["schema"])["required"] == ["reason"]
    assert "requestBody" not in paths["/merchants/{id}/reinstate"]["post"]
    assert not paths["/merchants/{id}/approve"]["post"]["requestBody"]["required"]


# ---------------------------------------------------------------- no input gives a 500
DEEP = b"[" * 5000 + b"]" * 5000
HOSTILE_BODIES = [b"", b"\xff\xfe\x00", b"[]", b"null", b"1", b'"x"', b"{}", b"[1,", b'{"a": NaN}', DEEP,
                  b'{"number": "\\ud800", "buyer_name": "\\udfff"}', b'{"items": [' + b"[" * 40 + b"]" * 40 + b"]}",
                  b"1" * 5000, b'{"reason_code": ' + b"9" * 400 + b"}", b'[{"number": "\\ud800"}]',
                  b'{"rows": "x"}', b'{"rows": [null, 1, "x", []]}']
POSTS = ["/invoices", "/invoices/preview", "/invoices/{n}/void", "/invoices/{n}/red-letter", "/invoices/{n}/clear",
         "/invoices/{n}/reject", "/verify", "/verify/batch", "/verify/document", "/merchant/registration",
         "/merchants/1/approve", "/merchants/1/reject", "/merchants/1/numbers", "/audit/parameters",
         "/users/1/grant-role"]
WHO = {"/invoices": "merchant1", "/invoices/preview": "merchant1", "/invoices/{n}/void": "merchant1",
       "/invoices/{n}/red-letter": "merchant1", "/invoices/{n}/clear": "auditor", "/invoices/{n}/reject": "auditor",
       "/merchant/registration": "merchant2", "/merchants/1/approve": "authority",
       "/merchants/1/reject": "authority", "/merchants/1/numbers": "authority", "/audit/parameters": "authority",
       "/users/1/grant-role": "authority"}


@pytest.mark.parametrize("path", POSTS)
def test_hostile_bodies_never_500(api, path):
    who = api(WHO.get(path))
    for body in HOSTILE_BODIES:
        for ctype in ("application/json", "text/csv", "multipart/form-data; boundary=x"):
            r = who.post(path.replace("{n}", "2" * 20), data=body, content_type=ctype)
            assert r.status_code < 500, (path, body[:40], ctype, r.status_code, r.get_data(as_text=True)[:300])
            assert r.status_code < 300 or r.get_json()["error"], (path, body[:40])


@pytest.mark.parametrize("body,field", [
    ({**sample_invoice(), "buyer_name": "\ud800"}, "body"),
    ({**sample_invoice(), "items": [{"name": "x\udfff", "unit_price": 1, "tax_rate": 13}]}, "body"),
])
def test_lone_surrogates_are_400(api, body, field):
    data = json.dumps(body).encode()  # ensure_ascii: "\\ud800" escapes, as a client would send them
    for path in ("/invoices", "/invoices/preview"):
        r = api("merchant1").post(path, data=data, content_type="application/json")
        assert r.status_code == 400 and field in r.get_json()["fields"], r.get_json()


def test_lone_surrogates_in_batch_and_document(api):
    r = api().post("/verify/batch", data=json.dumps([{**QUERY, "number": "\ud800"}]).encode(),
                   content_type="application/json")
    assert r.status_code == 400 and "file" in r.get_json()["fields"]
    r = api().post("/verify/document", data=json.dumps({"number": "1" * 20, "x": "\udc00"}).encode())
    assert r.status_code == 400
    r = api().post("/verify/document", data=b'{"number": "11111111111111111111", "gross": NaN}')
    assert r.status_code == 400


def test_deep_json_is_400(api):
    deep = {"number": "1" * 20}
    for _ in range(40):
        deep = {"x": deep}
    deep["number"] = "1" * 20
    for path, who in (("/verify/document", None), ("/invoices", "merchant1"), ("/verify/batch", None)):
        data = json.dumps(deep if path != "/verify/batch" else [deep]).encode()
        r = api(who).post(path, data=data, content_type="application/json")
        assert r.status_code == 400 and "嵌套" in json.dumps(r.get_json(), ensure_ascii=False), (path, r.get_json())


@pytest.mark.parametrize("path", ["/merchants/99999999999999999999999/approve", "/merchants/9223372036854775808/limits",
                                  "/merchants/2147483648/limits",  # past PostgreSQL's INTEGER: 404, not a 500
                                  "/users/99999999999999999999999/grant-role", "/users/2147483648/grant-role"])
def test_huge_ids_are_404(api, path):
    r = api("authority").post(path, json={})
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"


def test_unicode_digits_are_not_numbers(api, chain_app):
    # "²".isdigit() is True but int("²") raises: the amount of a query and the pages' money fields
    r = api().post("/verify", json={**QUERY, "gross": "²"})
    assert r.status_code == 400 and "gross" in r.get_json()["fields"]
    r = api().post("/verify", json={**QUERY, "gross": "1" * 30})
    assert r.status_code == 400
    c = chain_app.test_client()
    token = csrf_token(c, "/verify/")
    r = c.post("/verify/", data={"csrf_token": token, **QUERY, "gross": "²"})
    assert r.status_code == 200
    r = c.post("/verify/", data={"csrf_token": token, **QUERY, "gross": "9" * 5000})
    assert r.status_code == 200


def test_idempotency_key_checked_on_red_letter_too(api):
    r = api("merchant1").post(f"/invoices/{'2' * 20}/red-letter", json={"reason_code": 1},
                              headers={"Idempotency-Key": "k" * 129})
    assert r.status_code == 400 and "Idempotency-Key" in r.get_json()["fields"]


def test_unknown_http_errors_keep_the_error_shape(chain_app):
    c = chain_app.test_client()
    r = c.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.get_json()["error"] == "not_found" and "此地址没有" in r.get_json()["message"]
    r = c.get("/api/v1/nothing-here", headers={"Accept-Language": "en"})
    assert r.get_json() == {"error": "not_found", "message": "There is nothing at this address: check the link."}
    r = c.post("/api/v1/verify", data=b"x" * (DEFAULTS["MAX_CONTENT_LENGTH"] + 1), content_type="application/json")
    assert r.status_code == 413 and r.get_json()["error"] == "payload_too_large"
