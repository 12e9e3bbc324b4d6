"""Input through the models of backend.schemas, and the invoice rules a field's shape
cannot say: each line's amount and tax, the totals and rate groups as the server computes
them (what the client sends must agree), the gross total within INVOICE_MAX_AMOUNT."""
from datetime import datetime
from decimal import Decimal

import pydantic
from flask_babel import gettext as _

from ..core import canonical
from ..schemas import common
from ..schemas.field_words import sentence
from ..schemas.invoices import IssueRequest, Item
from .errors import ValidationError


def validated(model, data, config=None):
    """``data`` as an instance of ``model``; ValidationError with the problems per field."""
    try:
        return common.validate(model, data, config=config)
    except pydantic.ValidationError as exc:
        raise ValidationError(common.errors_by_field(exc)) from None


def _line_amount(quantity, unit_price):
    q = Decimal(str(quantity))
    return int((q * unit_price + Decimal("0.5")).to_integral_value(rounding="ROUND_FLOOR"))


def line_items(items: list[Item], errors, *, max_amount, path="items"):
    """Validated lines → the document's lines (amount computed when left out, checked
    against quantity × unit price when sent; a sent tax checked against amount × rate)."""
    clean = []
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        loc = (path, i)
        expected = _line_amount(item.quantity, item.unit_price)
        amount = item.amount
        if amount is None:
            amount = expected
            if expected <= 0:
                errors[p + ".amount"] = sentence(loc + ("amount",), _("must be more than zero (quantity × unit price)"))
            elif expected > max_amount:
                errors[p + ".amount"] = sentence(loc + ("amount",), _("must be at most %(limit)s", limit=canonical.yuan(max_amount)))
        elif abs(amount - expected) > 1:
            errors[p + ".amount"] = sentence(loc + ("amount",), _("must equal the quantity × the unit price (%(amount)s)",
                                                                  amount=canonical.yuan(expected)))
        if item.tax is not None and item.tax != canonical.item_tax(amount, item.tax_rate):
            errors[p + ".tax"] = sentence(loc + ("tax",), _("does not match the amount × the tax rate (rounded half up); "
                                                          "leave it out to have it computed"))
        clean.append({"name": item.name, "spec": item.spec or "", "unit": item.unit or "",
                      "tax_code": item.tax_code or "", "quantity": item.quantity, "unit_price": item.unit_price,
                      "tax_rate": item.tax_rate, "amount": amount})
    return clean


def totals(clean, given, errors, max_amount):
    """Totals and rate groups of ``clean["items"]`` (one on-chain rate group per rate,
    ascending: its line count, net and tax); ``given`` totals must agree with them."""
    items = clean["items"]
    if any(k.startswith("items") for k in errors) or not items:
        return
    net, tax, gross = canonical.compute_totals(items)
    groups = canonical.rate_groups(items)
    rates = [g[0] for g in groups]
    clean.update(groups=groups, rates=rates, rate=max(rates), rate_mask=canonical.rate_mask(rates))
    if gross > max_amount:
        errors["items"] = sentence(("items",), _("come to a gross total of %(gross)s, over the limit of %(limit)s",
                                                 gross=canonical.yuan(gross), limit=canonical.yuan(max_amount)))
    for name, value in (("net", net), ("tax", tax), ("gross", gross)):
        if given.get(name) is not None and given[name] != value:
            errors[name] = sentence((name,), _("does not match the total the platform computes (%(amount)s)",
                                               amount=canonical.yuan(value)))
    if given.get("rate") is not None:
        if len(rates) > 1:
            errors["rate"] = sentence(("rate",), _("must be left out: this invoice has several tax rates (each item "
                                                   "has its own)"))
        elif given["rate"] != clean["rate"]:
            errors["rate"] = sentence(("rate",), _("does not match the items' tax rate"))
    clean.update(net=net, tax=tax, gross=gross)


def today():
    return datetime.now(canonical.CHINA).date()


def validate_issue(body, config):
    """An issue request (API body or the form's) → the clean invoice: fields, lines,
    totals, rate groups. ValidationError lists every problem found."""
    req = validated(IssueRequest, body, config)
    max_amount = int(config["INVOICE_MAX_AMOUNT"])
    errors = {}
    clean = {"buyer_name": req.buyer_name, "buyer_tax_id": req.buyer_tax_id, "remarks": req.remarks or "",
             "drawer": req.drawer or "", "buyer_email": req.buyer_email, "issue_date": req.issue_date or today(), "invoice_type": req.type_code,
             "issue_date_given": req.issue_date is not None}  # for the idempotency fingerprint
    clean["items"] = line_items(req.items, errors, max_amount=max_amount)
    totals(clean, req.model_dump(include={"net", "tax", "gross", "rate"}), errors, max_amount)
    if errors:
        raise ValidationError(errors)
    return clean


def groups_dict(groups):
    return [{"rate": r, "item_count": n, "net": net, "tax": tax} for r, n, net, tax in groups]


def preview(body, config):
    """Totals for the issue form (no number, no chain)."""
    clean = validate_issue(body, config)
    return {k: clean[k] for k in ("net", "tax", "gross", "rate", "rates")} | {
        "groups": groups_dict(clean["groups"]), "items": clean["items"]}
