"""The OpenAPI 3 document of /api/v1 (served at /api/v1/openapi.json).

Written by hand, and kept to what the validators enforce (backend.invoices, backend.merchants,
backend.api): every length, pattern, minimum, maximum, enum and required field a validator
checks is in the schema, so a request the document calls valid is not refused for its
shape. What a schema cannot say (sums that must match, dates not in the future, the check
character of a tax ID, a monthly quota at least the invoice cap) is in the descriptions and
answers 400 or 422. Limits that are settings (items per invoice, amounts, rows per batch)
come from the app's configuration when there is one.
"""
from ..core.config import DEFAULTS

VAT = [0, 1, 3, 5, 6, 9, 13]
PAGE_MAX = 1_000_000
ID_MAX = 2**31 - 1  # ids are INTEGER columns: 32-bit on PostgreSQL
# Text the validators take: no control characters (leading and trailing white space is
# stripped); a required text also needs one character that is not white space.
TEXT = "^[^\\x00-\\x1f]*$"
NON_BLANK = "^[^\\x00-\\x1f]*[^\\s\\x00-\\x1f][^\\x00-\\x1f]*$"
QUERY_TEXT = "^[^\\x00-\\x1f\\x7f]*$"
# A date filter of a list: YYYY-MM-DD, or empty (as the other query texts: empty = not given).
QUERY_DATE = "^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"
NUMBER = {"type": "string", "pattern": "^[0-9]{20}$", "minLength": 20, "maxLength": 20,
          "description": "20-digit invoice number"}
# A calendar date from the year 2000 on (the validators refuse older ones).
DATE = {"type": "string", "format": "date", "pattern": "^[2-9]"}
# A positive decimal: at most 12 digits before the point and 6 after (validators: QTY_RE, > 0).
QUANTITY_TEXT = ("^([1-9][0-9]{0,11}(\\.[0-9]{1,6})?|0\\.([1-9][0-9]{0,5}|0[1-9][0-9]{0,4}|00[1-9][0-9]{0,3}|"
                 "000[1-9][0-9]{0,2}|0000[1-9][0-9]?|00000[1-9]))$")
USCC_CHAR = "[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]"
# A CSV batch the parser takes with at least one row: the header then a row that is not blank,
# or rows alone whose first is a 20-digit number and 3 more columns (no quotes, no NUL).
CSV_BATCH = ('^(number,issue_date,gross,check_code\\r?\\n[^"\\x00]*[^\\s,"\\x00][^"\\x00]*|'
             '[0-9]{20}(,[^,"\\r\\n\\x00]*){3}(\\r?\\n[^"\\x00]*)?)$')


def _text(max_len, *, required=True, nullable=False, **extra):
    schema = {"type": "string", "maxLength": max_len}
    if required:
        schema.update(minLength=1, pattern=NON_BLANK)
    else:
        schema["pattern"] = TEXT
    if nullable:
        schema["nullable"] = True
    schema.update(extra)
    return schema


def _int(minimum, maximum, **extra):
    return {"type": "integer", "minimum": minimum, "maximum": maximum, **extra}


def _err(desc, headers=None):
    out = {"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if headers:
        out["headers"] = headers
    return out


ERRORS = {"400": _err("Validation error (per field) 请求有误"), "401": _err("Missing or invalid bearer token"),
          "403": _err("Role or ownership refusal"), "404": _err("Not found"),
          "409": _err("Chain refusal: state conflict (custom error name in `error`)"),
          "413": _err("Body larger than MAX_CONTENT_LENGTH"),
          "422": _err("Chain refusal: audit rule (custom error name in `error`)"),
          "429": _err("Rate limited (`rate_limited`): too many requests from this client address; the message "
                      "(Chinese, then English) and Retry-After say when to retry 请求过于频繁", headers={
                          "Retry-After": {"description": "seconds until the limit lets the client in again",
                                          "schema": {"type": "integer", "minimum": 1}}}),
          "503": _err("Chain unavailable")}


def _json(schema, example=None):
    media = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _op(summary, responses, *, body=None, body_required=True, auth=True, params=None, roles=None, description=None):
    op = {"summary": summary + (f" (role: {', '.join(roles)})" if roles else ""), "responses": responses}
    if description:
        op["description"] = description
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": body}
    if not auth:
        op["security"] = [{}, {"bearer": []}]
    if params:
        op["parameters"] = params
    return op


def _query(name, schema, description=None):
    p = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        p["description"] = description
    return p


NUMBER_PARAM = {"name": "number", "in": "path", "required": True, "schema": NUMBER}
ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": _int(0, ID_MAX)}
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "description": "the same key returns the same invoice (200); with another body: 409",
                   "schema": {"type": "string", "minLength": 1, "maxLength": 128,
                              "pattern": "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$"}}


