"""Buyers' taxpayer IDs are checked as merchants' are, wherever they enter: the issue API, the
issue form, bulk issuance, a claim's JSON document, the report and inbox filters, the CLI.
18 characters: a USCC with its check character; 15 and 20: the legacy tax registration
numbers with their own check character."""
import pytest
from backendutil import sample_invoice
from test_backend_portals import browser, issue_form  # noqa: F401  (the fixture)

from backend.cli import create_user
from backend.core.db import db
from backend.core.models import Invoice
from backend.schemas.merchants import uscc_check_char
from backend.schemas.tax_ids import org_code_check_char, resident_id_check_char, taxpayer_id_problem

WRONG_CHECK = "91530100MA6K0000XA"  # the old demo ID: its check character should be R
RIGHT_OF_IT = "91530100MA6K0000XR"
LEGACY_15 = "530102D2143569X"  # region 530102 + organisation code D2143569-X (GB 11714's example)
LEGACY_20 = "11010519491231002X01"  # resident ID 11010519491231002X (GB 11643's example) + 01


@pytest.mark.parametrize("code", ["91530100MA6K0002XU", "91350100M000100Y43", LEGACY_15, LEGACY_20])
def test_valid_ids(code):
    assert taxpayer_id_problem(code) is None


@pytest.mark.parametrize("code, words", [  # the Chinese's first words
    (WRONG_CHECK, "纳税人识别号校验位错误：统一社会信用代码的第18位"),
    ("530102D21435691", "纳税人识别号校验位错误：15位税务登记号"),
    ("11010519491231002101", "纳税人识别号校验位错误：20位税务登记号"),
    ("9153010OMA6K0002XU", "统一社会信用代码格式错误"),  # an O where a digit belongs
    ("530102D2143569Y", "15位税务登记号格式错误"),
    ("1101051949123100XX01", "20位税务登记号格式错误"),
    ("5301021234567890", "纳税人识别号应为18位统一社会信用代码，或15位、20位的旧税务登记号"),
    ("91530100MA6K0002X", "纳税人识别号应为18位"),
])
def test_what_is_wrong_is_said_in_the_requests_language(app, code, words):
    with app.test_request_context("/"):  # Chinese by default
        problem = taxpayer_id_problem(code)
    assert problem.startswith(words) and problem.endswith("。") and not any(c.isascii() and c.islower() for c in problem)
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        problem = taxpayer_id_problem(code)
    assert problem[0].isupper() and problem.isascii() and problem.endswith(".")


def test_the_check_characters():
    assert uscc_check_char(WRONG_CHECK[:17]) == "R"
    assert org_code_check_char("D2143569") == "X" and resident_id_check_char("11010519491231002") == "X"


def _refused_tax_id(r, path="buyer_tax_id"):
    body = r.get_json()
    assert r.status_code in (400, 422), body
    assert "纳税人识别号校验位错误" in body["fields"][path]
    assert RIGHT_OF_IT not in r.get_data(as_text=True)  # the right ID is not given away
    return body


def test_issue_api_refuses_a_wrong_check_character(api, chain_app):
    _refused_tax_id(api("merchant1").post("/invoices", json=sample_invoice(buyer_tax_id=WRONG_CHECK)))
    _refused_tax_id(api("merchant1").post("/invoices/preview", json=sample_invoice(buyer_tax_id=WRONG_CHECK.lower())))
    r = api("merchant1").post("/invoices", json=sample_invoice(buyer_tax_id=WRONG_CHECK),
                              headers={"Accept-Language": "en"})
    field = r.get_json()["fields"]["buyer_tax_id"]
    assert "The tax ID's check character is wrong" in field and "纳税人" not in field
    with chain_app.app_context():
        assert db.session.query(Invoice).count() == 0
    for legacy in (LEGACY_15, LEGACY_20.lower()):
        r = api("merchant1").post("/invoices", json=sample_invoice(buyer_tax_id=legacy))
        assert r.status_code == 201, r.get_json()
        document = api("merchant1").get(f"/invoices/{r.get_json()['number']}").get_json()["document"]
        assert document["buyer"]["tax_id"] == legacy.upper()


def test_batch_names_the_row(api):
    rows = [sample_invoice(), sample_invoice(buyer_tax_id=WRONG_CHECK)]
    body = _refused_tax_id(api("merchant1").post("/invoices/batch", json={"invoices": rows}),
                           "invoices[1].buyer_tax_id")
    assert body["error"] == "validation_error" and list(body["fields"]) == ["invoices[1].buyer_tax_id"]


def test_issue_form_marks_the_field(browser):  # noqa: F811
    b = browser("merchant1")
    r = b.post("/merchant/issue", {**issue_form(buyer_tax_id=WRONG_CHECK), "action": "issue"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "纳税人识别号校验位错误" in page
    assert 'class="mono invalid"' in page and RIGHT_OF_IT not in page


def test_claim_document_with_a_wrong_buyer_id(api):
    number = api("merchant1").post("/invoices", json=sample_invoice()).get_json()["number"]
    document = api("buyer").get(f"/invoices/{number}").get_json()["document"]
    forged = {**document, "buyer": {**document["buyer"], "tax_id": WRONG_CHECK}}
    body = _refused_tax_id(api("employee").post("/claims", json={"document": forged}), "document.buyer.tax_id")
    assert "纳税人识别号校验位错误" in body["message"]


def test_filters_with_a_full_id(api):
    r = api("authority").post("/reports/run", json={"definition": {"columns": ["number"], "filters": {"buyer": WRONG_CHECK}}})
    _refused_tax_id(r, "definition.filters.buyer")
    r = api("authority").post("/reports/run", json={"definition": {"columns": ["number"], "filters": {"buyer": "91530100"}}})
    assert r.status_code == 200, r.get_json()  # part of an ID is a search, not an ID
    _refused_tax_id(api("buyer").get(f"/inbox?seller={WRONG_CHECK}"), "seller")
    assert api("buyer").get("/inbox?seller=91350100M000100Y43").status_code == 200


def test_cli_refuses_a_company_with_a_wrong_id(chain_app):
    with chain_app.app_context():
        with pytest.raises(ValueError, match="纳税人识别号校验位错误"):
            create_user("staff9", "employee", "Staff-pass-2026", buyer_tax_id=WRONG_CHECK)
        user, _, _ = create_user("staff9", "employee", "Staff-pass-2026", buyer_tax_id=" 91530100ma6k0002xu ")
        assert user.buyer_tax_id == "91530100MA6K0002XU"
