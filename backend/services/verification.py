"""Verification: one query, a batch (JSON or CSV), an uploaded document; and the
verification history."""
import csv
import io
import json
import threading
from datetime import datetime, timezone

from sqlalchemy import insert

from ..chain import get_chain
from ..chain.client import REGISTRY
from ..chain.errors import ChainRefusal
from ..core import canonical
from ..core.canonical import yuan
from ..core.db import get_db
from ..core.models import Verification
from ..schemas.verification import RESULTS as VERIFY_RESULTS
from ..schemas.verification import DocumentToVerify, VerifyBatch, VerifyQuery
from .errors import ValidationError
from .invoices import NUMBER_RE
from .json_input import load_json
from .validation import validated

VERIFY_LABELS = {
    "authentic": "真实有效 Authentic",
    "not_found": "查无此票 Not found",
    "mismatch": "信息不一致 Mismatch",
    "voided": "已作废 Voided",
    "flagged": "待审核 Flagged",
    "rejected": "审核未通过 Rejected",
    "red_lettered": "已全额红冲 Red-lettered",
    "partly_red_lettered": "部分红冲 Partly red-lettered",
    "red_letter_note": "红字发票 Red-letter note",
    "invalid": "查询有误 Invalid",
    "tampered": "文件已被篡改 Tampered",
}


VERIFY_DETAIL = {
    "authentic": "发票真实有效。The invoice is registered on chain and the data matches.",
    "not_found": "查无此票。No invoice with this number is registered.",
    "mismatch": "信息不一致：发票存在，但开票日期、金额或校验码不符。The invoice exists but the date, amount or "
                "check code does not match.",
    "voided": "发票已作废。The invoice was voided by its seller.",
    "flagged": "发票待审核。The invoice is flagged and waiting for an auditor's review.",
    "rejected": "发票审核未通过。The invoice was rejected by an auditor.",
    "red_lettered": "发票已全额红冲（已被红字发票全部冲销），不再有效。The invoice was fully reversed by red-letter "
                    "notes.",
    "partly_red_lettered": "发票部分红冲：红字发票冲减了部分金额，发票按未冲销金额有效。The invoice was partly reversed "
                           "by red-letter notes: it is valid for its open amount.",
    "red_letter_note": "这是一张红字发票（负数发票），用于冲减另一张发票，本身不是可抵扣的发票。This number is a red-letter "
                       "note (a negative invoice reducing another invoice), not an invoice.",
}


def _yyyymmdd(d):
    return d.year * 10000 + d.month * 100 + d.day


def verify_one(row):
    """One query (a VerifyQuery) → its result, as the registry's ``verify`` answers."""
    q = validated(VerifyQuery, row)
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
        detail = (f"发票部分红冲：红字发票已冲减 {yuan(reversed_)}，未冲销金额 {yuan(remaining)}，发票按未冲销金额有效。"
                  f"The invoice was partly reversed by red-letter notes: {yuan(reversed_)} reversed, "
                  f"{yuan(remaining)} remaining; it is valid for its open amount.")
    else:
        detail = (f"发票已全额红冲：红字发票冲销了全部 {yuan(reversed_)}，发票不再有效。The invoice was fully "
                  f"reversed by red-letter notes ({yuan(reversed_)}): it is not valid any more.")
    return {**answer, "detail": detail, "reversed": reversed_, "remaining": remaining}


def verify_many(rows, chunk=500, progress=None):
    """Rows → one result per row (invalid rows get result "invalid" + fields).
    ``progress(done, total)`` is called after each chunk of rows the chain answered."""
    out = [None] * len(rows)
    queries, where = [], []
    for i, row in enumerate(rows):
        try:
            q = validated(VerifyQuery, row)
        except ValidationError as exc:
            number = row.get("number") if isinstance(row, dict) else None
            out[i] = {"row": i + 1, "number": number if isinstance(number, str) else None, "result": "invalid",
                      "detail": "; ".join(f"{k}: {v}" for k, v in exc.fields.items()), "fields": exc.fields}
            continue
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


