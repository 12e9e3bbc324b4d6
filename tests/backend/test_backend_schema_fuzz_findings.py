"""What the schema fuzz test (test_backend_schema_fuzz.py: schemathesis with every check)
found once the known findings were fixed, one focused test each, so that they stay fixed
without the fuzzer: the document and the API agree on empty date filters, on which methods
/invoices/preview has, on non-object bodies of the authority's merchant decisions, on
text/csv batches that look like JSON, on what a row of a JSON batch may be; and the
document's own examples and links are valid."""
import re

import pytest
from backend.api.openapi import INVOICE_LINKS, ISSUE_EXAMPLE, VERIFY_EXAMPLE, spec
from backend.schemas.invoices import QUERY_DATE

pytestmark = pytest.mark.usefixtures("seeded")
DOC = spec()
CSV_HEADER = "number,issue_date,gross,check_code\n"


def _param(path, method, name):
    return next(p for p in DOC["paths"][path][method]["parameters"] if p["name"] == name)


# ---------------------------------------------------------------- GET /invoices?from=&to=
def test_empty_date_filters_are_not_given_in_the_document_and_the_api(api):
    """ST201: ``?to=`` was answered 200 (empty = not given, as for q/status/buyer) while the
    document's pattern refused an empty date."""
    for name in ("from", "to"):
        assert re.fullmatch(_param("/invoices", "get", name)["schema"]["pattern"], "")
    assert _param("/invoices", "get", "to")["schema"]["pattern"] == QUERY_DATE
    r = api("merchant1").get("/invoices?from=&to=")
    assert r.status_code == 200 and r.get_json()["total"] == 0
    for bad in ("2026-1-1", "x", "2026-01-01T00"):
        assert not re.fullmatch(QUERY_DATE, bad)
        r = api("merchant1").get("/invoices", query_string={"to": bad})
        assert r.status_code == 400 and "to" in r.get_json()["fields"], bad


# ---------------------------------------------------------------- /invoices/preview: POST only
def test_preview_is_post_only(api, chain_app):
    """ST205: OPTIONS /invoices/preview advertised GET (the "GET an invoice" route took
    "preview" for a number) though the document has POST only. Numbers in paths are 20
    digits now: anything else is no invoice route."""
    c = chain_app.test_client()
    r = c.options("/api/v1/invoices/preview")
    assert {m.strip() for m in r.headers["Allow"].split(",")} == {"OPTIONS", "POST"}
    r = api("merchant1").get("/invoices/preview")
    assert r.status_code == 405 and r.get_json()["error"] == "method_not_allowed"
    assert {m.strip() for m in r.headers["Allow"].split(",")} == {"OPTIONS", "POST"}
    assert set(DOC["paths"]["/invoices/preview"]) == {"post"}
    for number in ("123", "1" * 19, "1" * 21, "abcdefghijabcdefghij"):
        r = api("merchant1").get("/invoices/" + number)
        assert r.status_code == 404 and r.get_json()["error"] == "not_found", number
        r = api("merchant1").post(f"/invoices/{number}/void")
        assert r.status_code == 404 and r.get_json()["error"] == "not_found", number
    r = api("merchant1").get("/invoices/" + "9" * 20)
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"


# ---------------------------------------------------------------- merchant decisions: object bodies
@pytest.mark.parametrize("action", ["approve", "limits", "numbers", "reject", "suspend"])
def test_merchant_decisions_refuse_non_object_bodies(api, action):
    """ST201: POST /merchants/{id}/limits and /numbers with the body ``[null, null]`` were
    answered 200: the body was taken as ``{}`` (default limits set, a new number range
    allocated) though the document wants an object."""
    authority = api("authority")
    merchant_id = next(m["id"] for m in authority.get("/merchants").get_json()["merchants"]
                       if m["username"] == "merchant2")
    before = authority.get("/merchants").get_json()["merchants"]
    for body in ("[null, null]", "[]", "1", '"x"', "null", "true"):
        r = authority.post(f"/merchants/{merchant_id}/{action}", data=body, content_type="application/json")
        assert r.status_code == 400, (action, body, r.get_json())
        assert r.get_json()["error"] == "validation_error" and "body" in r.get_json()["fields"]
    assert authority.get("/merchants").get_json()["merchants"] == before  # nothing changed


def test_merchant_decisions_still_take_no_body_or_an_object(api):
    authority = api("authority")
    merchant_id = next(m["id"] for m in authority.get("/merchants").get_json()["merchants"]
                       if m["username"] == "merchant2")
    r = authority.post(f"/merchants/{merchant_id}/limits")
    assert r.status_code == 200, r.get_json()
    r = authority.post(f"/merchants/{merchant_id}/numbers", json={"count": 10})
    assert r.status_code == 200 and r.get_json()["number_range"]["left"] == 10, r.get_json()


