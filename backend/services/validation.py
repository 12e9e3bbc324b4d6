"""Invoice input rules: line items, totals and rate groups as the server computes them."""
import re
from datetime import date, datetime
from decimal import Decimal

from ..core import canonical
from .errors import ValidationError


VAT_RATES = (0, 1, 3, 5, 6, 9, 13)


TAX_ID_RE = re.compile(r"^[0-9A-Z]{15,20}$")


DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


QTY_RE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,6})?$")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _req_str(body, name, errors, *, max_len, min_len=1, path=None, required=True, pattern=None, upper=False):
    path = path or name
    v = body.get(name)
    if v is None:
        if required:
            errors[path] = "required"
        return "" if not required else None
    if not isinstance(v, str):
        errors[path] = "must be a string"
        return None
    v = v.strip()
    if upper:
        v = v.upper()
    if len(v) < min_len:
        errors[path] = "required" if min_len == 1 else f"at least {min_len} characters"
    elif len(v) > max_len:
        errors[path] = f"at most {max_len} characters"
    elif any(ord(c) < 32 for c in v):
        errors[path] = "control characters are not allowed"
    elif pattern and not pattern.match(v):
        errors[path] = "invalid format"
    return v


def _req_int(value, path, errors, *, minimum, maximum, required=True):
    if value is None:
        if required:
            errors[path] = "required"
        return None
    if not _is_int(value):
        errors[path] = "must be an integer (amounts in fen)"
        return None
    if value < minimum:
        errors[path] = f"must be at least {minimum}"
    elif value > maximum:
        errors[path] = f"must be at most {maximum}"
    return value


def parse_date(value, path, errors, *, allow_future=False):
    if not isinstance(value, str) or not DATE_RE.match(value):
        errors[path] = "must be a date YYYY-MM-DD"
        return None
    try:
        d = date.fromisoformat(value)
    except ValueError:
        errors[path] = "not a valid date"
        return None
    today = datetime.now(canonical.CHINA).date()
    if d.year < 2000:
        errors[path] = "too old"
    elif d > today and not allow_future:
        errors[path] = "is in the future (China time)"
    return d


def _quantity(value, path, errors):
    """A positive integer, or a decimal string / JSON decimal with at most 6 places."""
    if _is_int(value):
        if value <= 0 or value > 10**12:
            errors[path] = "must be between 1 and 10^12"
        return value
    if isinstance(value, (str, Decimal)) and not isinstance(value, bool):
        text = str(value).strip()
        if not QTY_RE.match(text):
            errors[path] = "must be a positive number with at most 6 decimals"
            return None
        d = Decimal(text)
        if d <= 0:
            errors[path] = "must be positive"
            return None
        return int(d) if d == d.to_integral_value() else format(d.normalize(), "f")
    errors[path] = "must be a number"
    return None


def _line_amount(quantity, unit_price):
    q = Decimal(str(quantity))
    return int((q * unit_price + Decimal("0.5")).to_integral_value(rounding="ROUND_FLOOR"))


ISSUE_FIELDS = {"buyer_name", "buyer_tax_id", "issue_date", "items", "invoice_type", "remarks", "drawer",
                "net", "tax", "gross", "rate"}


ITEM_FIELDS = {"name", "spec", "unit", "quantity", "unit_price", "amount", "tax_rate", "tax_code", "tax"}


