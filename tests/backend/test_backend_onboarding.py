"""Self-service onboarding through the pages: a visitor signs up (rate limited, problems in
words), applies with its licence file (type and size checked), the authority approves (the
merchant then issues) or rejects (the merchant reads the reason); the authority creates users
of every role and changes a merchant's limits on chain."""
import html
import io
import re

import pytest

from backend.chain import get_chain
from backend.core.db import db
from backend.core.models import Invoice, Merchant, MerchantLicence, User
from backendutil import Browser

PASSWORD = "Shop-pass-2026"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200  # recognised by its first bytes, as uploads are
APPLICATION = {"name": "昆明自助商贸有限公司", "tax_id": "91530100MA6K0001XT", "licence_number": "L-530100-0099",
               "contact_name": "李娜", "contact_phone": "+86 871 6500 1234"}
DEVELOPER_WORDS = ("tax_id", "licence_number", "contact_phone", "password_again", "ValidationError", "Traceback")


def visible(page):
    """The page's text as a person reads it (no tags, so no field names of the form)."""
    return re.sub(r"<[^>]+>", " ", page)


def sign_up(b, username="kmshop", **over):
    return b.post("/signup", {"username": username, "email": "owner@kmshop.cn", "password": PASSWORD,
                              "password_again": PASSWORD, **over})


def apply(b, data=PNG, filename="licence.png", **over):
    form = {**APPLICATION, **over, "licence": (io.BytesIO(data), filename)}
    return b.post("/onboarding/apply", form, content_type="multipart/form-data")


def merchant_named(app, name):
    with app.app_context():
        return db.session.query(Merchant).filter_by(name=name).one().id


# ---------------------------------------------------------------- sign-up (no chain needed)
def test_login_page_links_to_sign_up_and_sign_up_signs_in_a_merchant(app):
    b = Browser(app)
    assert 'href="/signup"' in b.text("/auth/login")
    r = sign_up(b)
    assert r.status_code == 302 and r.headers["Location"].endswith("/onboarding/apply")
    page = b.text("/onboarding/apply")
    assert "商户入驻申请" in page and 'enctype="multipart/form-data"' in page and 'name="licence"' in page
    with app.app_context():
        user = db.session.query(User).filter_by(username="kmshop").one()
        assert (user.role, user.email, user.address) == ("merchant", "owner@kmshop.cn", None)
        assert user.check_password(PASSWORD) and user.password_hash != PASSWORD


@pytest.mark.parametrize("over, words", [
    ({"username": "ab"}, "用户名须为 3 到 32 个字母"),
    ({"email": "owner-at-kmshop"}, "请填写有效的电子邮箱"),
    ({"password": "short1", "password_again": "short1"}, "密码至少 10 个字符"),
    ({"password": "onlyletters", "password_again": "onlyletters"}, "密码须包含至少两类字符"),
    ({"password": "password123", "password_again": "password123"}, "这是常见密码"),
    ({"password_again": "Shop-pass-2027"}, "两次输入的密码不一致"),
])
def test_sign_up_problems_are_said_in_words(app, over, words):
    b = Browser(app)
    r = sign_up(b, **over)
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and words in page
    assert not any(w in visible(page) for w in DEVELOPER_WORDS)
    with app.app_context():
        assert db.session.query(User).count() == 0


def test_sign_up_page_and_its_problems_in_english(app):
    b = Browser(app, language="en")
    page = b.text("/signup")
    assert "Sign up as a merchant" in page and "Password again" in page and "商户注册" not in page
    r = sign_up(b, username="ab", password="onlyletters", password_again="onlyletters")
    text = visible(r.get_data(as_text=True))
    assert r.status_code == 400 and "Please correct the fields marked." in text
    assert "A username is 3 to 32 letters" in text and "Use at least two kinds of characters" in text
    assert "请修改" not in text and "用户名须为" not in text and "密码须包含" not in text
    page = Browser(app).text("/signup")  # the default: Chinese, no English labels
    assert "商户注册" in page and "再次输入密码" in page and "Password again" not in page


def test_a_taken_username_is_refused_whatever_its_case(app):
    assert sign_up(Browser(app)).status_code == 302
    r = sign_up(Browser(app), username="KMShop")
    assert r.status_code == 400 and "该用户名已被使用" in r.get_data(as_text=True)


