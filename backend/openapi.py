"""The OpenAPI 3 document of /api/v1 (served at /api/v1/openapi.json)."""

VAT = [0, 1, 3, 5, 6, 9, 13]


def _err(desc):
    return {"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


ERRORS = {"400": _err("Validation error (per field)"), "401": _err("Missing or invalid bearer token"),
          "403": _err("Role or ownership refusal"), "404": _err("Not found"),
          "409": _err("Chain refusal: state conflict (custom error name in `error`)"),
          "422": _err("Chain refusal: audit rule (custom error name in `error`)"),
          "503": _err("Chain unavailable")}


def _json(schema):
    return {"application/json": {"schema": schema}}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _op(summary, responses, *, body=None, auth=True, params=None, roles=None):
    op = {"summary": summary + (f" (role: {', '.join(roles)})" if roles else ""), "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": True, "content": body}
    if not auth:
        op["security"] = [{}, {"bearer": []}]
    if params:
        op["parameters"] = params
    return op


NUMBER_PARAM = {"name": "number", "in": "path", "required": True,
                "schema": {"type": "string", "pattern": "^[0-9]{20}$"}}


def spec():
    ok = lambda schema, d="OK": {"description": d, "content": _json(schema)}  # noqa: E731
    e = lambda *codes: {c: ERRORS[c] for c in codes}  # noqa: E731
    return {
        "openapi": "3.0.3",
        "info": {"title": "E-Invoice Chain API", "version": "2.0.0",
                 "description": "Money in integer fen; tax_rate in whole percent (each line its own; one on-chain "
                                "rate group per rate); dates YYYY-MM-DD (China time). Contracts v2: invoice "
                                "numbers come from the merchant's own range; the buyer is on chain only as a "
                                "salted commitment (salt and tag in the document's buyer block)."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/invoices": {
                "post": _op("Issue an invoice", {
                    "201": ok(_ref("IssueResult"), "Issued (mined)"), "200": ok(_ref("IssueResult"), "Idempotent replay"),
                    "202": ok(_ref("IssueResult"), "Journaled, not yet mined"), **e("400", "401", "403", "409", "422", "503")},
                    body=_json(_ref("IssueRequest")), roles=["merchant"],
                    params=[{"name": "Idempotency-Key", "in": "header", "required": False,
                             "schema": {"type": "string", "maxLength": 128}}]),
                "get": _op("List invoices (own for merchants and buyers)", {
                    "200": ok({"type": "object", "required": ["total", "invoices"], "properties": {
                        "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
                        "invoices": {"type": "array", "items": _ref("Invoice")}}}), **e("401")},
                    params=[{"name": n, "in": "query", "required": False, "schema": {"type": t}} for n, t in (
                        ("q", "string"), ("status", "string"), ("buyer", "string"), ("from", "string"),
                        ("to", "string"), ("page", "integer"), ("per_page", "integer"))]),
            },
            "/invoices/preview": {"post": _op("Totals and rate groups computed server-side", {
                "200": ok({"type": "object", "required": ["net", "tax", "gross", "rate", "rates", "groups"],
                           "properties": {"rates": {"type": "array", "items": {"type": "integer"}},
                                          "groups": {"type": "array", "items": _ref("RateGroup")}}}),
                **e("400", "401", "403")},
                body=_json(_ref("IssueRequest")), roles=["merchant"])},
            "/invoices/{number}": {"get": _op("Document + chain status + timeline", {
                "200": ok(_ref("InvoiceDetail")), **e("401", "403", "404")}, params=[NUMBER_PARAM])},
            "/invoices/{number}/void": {"post": _op("Void", {
                "200": ok(_ref("StatusResult")), **e("401", "403", "404", "409", "422")},
                params=[NUMBER_PARAM], roles=["merchant"])},
            "/invoices/{number}/red-letter": {"post": _op("Red-letter note", {
                "201": ok(_ref("IssueResult")), **e("400", "401", "403", "404", "409", "422")},
                body=_json({"type": "object", "required": ["reason_code"], "additionalProperties": False,
                            "properties": {"reason_code": {"type": "integer", "minimum": 1, "maximum": 255},
                                           "issue_date": {"type": "string", "format": "date"},
                                           "remarks": {"type": "string"},
                                           "items": {"type": "array", "items": _ref("Item")}}}),
                params=[NUMBER_PARAM], roles=["merchant"])},
            "/invoices/{number}/clear": {"post": _op("Clear a flagged invoice", {
                "200": ok(_ref("StatusResult")), **e("400", "401", "403", "404", "409")},
                body=_json(_ref("Reason")), params=[NUMBER_PARAM], roles=["auditor"])},
            "/invoices/{number}/reject": {"post": _op("Reject a flagged invoice", {
                "200": ok(_ref("StatusResult")), **e("400", "401", "403", "404", "409")},
                body=_json(_ref("Reason")), params=[NUMBER_PARAM], roles=["auditor"])},
            "/review-queue": {"get": _op("Flagged invoices", {"200": ok({"type": "object"}), **e("401", "403")},
                                         roles=["auditor", "authority"])},
            "/verify": {"post": _op("Verify one invoice (public)", {
                "200": ok(_ref("VerifyResult")), **e("400"), "429": _err("Rate limited")},
                body=_json(_ref("VerifyQuery")), auth=False)},
            "/verify/batch": {"post": _op("Verify many (JSON list or CSV; Accept: text/csv for a CSV result)", {
                "200": ok({"type": "object", "required": ["count", "results"], "properties": {
                    "count": {"type": "integer"}, "summary": {"type": "object"},
                    "results": {"type": "array", "items": _ref("BatchRow")}}}), **e("400"),
                "429": _err("Rate limited")},
                body={"application/json": {"schema": {"type": "array", "items": _ref("VerifyQuery")}},
                      "text/csv": {"schema": {"type": "string"}},
                      "multipart/form-data": {"schema": {"type": "object", "properties": {
                          "file": {"type": "string", "format": "binary"}}}}}, auth=False)},
            "/verify/document": {"post": _op("Check an invoice document against its on-chain hash", {
                "200": ok({"type": "object", "required": ["result"], "properties": {
                    "result": {"type": "string", "enum": ["authentic", "tampered", "not_found"]},
                    "number": {"type": "string"}, "document_hash": {"type": "string"},
                    "detail": {"type": "string"}}}), **e("400")},
                body={"application/json": {"schema": {"type": "object"}}}, auth=False)},
            "/verifications": {"get": _op("Verification history", {"200": ok({"type": "object"}), **e("401")})},
            "/merchant/registration": {
                "get": _op("Own registration", {"200": ok(_ref("Merchant")), **e("401", "403", "404")},
                           roles=["merchant"]),
                "post": _op("Registration request", {"201": ok(_ref("Merchant")), **e("400", "401", "403", "409", "422")},
                            body=_json({"type": "object", "required": ["name", "tax_id", "licence_number"],
                                        "properties": {"name": {"type": "string"},
                                                       "tax_id": {"type": "string", "minLength": 18, "maxLength": 18},
                                                       "licence_number": {"type": "string"}}}),
                            roles=["merchant"])},
            "/merchants": {"get": _op("Merchants", {"200": ok({"type": "object"}), **e("401", "403")},
                                      roles=["authority", "auditor"])},
            "/merchants/{id}/{action}": {"post": _op(
                "approve (limits, seller tag, first number range) | reject | suspend | reinstate | limits | "
                "numbers (a new number range, replacing the current one)", {
                "200": ok(_ref("Merchant")), **e("400", "401", "403", "404", "409", "422")},
                body=_json({"type": "object", "properties": {
                    "reason": {"type": "string"}, "invoice_cap": {"type": "integer"},
                    "monthly_quota": {"type": "integer"}, "hourly_norm": {"type": "integer"},
                    "count": {"type": "integer", "minimum": 1}}}),
                params=[{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                        {"name": "action", "in": "path", "required": True, "schema": {
                            "type": "string",
                            "enum": ["approve", "reject", "suspend", "reinstate", "limits", "numbers"]}}],
                roles=["authority"])},
            "/users": {"get": _op("Users with the on-chain role their web role needs", {
                "200": ok({"type": "object", "required": ["users"]}), **e("401", "403")}, roles=["authority"])},
            "/users/{id}/{action}": {"post": _op("grant-role | revoke-role (AUDITOR_ROLE / FINANCIER_ROLE)", {
                "200": ok({"type": "object", "required": ["id", "chain_role"]}), **e("401", "403", "404", "409")},
                params=[{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                        {"name": "action", "in": "path", "required": True,
                         "schema": {"type": "string", "enum": ["grant-role", "revoke-role"]}}],
                roles=["authority"])},
            "/audit/parameters": {
                "get": _op("Audit parameters", {"200": ok(_ref("AuditParameters")), **e("401", "403")},
                           roles=["authority", "auditor"]),
                "post": _op("Set audit parameters", {"200": ok(_ref("AuditParameters")), **e("400", "401", "403", "422")},
                            body=_json(_ref("AuditParameters")), roles=["authority"])},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"], "properties": {
                    "error": {"type": "string"}, "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}}}},
                "Item": {"type": "object", "required": ["name", "unit_price", "tax_rate"], "additionalProperties": False,
                         "properties": {"name": {"type": "string", "maxLength": 100}, "spec": {"type": "string"},
                                        "unit": {"type": "string"}, "tax_code": {"type": "string"},
                                        "quantity": {"oneOf": [{"type": "integer", "minimum": 1},
                                                               {"type": "string"}]},
                                        "unit_price": {"type": "integer", "minimum": 0},
                                        "amount": {"type": "integer", "minimum": 1},
                                        "tax_rate": {"type": "integer", "enum": VAT},
                                        "tax": {"type": "integer"}}},
                "IssueRequest": {"type": "object", "required": ["buyer_name", "buyer_tax_id", "items"],
                                 "additionalProperties": False, "properties": {
                                     "buyer_name": {"type": "string", "maxLength": 200},
                                     "buyer_tax_id": {"type": "string", "minLength": 15, "maxLength": 20},
                                     "issue_date": {"type": "string", "format": "date"},
                                     "invoice_type": {"type": "integer", "enum": [0, 1]},
                                     "items": {"type": "array", "minItems": 1, "maxItems": 200, "items": _ref("Item")},
                                     "remarks": {"type": "string"}, "drawer": {"type": "string"},
                                     "net": {"type": "integer"}, "tax": {"type": "integer"},
                                     "gross": {"type": "integer"}, "rate": {"type": "integer"}}},
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
                                  "properties": {"document": {"type": "object"},
                                                 "timeline": {"type": "array", "items": {"type": "object"}},
                                                 "chain": {"type": "object"}}},
                "StatusResult": {"type": "object", "required": ["number", "status", "tx_hash"]},
                "Reason": {"type": "object", "required": ["reason_code"],
                           "properties": {"reason_code": {"type": "integer", "minimum": 1}}},
                "VerifyQuery": {"type": "object", "required": ["number", "issue_date", "gross", "check_code"],
                                "properties": {"number": {"type": "string", "pattern": "^[0-9]{20}$"},
                                               "issue_date": {"type": "string", "format": "date"},
                                               "gross": {"type": "integer"},
                                               "check_code": {"type": "string", "pattern": "^[0-9]{6}$"}}},
                "VerifyResult": {"type": "object", "required": ["result", "label", "detail"], "properties": {
                    "result": {"type": "string", "enum": ["authentic", "not_found", "mismatch", "voided", "flagged",
                                                          "rejected", "red_lettered", "partly_red_lettered",
                                                          "red_letter_note"]},
                    "label": {"type": "string"}, "detail": {"type": "string"}}},
                "BatchRow": {"type": "object", "required": ["row", "result"], "properties": {
                    "row": {"type": "integer"}, "number": {"type": "string", "nullable": True},
                    "result": {"type": "string"}, "detail": {"type": "string"}}},
                "Merchant": {"type": "object", "required": ["id", "name", "tax_id", "status"]},
                "AuditParameters": {"type": "object", "properties": {
                    "allowed_rates": {"type": "array", "items": {"type": "integer"}},
                    "backdating_window": {"type": "integer"}, "future_skew": {"type": "integer"},
                    "per_item_tolerance": {"type": "integer"}, "void_window": {"type": "integer"},
                    "paused": {"type": "boolean"}}},
            },
        },
    }
