"""JSON API against a real InvoiceRegistry: issuance (idempotency, validation, chain
refusals), detail + timeline, void, red-letter, review, verification (single, batch,
document), role refusals, and responses checked against the OpenAPI document."""
import json

import pytest
from backendutil import sample_invoice

from backend.core import canonical
from backend.chain import get_chain
from backend.core.db import db
from backend.core.models import Invoice, OutboxTx
from backend.api.openapi import spec

pytestmark = pytest.mark.usefixtures("seeded")


def _schema_check(schema, value, components, path="$"):
    """A small OpenAPI-schema checker: required keys, types, enums, $ref."""
    if "$ref" in schema:
        schema = components[schema["$ref"].split("/")[-1]]
    if value is None and schema.get("nullable"):
        return
    t = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool}
    if t:
        assert isinstance(value, types[t]) and not (t == "integer" and isinstance(value, bool)), f"{path}: {value!r}"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    for key in schema.get("required", []):
        assert key in value, f"{path}: missing {key}"
    for key, sub in schema.get("properties", {}).items():
        if isinstance(value, dict) and key in value and "oneOf" not in sub:
            _schema_check(sub, value[key], components, f"{path}.{key}")
    if t == "array" and "items" in schema:
        for i, v in enumerate(value):
            _schema_check(schema["items"], v, components, f"{path}[{i}]")


def conforms(path, method, response):
    doc = spec()
    op = doc["paths"][path][method]
    status = str(response.status_code)
    assert status in op["responses"], f"{method} {path}: undocumented status {status}"
    content = op["responses"][status].get("content", {}).get("application/json")
    if content:
        _schema_check(content["schema"], response.get_json(), doc["components"]["schemas"])