# A row of a JSON batch: meant to be a VerifyQuery, but any value is taken: one that is not a
# valid query gets the result `invalid` (with `fields`), as a CSV row with the wrong columns.
BATCH_ROW = {"description": "a VerifyQuery (#/components/schemas/VerifyQuery); any other value is not refused: "
                            "its result is `invalid`, with `fields`"}


# A valid request of each kind (the document's examples; schema fuzzers send them first).
ISSUE_EXAMPLE = {"buyer_name": "昆明示例商贸有限公司", "buyer_tax_id": "91530100MA6K0000XA",
                 "items": [{"name": "办公用品 Office supplies", "quantity": 10, "unit_price": 1250, "tax_rate": 13},
                           {"name": "咨询服务 Consulting", "unit_price": 50000, "tax_rate": 6}]}
VERIFY_EXAMPLE = {"number": "26351000000000000001", "issue_date": "2026-01-05", "gross": 14125, "check_code": "123456"}


def _invoice_link(path, method):
    return {"operationRef": "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method,
            "parameters": {"number": "$response.body#/number"}}


# What a new invoice (or note) leads to: its number in the other invoice routes.
INVOICE_LINKS = {"GetInvoice": _invoice_link("/invoices/{number}", "get"),
                 "VoidInvoice": _invoice_link("/invoices/{number}/void", "post"),
                 "RedLetterInvoice": _invoice_link("/invoices/{number}/red-letter", "post")}


