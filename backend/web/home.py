"""The home page (/): signed in, what needs the user's attention (services.attention), each
thing a count with a link to the list that shows exactly those, and an empty state in words;
signed out, the public verification pages."""
from flask import render_template, url_for
from flask_login import current_user

from ..services import attention

# key: (what the count counts, what to say when there are none; Chinese first), the list's
# endpoint and its filters (a callable of the item and the user where they depend on them)
ITEMS = {
    "failed": ("开票失败 Issuance failed", "没有开票失败的发票。No failed issuances.",
               "merchant.invoices", {"status": "failed"}),
    "pending": ("等待上链 Waiting for the chain", "没有等待上链的发票。Nothing is waiting for the chain.",
                "merchant.invoices", {"status": "pending"}),
    "flagged_own": ("被标记、待审计员审核 Flagged, awaiting the auditors' review",
                    "没有被标记待审核的发票。No invoice is flagged for review.", "merchant.invoices",
                    {"status": "Flagged"}),
    "receivables_created": ("待债务人确认的应收账款 Receivables waiting for the debtor",
                            "没有待债务人确认的应收账款。No receivable waits for its debtor.", "receivables.mine",
                            {"status": "created"}),
    "receivables_accepted": ("已确认、可转让或融资的应收账款 Accepted receivables (transfer, split or pledge)",
                             "没有已确认的应收账款。No accepted receivables.", "receivables.mine",
                             {"status": "accepted"}),
    "receivables_offered": ("已申请融资、待金融机构答复 Offered for financing, waiting for the bank",
                            "没有待答复的融资申请。No pledge offer is waiting.", "receivables.mine",
                            {"status": "offered"}),
    "month": ("本月已开发票 Invoices issued this month", "本月尚未开票。No invoices issued this month.",
              "merchant.invoices", lambda it, user: {"from": it["month"] + "-01"}),
    "registration": ("商户登记 Merchant registration", "", "merchant.registration", {}),
    "applications": ("待审批的商户登记 Merchant applications waiting", "没有待审批的商户登记。No applications are waiting.",
                     "admin.merchants", {}),
    "review_backlog": ("待审核的标记发票 Flagged invoices to review", "审核队列为空。The review queue is empty.",
                       "audit.queue", {}),
    "alerts_open": ("待处理的预警 Open alerts", "没有待处理的预警。No open alerts.", "alerts.index", {"status": "open"}),
    "alerts_high": ("其中高风险 Open alerts of high severity", "没有高风险预警。No high-severity alerts.",
                    "alerts.index", {"status": "open", "severity": "high"}),
    "alerts_mine_open": ("分配给我的待处理预警 Alerts assigned to me, open", "没有分配给您的待处理预警。No open alert is "
                         "assigned to you.", "alerts.index",
                         lambda it, user: {"assignee": user.username, "status": "open"}),
    "alerts_mine_acknowledged": ("分配给我的已确认、未解决预警 Alerts assigned to me, acknowledged, not resolved",
                                 "没有分配给您的未解决预警。No acknowledged alert of yours waits to be resolved.",
                                 "alerts.index", lambda it, user: {"assignee": user.username,
                                                                   "status": "acknowledged"}),
    "offers": ("待审批的融资申请 Pledge offers to decide", "没有待审批的融资申请。No pledge offers.",
               "receivables.offers", {}),
    "maturing_week": ("7天内到期 Financed, due within 7 days", "7天内没有到期的融资。Nothing financed falls due this "
                      "week.", "receivables.portfolio", {"_anchor": "portfolio-financed"}),
    "past_due": ("已过到期日、未标记逾期 Past the due date, not yet marked overdue",
                 "没有过期未标记的融资。Nothing financed is past due.", "receivables.portfolio",
                 {"_anchor": "portfolio-financed"}),
    "overdue": ("逾期或违约 Overdue or in default", "没有逾期的融资。Nothing is overdue.", "receivables.portfolio",
                {"_anchor": "portfolio-overdue"}),
    "new_invoices": ("近7天收到的发票 Invoices received in the last 7 days", "近7天没有收到发票。No invoices in the last "
                     "7 days.", "inbox.index", lambda it, user: {"from": it["since"]}),
    "to_accept": ("待您确认的应收账款 Receivables for you to accept", "没有待确认的应收账款。Nothing to accept.",
                  "receivables.to_accept", {}),
    "payables_week": ("7天内到期的应付账款 Payables due within 7 days", "7天内没有到期的应付账款。Nothing falls due "
                      "within 7 days.", "receivables.payables", {}),
    "claims_submitted": ("待审批的报销单 Claims waiting for approval", "没有待审批的报销单。No claims wait for approval.",
                         "claims.index", {"status": "submitted"}),
    "claims_approved": ("已批准、待支付 Approved, waiting for payment", "没有待支付的报销单。No approved claims wait for "
                        "payment.", "claims.index", {"status": "approved"}),
    "claims_rejected": ("被驳回的报销单 Rejected claims", "没有被驳回的报销单。No rejected claims.", "claims.index",
                        {"status": "rejected"}),
    "claims_to_approve": ("待您审批的报销单 Claims for you to approve", "没有待审批的报销单。No claims to approve.",
                          "claims.index", {"status": "submitted"}),
    "claims_to_list": ("已批准、待列入付款清单 Approved, not yet in a payment list", "没有待列入付款清单的报销单。No approved "
                       "claims wait for a payment list.", "claims.payment_lists", {}),
    "lists_to_pay": ("已登记、待支付的付款清单 Payment lists registered, not yet paid", "没有待支付的付款清单。No payment "
                     "list waits to be paid.", "claims.payment_lists", {"_anchor": "payment-lists"}),
}
REGISTRATION = {None: "尚未登记：请先提交商户登记。Not registered yet: submit your registration first.",
                "pending": "登记已提交，等待税务机关审批。Submitted; waiting for the authority's approval.",
                "rejected": "登记未获批准，请查看原因后重新提交。Not approved: see why and submit again.",
                "suspended": "商户已被暂停，暂不能开票。Suspended: no invoices can be issued for now."}