def validate_items(items, errors, *, max_items, max_amount):
    if items is None:
        errors["items"] = "required"
        return []
    if not isinstance(items, list):
        errors["items"] = "must be a list"
        return []
    if not items:
        errors["items"] = "at least one line item"
        return []
    if len(items) > max_items:
        errors["items"] = f"at most {max_items} line items"
        return []
    clean = []
    for i, item in enumerate(items):
        p = f"items[{i}]"
        if not isinstance(item, dict):
            errors[p] = "must be an object"
            continue
        unknown = set(item) - ITEM_FIELDS
        if unknown:
            errors[p] = "unknown fields: " + ", ".join(sorted(map(str, unknown)))
        out = {
            "name": _req_str(item, "name", errors, max_len=100, path=p + ".name"),
            "spec": _req_str(item, "spec", errors, max_len=40, path=p + ".spec", required=False, min_len=0),
            "unit": _req_str(item, "unit", errors, max_len=20, path=p + ".unit", required=False, min_len=0),
            "tax_code": _req_str(item, "tax_code", errors, max_len=19, path=p + ".tax_code", required=False,
                                 min_len=0, pattern=re.compile(r"^[0-9]*$")),
        }
        out["quantity"] = _quantity(item.get("quantity", 1), p + ".quantity", errors)
        out["unit_price"] = _req_int(item.get("unit_price"), p + ".unit_price", errors, minimum=0, maximum=max_amount)
        out["tax_rate"] = _req_int(item.get("tax_rate"), p + ".tax_rate", errors, minimum=0, maximum=100)
        if _is_int(out["tax_rate"]) and out["tax_rate"] not in VAT_RATES:
            errors[p + ".tax_rate"] = "must be one of " + ", ".join(map(str, VAT_RATES)) + " (%)"
        amount = item.get("amount")
        if amount is not None:
            out["amount"] = _req_int(amount, p + ".amount", errors, minimum=1, maximum=max_amount)
        if out["quantity"] is not None and _is_int(out["unit_price"]) and not errors.get(p + ".unit_price"):
            expected = _line_amount(out["quantity"], out["unit_price"])
            if amount is None:
                out["amount"] = expected
                if expected <= 0:
                    errors[p + ".amount"] = "quantity × unit price must be positive"
                elif expected > max_amount:
                    errors[p + ".amount"] = "too large"
            elif _is_int(amount) and abs(amount - expected) > 1:
                errors[p + ".amount"] = f"must equal quantity × unit price ({expected} fen)"
        if "tax" in item and _is_int(out.get("amount")) and _is_int(out["tax_rate"]):
            if item["tax"] != canonical.item_tax(out["amount"], out["tax_rate"]):
                errors[p + ".tax"] = "does not match amount × rate (rounded half up); leave it out to have it computed"
        clean.append(out)
    return clean


def validate_issue(body, config):
    if not isinstance(body, dict):
        raise ValidationError({"body": "must be a JSON object"})
    errors = {}
    unknown = set(body) - ISSUE_FIELDS
    if unknown:
        errors["body"] = "unknown fields: " + ", ".join(sorted(map(str, unknown)))
    max_amount = config["INVOICE_MAX_AMOUNT"]
    clean = {
        "buyer_name": _req_str(body, "buyer_name", errors, max_len=200),
        "buyer_tax_id": _req_str(body, "buyer_tax_id", errors, max_len=20, min_len=15, pattern=TAX_ID_RE, upper=True),
        "remarks": _req_str(body, "remarks", errors, max_len=500, required=False, min_len=0),
        "drawer": _req_str(body, "drawer", errors, max_len=50, required=False, min_len=0),
    }
    clean["issue_date"] = parse_date(body.get("issue_date"), "issue_date", errors) if "issue_date" in body \
        else datetime.now(canonical.CHINA).date()
    t = body.get("invoice_type", 0)
    if t in ("ordinary", "special"):
        t = 0 if t == "ordinary" else 1
    if not _is_int(t) or t not in (0, 1):
        errors["invoice_type"] = "must be 0 (ordinary) or 1 (special VAT)"
    clean["invoice_type"] = t
    clean["items"] = validate_items(body.get("items"), errors, max_items=config["INVOICE_MAX_ITEMS"],
                                    max_amount=max_amount)
    _totals(clean, body, errors, max_amount)
    if errors:
        raise ValidationError(errors)
    return clean


def _totals(clean, body, errors, max_amount):
    """Totals and rate groups. Lines may have different rates: one on-chain rate group per
    rate (ascending), each with its line count, net and tax."""
    items = clean["items"]
    if any(k.startswith("items") for k in errors) or not items:
        return
    net, tax, gross = canonical.compute_totals(items)
    groups = canonical.rate_groups(items)
    rates = [g[0] for g in groups]
    clean.update(groups=groups, rates=rates, rate=max(rates), rate_mask=canonical.rate_mask(rates))
    if gross > max_amount:
        errors["items"] = f"the gross total {gross} fen is over the limit of {max_amount} fen"
    for name, value in (("net", net), ("tax", tax), ("gross", gross)):
        if name in body and body[name] != value:
            errors[name] = f"does not match the server-computed total ({value} fen)"
    if "rate" in body:
        if len(rates) > 1:
            errors["rate"] = ("本发票含多个税率，请勿填写 rate（税率在每一行的 tax_rate）。This invoice has several "
                              "rates: leave rate out (each line has its tax_rate).")
        elif body["rate"] != clean["rate"]:
            errors["rate"] = "does not match the items' rate"
    clean.update(net=net, tax=tax, gross=gross)


def groups_dict(groups):
    return [{"rate": r, "item_count": n, "net": net, "tax": tax} for r, n, net, tax in groups]


def preview(body, config):
    """Totals for the issue form (no number, no chain)."""
    clean = validate_issue(body, config)
    return {k: clean[k] for k in ("net", "tax", "gross", "rate", "rates")} | {
        "groups": groups_dict(clean["groups"]), "items": clean["items"]}
