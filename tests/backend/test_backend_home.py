"""The home page per role (issue 14): what needs the user's attention, each a count with a
link to the list that shows those things, and the empty states in words. Rows are written
straight into the database (the counts are what is tested, not how the rows came about)."""
import html
import re
import secrets
from datetime import datetime, timedelta, timezone

import pytest
from backendutil import login

from backend.core.db import db
from backend.core.models import Alert, ExpenseClaim, Invoice, Merchant, PaymentList, Receivable, User
from backend.services.analytics_platform import chain_now

BUYER_TAX_ID = "91530100MA6K0002XU"  # the demo buyer company's (seed.DEMO)
CHINA = timezone(timedelta(hours=8))
ITEM_RE = re.compile(r'<li class="attention-item[^"]*" data-item="([a-z_]+)" data-count="(\d+)">\s*<a href="([^"]*)">'
                     r'(.*?)</a>', re.S)


def home_items(client, headers=None):
    """{key: (count, link, words)} of the signed-in user's home page."""
    page = client.get("/", headers=headers)
    assert page.status_code == 200
    found = ITEM_RE.findall(page.get_data(as_text=True))
    return {key: (int(count), html.unescape(href), re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip())
            for key, count, href, text in found}


def signed_in(chain_app, username):
    client = chain_app.test_client()
    assert login(client, username).status_code == 302
    return client


def today(days=0):
    return (datetime.now(CHINA).date() + timedelta(days=days)).isoformat()


def add_invoice(seller, *, state="issued", status="Issued", buyer_tax_id=BUYER_TAX_ID, gross=113_00, day=None,
                red=False, created_at=None):
    """An invoice row of ``seller`` (a seeded user's dict with its User row as "user")."""
    number = f"{secrets.randbelow(10**20):020d}"
    inv = Invoice(number=number, key="0x" + secrets.token_hex(32), user_id=seller["id"],
                  seller_address=seller["address"], seller_name="厦门示例贸易有限公司", seller_tax_id="91350100M000100Y43",
                  buyer_name="昆明示例商贸有限公司", buyer_tax_id=buyer_tax_id, issue_date=day or today(),
                  issued_at=int(datetime.now().timestamp()), rate=13, item_count=1, net=100_00, tax=gross - 100_00,
                  gross=gross, document="{}", document_hash="0x" + secrets.token_hex(32), state=state,
                  chain_status=status if state == "issued" else None, is_red_letter=red)
    if created_at is not None:
        inv.created_at = created_at
    db.session.add(inv)
    return inv


def add_receivable(status, *, holder=None, debtor=None, financier=None, due_at=None, amount=500_00):
    rid = str(secrets.randbelow(10**12))
    holder = holder or "0x" + "1" * 40
    db.session.add(Receivable(id=rid, root_id=rid, invoice_key="0x" + secrets.token_hex(32), creditor=holder,
                              holder=holder, debtor=debtor or "0x" + "2" * 40, financier=financier, status=status,
                              amount=amount, due_at=due_at or 2_000_000_000, created_at_chain=1_700_000_000))


def add_alert(status="open", severity="medium", assignee=None):
    db.session.add(Alert(kind="split_invoicing", severity=severity, status=status,
                         fingerprint=secrets.token_hex(16), merchants='["91350100M000100Y43"]', invoices="[]",
                         evidence="{}", explanation="拆分开票 Split invoicing", assignee_id=assignee))


def users(chain_app, seeded):
    """{username: {"id", "address"}} of the seeded users."""
    with chain_app.app_context():
        return {u.username: {"id": u.id, "address": u.address} for u in db.session.query(User)}


@pytest.fixture
def people(chain_app, seeded):
    return users(chain_app, seeded)


def test_signed_out_home_offers_verification_and_login(chain_app):
    page = chain_app.test_client().get("/").get_data(as_text=True)
    assert "发票查验" in page and "批量查验" in page and "/auth/login" in page
    assert "Verify an invoice" not in page and "Batch verification" not in page  # one language
    assert 'id="attention"' not in page
    page = chain_app.test_client().get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Verify an invoice" in page and "Batch verification" in page and "发票查验" not in page