# ---------------------------------------------------------------- /verify/batch: text/csv is CSV
def test_csv_batch_that_looks_like_json_is_csv(api):
    """ST201: a text/csv body ``[null, null]`` was parsed as JSON (two rows, 200) though the
    document's text/csv body is CSV. The content type decides; JSON stays JSON, and an
    upload of another type is still told by its first character."""
    r = api().post("/verify/batch", data=b"[null, null]", content_type="text/csv")
    assert r.status_code == 400 and "file" in r.get_json()["fields"], r.get_json()
    r = api().post("/verify/batch", data=b'[{"number": "1"}]', content_type="text/csv; charset=utf-8")
    assert r.status_code == 400
    row = ",".join(str(VERIFY_EXAMPLE[k]) for k in ("number", "issue_date", "gross", "check_code"))
    r = api().post("/verify/batch", data=(CSV_HEADER + row).encode(), content_type="text/csv")
    assert r.status_code == 200 and r.get_json()["count"] == 1
    r = api().post("/verify/batch", json=[VERIFY_EXAMPLE])
    assert r.status_code == 200 and r.get_json()["results"][0]["result"] == "not_found"
    r = api().post("/verify/batch", data=b'{"rows": [{"number": "1"}]}', content_type="application/octet-stream")
    assert r.status_code == 200 and r.get_json()["results"][0]["result"] == "invalid"


def test_json_batch_rows_may_be_any_value_as_documented(api):
    """ST201: ``[null, null]`` (rows that are not objects) is answered 200 with two invalid
    rows, as the API always did; the document said the rows were VerifyQuery objects. It
    now says what the API does: any value, `invalid` when it is not a valid query."""
    schemas = DOC["components"]["schemas"]
    ref = DOC["paths"]["/verify/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    for alternative in schemas[ref.split("/")[-1]]["anyOf"]:
        alternative = schemas[alternative["$ref"].split("/")[-1]] if "$ref" in alternative else alternative
        items = alternative["items"] if "items" in alternative else alternative["properties"]["rows"]["items"]
        assert "type" not in items and "$ref" not in items and "invalid" in items["description"]
    r = api().post("/verify/batch", json=[None, 1, "x", [], {"number": "1"}])
    assert r.status_code == 200
    assert [row["result"] for row in r.get_json()["results"]] == ["invalid"] * 5


# ---------------------------------------------------------------- the document's examples and links
def test_document_examples_are_valid_requests(api):
    """The examples of the document (sent first by schema fuzzers) are accepted."""
    post = DOC["paths"]["/invoices"]["post"]["requestBody"]["content"]["application/json"]
    assert post["example"] == ISSUE_EXAMPLE
    r = api("merchant1").post("/invoices/preview", json=ISSUE_EXAMPLE)
    assert r.status_code == 200, r.get_json()
    r = api("merchant1").post("/invoices", json=ISSUE_EXAMPLE)
    assert r.status_code == 201, r.get_json()
    number = r.get_json()["number"]
    r = api().post("/verify", json=VERIFY_EXAMPLE)
    assert r.status_code == 200 and r.get_json()["result"] in ("not_found", "mismatch")
    # the links of a new invoice name real operations, and lead somewhere with its number
    for name, link in INVOICE_LINKS.items():
        path, method = link["operationRef"].removeprefix("#/paths/").rsplit("/", 1)
        path = path.replace("~1", "/").replace("~0", "~")
        assert method in DOC["paths"][path], name
        assert link["parameters"] == {"number": "$response.body#/number"}
    assert set(DOC["paths"]["/invoices"]["post"]["responses"]["201"]["links"]) == set(INVOICE_LINKS)
    assert api("merchant1").get(f"/invoices/{number}").status_code == 200
    r = api("merchant1").post(f"/invoices/{number}/red-letter", json={"reason_code": 1})
    assert r.status_code == 201, r.get_json()



# ---------------------------------------------------------------- found on the generated document
def test_red_letter_with_null_items_is_a_full_reversal(api):
    """ST101 (generated document, items nullable): ``"items": null`` was a 500; it is
    what leaving items out is, a full reversal."""
    number = api("merchant1").post("/invoices", json=ISSUE_EXAMPLE).get_json()["number"]
    r = api("merchant1").post(f"/invoices/{number}/red-letter",
                              json={"reason_code": 1, "items": None, "issue_date": None, "remarks": None})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["gross"] == api("merchant1").get(f"/invoices/{number}").get_json()["gross"]


def test_role_change_answer_is_its_documented_model(api, seeded):
    """ST108: the answer of grant-role / revoke-role was documented as a whole User."""
    schema = DOC["paths"]["/users/{id}/{action}"]["post"]["responses"]["200"]["content"]["application/json"]
    assert schema["schema"] == {"$ref": "#/components/schemas/UserRole"}
    auditor = next(u for u in api("authority").get("/users").get_json()["users"] if u["role"] == "auditor")
    r = api("authority").post(f"/users/{auditor['id']}/grant-role")
    assert r.status_code == 200 and set(r.get_json()) == {"id", "username", "chain_role"}


@pytest.mark.parametrize("body", [{"rows": [None], "other": 1}, {"rows": [{}], "x": None}])
def test_batch_object_with_other_fields_is_400(api, body):
    """ST201: ``{"rows": [...], "x": 42}`` was verified; the document says rows and nothing else."""
    r = api().post("/verify/batch", json=body)
    assert r.status_code == 400 and "file" in r.get_json()["fields"], r.get_json()


# ---------------------------------------------------------------- ids beyond INTEGER
@pytest.mark.parametrize("user, path", [("approver", "/payment-lists/{}"), ("approver", "/claims/{}"),
                                        ("merchant1", "/reports/saved/{}")])
def test_ids_beyond_the_integer_column_are_not_found(api, user, path):
    """ST101: GET /payment-lists/1323765553744784985686016 was a 500 (the id overflowed the
    database's INTEGER); such an id names nothing: 404, like the other {id} routes."""
    for value in ("1323765553744784985686016", str(2**31)):
        r = api(user).get(path.format(value))
        assert r.status_code == 404, (path, value, r.get_json())
