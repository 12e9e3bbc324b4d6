"""The expense report (报销汇总): claims summed by employee, category or month, as JSON, CSV
(UTF-8 with a BOM) or XLSX. Employees see their own claims; approvers the company's."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..core import canonical
from ..core.db import get_db
from ..core.models import ExpenseClaim
from ..schemas import claims as models
from . import inbox_export
from .claims import company_of


def summary(user, args):
    """Claims not rejected (or only approved/paid ones), summed by employee, category or
    month of submission (China time). Employees see their own; approvers the company's."""
    company = company_of(user)
    found = get_db().query(ExpenseClaim).filter(ExpenseClaim.company_tax_id == company,
                                                ExpenseClaim.status != "rejected")
    if user.role == "employee":
        found = found.filter(ExpenseClaim.employee_id == user.id)
    if args.status == "approved":
        found = found.filter(ExpenseClaim.status.in_(("approved", "paid")))
    elif args.status == "paid":
        found = found.filter(ExpenseClaim.status == "paid")
    groups = {}
    for claim in found:
        month = canonical.china_time(claim.submitted_at)[:7]
        if (args.date_from and month < args.date_from) or (args.date_to and month > args.date_to):
            continue
        key, label = {"employee": (claim.employee.username, claim.employee.username),
                      "category": (claim.category, str(models.CATEGORIES[claim.category])),
                      "month": (month, month)}[args.group]
        row = groups.setdefault(key, {"key": key, "label": label, "claims": 0, "amount": 0})
        row["claims"] += 1
        row["amount"] += int(claim.amount)
    rows = sorted(groups.values(), key=lambda r: r["key"])
    return {"group": args.group, "rows": rows, "total_claims": sum(r["claims"] for r in rows),
            "total_amount": sum(r["amount"] for r in rows)}


GROUP_TITLES = {"employee": _l("Employee"), "category": _l("Category"), "month": _l("Month")}


def to_file(data, fmt):
    """(bytes, content type, file name) of the report as CSV (UTF-8 with a BOM, for Excel) or
    XLSX: amounts in yuan, written by the inbox export's writers."""
    columns = ((str(GROUP_TITLES[data["group"]]), inbox_export.TEXT, 28), (_("Claims"), inbox_export.INT, 10),
               (_("Amount (yuan)"), inbox_export.MONEY, 20))
    rows = [[r["label"], r["claims"], r["amount"]] for r in data["rows"]]
    rows.append([_("Total"), data["total_claims"], data["total_amount"]])
    body, content_type, ext = inbox_export.render(fmt, rows, columns, _("Expense report"))
    return body, content_type, f"expense-report-{data['group']}.{ext}"


XLSX_TYPE = inbox_export.XLSX_TYPE
