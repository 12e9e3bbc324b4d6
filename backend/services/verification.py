"""Verification: one query, a batch (JSON or CSV), an uploaded document; and the
verification history. Every text a person reads is translated (Flask-Babel, the request's
language); amounts in them are in yuan, the API's fields keep fen."""
import csv
import io
import json
import threading
from datetime import datetime, timezone

import pydantic
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert

from ..chain import get_chain
from ..chain.client import REGISTRY
from ..chain.errors import ChainRefusal
from ..core import canonical
from ..core.canonical import yuan
from ..core.db import get_db
from ..core.i18n import Translated, current_language
from ..core.models import Verification
from ..schemas import common
from ..schemas.verification import RESULTS as VERIFY_RESULTS
from ..schemas.verification import DocumentToVerify, VerifyBatch, VerifyQuery
from .errors import ValidationError
from .invoices import NUMBER_RE
from .json_input import load_json
from .validation import validated


VERIFY_LABELS = Translated({
    "authentic": _l("Authentic"),
    "not_found": _l("No such invoice"),
    "mismatch": _l("Details do not match"),
    "voided": _l("Voided"),
    "flagged": _l("Awaiting review"),
    "rejected": _l("Rejected on review"),
    "red_lettered": _l("Fully reversed"),
    "partly_red_lettered": _l("Partly reversed"),
    "red_letter_note": _l("Red-letter note"),
    "invalid": _l("Invalid query"),
    "tampered": _l("Document altered"),
})


VERIFY_DETAIL = Translated({
    "authentic": _l("The invoice is authentic: it is registered on chain and its details match."),
    "not_found": _l("No invoice with this number is registered."),
    "mismatch": _l("The invoice exists, but its issue date, amount or check code does not match."),
    "voided": _l("The invoice was voided by its seller."),
    "flagged": _l("The invoice is flagged and waiting for an auditor's review."),
    "rejected": _l("The invoice was rejected by an auditor."),
    "red_lettered": _l("The invoice was fully reversed by red-letter notes: it is no longer valid."),
    "partly_red_lettered": _l("The invoice was partly reversed by red-letter notes: it is valid for the amount "
                              "not reversed."),
    "red_letter_note": _l("This number is a red-letter note (a negative invoice that reduces another invoice), not "
                          "an invoice that can be deducted."),
})

DOCUMENT_DETAIL = Translated({
    "authentic": _l("The document is the one registered on chain: its hash matches."),
    "tampered": _l("The document differs from the one registered on chain: it was altered."),
    "not_found": _l("No invoice with this number is registered."),
})


def _yyyymmdd(d):
    return d.year * 10000 + d.month * 100 + d.day


# --------------------------------------------------------------- a query's problems in words
QUERY_FIELDS = ("number", "issue_date", "gross", "check_code")
MISSING = Translated({
    "number": _l("the invoice number is missing"),
    "issue_date": _l("the issue date is missing"),
    "gross": _l("the gross amount is missing"),
    "check_code": _l("the check code is missing"),
})
INVALID = Translated({
    "number": _l("the invoice number must be 20 digits"),
    "issue_date": _l("the issue date is not a valid date (YYYY-MM-DD, from the year 2000 on)"),
    "gross": _l("the gross amount must be a whole number of fen (¥1,234.56 is written 123456)"),
    "check_code": _l("the check code must be its last 6 digits or all 20 digits"),
})


def join_problems(problems):
    """Sentences of one message, joined as the language writes them."""
    return ("；" if current_language() == "zh" else "; ").join(str(p) for p in problems)


def _problem(field, row):
    if field not in QUERY_FIELDS or not isinstance(row, dict):
        return _("a query needs the invoice number, issue date, gross amount and check code")
    value = row.get(field, row.get("amount") if field == "gross" else None)
    if value is None or (isinstance(value, str) and not value.strip()):
        return MISSING[field]
    if field == "check_code" and isinstance(value, (str, int)) and not isinstance(value, bool):
        return _("the check code must be its last 6 digits or all 20 digits (this one has %(count)s)",
                 count=len(str(value).strip()))
    return INVALID[field]


def checked_query(row):
    """``row`` as a VerifyQuery; else ValidationError whose ``fields`` say each problem in
    words (keys: the query's fields, or ``body`` for a row that is not an object)."""
    try:
        return common.validate(VerifyQuery, row)
    except pydantic.ValidationError as exc:
        fields = {}
        for err in exc.errors(include_url=False):
            field = str(err["loc"][0]) if err["loc"] else "body"
            fields.setdefault(field if field in QUERY_FIELDS else "body", _problem(field, row))
        raise ValidationError(fields, _("Check the query: %(problems)s.", problems=join_problems(fields.values()))) \
            from None


def verify_one(row):
    """One query (a VerifyQuery) → its result, as the registry's ``verify`` answers."""
    q = checked_query(row)
    code = get_chain().call(REGISTRY, "verify", q.number, _yyyymmdd(q.issue_date), q.gross, q.check_code)
    result = VERIFY_RESULTS[code]
    return with_red_letter_amounts(
        {"number": q.number, "result": result, "detail": VERIFY_DETAIL[result], "label": VERIFY_LABELS[result]})


