"""Public verification (no login): single (the form, or a verification link: GET with the
four elements in the query, as an invoice's QR code holds), batch upload, document check;
history for logged-in users. Every verification is rate-limited per client address
(VERIFY_RATE_LIMIT, shared with the API's verification: backend.core.security)."""
import csv
import io
import re
import threading
from datetime import timezone

from flask import Blueprint, Response, abort, current_app, flash, jsonify, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import RequestEntityTooLarge

from ..core.config import megabytes, too_large_message
from ..core.db import get_db
from ..core.i18n import Translated
from ..core.models import Verification
from ..core.security import VERIFY_LINK_FIELDS
from ..services import verification
from ..services.errors import ValidationError
from .auth import EmptyForm
from .helpers import china_time, flash_error, page_args, parse_yuan

bp = Blueprint("verify", __name__, url_prefix="/verify")
KIND_NAMES = Translated({"single": _l("Single check"), "batch": _l("Batch check"),
                                      "document": _l("Document check")})
HISTORY_PER_PAGE = 50


def _user():
    return current_user if current_user.is_authenticated else None


def link_query():
    """The four elements of a verification link (GET /verify/?number=…&issue_date=…&gross=…
    &check_code=…, what an invoice's QR code opens), or None for a plain GET of the form."""
    if request.method != "GET" or not any(k in request.args for k in VERIFY_LINK_FIELDS):
        return None
    return {k: request.args.get(k, "") for k in VERIFY_LINK_FIELDS}


@bp.route("/", methods=("GET", "POST"))
def single():
    """The form; a POST of it, or a GET with the four elements in the query (a verification
    link, as an invoice's QR code holds), runs the verification and shows its result.
    Both count against VERIFY_RATE_LIMIT."""
    form = EmptyForm()
    result = None
    values = link_query()
    if values is None and request.method == "POST" and form.validate_on_submit():
        values = request.form
    if values is not None:
        gross = parse_yuan(values.get("gross", ""))
        row = {"number": values.get("number", "").strip(), "issue_date": values.get("issue_date", ""),
               "gross": gross if gross is not None else values.get("gross"),
               # a pasted check code keeps the spaces it is printed with: "1234 5678 …"
               "check_code": "".join(values.get("check_code", "").split())}
        try:
            result = verification.verify_one(row)
            verification.record(_user(), "single", result["number"], row, result["result"], result["detail"],
                                request.remote_addr)
        except ValidationError as exc:
            if "gross" in exc.fields:  # the page takes yuan, the API fen
                exc.fields["gross"] = _("enter the gross amount in yuan, e.g. 1234.56")
            flash(_("Check the fields: %(problems)s.", problems=verification.join_problems(exc.fields.values())),
                  "error")
        except Exception as exc:  # noqa: BLE001
            if not flash_error(exc):
                raise
    return render_template("verify/single.html", form=form, result=result,
                           values=values if values is not None else request.form)


# How far each running batch is (progress id → [rows done, rows]), for the page's progress
# bar; per process: with several processes a poll may miss it and the bar stays indeterminate.
_progress = {}
_progress_lock = threading.Lock()
PROGRESS_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


def _tracker(progress_id):
    """progress(done, total) for verify_many, or None when the page sent no (valid) id."""
    if not PROGRESS_ID.match(progress_id or "") or len(_progress) >= 1000:
        return None

    def progress(done, total):
        with _progress_lock:
            _progress[progress_id] = [done, total]
    return progress


def batch_limits():
    config = current_app.config
    return {"rows": config["VERIFY_BATCH_MAX_ROWS"], "bytes": config["MAX_CONTENT_LENGTH"],
            "size": megabytes(config["MAX_CONTENT_LENGTH"])}


@bp.route("/batch", methods=("GET", "POST"))
def batch():
    """The upload form; a POST verifies the file and shows the result table (the page's
    script posts the same form in the background and shows the same table)."""
    form = EmptyForm()
    results = summary = None
    status = 200
    try:
        posted = request.method == "POST" and form.validate_on_submit()
    except RequestEntityTooLarge:
        posted, status = False, 413
        flash(too_large_message() + " " + _("A batch has at most %(rows)s rows.",
                                            rows=format_decimal(batch_limits()["rows"])), "error")
    progress_id = request.form.get("progress_id", "") if posted else ""
    if posted:
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                choose = _("Choose a CSV or JSON file.")
                raise ValidationError({"file": choose}, choose)
            rows = verification.parse_batch(upload.read(), upload.mimetype, current_app.config["VERIFY_BATCH_MAX_ROWS"])
            results = verification.verify_many(rows, progress=_tracker(progress_id))
            verification.record_many(_user(), "batch", rows, results, request.remote_addr)
            if request.form.get("download"):
                return Response(verification.results_csv(results, words=True), mimetype="text/csv",
                                headers={"Content-Disposition": "attachment; filename=verification-results.csv"})
            summary = {}
            for r in results:
                summary[r["result"]] = summary.get(r["result"], 0) + 1
        except ValidationError as exc:
            status = 400
            flash(_("The file cannot be verified: %(problem)s",
                    problem=verification.join_problems(exc.fields.values())), "error")
        except Exception as exc:  # noqa: BLE001
            if not flash_error(exc):
                raise
        finally:
            with _progress_lock:
                _progress.pop(progress_id, None)
    return render_template("verify/batch.html", form=form, results=results, summary=summary,
                           labels=verification.VERIFY_LABELS, limits=batch_limits()), status


