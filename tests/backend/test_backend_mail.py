"""Issue 12, delivery: the issued invoice e-mailed through the mail outbox to a real SMTP
sink (aiosmtpd, scripts/mail_sink.py) on a free port; exactly once across a restart; kept
pending while SMTP is down and sent once it is back; the public link (tampered, expired);
the dev mail page."""
import json
import socket
import time
from email import policy
from email.parser import BytesParser

import pytest

from backend.core.db import get_db
from backend.core.models import Invoice, MailMessage
from backend.services import mail, public_links

from backendutil import login, make_app, sample_invoice
from scripts.mail_sink import MailSink

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sink(tmp_path):
    s = MailSink(tmp_path / "mail", free_port()).start()
    yield s
    s.stop()


def configure(app, sink, **extra):
    app.config.update(MAIL_URL=sink.url, MAIL_SINK_DIR=str(sink.folder), MAIL_RETRY_BASE=0.0, **extra)


def parsed(path):
    return BytesParser(policy=policy.default).parse(open(path, "rb"))


def issue(api, **over):
    r = api("merchant1").post("/invoices", json=sample_invoice(buyer_email="buyer@example.cn", **over),
                              headers={"Idempotency-Key": "mail-1"})
    assert r.status_code in (200, 201), r.get_json()
    return r


def test_issued_invoice_is_mailed_once_with_both_attachments(chain_app, api, sink, tmp_path):
    configure(chain_app, sink)
    number = issue(api).get_json()["number"]
    again = issue(api)  # a retry of the same request replays: no second message
    assert again.status_code == 200 and again.get_json()["number"] == number
    with chain_app.app_context():
        rows = get_db().query(MailMessage).all()
        assert [(r.status, r.recipient) for r in rows] == [("pending", "buyer@example.cn")]
        assert mail.send_pending() == {"sent": 1, "retry": 0, "failed": 0}
        assert mail.send_pending()["sent"] == 0
        document = json.loads(get_db().query(Invoice).filter_by(number=number).one().document)
    files = sink.files()
    assert len(files) == 1
    msg = parsed(files[0])
    assert msg["To"] == "buyer@example.cn" and number in msg["Subject"] and msg["Subject"].startswith("【电子发票】")
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith(document["buyer"]["name"]) and "/verify/?number=" + number in text and "/p/" in text
    pdf, js = list(msg.iter_attachments())
    assert pdf.get_content_type() == "application/pdf" and pdf.get_payload(decode=True).startswith(b"%PDF")
    assert json.loads(js.get_payload(decode=True)) == document

    # a restart: a new app on the same database, the sender run again -> still one message
    restarted = make_app(tmp_path, chain_app.config["DEPLOYMENT_FILE"], fresh=False)
    configure(restarted, sink)
    with restarted.app_context():
        assert mail.send_pending()["sent"] == 0
        assert get_db().query(MailMessage).one().status == "sent"
    assert len(sink.files()) == 1


def test_smtp_down_keeps_the_row_pending_then_sends_it(chain_app, api, tmp_path):
    port = free_port()
    chain_app.config.update(MAIL_URL=f"smtp://127.0.0.1:{port}", MAIL_RETRY_BASE=0.0, MAIL_TIMEOUT=2.0)
    issue(api)
    with chain_app.app_context():
        assert mail.send_pending() == {"sent": 0, "retry": 1, "failed": 0}
        row = get_db().query(MailMessage).one()
        assert row.status == "pending" and row.attempts == 1 and row.error
    sink = MailSink(tmp_path / "mail", port).start()
    try:
        with chain_app.app_context():
            assert mail.send_pending()["sent"] == 1
            row = get_db().query(MailMessage).one()
            assert row.status == "sent" and row.error is None and row.attempts == 2
            assert mail.send_pending()["sent"] == 0
        assert len(sink.files()) == 1
    finally:
        sink.stop()


def test_a_claimed_row_is_not_sent_by_another_sender(chain_app, api, sink):
    configure(chain_app, sink)
    issue(api)
    with chain_app.app_context():
        row = get_db().query(MailMessage).one()
        from backend.core.models import utcnow
        assert mail._claim(get_db(), row.id, utcnow())  # another process took it
        assert mail.send_pending()["sent"] == 0
    assert sink.files() == []