def parse_batch_csv(data: bytes, max_rows):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": "文件不是 UTF-8 编码的文本。The file is not UTF-8 text."}) from None
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        lines = [r for r in reader if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise ValidationError({"file": f"CSV 格式有误 The CSV is malformed: {exc}."}) from None
    if not lines:
        raise ValidationError({"file": "CSV 文件是空的。The CSV is empty."})
    header = [h.strip().lower() for h in lines[0]]
    if "amount" in header and "gross" not in header:
        header[header.index("amount")] = "gross"
    if all(c in header for c in CSV_COLUMNS):
        body = lines[1:]
    elif len(header) == 4 and NUMBER_RE.match(lines[0][0].strip()):
        header, body = list(CSV_COLUMNS), lines
    else:
        raise ValidationError({"file": "CSV 需要 number、issue_date、gross、check_code 四列（发票号码、开票日期、价税合计（分）、"
                                   "校验码）。The CSV needs the columns number, issue_date, gross, check_code."})
    if len(body) > max_rows:
        raise ValidationError({"file": too_many_rows(max_rows, len(body))})
    rows = []
    for r in body:
        if len(r) != len(header):
            rows.append({"_bad": f"expected {len(header)} columns, got {len(r)}"})
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
                raise ValidationError({"file": "JSON 文件应为查验行的列表（或只含 rows 的对象）。Expected a JSON "
                                               "list of rows (or {\"rows\": [...]} and nothing else)."}) from None
    else:
        rows = parse_batch_csv(data, max_rows)
    if not rows:
        raise ValidationError({"file": EMPTY_BATCH}, EMPTY_BATCH)
    if len(rows) > max_rows:
        raise ValidationError({"file": too_many_rows(max_rows, len(rows))}, too_many_rows(max_rows, len(rows)))
    return rows


EMPTY_BATCH = "批量查验至少需要一行。An empty batch is not allowed: send at least one row."


def too_many_rows(max_rows, rows):
    return f"批量查验最多 {max_rows} 行，此文件有 {rows} 行。A batch has at most {max_rows} rows; this one has {rows}."


def results_csv(results):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["row", "number", "result", "detail"])
    for r in results:
        w.writerow([r["row"], r.get("number") or "", r["result"], r.get("detail", "")])
    return buf.getvalue()


def verify_document(data: bytes):
    """An uploaded invoice document → authentic | tampered | not_found (+ number): its JSON,
    or the platform's PDF with the JSON embedded (services.invoice_pdf.with_document)."""
    if data[:5] == b"%PDF-":
        from .invoice_pdf import read_pdf

        doc, _ = read_pdf(data)
        if doc is None:
            raise ValidationError({"file": "the PDF carries no invoice document: verify its four elements instead"},
                                  "该 PDF 未内嵌发票数据文件，请按发票四要素查验。The PDF carries no invoice "
                                  "document: verify it by its number, date, amount and check code.")
    else:
        doc = load_json(data, "file", decimals=False)
    try:
        validated(DocumentToVerify, doc)
    except ValidationError:
        raise ValidationError({"file": "not an invoice document (no 20-digit number)"}) from None
    try:
        dhash = canonical.document_hash(doc)
    except TypeError:
        return {"number": doc["number"], "result": "tampered", "detail": "The document contains non-integer amounts."}
    key = bytes.fromhex(canonical.invoice_key(doc["number"])[2:])
    chain = get_chain()
    try:
        chain.call(REGISTRY, "getInvoice", key)
    except ChainRefusal:
        return {"number": doc["number"], "result": "not_found", "document_hash": dhash,
                "detail": VERIFY_DETAIL["not_found"]}
    ok = chain.call(REGISTRY, "verifyDocument", key, bytes.fromhex(dhash[2:]))
    return {"number": doc["number"], "document_hash": dhash, "result": "authentic" if ok else "tampered",
            "detail": "The document's hash matches the one registered on chain. 文件与链上一致" if ok else
            "The document differs from the one registered on chain. 文件已被篡改"}


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
