"""Delivery pages: an invoice's public link (/p/<token>: the invoice and its PDF without an
account; services.public_links) and, in dev mode only, the mail the local SMTP sink kept
(/dev/mail; services.dev_mail)."""
import json
from urllib.parse import quote

from flask import Blueprint, abort, current_app, render_template
from flask_babel import gettext as _
from flask_login import login_required

from ..core.config import public_base_url
from ..services import dev_mail, invoice_pdf, invoices, issuance, public_links
from ..services.errors import Refused

bp = Blueprint("delivery", __name__)


def _refused_page(exc):
    titles = {403: _("Link not valid"), 410: _("Link expired"), 404: _("Not found")}
    return render_template("public/refused.html", code=exc.status, title=titles.get(exc.status, _("Refused")),
                           message=exc.message), exc.status


@bp.get("/p/<token>")
def public_invoice(token):
    """One invoice for whoever holds its signed link: seller, buyer name, items, totals,
    status, the verification link and the PDF."""
    try:
        inv = public_links.invoice_of(token)
    except Refused as exc:
        return _refused_page(exc)
    chain_data = issuance.up_to_date(inv)[0]
    verify_url = invoice_pdf.verification_url(inv, public_base_url()) if inv.check_code else None
    return render_template("public/invoice.html", inv=inv, token=token, verify_url=verify_url,
                           verify_qr=invoice_pdf.qr_data_uri(verify_url) if verify_url else None,
                           doc=json.loads(inv.document) if inv.document else {"items": []},
                           status_text=invoices.status_text(inv, chain_data))


@bp.get("/p/<token>/invoice.pdf")
def public_pdf(token):
    try:
        inv = public_links.invoice_of(token)
        chain_data = issuance.up_to_date(inv)[0]
        data = invoice_pdf.render(inv, public_base_url(), chain_data)
    except Refused as exc:
        return _refused_page(exc)
    return current_app.response_class(data, mimetype="application/pdf",
                                      headers={"Content-Disposition": invoice_pdf.content_disposition(inv)})


def _dev_only():
    if not current_app.config.get("DEV_MODE"):
        abort(404)


@bp.get("/dev/mail")
@login_required
def dev_mail_list():
    """Dev mode: the messages kept by the local SMTP sink, newest first."""
    _dev_only()
    return render_template("dev/mail_list.html", messages=dev_mail.messages(), folder=dev_mail.folder())


@bp.get("/dev/mail/<name>")
@login_required
def dev_mail_show(name):
    _dev_only()
    try:
        message = dev_mail.message(name)
    except Refused:
        abort(404)
    return render_template("dev/mail_show.html", m=message)


@bp.get("/dev/mail/<name>/<int:index>")
@login_required
def dev_mail_attachment(name, index):
    _dev_only()
    try:
        filename, content_type, data = dev_mail.attachment(name, index)
    except Refused:
        abort(404)
    return current_app.response_class(data, mimetype=content_type, headers={
        "Content-Disposition": f"attachment; filename=\"attachment-{index}\"; filename*=UTF-8''{quote(filename)}"})