def test_public_link(chain_app, api, sink):
    configure(chain_app, sink)
    number = issue(api).get_json()["number"]
    client = chain_app.test_client()
    with chain_app.test_request_context():
        inv = get_db().query(Invoice).filter_by(number=number).one()
        token = public_links.token(inv)
    page = client.get(f"/p/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and number in html and "昆明示例商贸有限公司" in html and "办公用品" in html
    assert "91530100MA6K0002XU" not in html  # the buyer's tax ID is not shown
    pdf = client.get(f"/p/{token}/invoice.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    refused = client.get(f"/p/{tampered}")
    assert refused.status_code == 403 and "链接无效" in refused.get_data(as_text=True)
    assert client.get(f"/p/{tampered}/invoice.pdf").status_code == 403
    chain_app.config["PUBLIC_LINK_MAX_AGE_DAYS"] = 1
    with chain_app.test_request_context():
        import itsdangerous
        old = itsdangerous.URLSafeTimedSerializer(chain_app.config["SECRET_KEY"], salt=public_links.SALT)
        signer = old.make_signer(public_links.SALT)
        signer.get_timestamp = lambda: int(time.time()) - 2 * 86400  # signed two days ago
        expired = signer.sign(old.dump_payload({"n": inv.number, "h": inv.document_hash[2:18]})).decode()
    gone = client.get(f"/p/{expired}")
    assert gone.status_code == 410 and "链接已过期" in gone.get_data(as_text=True)


def test_dev_mail_page(chain_app, api, sink, seeded):
    configure(chain_app, sink)
    number = issue(api).get_json()["number"]
    with chain_app.app_context():
        mail.send_pending()
    client = chain_app.test_client()
    assert client.get("/dev/mail").status_code in (302, 401)  # logged-in users only
    login(client, "buyer", seeded["buyer"]["password"])
    listed = client.get("/dev/mail").get_data(as_text=True)
    assert "buyer@example.cn" in listed and number in listed and f"电子发票_{number}.pdf" in listed
    name = sink.files()[0].name
    shown = client.get(f"/dev/mail/{name}")
    assert shown.status_code == 200 and "/p/" in shown.get_data(as_text=True)
    attached = client.get(f"/dev/mail/{name}/0")
    assert attached.status_code == 200 and attached.data.startswith(b"%PDF")
    chain_app.config["DEV_MODE"] = False
    assert client.get("/dev/mail").status_code == 404


def test_buyer_email_is_validated(chain_app, api):
    r = api("merchant1").post("/invoices", json=sample_invoice(buyer_email="not an address"))
    assert r.status_code == 400 and "buyer_email" in json.dumps(r.get_json())


def add_user(username, email, language):
    from backend.core.models import User

    get_db().add(User(username=username, role="buyer", email=email, language=language, password_hash="x"))
    get_db().commit()


def test_the_mail_is_in_the_recipients_saved_language_else_chinese(chain_app, api, sink):
    configure(chain_app, sink)
    with chain_app.app_context():
        add_user("reads-english", "English.Reader@example.cn", "en")
        add_user("no-choice", "nochoice@example.cn", None)
    sent = {}
    for email in ("english.reader@example.cn", "nochoice@example.cn", "nobody@example.cn"):
        r = api("merchant1").post("/invoices", json=sample_invoice(buyer_email=email), headers={"Accept-Language": "en"})
        assert r.status_code == 201, r.get_json()
        sent[email] = r.get_json()["number"]
    with chain_app.app_context():
        assert mail.send_pending()["sent"] == 3
    by_to = {str(m["To"]): m for m in map(parsed, sink.files())}
    english = by_to["english.reader@example.cn"]
    text = english.get_body(preferencelist=("plain",)).get_content()
    number = sent["english.reader@example.cn"]
    assert english["Subject"] == f"[E-invoice] 厦门示例贸易有限公司 issued invoice {number} to you"
    assert text.startswith("Dear ") and f"Invoice number: {number}" in text and "Gross: ¥" in text
    assert "Status: Issued" in text and "please do not reply" in text
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text.replace("厦门示例贸易有限公司", "")
                   .replace("昆明示例商贸有限公司", ""))  # no Chinese but the names
    for email in ("nochoice@example.cn", "nobody@example.cn"):  # no saved choice, no user: Chinese
        msg = by_to[email]
        text = msg.get_body(preferencelist=("plain",)).get_content()
        assert msg["Subject"] == f"【电子发票】厦门示例贸易有限公司 为您开具发票 {sent[email]}"
        assert f"发票号码：{sent[email]}" in text and "价税合计：¥" in text and "状态：已开具" in text
        assert "Dear" not in text and "Invoice number" not in text

