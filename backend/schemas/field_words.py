"""Fields in words for the messages a person reads: ``("items", 0, "unit_price")`` →
"the unit price of item 1" / "第 1 行商品的单价" (the API's ``fields`` keep the path as
the key; the text names the field in words), and a problem as a sentence about its field."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

# A field's name in words (English with its article; the Chinese has none).
NAMES = {
    "body": _l("the request"),
    "name": _l("the name"),
    "spec": _l("the specification"),
    "unit": _l("the unit"),
    "tax_code": _l("the tax classification code"),
    "quantity": _l("the quantity"),
    "unit_price": _l("the unit price"),
    "amount": _l("the amount"),
    "tax_rate": _l("the tax rate"),
    "tax": _l("the tax"),
    "items": _l("the items"),
    "buyer_name": _l("the buyer's name"),
    "buyer_tax_id": _l("the buyer's tax ID"),
    "buyer_email": _l("the buyer's e-mail address"),
    "issue_date": _l("the issue date"),
    "invoice_type": _l("the invoice type"),
    "remarks": _l("the remarks"),
    "drawer": _l("the drawer"),
    "net": _l("the net amount"),
    "gross": _l("the gross amount"),
    "rate": _l("the tax rate"),
    "reason_code": _l("the reason"),
    "reason": _l("the reason"),
    "note": _l("the note"),
    "number": _l("the invoice number"),
    "check_code": _l("the check code"),
    "tax_id": _l("the tax ID"),
    "company_tax_id": _l("the company's tax ID"),
    "licence_number": _l("the business licence number"),
    "invoice_cap": _l("the invoice cap"),
    "monthly_quota": _l("the monthly quota"),
    "hourly_norm": _l("the number of invoices an hour"),
    "count": _l("the count"),
    "allowed_rates": _l("the allowed rates"),
    "backdating_window": _l("the backdating window"),
    "future_skew": _l("the allowed clock difference"),
    "per_item_tolerance": _l("the tax tolerance per item"),
    "void_window": _l("the void window"),
    "paused": _l("the pause setting"),
    "idempotency_key": _l("the idempotency key"),
    "invoices": _l("the invoices"),
    "rows": _l("the rows"),
    "q": _l("the search text"),
    "status": _l("the status"),
    "buyer": _l("the buyer"),
    "seller": _l("the seller"),
    "date_from": _l("the start date"),
    "date_to": _l("the end date"),
    "page": _l("the page number"),
    "per_page": _l("the number per page"),
    "email": _l("the e-mail address"),
    "password": _l("the password"),
    "username": _l("the username"),
    "due_date": _l("the due date"),
    "debtor": _l("the debtor"),
    "fee": _l("the fee"),
    "advance": _l("the advance"),
    "purpose": _l("the purpose"),
    "category": _l("the category"),
    "payment_ref": _l("the payment reference"),
    "document": _l("the document"),
    "limit": _l("the limit"),
    "format": _l("the format"),
    "total": _l("the total"),
}

# Fields that hold fen: their limits are shown in yuan.
AMOUNT_FIELDS = {"unit_price", "amount", "tax", "net", "gross", "invoice_cap", "monthly_quota", "per_item_tolerance",
                 "fee", "advance", "amount_min", "amount_max", "min_gross", "max_gross", "total"}


def _element(name, index):
    """The ``index``-th (0-based) element of the list ``name`` in words."""
    n = index + 1
    if name == "items":
        return _("item %(n)s", n=n)
    if name == "invoices":
        return _("invoice %(n)s", n=n)
    if name == "rows":
        return _("row %(n)s", n=n)
    return _("entry %(n)s of %(list)s", n=n, list=_name(name))


def _name(part):
    words = NAMES.get(str(part))
    return str(words) if words is not None else _("the field %(name)s", name=part)


def field_words(loc) -> str:
    """A field's location (pydantic's ``loc``: names and list indexes) in words."""
    loc = tuple(loc)
    if not loc:
        return str(NAMES["body"])
    if len(loc) >= 2 and isinstance(loc[1], int):
        owner = _element(loc[0], loc[1])
        return _("%(field)s of %(owner)s", field=field_words(loc[2:]), owner=owner) if loc[2:] else owner
    if len(loc) == 1:
        return _name(loc[0])
    return _("%(field)s of %(owner)s", field=field_words(loc[1:]), owner=_name(loc[0]))


def is_amount(loc) -> bool:
    names = [p for p in loc if isinstance(p, str)]
    return bool(names) and names[-1] in AMOUNT_FIELDS


SENTENCE_ENDS = (".", "。", "!", "！", "?", "？")


def sentence(loc, problem) -> str:
    """``problem`` (a predicate: "must be at most ¥100.00") as a sentence about the field
    at ``loc``: "The unit price of item 1 must be at most ¥100.00." / "第 1 行商品的单价…。".
    A problem that is a whole sentence already (it ends with a full stop) is kept as it is."""
    problem = str(problem)
    if problem.rstrip().endswith(SENTENCE_ENDS):
        return problem
    text = _("%(field)s %(problem)s.", field=field_words(loc), problem=problem)
    return text[:1].upper() + text[1:]


def path_loc(path: str):
    """"items[0].unit_price" → ("items", 0, "unit_price") (the inverse of common.field_path)."""
    loc = []
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            loc.append(int(part[1:-1]))
        else:
            loc.append(part)
    return tuple(loc) if loc != ["body"] else ()