def test_merchant_home_counts_what_waits(chain_app, people):
    m1, m2 = people["merchant1"], people["merchant2"]
    with chain_app.app_context():
        add_invoice(m1, state="failed")
        add_invoice(m1, state="pending")
        add_invoice(m1, state="pending")
        for _ in range(3):
            add_invoice(m1, status="Flagged", gross=226_00)
        add_invoice(m1, gross=1_130_00)
        add_invoice(m1, gross=50_00, red=True)  # a red-letter note: not counted in the month
        add_invoice(m1, day=(datetime.now(CHINA).date().replace(day=1) - timedelta(days=1)).isoformat())  # last month
        add_invoice(m2, status="Flagged")  # another merchant's
        add_receivable("accepted", holder=m1["address"])
        add_receivable("accepted", holder=m1["address"])
        add_receivable("offered", holder=m1["address"])
        add_receivable("offered", holder=m2["address"])
        db.session.commit()
    client = signed_in(chain_app, "merchant1")
    items = home_items(client)
    assert {k: v[0] for k, v in items.items()} == {
        "failed": 1, "pending": 2, "flagged_own": 3, "receivables_created": 0, "receivables_accepted": 2,
        "receivables_offered": 1, "month": 4}
    assert items["flagged_own"][1] == "/merchant/invoices?status=Flagged"
    assert items["receivables_offered"][1] == "/receivables/?status=offered"
    assert "没有待债务人确认的应收账款" in items["receivables_created"][2]
    # this month, issued on chain: 3 × ¥226 + ¥1,130 = ¥1,808.00 of the seeded ¥50,000,000.00 quota
    assert "¥1,808.00" in items["month"][2] and "¥50,000,000.00" in items["month"][2]
    assert items["month"][1] == f"/merchant/invoices?from={today()[:7]}-01"
    # the link opens the list of exactly those
    flagged = client.get(items["flagged_own"][1]).get_data(as_text=True)
    assert "<small>(3)</small>" in flagged
    assert 'data-label="价税合计' in flagged  # the rows become labelled cards on a phone


def test_merchant_home_empty_and_unregistered(chain_app, people):
    items = home_items(signed_in(chain_app, "merchant1"))
    assert all(count == 0 for count, _, _ in items.values())
    assert items["failed"][2] == "0 没有开票失败的发票。"
    assert "本月尚未开票" in items["month"][2] and "月度限额 ¥50,000,000.00，已用 0%" in items["month"][2]
    english = home_items(signed_in(chain_app, "merchant1"), headers={"Accept-Language": "en"})
    assert english["failed"][2] == "0 No failed issuances."
    assert english["month"][2].startswith("0 Invoices issued this month (")
    assert "0% of the monthly quota of ¥50,000,000.00 used" in english["month"][2]
    assert "No invoices issued this month." in english["month"][2] and "本月" not in english["month"][2]
    with chain_app.app_context():
        db.session.get(Merchant, db.session.query(Merchant).filter_by(user_id=people["merchant1"]["id"]).one().id) \
            .status = "pending"
        db.session.commit()
    items = home_items(signed_in(chain_app, "merchant1"))
    assert list(items) == ["registration"]
    assert "等待税务机关审批" in items["registration"][2] and items["registration"][1] == "/merchant/registration"


def test_authority_home_applications_backlog_alerts(chain_app, people):
    with chain_app.app_context():
        applicant = User(username="newco", role="merchant")
        applicant.set_password("pw-test-123")
        db.session.add(applicant)
        db.session.flush()
        db.session.add(Merchant(user_id=applicant.id, name="新公司", tax_id="91350100M000200Y4T",
                                licence_number="L-1", status="pending"))
        old = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=4)
        add_invoice(people["merchant1"], status="Flagged", created_at=old)
        add_invoice(people["merchant2"], status="Flagged")
        add_invoice(people["merchant2"], status="Cleared")
        add_alert("open", "high")
        add_alert("open", "low")
        add_alert("acknowledged")
        add_alert("resolved", "high")
        db.session.commit()
    client = signed_in(chain_app, "authority")
    items = home_items(client)
    assert {k: v[0] for k, v in items.items()} == {"applications": 1, "review_backlog": 2, "alerts_open": 2,
                                                   "alerts_high": 1}
    assert "最久已等待 4.0 天" in items["review_backlog"][2] and items["review_backlog"][1] == "/audit/queue"
    assert items["alerts_high"][1] == "/alerts?status=open&severity=high"
    assert "新公司" in client.get(items["applications"][1]).get_data(as_text=True)
    assert 'id="alerts-total">(1)' in client.get(items["alerts_high"][1]).get_data(as_text=True)


def test_auditor_home_review_queue_and_my_alerts(chain_app, people):
    me = people["auditor"]["id"]
    with chain_app.app_context():
        add_invoice(people["merchant1"], status="Flagged")
        add_alert("open", assignee=me)
        add_alert("open", assignee=me)
        add_alert("acknowledged", assignee=me)
        add_alert("resolved", assignee=me)
        add_alert("open")
        db.session.commit()
    client = signed_in(chain_app, "auditor")
    items = home_items(client)
    assert {k: v[0] for k, v in items.items()} == {"review_backlog": 1, "alerts_mine_open": 2,
                                                   "alerts_mine_acknowledged": 1, "alerts_open": 3}
    assert items["alerts_mine_open"][1] == "/alerts?assignee=auditor&status=open"
    assert 'id="alerts-total">(2)' in client.get(items["alerts_mine_open"][1]).get_data(as_text=True)