def with_red_letter_amounts(answer):
    """A red-lettered answer with what a person asks next: how much the notes reversed and
    how much is left (``reversed``/``remaining`` in fen, the detail in yuan). One more view
    call, only for these two results."""
    if answer["result"] not in ("red_lettered", "partly_red_lettered"):
        return answer
    inv = get_chain().call_named(REGISTRY, "getInvoiceByNumber", answer["number"])
    reversed_, remaining = int(inv["redLettered"]), int(inv["openAmount"])
    if answer["result"] == "partly_red_lettered":
        detail = _("The invoice was partly reversed by red-letter notes: %(reversed)s reversed, %(remaining)s "
                   "remaining; it is valid for the remaining amount.", reversed=yuan(reversed_),
                   remaining=yuan(remaining))
    else:
        detail = _("The invoice was fully reversed by red-letter notes (%(reversed)s): it is no longer valid.",
                   reversed=yuan(reversed_))
    return {**answer, "detail": detail, "reversed": reversed_, "remaining": remaining}


class WrongColumns(dict):
    """A CSV line with another number of cells than the header: its row's problem."""

    def __init__(self, got, expected):
        super().__init__(columns=got)
        self.got, self.expected = got, expected


def _invalid_row(i, row):
    """The result of a row that is not a valid query: ``invalid``, its problems in words."""
    if isinstance(row, WrongColumns):
        fields = {"columns": _("this line has %(got)s columns instead of %(expected)s", got=row.got,
                               expected=row.expected)}
    else:
        try:
            checked_query(row)
            return None
        except ValidationError as exc:
            fields = exc.fields
    number = row.get("number") if isinstance(row, dict) else None
    return {"row": i + 1, "number": number if isinstance(number, str) else None, "result": "invalid",
            "label": VERIFY_LABELS["invalid"],
            "detail": _("Row %(row)s: %(problems)s", row=i + 1, problems=join_problems(fields.values())),
            "fields": fields}


def verify_many(rows, chunk=500, progress=None):
    """Rows → one result per row (invalid rows get result "invalid" + fields).
    ``progress(done, total)`` is called after each chunk of rows the chain answered."""
    out = [None] * len(rows)
    queries, where = [], []
    for i, row in enumerate(rows):
        out[i] = _invalid_row(i, row)
        if out[i] is not None:
            continue
        q = common.validate(VerifyQuery, row)
        queries.append((bytes.fromhex(canonical.invoice_key(q.number)[2:]), _yyyymmdd(q.issue_date), q.gross,
                        q.check_code))
        where.append((i, q.number))
    chain = get_chain()
    for start in range(0, len(queries), chunk):
        codes = chain.call(REGISTRY, "verifyBatch", queries[start:start + chunk])
        for (i, number), code in zip(where[start:start + chunk], codes):
            result = VERIFY_RESULTS[code]
            out[i] = {"row": i + 1, "number": number, "result": result, "label": VERIFY_LABELS[result],
                      "detail": VERIFY_DETAIL[result]}
        if progress is not None:
            progress(len(rows) - len(queries) + min(start + chunk, len(queries)), len(rows))
    return out


CSV_COLUMNS = ("number", "issue_date", "gross", "check_code")


def _file_problem(text):
    return ValidationError({"file": text}, text)


def parse_batch_csv(data: bytes, max_rows):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_problem(_("The file is not UTF-8 text.")) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        lines = [r for r in reader if any(c.strip() for c in r)]
    except csv.Error:
        raise _file_problem(_("The CSV is malformed at line %(line)s (a quote not closed, or a character after "
                              "one): check the file.", line=reader.line_num)) from None
    if not lines:
        raise _file_problem(_("The CSV is empty."))
    header = [h.strip().lower() for h in lines[0]]
    if "amount" in header and "gross" not in header:
        header[header.index("amount")] = "gross"
    if all(c in header for c in CSV_COLUMNS):
        body = lines[1:]
    elif len(header) == 4 and NUMBER_RE.match(lines[0][0].strip()):
        header, body = list(CSV_COLUMNS), lines
    else:
        raise _file_problem(_("The CSV needs the columns number, issue_date, gross, check_code (the invoice number, "
                              "issue date, gross amount in fen and check code)."))
    if len(body) > max_rows:
        raise _file_problem(too_many_rows(max_rows, len(body)))
    rows = []
    for r in body:
        if len(r) != len(header):
            rows.append(WrongColumns(len(r), len(header)))
            continue
        rows.append({k: v.strip() for k, v in zip(header, r) if k in CSV_COLUMNS})
    return rows