def spec(config=None):
    """The document; ``config`` (the app's) gives the configured limits, else the defaults."""
    config = config or DEFAULTS
    max_amount = int(config.get("INVOICE_MAX_AMOUNT", DEFAULTS["INVOICE_MAX_AMOUNT"]))
    max_items = int(config.get("INVOICE_MAX_ITEMS", DEFAULTS["INVOICE_MAX_ITEMS"]))
    max_rows = int(config.get("VERIFY_BATCH_MAX_ROWS", DEFAULTS["VERIFY_BATCH_MAX_ROWS"]))
    ok = lambda schema, d="OK": {"description": d, "content": _json(schema)}  # noqa: E731
    issued = lambda d: {**ok(_ref("IssueResult"), d), "links": INVOICE_LINKS}  # noqa: E731
    e = lambda *codes: {c: ERRORS[c] for c in codes}  # noqa: E731
    limits_body = {"type": "object", "description": "limits (defaults when left out); monthly_quota must be at "
                                                    "least invoice_cap (else 400)", "properties": {
        "invoice_cap": _int(1, 2**48 - 1, description="fen per invoice"),
        "monthly_quota": _int(1, 2**64 - 1, description="fen per month"),
        "hourly_norm": _int(1, 2**32 - 1, description="invoices per hour")}}
    reason_body = {"type": "object", "required": ["reason"], "properties": {"reason": _text(200)}}

    def decision(summary, body=None, body_required=True):
        return {"post": _op(summary, {"200": ok(_ref("Merchant")),
                                      **e("400", "401", "403", "404", "409", "422", "503")},
                            body=_json(body) if body else None, body_required=body_required, params=[ID_PARAM],
                            roles=["authority"])}

    return {
        "openapi": "3.0.3",
        "info": {"title": "E-Invoice Chain API", "version": "2.0.0",
                 "description": "Money in integer fen; tax_rate in whole percent (each line its own; one on-chain "
                                "rate group per rate); dates YYYY-MM-DD (China time). Contracts v2: invoice "
                                "numbers come from the merchant's own range; the buyer is on chain only as a "
                                "salted commitment (salt and tag in the document's buyer block). Errors are "
                                "{\"error\", \"message\", \"fields\"?}; messages are Chinese, then English. Text "
                                "fields are stripped of leading and trailing white space and may not hold control "
                                "characters. JSON bodies: UTF-8, no NaN/Infinity, at most 32 levels deep."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/invoices": {
                "post": _op("Issue an invoice", {
                    "201": issued("Issued (mined)"), "200": issued("Idempotent replay"),
                    "202": issued("Journaled, not yet mined"),
                    **e("400", "401", "403", "409", "413", "422", "503")},
                    body=_json(_ref("IssueRequest"), ISSUE_EXAMPLE), roles=["merchant"], params=[IDEMPOTENCY_KEY],
                    description="Each line's amount is quantity × unit price (rounded half up, ±1 fen), its tax "
                                "amount × rate; net/tax/gross/rate, when sent, must equal what the server computes; "
                                "the gross total may not exceed INVOICE_MAX_AMOUNT; issue_date not in the future "
                                "(China time). Otherwise 400."),
                "get": _op("List invoices (own for merchants and buyers)", {
                    "200": ok({"type": "object", "required": ["total", "page", "per_page", "invoices"], "properties": {
                        "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
                        "invoices": {"type": "array", "items": _ref("Invoice")}}}), **e("400", "401")},
                    params=[_query("q", {"type": "string", "maxLength": 200, "pattern": QUERY_TEXT},
                                   "part of the number, buyer or seller name"),
                            _query("status", {"type": "string", "maxLength": 32, "pattern": QUERY_TEXT},
                                   "an on-chain status (Issued, Flagged, …) or pending / failed"),
                            _query("buyer", {"type": "string", "maxLength": 200, "pattern": QUERY_TEXT}),
                            _query("from", {"type": "string", "maxLength": 10, "pattern": QUERY_DATE},
                                   "issue date from (empty: not given)"),
                            _query("to", {"type": "string", "maxLength": 10, "pattern": QUERY_DATE},
                                   "issue date to (empty: not given)"),
                            _query("page", _int(1, PAGE_MAX, default=1), "past the last page: an empty list"),
                            _query("per_page", _int(1, 200, default=50))]),
            },
            "/invoices/preview": {"post": _op("Totals and rate groups computed server-side", {
                "200": ok({"type": "object", "required": ["net", "tax", "gross", "rate", "rates", "groups"],
                           "properties": {"rates": {"type": "array", "items": {"type": "integer"}},
                                          "groups": {"type": "array", "items": _ref("RateGroup")}}}),
                **e("400", "401", "403", "413")},
                body=_json(_ref("IssueRequest"), ISSUE_EXAMPLE), roles=["merchant"])},
            "/invoices/{number}": {"get": _op("Document + chain status + timeline", {
                "200": ok(_ref("InvoiceDetail")), **e("401", "403", "404")}, params=[NUMBER_PARAM])},
            "/invoices/{number}/void": {"post": _op("Void", {
                "200": ok(_ref("StatusResult")), **e("401", "403", "404", "409", "422", "503")},
                params=[NUMBER_PARAM], roles=["merchant"])},
            "/invoices/{number}/red-letter": {"post": _op("Red-letter note", {
                "201": ok(_ref("IssueResult")), "200": ok(_ref("IssueResult"), "Idempotent replay"),
                "202": ok(_ref("IssueResult"), "Journaled, not yet mined"),
                **e("400", "401", "403", "404", "409", "413", "422", "503")},
                body=_json({"type": "object", "required": ["reason_code"], "additionalProperties": False,
                            "properties": {"reason_code": _int(1, 255),
                                           "issue_date": DATE,
                                           "remarks": _text(500, required=False, nullable=True),
                                           "items": {"type": "array", "minItems": 1, "maxItems": max_items,
                                                     "items": _ref("Item"),
                                                     "description": "left out: a full reversal; only rates the "
                                                                    "original has"}}}),
                params=[NUMBER_PARAM, IDEMPOTENCY_KEY], roles=["merchant"])},
            "/invoices/{number}/clear": {"post": _op("Clear a flagged invoice", {
                "200": ok(_ref("StatusResult")), **e("400", "401", "403", "404", "409", "503")},
                body=_json(_ref("Reason")), params=[NUMBER_PARAM], roles=["auditor"])},
            "/invoices/{number}/reject": {"post": _op("Reject a flagged invoice", {
                "200": ok(_ref("StatusResult")), **e("400", "401", "403", "404", "409", "503")},
                body=_json(_ref("Reason")), params=[NUMBER_PARAM], roles=["auditor"])},
            "/review-queue": {"get": _op("Flagged invoices", {"200": ok({"type": "object"}), **e("401", "403")},
                                         roles=["auditor", "authority"])},
            "/verify": {"post": _op("Verify one invoice (public)", {
                "200": ok(_ref("VerifyResult")), **e("400", "413", "429", "503")},
                body=_json(_ref("VerifyQuery"), VERIFY_EXAMPLE), auth=False,
                description="Rate-limited per client address (VERIFY_RATE_LIMIT, shared by all verification "
                            "routes and pages).")},
            "/verify/batch": {"post": _op("Verify many (JSON list or CSV; Accept: text/csv for a CSV result)", {
                "200": {"description": "One result per row", "content": {
                    "application/json": {"schema": {"type": "object", "required": ["count", "summary", "results"],
                                                    "properties": {
                        "count": {"type": "integer"}, "summary": {"type": "object"},
                        "results": {"type": "array", "items": _ref("BatchRow")}}}},
                    "text/csv": {"schema": {"type": "string"}}}},
                **e("400", "413", "429", "503")},
                body={"application/json": {"schema": {"oneOf": [
                    {"type": "array", "minItems": 1, "maxItems": max_rows, "items": BATCH_ROW},
                    {"type": "object", "required": ["rows"], "properties": {
                        "rows": {"type": "array", "minItems": 1, "maxItems": max_rows, "items": BATCH_ROW}}},
                ]}},
                      "text/csv": {"schema": {"type": "string", "pattern": CSV_BATCH,
                                              "description": "columns number,issue_date,gross,check_code: the "
                                                             "header line and at least one row, or rows alone "
                                                             "(the first starting with a 20-digit number)"}}},
                auth=False,
                description=f"At least one row and at most {max_rows} (VERIFY_BATCH_MAX_ROWS): an empty batch "
                            "answers 400. A row that is not a valid query is not refused: its result is "
                            "`invalid`, with `fields`. The same JSON or CSV is also taken as the file of a "
                            "multipart/form-data upload (field `file`). Rate-limited as /verify.")},
            "/verify/document": {"post": _op("Check an invoice document against its on-chain hash", {
                "200": ok({"type": "object", "required": ["result"], "properties": {
                    "result": {"type": "string", "enum": ["authentic", "tampered", "not_found"]},
                    "number": {"type": "string"}, "document_hash": {"type": "string"},
                    "detail": {"type": "string"}}}), **e("400", "413", "429", "503")},
                body={"application/json": {"schema": {"type": "object", "required": ["number"],
                                                      "properties": {"number": NUMBER}}}}, auth=False,
                description="The invoice's JSON document as the platform issued it (also taken as the file of "
                            "a multipart/form-data upload, field `file`). Rate-limited as /verify.")},
            "/verifications": {"get": _op("Verification history", {"200": ok({"type": "object"}), **e("400", "401")},
                                          params=[_query("q", {"type": "string", "maxLength": 200,
                                                               "pattern": QUERY_TEXT}),
                                                  _query("result", {"type": "string", "maxLength": 32,
                                                                    "pattern": QUERY_TEXT}),
                                                  _query("limit", _int(1, 1000, default=100))])},
            "/merchant/registration": {
                "get": _op("Own registration", {"200": ok(_ref("Merchant")), **e("401", "403", "404")},
                           roles=["merchant"]),
                "post": _op("Registration request", {"201": ok(_ref("Merchant")),
                                                     **e("400", "401", "403", "409", "422", "503")},
                            body=_json({"type": "object", "required": ["name", "tax_id", "licence_number"],
                                        "properties": {
                                            "name": _text(100),
                                            "tax_id": {"type": "string", "minLength": 18, "maxLength": 18,
                                                       "pattern": f"^{USCC_CHAR}{{2}}[0-9]{{6}}{USCC_CHAR}{{10}}$",
                                                       "description": "Unified Social Credit Code; its check "
                                                                      "character (the 18th) must be right, else 400"},
                                            "licence_number": _text(64)}}),
                            roles=["merchant"])},
            "/merchants": {"get": _op("Merchants", {"200": ok({"type": "object"}), **e("401", "403")},
                                      roles=["authority", "auditor"])},
            "/merchants/{id}/approve": decision(
                "Approve: limits, seller tag, first number range", limits_body, body_required=False),
            "/merchants/{id}/reject": decision("Reject the application", reason_body),
            "/merchants/{id}/suspend": decision("Suspend", reason_body),
            "/merchants/{id}/reinstate": decision("Reinstate"),
            "/merchants/{id}/limits": decision("New limits", limits_body, body_required=False),
            "/merchants/{id}/numbers": decision(
                "A new number range, replacing the current one",
                {"type": "object", "properties": {"count": _int(1, 10**12, description="numbers in the range "
                                                                                       "(default NUMBER_RANGE_SIZE)")}},
                body_required=False),
            "/users": {"get": _op("Users with the on-chain role their web role needs", {
                "200": ok({"type": "object", "required": ["users"]}), **e("401", "403")}, roles=["authority"])},
            "/users/{id}/{action}": {"post": _op("grant-role | revoke-role (AUDITOR_ROLE / FINANCIER_ROLE)", {
                "200": ok({"type": "object", "required": ["id", "chain_role"]}),
                **e("401", "403", "404", "409", "422", "503")},
                params=[ID_PARAM, {"name": "action", "in": "path", "required": True,
                                   "schema": {"type": "string", "enum": ["grant-role", "revoke-role"]}}],
                roles=["authority"])},
            "/audit/parameters": {
                "get": _op("Audit parameters", {"200": ok(_ref("AuditParameters")), **e("401", "403", "503")},
                           roles=["authority", "auditor"]),
                "post": _op("Set audit parameters", {"200": ok(_ref("AuditParameters")),
                                                     **e("400", "401", "403", "409", "422", "503")},
                            body=_json(_ref("AuditParametersUpdate")), roles=["authority"])},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"], "properties": {
                    "error": {"type": "string"}, "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    "retry_after": {"type": "integer", "description": "429: seconds until a retry is let in"}}},
                "Item": {"type": "object", "required": ["name", "unit_price", "tax_rate"], "additionalProperties": False,
                         "properties": {"name": _text(100), "spec": _text(40, required=False, nullable=True),
                                        "unit": _text(20, required=False, nullable=True),
                                        "tax_code": {"type": "string", "maxLength": 19, "pattern": "^[0-9]*$",
                                                     "nullable": True},
                                        "quantity": {"anyOf": [_int(1, 10**12),
                                                               {"type": "string", "maxLength": 19,
                                                                "pattern": QUANTITY_TEXT}],
                                                     "default": 1,
                                                     "description": "a positive integer, or a decimal with at most "
                                                                    "12 digits before the point and 6 after"},
                                        "unit_price": _int(1, max_amount, description="fen"),
                                        "amount": _int(1, max_amount, nullable=True,
                                                       description="fen; quantity × unit_price (±1), computed when "
                                                                   "left out"),
                                        "tax_rate": {"type": "integer", "enum": VAT},
                                        "tax": {"type": "integer", "description": "amount × rate rounded half up; "
                                                                                  "computed when left out"}}},
                "IssueRequest": {"type": "object", "required": ["buyer_name", "buyer_tax_id", "items"],
                                 "additionalProperties": False, "properties": {
                                     "buyer_name": _text(200),
                                     "buyer_tax_id": {"type": "string", "minLength": 15, "maxLength": 20,
                                                      "pattern": "^[0-9A-Za-z]{15,20}$"},
                                     "issue_date": {**DATE, "description": "not in the future (China time); "
                                                                           "default today"},
                                     "invoice_type": {"enum": [0, 1, "ordinary", "special"], "default": 0,
                                                      "description": "0 ordinary, 1 special VAT"},
                                     "items": {"type": "array", "minItems": 1, "maxItems": max_items,
                                               "items": _ref("Item")},
                                     "remarks": _text(500, required=False, nullable=True),
                                     "drawer": _text(50, required=False, nullable=True),
                                     "net": {"type": "integer"}, "tax": {"type": "integer"},
                                     "gross": {"type": "integer"},
                                     "rate": {"type": "integer", "description": "one-rate invoices only"}}},
                "IssueResult": {"type": "object", "required": ["number", "key", "status", "flags", "check_code",
                                                               "net", "tax", "gross", "tx_hash"], "properties": {
                    "number": {"type": "string", "pattern": "^[0-9]{20}$"}, "key": {"type": "string"},
                    "status": {"type": "string"}, "state": {"type": "string"}, "flags": {"type": "integer"},
                    "flag_names": {"type": "array", "items": {"type": "string"}},
                    "check_code": {"type": "string", "nullable": True}, "net": {"type": "integer"},
                    "tax": {"type": "integer"}, "gross": {"type": "integer"},
                    "rates": {"type": "array", "items": {"type": "integer"}},
                    "tx_hash": {"type": "string", "nullable": True}}},
                "RateGroup": {"type": "object", "required": ["rate", "item_count", "net", "tax"], "properties": {
                    "rate": {"type": "integer"}, "item_count": {"type": "integer"}, "net": {"type": "integer"},
                    "tax": {"type": "integer"}}},
                "Invoice": {"type": "object", "required": ["number", "key", "state", "net", "tax", "gross"]},
                "InvoiceDetail": {"type": "object", "required": ["number", "document", "timeline", "status"],
                                  "properties": {"document": {"type": "object", "nullable": True},
                                                 "timeline": {"type": "array", "items": {"type": "object"}},
                                                 "chain": {"type": "object"}}},
                "StatusResult": {"type": "object", "required": ["number", "status", "tx_hash"]},
                "Reason": {"type": "object", "required": ["reason_code"],
                           "properties": {"reason_code": _int(1, 65535)}},
                "VerifyQuery": {"type": "object", "required": ["number", "issue_date", "gross", "check_code"],
                                "properties": {"number": NUMBER,
                                               "issue_date": DATE,
                                               "gross": _int(0, 10**18, description="fen (`amount` is taken too)"),
                                               "check_code": {"type": "string", "minLength": 6, "maxLength": 20,
                                                              "pattern": "^([0-9]{6}|[0-9]{20})$",
                                                              "description": "the last 6 digits (or all 20)"}}},
                "VerifyResult": {"type": "object", "required": ["result", "label", "detail"], "properties": {
                    "result": {"type": "string", "enum": ["authentic", "not_found", "mismatch", "voided", "flagged",
                                                          "rejected", "red_lettered", "partly_red_lettered",
                                                          "red_letter_note"]},
                    "label": {"type": "string"}, "detail": {"type": "string"}}},
                "BatchRow": {"type": "object", "required": ["row", "result"], "properties": {
                    "row": {"type": "integer"}, "number": {"type": "string", "nullable": True},
                    "result": {"type": "string"}, "label": {"type": "string"}, "detail": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"},
                               "description": "result invalid: what is wrong with the row"}}},
                "Merchant": {"type": "object", "required": ["id", "name", "tax_id", "status"]},
                "AuditParameters": {"type": "object", "properties": {
                    "allowed_rates": {"type": "array", "items": {"type": "integer"}},
                    "backdating_window": {"type": "integer"}, "future_skew": {"type": "integer"},
                    "per_item_tolerance": {"type": "integer"}, "void_window": {"type": "integer"},
                    "paused": {"type": "boolean"}}},
                "AuditParametersUpdate": {"type": "object", "additionalProperties": False, "properties": {
                    "allowed_rates": {"type": "array", "minItems": 1, "items": _int(0, 23),
                                      "description": "whole percents"},
                    "backdating_window": _int(1, 2**32 - 1, description="seconds"),
                    "future_skew": _int(0, 2**32 - 1, description="seconds"),
                    "per_item_tolerance": _int(0, 65535, description="fen"),
                    "void_window": _int(0, 2**32 - 1, description="seconds"),
                    "paused": {"type": "boolean"}}},
            },
        },
    }