def test_financier_home_offers_maturities_overdue(chain_app, people):
    me = people["financier"]["address"]
    with chain_app.app_context():
        now = chain_now()
        add_receivable("offered", financier=me)
        add_receivable("offered", financier=me)
        add_receivable("offered", financier="0x" + "9" * 40)  # offered to another bank
        add_receivable("pledged", financier=me, due_at=now + 3 * 86400)
        add_receivable("pledged", financier=me, due_at=now + 30 * 86400)
        add_receivable("pledged", financier=me, due_at=now - 86400)
        add_receivable("overdue", financier=me, due_at=now - 40 * 86400)
        add_receivable("defaulted", financier=me, due_at=now - 90 * 86400)
        db.session.commit()
    items = home_items(signed_in(chain_app, "financier"))
    assert {k: v[0] for k, v in items.items()} == {"offers": 2, "maturing_week": 1, "past_due": 1, "overdue": 2}
    assert items["overdue"][1] == "/receivables/portfolio#portfolio-overdue"
    assert items["offers"][1] == "/receivables/offers"


def test_buyer_home_new_invoices_and_receivables(chain_app, people):
    me = people["buyer"]["address"]
    with chain_app.app_context():
        now = chain_now()
        add_invoice(people["merchant1"])
        add_invoice(people["merchant2"], day=today(-6))
        add_invoice(people["merchant2"], day=today(-7))  # older than a week
        add_invoice(people["merchant1"], state="failed")  # never reached the chain: not in the inbox
        add_invoice(people["merchant1"], buyer_tax_id="91110000802100433B")  # someone else's
        add_receivable("created", debtor=me)
        add_receivable("accepted", debtor=me, due_at=now + 2 * 86400)
        add_receivable("accepted", debtor=me, due_at=now + 20 * 86400)
        add_receivable("settled", debtor=me, due_at=now + 86400)
        db.session.commit()
    client = signed_in(chain_app, "buyer")
    items = home_items(client)
    assert {k: v[0] for k, v in items.items()} == {"new_invoices": 2, "to_accept": 1, "payables_week": 1}
    assert items["new_invoices"][1] == f"/inbox?from={today(-6)}"
    assert 'id="inbox-total">(2)' in client.get(items["new_invoices"][1]).get_data(as_text=True)


def _claim(employee_id, status, list_id=None):
    db.session.add(ExpenseClaim(company_tax_id=BUYER_TAX_ID, employee_id=employee_id,
                                invoice_number=f"{secrets.randbelow(10**20):020d}", invoice_key="0x" + "ab" * 32,
                                issue_date=today(), gross=100_00, amount=100_00, category="travel", source="elements",
                                verification="{}", buyer_salt="0x" + "00" * 32, buyer_tag="0x" + "00" * 32,
                                status=status, payment_list_id=list_id))


def test_employee_and_approver_homes(chain_app, people):
    employee, approver = people["employee"]["id"], people["approver"]["id"]
    with chain_app.app_context():
        paid_list = PaymentList(company_tax_id=BUYER_TAX_ID, list_hash="0x" + "01" * 32, document="{}", total=100_00,
                                claim_count=1, status="registered", created_by=approver)
        db.session.add(paid_list)
        db.session.flush()
        _claim(employee, "submitted")
        _claim(employee, "submitted")
        _claim(employee, "rejected")
        _claim(employee, "approved")
        _claim(employee, "approved", list_id=paid_list.id)
        _claim(employee, "paid")
        db.session.commit()
    items = home_items(signed_in(chain_app, "employee"))
    assert {k: v[0] for k, v in items.items()} == {"claims_submitted": 2, "claims_approved": 2, "claims_rejected": 1}
    assert items["claims_rejected"][1] == "/claims?status=rejected"
    items = home_items(signed_in(chain_app, "approver"))
    assert {k: v[0] for k, v in items.items()} == {"claims_to_approve": 2, "claims_to_list": 1, "lists_to_pay": 1}
    assert items["lists_to_pay"][1] == "/claims/payment-lists#payment-lists"


def test_every_page_has_the_menu_button(chain_app, people):
    page = signed_in(chain_app, "auditor").get("/audit/queue").get_data(as_text=True)
    assert '<details class="menu" id="menu"><summary aria-controls="site-nav">' in page
    assert '<nav id="site-nav"' in page