def parse_batch(data: bytes, content_type: str, max_rows):
    """A batch upload as JSON (a VerifyBatch: a list, or {"rows": [...]}) or CSV: at least
    one row, at most ``max_rows``. The content type decides (text/csv is CSV even when it
    looks like JSON); another one (an upload's application/octet-stream …) by the first
    character."""
    stripped = data.lstrip()
    ctype = (content_type or "").lower()
    if "json" in ctype or ("csv" not in ctype and stripped[:1] in (b"[", b"{")):
        payload = load_json(data, "file")
        try:
            return validated(VerifyBatch, payload, {"VERIFY_BATCH_MAX_ROWS": max_rows}).row_list
        except ValidationError:
            rows = payload.get("rows") if isinstance(payload, dict) and set(payload) == {"rows"} else payload
            if not isinstance(rows, list) or rows and len(rows) <= max_rows:  # not a row-count problem
                raise _file_problem(_("The JSON file must be a list of rows to verify (or an object with only "
                                      "\"rows\" in it).")) from None
    else:
        rows = parse_batch_csv(data, max_rows)
    if not rows:
        raise _file_problem(empty_batch())
    if len(rows) > max_rows:
        raise _file_problem(too_many_rows(max_rows, len(rows)))
    return rows


def empty_batch():
    return _("An empty batch cannot be verified: send at least one row.")


def too_many_rows(max_rows, rows):
    return _("A batch has at most %(max)s rows; this one has %(rows)s.", max=format_decimal(max_rows),
             rows=format_decimal(rows))


def results_csv(results, words=False):
    """A batch's results as CSV: for the API, the result codes under English column names;
    ``words``: for a person (the page's download), the columns and results in the request's
    language."""
    buf = io.StringIO()
    w = csv.writer(buf)
    if words:
        w.writerow([_("Row"), _("Invoice number"), _("Result"), _("Detail")])
    else:
        w.writerow(["row", "number", "result", "detail"])
    for r in results:
        result = VERIFY_LABELS.get(r["result"], r["result"]) if words else r["result"]
        w.writerow([r["row"], r.get("number") or "", result, r.get("detail", "")])
    return buf.getvalue()


def verify_document(data: bytes):
    """An uploaded invoice document → authentic | tampered | not_found (+ number): its JSON,
    or the platform's PDF with the JSON embedded (services.invoice_pdf.with_document)."""
    if data[:5] == b"%PDF-":
        from .invoice_pdf import read_pdf

        doc, _pdf = read_pdf(data)
        if doc is None:
            raise _file_problem(_("The PDF has no invoice document embedded: verify the invoice by its number, "
                                  "issue date, gross amount and check code."))
    else:
        doc = load_json(data, "file", decimals=False)
    try:
        validated(DocumentToVerify, doc)
    except ValidationError:
        raise _file_problem(_("The file is not an invoice document: it has no 20-digit invoice number.")) from None
    try:
        dhash = canonical.document_hash(doc)
    except TypeError:
        return {"number": doc["number"], "result": "tampered",
                "detail": _("The document was altered: an amount in it is not a whole number of fen.")}
    key = bytes.fromhex(canonical.invoice_key(doc["number"])[2:])
    chain = get_chain()
    try:
        chain.call(REGISTRY, "getInvoice", key)
    except ChainRefusal:
        return {"number": doc["number"], "result": "not_found", "document_hash": dhash,
                "detail": DOCUMENT_DETAIL["not_found"]}
    ok = chain.call(REGISTRY, "verifyDocument", key, bytes.fromhex(dhash[2:]))
    result = "authentic" if ok else "tampered"
    return {"number": doc["number"], "document_hash": dhash, "result": result, "detail": DOCUMENT_DETAIL[result]}


# The history's writers in this process take turns here rather than in SQLite: SQLite has
# one writer at a time, and a thread that finds the database locked waits in its busy
# handler, which sleeps 1, 2, 5, 10 … ms between tries — the tail of verification under
# load. A lock is handed over as soon as it is released. (PostgreSQL needs no turn.)
_history_turn = threading.Lock()


def _history_row(uid, kind, number, query, result, detail, client, created_at, query_max):
    return {"user_id": uid, "client": (client or "")[:64] or None, "kind": kind, "number": (number or "")[:40] or None,
            "query": json.dumps(query, ensure_ascii=False, default=str)[:query_max], "result": result,
            "detail": (detail or "")[:2000] or None, "created_at": created_at}


def _save_history(rows):
    """Insert history rows and commit them: one short transaction (core insert, no ORM
    objects), the verification is recorded when this returns."""
    session = get_db()
    if session.get_bind().dialect.name != "sqlite":
        session.execute(insert(Verification), rows)
        session.commit()
        return
    with _history_turn:
        session.execute(insert(Verification), rows)
        session.commit()


def _user_id(user):
    return user.id if user is not None and user.is_authenticated else None


def record(user, kind, number, query, result, detail=None, client=None):
    """One verification into the history, committed."""
    _save_history([_history_row(_user_id(user), kind, number, query, result, detail, client, _now(), 4000)])


def record_many(user, kind, rows, results, client=None):
    """A batch's verifications into the history (one row each), committed."""
    uid, now = _user_id(user), _now()
    _save_history([_history_row(uid, kind, r.get("number"), q, r["result"], r.get("detail"), client, now, 1000)
                   for q, r in zip(rows, results)])


def _now():
    return datetime.now(timezone.utc).replace(tzinfo=None)
