"""Issue 13, alerts: through the API, invoices just under merchant1's cap raise a
``split_invoicing`` alert as they are issued (the continuous path: no scan run), three demo
merchants invoicing in a cycle raise ``circular_invoicing``; the same through the indexer's
path; a detector error never breaks issuance; the workflow (acknowledge, resolve with a note,
assign to auditors only, 409 in a wrong state, 403 to others); the detector's settings (the
authority changes, auditors read, 400 per field); the alert e-mailed through the outbox to a
real SMTP sink and POSTed to a local webhook; the CLI's full scan."""
import json
import re
import socket
import threading
import time
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from backend.chain import indexer
from backend.core.db import get_db
from backend.core.models import Alert, MailMessage, User
from backend.services import alert_notify, detector, issuance, mail
from backend.services.detector.rules import MERCHANT_RULES
from backend.services.seed import DEMO, LIMITS

from backendutil import sample_invoice
from scripts.mail_sink import MailSink

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TAX = {username: profile[1] for username, _, _, profile, _ in DEMO if profile}
BUYER = "91530100MA6K0002XU"
CAP = LIMITS[0]  # the demo merchants' per-invoice cap, fen


def near_cap(i, buyer=BUYER, name="昆明示例商贸有限公司"):
    """An invoice whose gross is ~97 % of the cap (net + 13 % tax; not a round amount)."""
    net = 858_000_000 + 1_234 * i
    assert 0.95 * CAP <= net + (net * 13 + 50) // 100 <= CAP
    return sample_invoice(buyer_name=name, buyer_tax_id=buyer,
                          items=[{"name": "设备 Equipment", "unit_price": net, "tax_rate": 13}])