def test_sign_up_is_rate_limited_per_address(tmp_path):
    from backendutil import make_app

    app = make_app(tmp_path, SIGNUP_RATE_LIMIT="2/hour")
    b = Browser(app)
    assert sign_up(b, username="first1", password="x").status_code == 400  # refused tries count too
    assert sign_up(b, username="second2").status_code == 302
    r = sign_up(Browser(app), username="third3")
    assert r.status_code == 429 and "注册请求过于频繁" in r.get_data(as_text=True) and r.headers["Retry-After"]
    with app.app_context():
        assert [u.username for u in db.session.query(User)] == ["second2"]


def test_a_malformed_sign_up_limit_stops_the_start(tmp_path):
    from backendutil import make_app

    with pytest.raises(RuntimeError, match="SIGNUP_RATE_LIMIT"):
        make_app(tmp_path, SIGNUP_RATE_LIMIT="often")


# ---------------------------------------------------------------- the application (on chain)
@pytest.fixture
def shop(chain_app, seeded):
    """A visitor signed up as "kmshop" and signed in (the demo users exist)."""
    b = Browser(chain_app)
    assert sign_up(b).status_code == 302
    return b


@pytest.mark.parametrize("data, filename, words", [
    (b"MZ\x90\x00 not a licence", "licence.pdf", "营业执照须为 PDF、PNG 或 JPEG 文件"),
    (b"%PDF-1.7\n" + b"0" * 3000, "licence.pdf", "营业执照文件过大"),
    (b"", "", "请上传营业执照"),
])
def test_licence_files_of_the_wrong_type_or_size_are_refused(shop, chain_app, data, filename, words):
    chain_app.config["LICENCE_MAX_BYTES"] = 2000
    r = apply(shop, data, filename)
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and words in page and not any(w in visible(page) for w in DEVELOPER_WORDS)
    with chain_app.app_context():  # nothing sent on chain, no account made
        assert db.session.query(Merchant).count() == 3 and db.session.query(MerchantLicence).count() == 0
        assert db.session.query(User).filter_by(username="kmshop").one().address is None


def test_a_wrong_check_character_and_missing_contact_are_said_in_words(shop):
    r = apply(shop, tax_id="91530100MA6K0001X4", contact_name="", contact_phone="12")
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "第 18 位校验码" in page and "请填写联系人" in page and "有效的联系电话" in page


def test_authority_approves_the_application_and_the_merchant_issues(shop, chain_app):
    assert apply(shop).status_code == 302
    page = shop.text("/onboarding/apply")
    assert "待审核" in page and "licence.png" in page and 'name="licence"' not in page
    assert "Pending review" not in page and "Pending review" in Browser(chain_app, "en").login("kmshop", PASSWORD) \
        .text("/onboarding/apply")
    m_id = merchant_named(chain_app, APPLICATION["name"])
    with chain_app.app_context():
        m = db.session.get(Merchant, m_id)
        assert (m.status, m.contact_name, m.user.address is not None) == ("pending", "李娜", True)
        assert get_chain().call_named("MerchantRegistry", "merchant", m.user.address)["status"] == 1  # Pending

    authority = Browser(chain_app).login("authority")
    listing = authority.text("/admin/merchants")
    assert APPLICATION["name"] in listing and f'/admin/applications/{m_id}' in listing
    review = authority.text(f"/admin/applications/{m_id}")
    assert "李娜" in review and "owner@kmshop.cn" in review and "licence.png" in review
    assert "单张发票上限（元）" in review and "待审核" in review and "Per-invoice cap" not in review
    english = Browser(chain_app, "en").login("authority").text(f"/admin/applications/{m_id}")
    assert "Per-invoice cap (yuan)" in english and "Pending review" in english and "Reason the merchant sees" in english
    assert "单张发票上限" not in english and "待审核" not in english
    licence = authority.get(f"/onboarding/licence/{m_id}")
    assert licence.data == PNG and licence.headers["Content-Type"] == "image/png"
    assert Browser(chain_app).login("merchant2").get(f"/onboarding/licence/{m_id}").status_code == 404
    r = authority.post(f"/admin/merchants/{m_id}/approve", {"invoice_cap": "50000", "monthly_quota": "200000",
                                                            "hourly_norm": "20"}, page=review)
    assert r.status_code == 302

    page = shop.text("/onboarding/apply")
    assert "已批准" in page and "¥50,000.00" in page and "¥200,000.00" in page
    assert "单张上限 ¥50,000.00 · 月度限额 ¥200,000.00 · 每小时 20 张" in page
    issue = shop.text("/merchant/issue")
    r = shop.post("/merchant/issue", {"buyer_name": "昆明示例商贸有限公司", "buyer_tax_id": "91530100MA6K0002XU",
                                      "issue_date": "", "invoice_type": "0", "remarks": "", "action": "issue",
                                      "item-0-name": "茶叶 Tea", "item-0-spec": "", "item-0-unit": "盒",
                                      "item-0-quantity": "2", "item-0-unit_price": "88.00", "item-0-tax_rate": "13"},
                  page=issue)
    assert r.status_code == 302, r.get_data(as_text=True)[-1500:]
    with chain_app.app_context():
        invoice = db.session.query(Invoice).one()
        assert (invoice.seller_tax_id, invoice.state) == (APPLICATION["tax_id"], "issued")