@bp.get("/batch/progress/<progress_id>")
def batch_progress(progress_id):
    """{"done", "total"} rows of a running batch (404 when unknown here or finished)."""
    with _progress_lock:
        found = _progress.get(progress_id)
    if found is None:
        abort(404)
    return jsonify({"done": found[0], "total": found[1]})


@bp.route("/document", methods=("GET", "POST"))
def document():
    form = EmptyForm()
    result = None
    if request.method == "POST" and form.validate_on_submit():
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                choose = _("Choose the invoice's JSON or PDF file.")
                raise ValidationError({"file": choose}, choose)
            result = verification.verify_document(upload.read())
            verification.record(_user(), "document", result["number"], {"document_hash": result.get("document_hash")},
                            result["result"], result["detail"], request.remote_addr)
        except Exception as exc:  # noqa: BLE001
            if not flash_error(exc):
                raise
    return render_template("verify/document.html", form=form, result=result, labels=_result_labels())


@bp.route("/history")
@login_required
def history():
    """The verification history (one's own; auditors and the authority: everyone's), newest
    first, a page at a time; the CSV export has every row the search finds. Times in China
    time (Asia/Shanghai, UTC+8), as the invoice timelines."""
    query = get_db().query(Verification)
    if current_user.role not in ("auditor", "authority"):
        query = query.filter(Verification.user_id == current_user.id)
    q = request.args.get("q", "").strip()
    if q:
        query = query.filter(Verification.number.like(f"%{q}%"))
    if request.args.get("result"):
        query = query.filter(Verification.result == request.args["result"])
    if request.args.get("export") == "csv":
        return _history_csv(query.order_by(Verification.id.desc()))
    page, _per_page = page_args()
    total = query.order_by(None).count()
    rows = query.order_by(Verification.id.desc()).offset((page - 1) * HISTORY_PER_PAGE).limit(HISTORY_PER_PAGE).all()
    return render_template("verify/history.html", rows=rows, args=request.args, total=total, page=page,
                           pages=max(1, -(-total // HISTORY_PER_PAGE)), labels=_result_labels(),
                           kinds=KIND_NAMES, china_time=_china_time, detail_of=_detail_of)


def _result_labels():
    """Result → its words (lazy: printed in the page's language)."""
    return dict(verification.VERIFY_LABELS)


# the details that say nothing but the result: shown in the reader's language, whatever
# language (or both, before issue 14) they were recorded in
PLAIN_DETAILS = {"single": ("authentic", "not_found", "mismatch", "voided", "flagged", "rejected", "red_letter_note"),
                 "document": ("authentic", "not_found", "tampered")}
PLAIN_DETAILS["batch"] = PLAIN_DETAILS["single"]


def _detail_of(v):
    """A history entry's detail in words: the result's own sentence when that is all it
    said (an altered document: that it differs); else as recorded, in the language of the
    verification (red-letter amounts, a batch row's problems)."""
    if v.result in PLAIN_DETAILS.get(v.kind, ()):
        return (verification.DOCUMENT_DETAIL if v.kind == "document" else verification.VERIFY_DETAIL)[v.result]
    return v.detail or ""


def _china_time(created_at):
    """A stored time (naive UTC) as 'YYYY-MM-DD HH:MM:SS' China time."""
    return china_time(created_at.replace(tzinfo=timezone.utc).timestamp())


def _history_csv(query):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["ID", _("Time (China, UTC+8)"), _("Kind"), _("Invoice number"), _("Result"), _("Detail"),
                _("User")])
    labels = verification.VERIFY_LABELS
    for v in query.options(joinedload(Verification.user)).yield_per(1000):
        w.writerow([v.id, _china_time(v.created_at), KIND_NAMES.get(v.kind, v.kind), v.number or "",
                    labels.get(v.result, v.result), _detail_of(v), v.user.username if v.user else ""])
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=verification-history.csv"})
