"""The home page (/): signed in, what needs the user's attention (services.attention), each
thing a count with a link to the list that shows exactly those, and an empty state in words;
signed out, the public verification pages."""
from flask import render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..services import attention

# key: (what the count counts, what to say when there are none; lazy: translated when shown), the list's
# endpoint and its filters (a callable of the item and the user where they depend on them)
ITEMS = {
    "failed": (_l("Issuance failed"), _l("No failed issuances."), "merchant.invoices", {"status": "failed"}),
    "pending": (_l("Waiting for the chain"), _l("Nothing is waiting for the chain."), "merchant.invoices",
                {"status": "pending"}),
    "flagged_own": (_l("Flagged, awaiting the auditors' review"), _l("No invoice is flagged for review."),
                    "merchant.invoices", {"status": "Flagged"}),
    "receivables_created": (_l("Receivables waiting for the debtor"), _l("No receivable waits for its debtor."),
                            "receivables.mine", {"status": "created"}),
    "receivables_accepted": (_l("Accepted receivables (to transfer, split or pledge)"), _l("No accepted receivables."),
                             "receivables.mine", {"status": "accepted"}),
    "receivables_offered": (_l("Offered for financing, waiting for the bank"), _l("No pledge offer is waiting."),
                            "receivables.mine", {"status": "offered"}),
    "month": (_l("Invoices issued this month"), _l("No invoices issued this month."), "merchant.invoices",
              lambda it, user: {"from": it["month"] + "-01"}),
    "registration": (_l("Merchant registration"), "", "merchant.registration", {}),
    "applications": (_l("Merchant applications waiting"), _l("No applications are waiting."), "admin.merchants", {}),
    "review_backlog": (_l("Flagged invoices to review"), _l("The review queue is empty."), "audit.queue", {}),
    "alerts_open": (_l("Open alerts"), _l("No open alerts."), "alerts.index", {"status": "open"}),
    "alerts_high": (_l("Open alerts of high severity"), _l("No high-severity alerts."), "alerts.index",
                    {"status": "open", "severity": "high"}),
    "alerts_mine_open": (_l("Alerts assigned to me, open"), _l("No open alert is assigned to you."), "alerts.index",
                         lambda it, user: {"assignee": user.username, "status": "open"}),
    "alerts_mine_acknowledged": (_l("Alerts assigned to me, acknowledged, not resolved"),
                                 _l("No acknowledged alert of yours waits to be resolved."), "alerts.index",
                                 lambda it, user: {"assignee": user.username, "status": "acknowledged"}),
    "offers": (_l("Pledge offers to decide"), _l("No pledge offers."), "receivables.offers", {}),
    "maturing_week": (_l("Financed, due within 7 days"), _l("Nothing financed falls due this week."),
                      "receivables.portfolio", {"_anchor": "portfolio-financed"}),
    "past_due": (_l("Past the due date, not yet marked overdue"), _l("Nothing financed is past due."),
                 "receivables.portfolio", {"_anchor": "portfolio-financed"}),
    "overdue": (_l("Overdue or in default"), _l("Nothing is overdue."), "receivables.portfolio",
                {"_anchor": "portfolio-overdue"}),
    "new_invoices": (_l("Invoices received in the last 7 days"), _l("No invoices in the last 7 days."), "inbox.index",
                     lambda it, user: {"from": it["since"]}),
    "to_accept": (_l("Receivables for you to accept"), _l("Nothing to accept."), "receivables.to_accept", {}),
    "payables_week": (_l("Payables due within 7 days"), _l("Nothing falls due within 7 days."),
                      "receivables.payables", {}),
    "claims_submitted": (_l("Claims waiting for approval"), _l("No claims wait for approval."), "claims.index",
                         {"status": "submitted"}),
    "claims_approved": (_l("Approved, waiting for payment"), _l("No approved claims wait for payment."),
                        "claims.index", {"status": "approved"}),
    "claims_rejected": (_l("Rejected claims"), _l("No rejected claims."), "claims.index", {"status": "rejected"}),
    "claims_to_approve": (_l("Claims for you to approve"), _l("No claims to approve."), "claims.index",
                          {"status": "submitted"}),
    "claims_to_list": (_l("Approved, not yet in a payment list"), _l("No approved claims wait for a payment list."),
                       "claims.payment_lists", {}),
    "lists_to_pay": (_l("Payment lists registered, not yet paid"), _l("No payment list waits to be paid."),
                     "claims.payment_lists", {"_anchor": "payment-lists"}),
}
REGISTRATION = {None: _l("Not registered yet: submit your registration first."),
                "pending": _l("Submitted; waiting for the authority's approval."),
                "rejected": _l("Not approved: see why and submit again."),
                "suspended": _l("Suspended: no invoices can be issued for now.")}
# the main thing each role comes to do, one click from home: (words, endpoint); worded as
# actions, unlike the menu's links to the same pages
ACTIONS = {"merchant": [(_l("Issue an invoice"), "merchant.issue"), (_l("Open the dashboard"), "dashboards.merchant")],
           "authority": [(_l("Manage merchants"), "admin.merchants"),
                         (_l("Open the dashboard"), "dashboards.authority")],
           "auditor": [(_l("Open the review queue"), "audit.queue"), (_l("Browse all invoices"), "audit.invoices")],
           "financier": [(_l("Open the portfolio"), "receivables.portfolio"),
                         (_l("Open the dashboard"), "dashboards.financier")],
           "buyer": [(_l("Open the inbox"), "inbox.index"), (_l("See the payables"), "receivables.payables")],
           "employee": [(_l("Submit a claim"), "claims.index")],
           "approver": [(_l("Review claims"), "claims.index"), (_l("Handle payment lists"), "claims.payment_lists")]}


def link_of(it, user):
    """The filtered list that shows what item ``it`` counts."""
    endpoint, args = ITEMS[it["key"]][2:]
    args = dict(args(it, user) if callable(args) else args)
    return url_for(endpoint, **args)


def shown(it, user):
    """An item as the page shows it: its words, the empty state's, its link."""
    label, empty = ITEMS[it["key"]][:2]
    if it["key"] == "registration":
        empty = REGISTRATION.get(it.get("status"), REGISTRATION[None])
    return {**it, "label": label, "empty": empty, "href": link_of(it, user)}


def page():
    if not current_user.is_authenticated:
        return render_template("index.html", items=None, actions=[])
    items = [shown(it, current_user) for it in attention.for_user(current_user)]
    actions = [(words, url_for(endpoint)) for words, endpoint in ACTIONS.get(current_user.role, [])]
    return render_template("index.html", items=items, actions=actions)