def test_a_restart_of_the_dev_platform_leaves_the_application_pending(shop, chain_app):
    """`make run` seeds the demo users at every start; their merchants only are approved."""
    from backend.services import seed

    assert apply(shop).status_code == 302
    with chain_app.app_context():
        seed.seed_users(password="pw-test-123")
        m = db.session.query(Merchant).filter_by(name=APPLICATION["name"]).one()
        assert m.status == "pending"
        assert get_chain().call_named("MerchantRegistry", "merchant", m.user.address)["status"] == 1  # Pending


def test_a_rejected_merchant_reads_the_reason_and_applies_again(shop, chain_app):
    assert apply(shop).status_code == 302
    m_id = merchant_named(chain_app, APPLICATION["name"])
    authority = Browser(chain_app).login("authority")
    r = authority.post(f"/admin/merchants/{m_id}/reject", {"reason": "营业执照照片不清晰，请重新上传"},
                       page=authority.text(f"/admin/applications/{m_id}"))
    assert r.status_code == 302
    page = shop.text("/onboarding/apply")
    assert "已驳回" in page and "营业执照照片不清晰，请重新上传" in page and 'name="licence"' in page
    assert apply(shop, b"%PDF-1.7\nclear scan", "营业执照 2.pdf").status_code == 302
    assert "待审核" in shop.text("/onboarding/apply")
    with chain_app.app_context():
        assert [row.content_type for row in db.session.query(MerchantLicence).order_by(MerchantLicence.id)] == \
            ["image/png", "application/pdf"]
    download = authority.get(f"/onboarding/licence/{m_id}")
    assert download.data.startswith(b"%PDF") and download.headers["Content-Disposition"].startswith("attachment")
    assert "filename*=UTF-8''%E8%90%A5" in download.headers["Content-Disposition"]  # the Chinese name kept


# ---------------------------------------------------------------- the authority's users and limits
@pytest.mark.parametrize("role, tax_id, chain_role", [
    ("authority", "", None), ("merchant", "", None), ("auditor", "", "AUDITOR_ROLE"),
    ("financier", "", "FINANCIER_ROLE"), ("buyer", "91440300MA5F00001A", "BUYER_ACCOUNT 91440300MA5F00001A"),
    ("employee", "91440300MA5F00001A", None), ("approver", "91440300MA5F00001A", None),
])
def test_authority_creates_a_user_of_each_role(chain_app, seeded, role, tax_id, chain_role):
    from backend.services import merchants

    authority = Browser(chain_app).login("authority")
    r = authority.post("/admin/users/new", {"username": f"new-{role}", "role": role, "email": "",
                                            "company_tax_id": tax_id})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and f"new-{role}" in page and "链上角色未能授予" not in page
    password = re.search(r'data-test="new-password">([^<]+)<', page).group(1)
    Browser(chain_app).login(f"new-{role}", password)
    with chain_app.app_context():
        user = db.session.query(User).filter_by(username=f"new-{role}").one()
        assert user.role == role and user.buyer_tax_id == (tax_id or None)
        assert (user.address is not None) == (role in ("authority", "auditor", "financier", "buyer"))
        info = merchants.chain_role_of(user)
        assert (info[1], info[2]) == (chain_role, True) if chain_role else info is None