def issue(api, who="merchant1", **over):
    r = api(who).post("/invoices", json=sample_invoice(**over))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_openapi_document(api):
    r = api().get("/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["openapi"].startswith("3.")
    for p in ("/invoices", "/invoices/{number}", "/invoices/{number}/void", "/invoices/{number}/red-letter",
              "/verify", "/verify/batch"):
        assert p in doc["paths"]


def test_issue_invoice(api, chain_app):
    r = api("merchant1").post("/invoices", json=sample_invoice())
    assert r.status_code == 201, r.get_json()
    conforms("/invoices", "post", r)
    body = r.get_json()
    assert len(body["number"]) == 20 and body["number"].isdigit()
    assert body["status"] == "Issued" and body["flags"] == 0
    assert (body["net"], body["tax"], body["gross"]) == (200_00, 26_00, 226_00)
    assert len(body["check_code"]) == 20
    assert body["key"] == canonical.invoice_key(body["number"])
    with chain_app.app_context():
        inv = db.session.query(Invoice).filter_by(number=body["number"]).one()
        onchain = get_chain().call_named("InvoiceRegistry", "getInvoice", bytes.fromhex(inv.key[2:]))
        # the stored document is exactly what was hashed on chain
        assert get_chain().call("InvoiceRegistry", "verifyDocument", bytes.fromhex(inv.key[2:]),
                                bytes.fromhex(canonical.document_hash(inv.document)[2:]))
        assert onchain["gross"] == 226_00 and onchain["seller"] == inv.seller_address
        assert onchain["rateMask"] == 1 << 13 and onchain["itemCount"] == 2 and inv.rate_mask == 1 << 13


def test_idempotency_key(api, chain_app):
    m = api("merchant1")
    h = {"Idempotency-Key": "order-42"}
    a = m.post("/invoices", json=sample_invoice(), headers=h)
    b = m.post("/invoices", json=sample_invoice(), headers=h)
    assert a.status_code == 201 and b.status_code == 200
    assert a.get_json()["number"] == b.get_json()["number"]
    c = m.post("/invoices", json=sample_invoice(buyer_name="Other"), headers=h)
    assert c.status_code == 409 and c.get_json()["error"] == "idempotency_key_reused"
    with chain_app.app_context():
        assert db.session.query(Invoice).count() == 1
        assert db.session.query(OutboxTx).filter_by(function="issue").count() == 1


@pytest.mark.parametrize("payload,field", [
    ({"buyer_tax_id": "91530100MA6K0002XU", "items": []}, "buyer_name"),
    ({**sample_invoice(), "items": [{"name": "x", "unit_price": -1, "tax_rate": 13}]}, "items[0].unit_price"),
    ({**sample_invoice(), "items": [{"name": "x", "unit_price": 1.5, "tax_rate": 13}]}, "items[0].unit_price"),
    ({**sample_invoice(), "items": [{"name": "x", "unit_price": 10**18, "tax_rate": 13}]}, "items[0].unit_price"),
    ({**sample_invoice(), "items": [{"name": "x", "unit_price": 1, "tax_rate": 13}] * 201}, "items"),
    ({**sample_invoice(), "issue_date": "yesterday"}, "issue_date"),
    ([1, 2, 3], "body"),
])
def test_issue_validation_400(api, chain_app, payload, field):
    r = api("merchant1").post("/invoices", json=payload)
    assert r.status_code == 400
    conforms("/invoices", "post", r)
    assert r.get_json()["error"] == "validation_error" and field in r.get_json()["fields"]
    with chain_app.app_context():
        assert db.session.query(Invoice).count() == 0 and db.session.query(OutboxTx).filter_by(
            function="issue").count() == 0


@pytest.mark.parametrize("data,ctype", [
    (b'{"buyer_name": ', "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b'{"a": NaN}', "application/json"),
    (b"", "application/json"),
])
def test_malformed_bodies_400(api, data, ctype):
    r = api("merchant1").post("/invoices", data=data, content_type=ctype)
    assert r.status_code == 400 and r.get_json()["error"] == "validation_error"


def test_oversized_body_413(api, chain_app):
    chain_app.config["MAX_CONTENT_LENGTH"] = 1000
    r = api("merchant1").post("/invoices", data=b"{" + b" " * 5000 + b"}", content_type="application/json")
    assert r.status_code == 413 and r.get_json()["error"] == "payload_too_large"


def test_chain_refusal_422_with_custom_error(api, chain_app):
    # the merchant's per-invoice cap is 10M yuan: one line of 20M yuan
    r = api("merchant1").post("/invoices", json=sample_invoice(items=[
        {"name": "big", "quantity": 1, "unit_price": 20_000_000_00, "tax_rate": 13}]))
    assert r.status_code == 422, r.get_json()
    conforms("/invoices", "post", r)
    assert r.get_json()["error"] == "InvoiceCapExceeded"
    with chain_app.app_context():
        assert db.session.query(Invoice).count() == 0  # no half-written invoice


def test_auth_and_roles(api):
    r = api().post("/invoices", json=sample_invoice())
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    r = api("buyer").post("/invoices", json=sample_invoice())
    assert r.status_code == 403
    r = api("auditor").post("/invoices", json=sample_invoice())
    assert r.status_code == 403
    c = api()
    r = c.get("/invoices", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_suspended_merchant_refused_first_by_backend(api, seeded):
    a = api("authority")
    m = a.get("/merchants").get_json()["merchants"]
    mid = next(x["id"] for x in m if x["username"] == "merchant2")
    r = a.post(f"/merchants/{mid}/suspend", json={"reason": "audit"})
    assert r.status_code == 200 and r.get_json()["status"] == "suspended"
    r = api("merchant2").post("/invoices", json=sample_invoice())
    assert r.status_code == 403 and r.get_json()["error"] == "MerchantNotActive"
    assert a.post(f"/merchants/{mid}/reinstate").status_code == 200
    issue(api, "merchant2")


def test_get_invoice_detail_and_access(api):
    inv = issue(api)
    r = api("merchant1").get(f"/invoices/{inv['number']}")
    assert r.status_code == 200
    conforms("/invoices/{number}", "get", r)
    body = r.get_json()
    assert body["document"]["number"] == inv["number"]
    assert canonical.document_hash(body["document"]) == body["document_hash"]
    assert [e["event"] for e in body["timeline"]] == ["InvoiceIssued"]
    assert body["chain"]["gross"] == 226_00
    assert api("merchant2").get(f"/invoices/{inv['number']}").status_code == 403
    assert api("buyer").get(f"/invoices/{inv['number']}").status_code == 200  # issued to the buyer's tax ID
    assert api("auditor").get(f"/invoices/{inv['number']}").status_code == 200
    assert api("merchant1").get("/invoices/" + "9" * 20).status_code == 404
    assert api().get(f"/invoices/{inv['number']}").status_code == 401
    lst = api("merchant2").get("/invoices").get_json()
    assert lst["total"] == 0
    lst = api("merchant1").get("/invoices?q=" + inv["number"][-5:]).get_json()
    assert lst["total"] == 1


def test_void(api):
    inv = issue(api)
    assert api("merchant2").post(f"/invoices/{inv['number']}/void").status_code == 403  # merchant B on A's invoice
    assert api("buyer").post(f"/invoices/{inv['number']}/void").status_code == 403
    r = api("merchant1").post(f"/invoices/{inv['number']}/void")
    assert r.status_code == 200, r.get_json()
    conforms("/invoices/{number}/void", "post", r)
    assert r.get_json()["status"] == "Voided"
    r = api("merchant1").post(f"/invoices/{inv['number']}/void")
    assert r.status_code == 409 and r.get_json()["error"] == "InvalidInvoiceStatus"
    detail = api("merchant1").get(f"/invoices/{inv['number']}").get_json()
    assert [e["event"] for e in detail["timeline"]] == ["InvoiceIssued", "InvoiceVoided"]


def test_red_letter(api):
    inv = issue(api)
    m = api("merchant1")
    r = m.post(f"/invoices/{inv['number']}/red-letter", json={"reason_code": 1, "items": [
        {"name": "退货 return", "quantity": 1, "unit_price": 100_00, "tax_rate": 13}]})
    assert r.status_code == 201, r.get_json()
    conforms("/invoices/{number}/red-letter", "post", r)
    note = r.get_json()
    assert note["gross"] == 113_00 and note["original"]["status"] == "Issued"
    # more than what is left is refused by the chain
    r = m.post(f"/invoices/{inv['number']}/red-letter", json={"reason_code": 1, "items": [
        {"name": "too much", "quantity": 1, "unit_price": 150_00, "tax_rate": 13}]})
    assert r.status_code == 409 and r.get_json()["error"] == "RedLetterExceedsOpenAmount", r.get_json()
    # the rest, by default the full original, is also too much now; exactly the rest works
    r = m.post(f"/invoices/{inv['number']}/red-letter", json={"reason_code": 2, "items": [
        {"name": "rest", "quantity": 1, "unit_price": 100_00, "tax_rate": 13}]})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["original"]["status"] == "RedLettered"
    assert api("merchant2").post(f"/invoices/{inv['number']}/red-letter",
                                 json={"reason_code": 1}).status_code == 403
    r = m.post(f"/invoices/{inv['number']}/red-letter", json={"reason_code": "x"})
    assert r.status_code == 400


def test_verify_single(api):
    inv = issue(api)
    today = inv_date(api, inv)
    v = api()
    ok = {"number": inv["number"], "issue_date": today, "gross": inv["gross"], "check_code": inv["check_code"][-6:]}
    r = v.post("/verify", json=ok)
    assert r.status_code == 200
    conforms("/verify", "post", r)
    assert r.get_json()["result"] == "authentic"
    assert v.post("/verify", json={**ok, "gross": 1}).get_json()["result"] == "mismatch"
    assert v.post("/verify", json={**ok, "check_code": "000000" if ok["check_code"] != "000000" else "111111"}
                  ).get_json()["result"] == "mismatch"
    assert v.post("/verify", json={**ok, "number": "1" * 20}).get_json()["result"] == "not_found"
    r = v.post("/verify", json={**ok, "number": "12"})
    assert r.status_code == 400 and "number" in r.get_json()["fields"]
    api("merchant1").post(f"/invoices/{inv['number']}/void")
    assert v.post("/verify", json=ok).get_json()["result"] == "voided"


def inv_date(api, inv):
    return api("merchant1").get(f"/invoices/{inv['number']}").get_json()["issue_date"]


def test_verify_batch_json_and_csv(api):
    inv = issue(api)
    d = inv_date(api, inv)
    rows = [{"number": inv["number"], "issue_date": d, "gross": inv["gross"], "check_code": inv["check_code"][-6:]},
            {"number": "1" * 20, "issue_date": d, "gross": 1, "check_code": "123456"},
            {"number": "bad"}]
    r = api().post("/verify/batch", json=rows)
    assert r.status_code == 200
    conforms("/verify/batch", "post", r)
    assert [x["result"] for x in r.get_json()["results"]] == ["authentic", "not_found", "invalid"]
    csv_text = "number,issue_date,gross,check_code\n" + \
        f"{inv['number']},{d},{inv['gross']},{inv['check_code'][-6:]}\n" + "1,2,3\n"
    r = api().post("/verify/batch", data=csv_text.encode(), content_type="text/csv")
    assert [x["result"] for x in r.get_json()["results"]] == ["authentic", "invalid"]
    r = api().post("/verify/batch", data=csv_text.encode(), content_type="text/csv", headers={"Accept": "text/csv"})
    assert r.mimetype == "text/csv" and "authentic" in r.get_data(as_text=True)
    for bad in (b"\xff\xfe\xfd", b'"unterminated\n', b"a,b\n1,2\n"):
        r = api().post("/verify/batch", data=bad, content_type="text/csv")
        assert r.status_code == 400, bad
    r = api().post("/verify/batch", data=b"[1,", content_type="application/json")
    assert r.status_code == 400


def test_verify_document(api):
    inv = issue(api)
    doc = api("merchant1").get(f"/invoices/{inv['number']}").get_json()["document"]
    r = api().post("/verify/document", data=json.dumps(doc, indent=2).encode(), content_type="application/json")
    assert r.get_json()["result"] == "authentic"
    doc["items"][0]["amount"] += 100
    r = api().post("/verify/document", data=json.dumps(doc).encode(), content_type="application/json")
    assert r.get_json()["result"] == "tampered"
    doc["number"] = "1" * 20
    assert api().post("/verify/document", data=json.dumps(doc).encode()).get_json()["result"] == "not_found"
    assert api().post("/verify/document", data=b"\xff").status_code == 400


def test_verification_history(api):
    inv = issue(api)
    d = inv_date(api, inv)
    api("buyer").post("/verify", json={"number": inv["number"], "issue_date": d, "gross": inv["gross"],
                                       "check_code": inv["check_code"][-6:]})
    r = api("buyer").get("/verifications")
    rows = r.get_json()["verifications"]
    assert len(rows) == 1 and rows[0]["result"] == "authentic"
    assert api("merchant1").get("/verifications").get_json()["verifications"] == []


def test_rate_limit(api, chain_app):
    chain_app.config["VERIFY_RATE_LIMIT"] = 2
    q = {"number": "1" * 20, "issue_date": "2026-01-01", "gross": 1, "check_code": "123456"}
    responses = [api().post("/verify", json=q) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    conforms("/verify", "post", responses[-1])
    assert int(responses[-1].headers["Retry-After"]) >= 1


def test_flagged_review_queue(api, chain_app):
    # self-dealing: the buyer tax ID is the seller's own → Flagged (soft rule)
    r = api("merchant1").post("/invoices", json=sample_invoice(buyer_tax_id="91350100M000100Y43"))
    assert r.status_code == 201, r.get_json()
    inv = r.get_json()
    assert inv["status"] == "Flagged" and "SelfDealing" in inv["flag_names"]
    q = api("auditor").get("/review-queue").get_json()["invoices"]
    assert [x["number"] for x in q] == [inv["number"]]
    assert api("merchant1").get("/review-queue").status_code == 403
    assert api("merchant1").post(f"/invoices/{inv['number']}/clear", json={"reason_code": 1}).status_code == 403
    r = api("auditor").post(f"/invoices/{inv['number']}/reject", json={"reason_code": 4})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "Rejected"
    r = api("auditor").post(f"/invoices/{inv['number']}/clear", json={"reason_code": 1})
    assert r.status_code == 409 and r.get_json()["error"] == "InvalidInvoiceStatus"


def test_merchant_registration_approval_and_first_invoice(api, chain_app):
    from backend.cli import create_user

    with chain_app.app_context():
        _, _, token = create_user("shop3", "merchant", "pw-test-123", dev_account=6, token=True)
    c = chain_app.test_client()
    h = {"Authorization": f"Bearer {token}"}
    assert c.get("/api/v1/merchant/registration", headers=h).status_code == 404
    # a USCC with a wrong check character is refused before the chain is asked
    r = c.post("/api/v1/merchant/registration", json={"name": "昆明小店", "tax_id": "91530100MA6K0000XA",
                                                      "licence_number": "L-9"}, headers=h)
    assert r.status_code == 400 and "tax_id" in r.get_json()["fields"]
    r = c.post("/api/v1/merchant/registration", json={"name": "昆明小店", "tax_id": "91530100MA6K0000XR",
                                                      "licence_number": "L-9"}, headers=h)
    assert r.status_code == 201, r.get_json()
    conforms("/merchant/registration", "post", r)
    mid = r.get_json()["id"]
    assert r.get_json()["status"] == "pending"
    r = c.post("/api/v1/invoices", json=sample_invoice(), headers=h)
    assert r.status_code == 403 and r.get_json()["error"] == "MerchantNotActive"
    assert api("auditor").post(f"/merchants/{mid}/approve").status_code == 403
    r = api("authority").post(f"/merchants/{mid}/approve", json={"invoice_cap": 100_000_00,
                                                                 "monthly_quota": 1_000_000_00, "hourly_norm": 5})
    assert r.status_code == 200, r.get_json()
    assert api("authority").post(f"/merchants/{mid}/approve").get_json()["error"] == "InvalidMerchantStatus"
    r = c.post("/api/v1/invoices", json=sample_invoice(items=[
        {"name": "big", "quantity": 1, "unit_price": 200_000_00, "tax_rate": 13}]), headers=h)
    assert r.status_code == 422 and r.get_json()["error"] == "InvoiceCapExceeded"  # its own cap
    r = c.post("/api/v1/invoices", json=sample_invoice(), headers=h)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["number"][:5] == f"{r.get_json()['number'][:2]}531"  # its range: YY + Yunnan + channel 1
    r = api("authority").post(f"/merchants/{mid}/limits", json={"invoice_cap": 1, "monthly_quota": 0})
    assert r.status_code == 400 and "monthly_quota" in r.get_json()["fields"]
    r = api("authority").post(f"/merchants/{mid}/reject", json={})
    assert r.status_code == 400 and "reason" in r.get_json()["fields"]
    assert api("authority").post("/merchants/999/approve").status_code == 404


def test_preview(api):
    r = api("merchant1").post("/invoices/preview", json=sample_invoice())
    assert r.status_code == 200
    assert (r.get_json()["net"], r.get_json()["tax"], r.get_json()["gross"]) == (200_00, 26_00, 226_00)


# (method, path, roles allowed; None = public) for the authorization matrix
ROUTES = [
    ("post", "/invoices", {"merchant"}),
    ("post", "/invoices/preview", {"merchant"}),
    ("get", "/invoices", {"merchant", "buyer", "auditor", "authority", "financier"}),
    ("post", "/invoices/{n}/void", {"merchant"}),
    ("post", "/invoices/{n}/red-letter", {"merchant"}),
    ("post", "/invoices/{n}/clear", {"auditor"}),
    ("post", "/invoices/{n}/reject", {"auditor"}),
    ("get", "/review-queue", {"auditor", "authority"}),
    ("get", "/verifications", {"merchant", "buyer", "auditor", "authority", "financier"}),
    ("get", "/merchant/registration", {"merchant"}),
    ("post", "/merchant/registration", {"merchant"}),
    ("get", "/merchants", {"authority", "auditor"}),
    ("post", "/merchants/1/suspend", {"authority"}),
    ("get", "/audit/parameters", {"authority", "auditor"}),
    ("post", "/audit/parameters", {"authority"}),
    ("get", "/users", {"authority"}),
    ("post", "/users/1/grant-role", {"authority"}),
    ("post", "/verify", None),
    ("get", "/openapi.json", None),
]
USERS = ["merchant1", "buyer", "auditor", "authority", "financier"]


@pytest.mark.parametrize("method,path,allowed", ROUTES)
def test_authorization_matrix(api, method, path, allowed):
    path = path.replace("{n}", "2" * 20)
    r = getattr(api(), method)(path, json={})
    if allowed is None:
        assert r.status_code in (200, 400), (path, r.status_code)
        return
    assert r.status_code == 401, (path, r.status_code)
    for user in USERS:
        role = "merchant" if user.startswith("merchant") else user
        r = getattr(api(user), method)(path, json={})
        if role in allowed:  # past the role check: any answer but a role refusal
            assert r.status_code != 401 and not (r.status_code == 403 and r.get_json()["error"] == "forbidden"), \
                (user, path, r.get_json())
        else:
            assert r.status_code == 403, (user, path, r.status_code)
        assert r.status_code < 500, (user, path, r.get_data(as_text=True)[:300])


def test_audit_parameters(api):
    r = api("authority").get("/audit/parameters")
    assert r.status_code == 200
    params = r.get_json()
    assert params["allowed_rates"] == [0, 1, 3, 5, 6, 9, 13]
    r = api("authority").post("/audit/parameters", json={"per_item_tolerance": params["per_item_tolerance"] + 1})
    assert r.status_code == 200 and r.get_json()["per_item_tolerance"] == params["per_item_tolerance"] + 1
    assert api("auditor").post("/audit/parameters", json={"per_item_tolerance": 1}).status_code == 403
    assert api("authority").post("/audit/parameters", json={"allowed_rates": []}).status_code == 400


def test_node_down_before_journaling_is_503_and_writes_nothing(chain_app, seeded, tmp_path):
    import json as _json

    from backend.chain import reset_chain

    record = _json.loads(open(chain_app.config["DEPLOYMENT_FILE"]).read())
    record["rpc_url"] = "http://127.0.0.1:1"  # nothing listens there
    dead = tmp_path / "dead.json"
    dead.write_text(_json.dumps(record))
    chain_app.config["DEPLOYMENT_FILE"] = str(dead)
    reset_chain(chain_app)
    c = chain_app.test_client()
    h = {"Authorization": f"Bearer {seeded['merchant1']['api_token']}"}
    r = c.post("/api/v1/invoices", json=sample_invoice(), headers=h)
    assert r.status_code == 503 and r.get_json()["error"] == "chain_unavailable"
    r = c.post("/api/v1/verify", json={"number": "1" * 20, "issue_date": "2026-01-01", "gross": 1,
                                       "check_code": "123456"})
    assert r.status_code == 503
    with chain_app.app_context():
        assert db.session.query(Invoice).count() == 0
        assert db.session.query(OutboxTx).filter_by(function="issue").count() == 0


def test_authority_grants_on_chain_roles(api, chain_app):
    users = api("authority").get("/users").get_json()["users"]
    auditor = next(u for u in users if u["username"] == "auditor")
    assert auditor["chain_role"] == {"contract": "InvoiceRegistry", "role": "AUDITOR_ROLE", "held": True}
    assert api("auditor").get("/users").status_code == 403
    r = api("authority").post(f"/users/{auditor['id']}/revoke-role")
    assert r.status_code == 200 and r.get_json()["chain_role"]["held"] is False
    inv = api("merchant1").post("/invoices", json=sample_invoice(buyer_tax_id="91350100M000100Y43")).get_json()
    r = api("auditor").post(f"/invoices/{inv['number']}/clear", json={"reason_code": 1})
    assert r.status_code == 403 and r.get_json()["error"] == "AccessControlUnauthorizedAccount"
    assert api("authority").post(f"/users/{auditor['id']}/grant-role").get_json()["chain_role"]["held"] is True
    assert api("auditor").post(f"/invoices/{inv['number']}/clear", json={"reason_code": 1}).status_code == 200
    buyer = next(u for u in users if u["username"] == "buyer")  # its "role": its account linked on the ledger
    assert buyer["chain_role"] == {"contract": "ReceivableLedger", "role": "BUYER_ACCOUNT 91530100MA6K0002XU",
                                   "held": True}
    assert api("authority").post(f"/users/{buyer['id']}/grant-role").get_json()["chain_role"]["held"] is True
    r = api("authority").post(f"/users/{buyer['id']}/revoke-role")
    assert r.status_code == 409 and r.get_json()["error"] == "buyer_link_permanent"
    merchant = next(u for u in users if u["username"] == "merchant1")
    assert api("authority").post(f"/users/{merchant['id']}/grant-role").status_code == 409
