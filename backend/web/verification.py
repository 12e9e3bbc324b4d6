"""Public verification (no login): single (the form, or a verification link: GET with the
four elements in the query, as an invoice's QR code holds), batch upload, document check;
history for logged-in users. Every verification is rate-limited per client address
(VERIFY_RATE_LIMIT, shared with the API's verification: backend.core.security)."""
import csv
import io

from flask import Blueprint, Response, current_app, flash, render_template, request
from flask_login import current_user, login_required

from ..core.db import get_db
from ..core.models import Verification
from ..core.security import VERIFY_LINK_FIELDS
from ..services import verification
from ..services.errors import ValidationError
from .auth import EmptyForm
from .helpers import flash_error, parse_yuan

bp = Blueprint("verify", __name__, url_prefix="/verify")


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
               "check_code": values.get("check_code", "").strip()}
        try:
            result = verification.verify_one(row)
            verification.record(_user(), "single", result["number"], row, result["result"], result["detail"],
                                request.remote_addr)
        except ValidationError as exc:
            flash("请检查输入项 Check the fields: " + "; ".join(f"{k}: {v}" for k, v in exc.fields.items()), "error")
        except Exception as exc:  # noqa: BLE001
            if not flash_error(exc):
                raise
    return render_template("verify/single.html", form=form, result=result,
                           values=values if values is not None else request.form)


@bp.route("/batch", methods=("GET", "POST"))
def batch():
    form = EmptyForm()
    results = summary = None
    if request.method == "POST" and form.validate_on_submit():
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise ValidationError({"file": "choose a CSV or JSON file"})
            rows = verification.parse_batch(upload.read(), upload.mimetype, current_app.config["VERIFY_BATCH_MAX_ROWS"])
            results = verification.verify_many(rows)
            verification.record_many(_user(), "batch", rows, results, request.remote_addr)
            if request.form.get("download"):
                return Response(verification.results_csv(results), mimetype="text/csv",
                                headers={"Content-Disposition": "attachment; filename=verification-results.csv"})
            summary = {}
            for r in results:
                summary[r["result"]] = summary.get(r["result"], 0) + 1
        except Exception as exc:  # noqa: BLE001
            if not flash_error(exc):
                raise
    return render_template("verify/batch.html", form=form, results=results, summary=summary)


@bp.route("/document", methods=("GET", "POST"))
def document():
    form = EmptyForm()
    result = None
    if request.method == "POST" and form.validate_on_submit():
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise ValidationError({"file": "choose the invoice JSON file"})
            result = verification.verify_document(upload.read())
            verification.record(_user(), "document", result["number"], {"document_hash": result.get("document_hash")},
                            result["result"], result["detail"], request.remote_addr)
        except Exception as exc:  # noqa: BLE001
            if not flash_error(exc):
                raise
    return render_template("verify/document.html", form=form, result=result)


@bp.route("/history")
@login_required
def history():
    query = get_db().query(Verification)
    if current_user.role not in ("auditor", "authority"):
        query = query.filter(Verification.user_id == current_user.id)
    q = request.args.get("q", "").strip()
    if q:
        query = query.filter(Verification.number.like(f"%{q}%"))
    if request.args.get("result"):
        query = query.filter(Verification.result == request.args["result"])
    query = query.order_by(Verification.id.desc())
    if request.args.get("export") == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["id", "time", "kind", "number", "result", "detail", "user"])
        for v in query.limit(100000):
            w.writerow([v.id, v.created_at.isoformat() + "Z", v.kind, v.number or "", v.result, v.detail or "",
                        v.user.username if v.user else ""])
        return Response(buf.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=verification-history.csv"})
    rows = query.limit(200).all()
    return render_template("verify/history.html", rows=rows, args=request.args,
                           results=[*verification.VERIFY_RESULTS, "invalid", "tampered"])