def test_company_roles_need_a_valid_company_tax_id(chain_app, seeded):
    authority = Browser(chain_app).login("authority")
    r = authority.post("/admin/users/new", {"username": "staff1", "role": "employee", "company_tax_id": "123"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "所属企业的统一社会信用代码" in page and "请修改标出的内容。" in page
    assert "Company tax ID" not in page and "报销员工" in page  # the role names translated too
    english = Browser(chain_app, "en").login("authority")
    r = english.post("/admin/users/new", {"username": "staff1", "role": "employee", "company_tax_id": "123"})
    page = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 400 and "Buyers, employees and approvers need their company's tax ID" in page
    assert "Please correct the fields marked." in page and "Company tax ID (buyers, employees, approvers)" in page
    assert "所属企业" not in page and ">Employee</option>" in page
    assert Browser(chain_app).login("merchant1").get("/admin/users/new").status_code == 403


def test_authority_changes_a_merchants_limits_on_chain(chain_app, seeded):
    authority = Browser(chain_app).login("authority")
    page = authority.text("/admin/merchants")
    with chain_app.app_context():
        m = db.session.query(Merchant).filter_by(tax_id="91350100M000100Y43").one()
        m_id, address = m.id, m.user.address
    assert "¥10,000,000.00" in page and "¥50,000,000.00" in page  # the seeded limits, in yuan
    r = authority.post(f"/admin/merchants/{m_id}/limits", {"invoice_cap": "1,234.56", "monthly_quota": "100000",
                                                           "hourly_norm": "5"}, page=page)
    assert r.status_code == 302
    with chain_app.app_context():
        limits = get_chain().call_named("MerchantRegistry", "merchant", address)["limits"]
    assert tuple(limits) == (123456, 10000000, 5)
    page = authority.text("/admin/merchants")
    assert "¥1,234.56" in page and "¥100,000.00" in page and 'value="1234.56"' in page

    r = authority.post(f"/admin/merchants/{m_id}/limits", {"invoice_cap": "5000", "monthly_quota": "100",
                                                           "hourly_norm": "x"}, page=page, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert "每小时张数须为正整数" in text and "whole number" not in text  # one language
    r = authority.post(f"/admin/merchants/{m_id}/limits", {"invoice_cap": "5000", "monthly_quota": "100",
                                                           "hourly_norm": "5"}, page=page, follow_redirects=True)
    assert "月度限额不能低于单张发票上限" in r.get_data(as_text=True)
    r = authority.post(f"/admin/merchants/{m_id}/limits", {"invoice_cap": "0", "monthly_quota": "100",
                                                           "hourly_norm": "5"}, page=page, follow_redirects=True,
                       headers={"Accept-Language": "en"})
    flashed = " ".join(re.findall(r'<div class="flash error">(.*?)</div>', r.get_data(as_text=True), re.S))
    assert "The per-invoice cap must be an amount in yuan above 0." in flashed and "单张发票上限" not in flashed
    with chain_app.app_context():  # unchanged by the refused forms
        assert tuple(get_chain().call_named("MerchantRegistry", "merchant", address)["limits"]) == (123456, 10000000, 5)


def test_the_api_creates_users_for_the_authority_only(api, chain_app):
    r = api("authority").post("/users", json={"username": "audit-2", "role": "auditor"})
    body = r.get_json()
    assert r.status_code == 201 and body["chain_role"] == {"contract": "InvoiceRegistry", "role": "AUDITOR_ROLE",
                                                           "held": True}
    with chain_app.app_context():
        assert db.session.query(User).filter_by(username="audit-2").one().check_password(body["password"])
    r = api("authority").post("/users", json={"username": "audit-2", "role": "auditor"})
    assert r.status_code == 400 and "该用户名已被使用" in r.get_json()["fields"]["username"]
    r = api("authority").post("/users", json={"username": "audit-2", "role": "auditor"},
                              headers={"Accept-Language": "en"})
    assert r.status_code == 400 and r.get_json()["fields"]["username"] == "This username is taken; choose another."
    r = api("authority").post("/users", json={"username": "x-1", "role": "king"})
    assert r.status_code == 400 and "role" in r.get_json()["fields"]
    assert api("merchant1").post("/users", json={"username": "x-2", "role": "auditor"}).status_code == 403