# the main thing each role comes to do, one click from home: (words, endpoint); worded as
# actions, unlike the menu's links to the same pages
ACTIONS = {"merchant": [("开具发票 Issue an invoice", "merchant.issue"),
                        ("查看数据看板 Open the dashboard", "dashboards.merchant")],
           "authority": [("管理商户 Manage merchants", "admin.merchants"),
                         ("查看数据看板 Open the dashboard", "dashboards.authority")],
           "auditor": [("打开审核队列 Open the review queue", "audit.queue"),
                       ("浏览全部发票 Browse all invoices", "audit.invoices")],
           "financier": [("查看融资组合 Open the portfolio", "receivables.portfolio"),
                         ("查看数据看板 Open the dashboard", "dashboards.financier")],
           "buyer": [("查看收票箱 Open the inbox", "inbox.index"), ("查看应付账款 See the payables", "receivables.payables")],
           "employee": [("提交报销 Submit a claim", "claims.index")],
           "approver": [("审批报销 Review claims", "claims.index"), ("处理付款清单 Handle payment lists", "claims.payment_lists")]}


def link_of(it, user):
    """The filtered list that shows what item ``it`` counts."""
    _, _, endpoint, args = ITEMS[it["key"]]
    args = dict(args(it, user) if callable(args) else args)
    return url_for(endpoint, **args)


def shown(it, user):
    """An item as the page shows it: its words, the empty state's, its link."""
    label, empty, _, _ = ITEMS[it["key"]]
    if it["key"] == "registration":
        empty = REGISTRATION.get(it.get("status"), REGISTRATION[None])
    return {**it, "label": label, "empty": empty, "href": link_of(it, user)}


def page():
    if not current_user.is_authenticated:
        return render_template("index.html", items=None, actions=[])
    items = [shown(it, current_user) for it in attention.for_user(current_user)]
    actions = [(words, url_for(endpoint)) for words, endpoint in ACTIONS.get(current_user.role, [])]
    return render_template("index.html", items=items, actions=actions)