def issue(api, who, body):
    r = api(who).post("/invoices", json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["number"]


def alerts_of(api, kind=None, who="auditor", **filters):
    r = api(who).get("/alerts", query_string={**({"kind": kind} if kind else {}), **filters})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["alerts"]


def split_alert(api):
    numbers = [issue(api, "merchant1", near_cap(i)) for i in range(5)]
    found = alerts_of(api, "split_invoicing")
    assert len(found) == 1, found
    return found[0], numbers


@pytest.fixture(autouse=True)
def daytime_only(monkeypatch):
    """These scenarios issue at the wall clock's time, and CI runs at any hour: between 00:00
    and 05:00 China time they would also raise ``unusual_hours``. That rule is off here;
    test_backend_detector tests it at fixed times."""
    monkeypatch.delitem(MERCHANT_RULES, "unusual_hours")


# ---------------------------------------------------------------- acceptance
def test_split_invoicing_alert_appears_as_invoices_are_issued(api):
    alert, numbers = split_alert(api)
    assert alert["invoices"] == numbers  # all five, in order: one alert, updated as they came
    assert alert["merchants"] == [TAX["merchant1"]] and alert["status"] == "open" and alert["severity"] == "high"
    assert alert["evidence"]["count"] == 5 and alert["evidence"]["invoice_cap"] == CAP
    assert alert["explanation"].startswith("厦门示例贸易有限公司（91350100M000100Y43）") and "拆分开票" in alert["explanation"]
    assert "¥10,000,000.00" in alert["explanation"] and "\n" in alert["explanation"]  # Chinese, then English
    assert {"id", "kind", "severity", "status", "merchants", "invoices", "explanation"} <= set(alert)
    assert alerts_of(api, "split_invoicing", who="authority") == [alert]
    # the five invoices were all issued through the API: the alert grew with them (one fingerprint)
    one = api("auditor").get(f"/alerts/{alert['id']}").get_json()
    assert one == alert


def test_circular_invoicing_alert(api):
    numbers = [issue(api, "merchant1", sample_invoice(buyer_name="北京示例科技有限公司", buyer_tax_id=TAX["merchant2"])),
               issue(api, "merchant2", sample_invoice(buyer_name="广州示例商贸有限公司", buyer_tax_id=TAX["merchant3"])),
               issue(api, "merchant3", sample_invoice(buyer_name="厦门示例贸易有限公司", buyer_tax_id=TAX["merchant1"]))]
    found = alerts_of(api, "circular_invoicing")
    assert len(found) == 1, found
    alert = found[0]
    assert sorted(alert["merchants"]) == sorted(TAX[m] for m in ("merchant1", "merchant2", "merchant3"))
    assert sorted(alert["invoices"]) == sorted(numbers) and alert["severity"] == "high"
    assert alert["evidence"]["length"] == 3 and "循环开票" in alert["explanation"]
    # a second leg between the same merchants in the same window: the same alert, more evidence
    issue(api, "merchant1", sample_invoice(buyer_name="北京示例科技有限公司", buyer_tax_id=TAX["merchant2"]))
    again = alerts_of(api, "circular_invoicing")
    assert [a["id"] for a in again] == [alert["id"]] and len(again[0]["invoices"]) == 4


def test_the_indexer_path_raises_the_alert_too(api, chain_app, monkeypatch):
    monkeypatch.setattr(issuance, "_detect", lambda inv: None)  # only the indexer's run now
    numbers = [issue(api, "merchant1", near_cap(i)) for i in range(3)]
    assert alerts_of(api, "split_invoicing") == []
    with chain_app.app_context():
        indexer.run_once()
    found = alerts_of(api, "split_invoicing")
    assert [a["invoices"] for a in found] == [numbers]


def test_a_detector_error_never_breaks_issuance_nor_indexing(api, chain_app, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("detector down")

    monkeypatch.setattr(detector.run, "detect_sellers", broken)
    numbers = [issue(api, "merchant1", near_cap(i)) for i in range(3)]
    with chain_app.app_context():
        out = indexer.run_once()
    assert out["events"] >= 3 and "detector down" in caplog.text
    for number in numbers:
        assert api("merchant1").get(f"/invoices/{number}").get_json()["state"] == "issued"
    assert alerts_of(api) == []


def test_full_scan_cli_finds_what_was_missed_and_dedupes(api, chain_app, monkeypatch):
    monkeypatch.setattr(issuance, "_detect", lambda inv: None)
    chain_app.config["DETECTOR_ENABLED"] = False  # nor the indexer's listener
    numbers = [issue(api, "merchant1", near_cap(i)) for i in range(4)]
    runner = chain_app.test_cli_runner()
    out = runner.invoke(args=["detect"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert summary["by_kind"].get("split_invoicing") == 1 and summary["created"] >= 1 and summary["seconds"] < 30
    again = json.loads(runner.invoke(args=["detect"]).output)
    assert again["created"] == 0 and again["unchanged"] == summary["findings"]
    assert [a["invoices"] for a in alerts_of(api, "split_invoicing")] == [numbers]


# ---------------------------------------------------------------- workflow
def test_acknowledge_resolve_with_a_note(api):
    alert, _ = split_alert(api)
    path = f"/alerts/{alert['id']}"
    r = api("auditor").post(path + "/resolve", json={"note": "   "})
    assert r.status_code == 400 and "note" in r.get_json()["fields"]
    r = api("auditor").post(path + "/resolve", json={})
    assert r.status_code == 400 and r.get_json()["fields"]["note"] == "说明为必填项。"
    r = api("auditor").post(path + "/ack")
    assert r.status_code == 200 and r.get_json()["status"] == "acknowledged"
    assert r.get_json()["acknowledged_by"] == "auditor" and r.get_json()["acknowledged_at"]
    r = api("authority").post(path + "/ack")
    assert r.status_code == 409 and r.get_json()["error"] == "alert_state"
    assert r.get_json()["message"] == f"预警 #{alert['id']} 当前为已确认，不能确认。"  # Chinese by default
    r = api("authority").post(path + "/ack", headers={"Accept-Language": "en"})
    assert r.status_code == 409 and r.get_json()["error"] == "alert_state"
    assert r.get_json()["message"] == f"Alert #{alert['id']} is acknowledged: it cannot be acknowledged."
    r = api("authority").post(path + "/resolve", json={"note": "已核实，正常分批交货 Verified: deliveries in parts"})
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "resolved" and body["resolved_by"] == "authority"
    assert body["resolution_note"].startswith("已核实")
    for action, payload in (("/resolve", {"note": "again"}), ("/ack", None), ("/assign", {"auditor": "auditor"})):
        r = api("auditor").post(path + action, json=payload)
        assert r.status_code == 409 and r.get_json()["alert_status"] == "resolved", action
    assert [a["id"] for a in alerts_of(api, status="resolved")] == [alert["id"]]
    assert alerts_of(api, status="open") == []


def test_resolve_an_open_alert_directly_and_filters(api):
    alert, _ = split_alert(api)
    r = api("auditor").post(f"/alerts/{alert['id']}/resolve", json={"note": "误报 False positive"})
    assert r.status_code == 200 and r.get_json()["acknowledged_at"]
    assert alerts_of(api, severity="high", status="resolved", merchant=TAX["merchant1"])[0]["id"] == alert["id"]
    assert alerts_of(api, merchant=TAX["merchant2"]) == []
    for bad in ({"kind": "nope"}, {"status": "closed"}, {"severity": "x"}, {"per_page": "0"}, {"page": "abc"}):
        r = api("auditor").get("/alerts", query_string=bad)
        assert r.status_code == 400 and set(bad) <= set(r.get_json()["fields"]), bad


def test_assign_only_to_auditors(api):
    alert, _ = split_alert(api)
    path = f"/alerts/{alert['id']}/assign"
    for name in ("merchant1", "authority", "nobody"):
        r = api("authority").post(path, json={"auditor": name})
        assert r.status_code == 400 and "auditor" in r.get_json()["fields"], name
    for body in ({}, {"auditor": ""}, {"auditor": "auditor", "x": 1}, [1]):
        r = api("authority").post(path, json=body)
        assert r.status_code == 400 and r.get_json()["fields"], body
    r = api("authority").post(path, json={"auditor": "auditor"})
    assert r.status_code == 200 and r.get_json()["assignee"] == "auditor"
    assert [a["id"] for a in alerts_of(api, assignee="auditor")] == [alert["id"]]


def test_others_are_refused(api):
    alert, _ = split_alert(api)
    for who in ("merchant1", "buyer", "financier", "employee"):
        client = api(who)
        assert client.get("/alerts").status_code == 403
        assert client.get(f"/alerts/{alert['id']}").status_code == 403
        assert client.post(f"/alerts/{alert['id']}/ack").status_code == 403
        assert client.post(f"/alerts/{alert['id']}/resolve", json={"note": "x"}).status_code == 403
        assert client.get("/detector/settings").status_code == 403
    assert api().get("/alerts").status_code == 401
    assert api("auditor").get("/alerts/99999").status_code == 404
    assert api("auditor").post("/alerts/2147483648/ack").status_code == 404
    assert api("auditor").post(f"/alerts/{alert['id']}/resolve", data=b"[1", content_type="application/json") \
        .status_code == 400


# ---------------------------------------------------------------- settings
def test_detector_settings(api):
    r = api("auditor").get("/detector/settings")
    body = r.get_json()
    assert r.status_code == 200 and body["settings"] == body["defaults"] == detector.DEFAULTS
    assert body["descriptions"]["split_min_count"].startswith("拆分开票")
    assert api("auditor").put("/detector/settings", json={"split_min_count": 4}).status_code == 403
    r = api("authority").put("/detector/settings", json={"split_min_count": 6, "volume_z": 4,
                                                          "disabled_rules": ["round_amounts", "round_amounts"]})
    assert r.status_code == 200, r.get_json()
    got = r.get_json()["settings"]
    assert got["split_min_count"] == 6 and got["volume_z"] == 4 and got["disabled_rules"] == ["round_amounts"]
    assert got["split_window_minutes"] == 60  # not sent: unchanged
    assert api("auditor").get("/detector/settings").get_json()["settings"] == got
    for bad, field in (({"split_min_count": 1}, "split_min_count"), ({"split_min_count": "5"}, "split_min_count"),
                       ({"volume_z": True}, "volume_z"), ({"nope": 1}, "body"),
                       ({"disabled_rules": ["x"]}, "disabled_rules[0]"),
                       ({"alert_mail_to": ["not-an-address"]}, "alert_mail_to[0]"),
                       ({"circular_min_length": 7}, "circular_min_length"),
                       ({"night_start_hour": 5}, "night_end_hour")):
        r = api("authority").put("/detector/settings", json=bad)
        assert r.status_code == 400 and field in r.get_json()["fields"], (bad, r.get_json())
    # the new threshold is the one in force: five invoices now make no split alert (six needed)
    for i in range(5):
        issue(api, "merchant1", near_cap(i))
    assert alerts_of(api, "split_invoicing") == []


# ---------------------------------------------------------------- notifications
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hook:
    """A tiny local webhook: answers ``statuses`` in turn (then 200), keeps each JSON body."""

    def __init__(self, statuses=()):
        self.bodies, self.statuses = [], list(statuses)
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                data = self.rfile.read(int(self.headers["Content-Length"]))
                status = hook.statuses.pop(0) if hook.statuses else 200
                hook.bodies.append((status, self.headers["Content-Type"], json.loads(data)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_new_alert_is_mailed_and_posted_to_the_webhook(api, chain_app, tmp_path):
    sink = MailSink(tmp_path / "mail", free_port()).start()
    hook = Hook(statuses=[500])  # the first attempt fails: retried
    with chain_app.app_context():  # tax@example.cn reads English (saved), audit@example.cn is no user: Chinese
        get_db().query(User).filter_by(username="authority").update({"email": "TAX@example.cn", "language": "en"})
        get_db().commit()
    chain_app.config.update(MAIL_URL=sink.url, MAIL_RETRY_BASE=0.0, ALERT_MAIL_TO="audit@example.cn, tax@example.cn",
                            ALERT_WEBHOOK_URL=hook.url, ALERT_WEBHOOK_BACKOFF=0.05)
    try:
        started = time.monotonic()
        alert, numbers = split_alert(api)
        assert time.monotonic() - started < 60
        alert_notify.join(timeout=30)
        with chain_app.app_context():
            rows = get_db().query(MailMessage).filter(MailMessage.alert_id.isnot(None)).all()
            assert sorted((r.recipient, r.alert_id) for r in rows) == [("audit@example.cn", alert["id"]),
                                                                      ("tax@example.cn", alert["id"])]
            assert mail.send_pending()["sent"] == 2
            assert get_db().get(Alert, alert["id"]).webhook_status == "sent"
        files = sink.files()
        assert len(files) == 2  # one alert (the later invoices updated it): mailed once per recipient
        mails = {m["To"]: m for m in (BytesParser(policy=policy.default).parse(open(f, "rb")) for f in files)}
        zh, en = mails["audit@example.cn"], mails["tax@example.cn"]  # tax@… is a user whose saved language is en
        assert zh["Subject"].startswith("【异常预警】拆分开票") and f"预警 #{alert['id']}" in zh["Subject"]
        text = zh.get_body(preferencelist=("plain",)).get_content()
        chinese, english = alert["explanation"].split("\n")
        assert chinese in text and english not in text and "涉及发票" in text and "Invoices" not in text
        assert all(n in text for n in numbers) and f"/alerts/{alert['id']}" in text
        assert en["Subject"].startswith("[Alert] Split invoicing") and f"Alert #{alert['id']}" in en["Subject"]
        text = en.get_body(preferencelist=("plain",)).get_content()
        assert english in text and chinese not in text and "Invoices:" in text and "拆分开票" not in text
        assert all(n in text for n in numbers) and "¥10,000,000.00" in text
        assert [status for status, _, _ in hook.bodies] == [500, 200]
        status, ctype, body = hook.bodies[-1]
        assert ctype.startswith("application/json") and body["event"] == "alert.created"
        assert body["alert"]["id"] == alert["id"] and body["alert"]["kind"] == "split_invoicing"
        assert body["url"].endswith(f"/alerts/{alert['id']}")
    finally:
        sink.stop()
        hook.stop()


def test_webhook_down_is_recorded_failed_and_blocks_nothing(api, chain_app):
    port = free_port()  # nothing listens there
    chain_app.config.update(ALERT_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook", ALERT_WEBHOOK_ATTEMPTS=3,
                            ALERT_WEBHOOK_BACKOFF=0.05, ALERT_WEBHOOK_TIMEOUT=1.0)
    alert, _ = split_alert(api)
    alert_notify.join(timeout=30)
    with chain_app.app_context():
        assert get_db().get(Alert, alert["id"]).webhook_status == "failed"
    assert api("auditor").get(f"/alerts/{alert['id']}").get_json()["webhook_status"] == "failed"


# ---------------------------------------------------------------- pages
def page_client(chain_app, seeded, who):
    from backendutil import login

    client = chain_app.test_client()
    login(client, who, seeded[who]["password"])
    return client


def test_alert_pages_list_detail_and_workflow_forms(api, chain_app, seeded):
    from backendutil import csrf_token

    alert, numbers = split_alert(api)
    c = page_client(chain_app, seeded, "auditor")
    listed = c.get("/alerts").get_data(as_text=True)
    assert "异常预警" in listed and f'data-alert="{alert["id"]}"' in listed and "拆分开票" in listed
    assert "Split invoicing" not in listed and alert["explanation"].split("\n")[1] not in listed  # Chinese only
    english = c.get("/alerts", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="en">' in english and "Split invoicing" in english and "拆分开票" not in english
    assert alert["explanation"].split("\n")[1] in english and "Any severity" in english and "严重程度" not in english
    assert 'data-test="nav-alerts"' in listed
    assert f'data-alert="{alert["id"]}"' not in c.get("/alerts?status=resolved").get_data(as_text=True)
    assert "已忽略" in c.get("/alerts?kind=nope").get_data(as_text=True)  # a bad filter is said and left out
    page = c.get(f"/alerts/{alert['id']}").get_data(as_text=True)
    assert alert["explanation"].split("\n")[0] in page and "¥10,000,000.00" in page and "单张限额" in page
    assert alert["explanation"].split("\n")[1] not in page and "Per-invoice cap" not in page
    english = c.get(f"/alerts/{alert['id']}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert alert["explanation"].split("\n")[1] in english and "Per-invoice cap" in english
    assert "单张限额" not in english and "Acknowledge" in english and "确认" not in english
    for n in numbers:
        assert f'href="/invoices/{n}"' in page
    assert c.get("/alerts/999999").status_code == 404
    token = csrf_token(c, f"/alerts/{alert['id']}")
    r = c.post(f"/alerts/{alert['id']}/resolve", data={"csrf_token": token, "note": "  "}, follow_redirects=True)
    assert "note" in r.get_data(as_text=True) and api("auditor").get(f"/alerts/{alert['id']}").get_json()["status"] == "open"
    assert c.post(f"/alerts/{alert['id']}/ack", data={}).status_code in (302, 400)  # no CSRF token: nothing done
    assert api("auditor").get(f"/alerts/{alert['id']}").get_json()["status"] == "open"
    r = c.post(f"/alerts/{alert['id']}/ack", data={"csrf_token": token}, follow_redirects=True)
    assert "已确认预警" in r.get_data(as_text=True)
    r = c.post(f"/alerts/{alert['id']}/ack", data={"csrf_token": token}, follow_redirects=True,
               headers={"Accept-Language": "en"})  # a refusal, in English
    assert "is acknowledged: it cannot be acknowledged" in r.get_data(as_text=True)
    r = c.post(f"/alerts/{alert['id']}/assign", data={"csrf_token": token, "auditor": "merchant1"}, follow_redirects=True)
    assert "不是在用的审计员账户" in r.get_data(as_text=True)
    r = c.post(f"/alerts/{alert['id']}/assign", data={"csrf_token": token, "auditor": "auditor"},
               follow_redirects=True, headers={"Accept-Language": "en"})
    assert f"Alert assigned (#{alert['id']})" in r.get_data(as_text=True)
    assert "已分配预警" not in r.get_data(as_text=True)
    r = c.post(f"/alerts/{alert['id']}/resolve", data={"csrf_token": token, "note": "已核实 Checked"},
               follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "已解决预警" in html and "已核实 Checked" in html and 'data-status="resolved"' in html
    got = api("auditor").get(f"/alerts/{alert['id']}").get_json()
    assert (got["status"], got["assignee"], got["resolution_note"]) == ("resolved", "auditor", "已核实 Checked")
    merchant = page_client(chain_app, seeded, "merchant1")
    assert merchant.get("/alerts").status_code == 403 and merchant.get(f"/alerts/{alert['id']}").status_code == 403
    assert 'data-test="nav-alerts"' not in merchant.get("/merchant/invoices").get_data(as_text=True)


def test_settings_page(chain_app, seeded, api):
    from backendutil import csrf_token

    auditor = page_client(chain_app, seeded, "auditor")
    html = auditor.get("/alerts/settings").get_data(as_text=True)
    assert "检测阈值" in html and "readonly" in html and 'id="settings-submit"' not in html
    assert "拆分开票：最少张数" in html and "默认 3；2–1000" in html and "Split invoicing:" not in html
    english = auditor.get("/alerts/settings", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Split invoicing: at least this many invoices" in english and "default 3; 2–1000" in english
    assert "检测阈值" not in english and "Only the authority changes them." in english
    token = csrf_token(auditor, "/alerts/settings")
    assert auditor.post("/alerts/settings", data={"csrf_token": token, "split_min_count": "4"}).status_code == 403
    c = page_client(chain_app, seeded, "authority")
    assert 'id="settings-submit"' in c.get("/alerts/settings").get_data(as_text=True)
    token = csrf_token(c, "/alerts/settings")
    r = c.post("/alerts/settings", data={"csrf_token": token, "split_min_count": "abc"}, follow_redirects=True)
    assert "请检查检测阈值：拆分开票：最少张数：" in r.get_data(as_text=True)  # the threshold in words, not its key
    r = c.post("/alerts/settings", data={"csrf_token": token, "circular_min_length": "6", "circular_max_length": "4"},
               headers={"Accept-Language": "en"}, follow_redirects=True)
    flashed = re.search(r'<div class="flash error">(.*?)</div>', r.get_data(as_text=True)).group(1)
    assert flashed == "Please check the thresholds: Circular invoicing: shortest cycle: must not be above the " \
                      "longest cycle (4)"
    r = c.post("/alerts/settings", data={"csrf_token": token, "split_min_count": "4", "volume_z": "4.5",
                                         "disabled_rules": ["unusual_hours"],
                                         "alert_mail_to": "a@example.cn\nb@example.cn"}, follow_redirects=True)
    assert "检测阈值已保存" in r.get_data(as_text=True)
    got = api("auditor").get("/detector/settings").get_json()["settings"]
    assert (got["split_min_count"], got["volume_z"], got["disabled_rules"], got["alert_mail_to"]) == \
        (4, 4.5, ["unusual_hours"], ["a@example.cn", "b@example.cn"])
