"""InvoiceRegistry views for auditors (v2): lookups, verify / verifyBatch result codes,
document and buyer checks, check code, China calendar dates, flag names."""
import pytest

from tests.conftest import MERCHANT_TAX_ID
from tests.contracts.conftest import (
    AUTHENTIC,
    BUYER_TAX_ID,
    FLAGGED,
    MISMATCH,
    NOT_FOUND,
    V_FLAGGED,
    V_PARTLY_RED_LETTERED,
    V_RED_LETTER_NOTE,
    V_RED_LETTERED,
    V_REJECTED,
    V_VOIDED,
    as_bytes,
    buyer_tag,
    check_code,
    china_date,
    invoice_key,
    reverts_with,
    salt_of,
    seller_tag,
)

SELF = MERCHANT_TAX_ID


def elements(key, request):
    """(key, request, checkCode, China issue date) of a registered request."""
    code = check_code(request.number, request.seller, request.buyerCommitment, request.net, request.tax, request.issuedAt)
    return key, request, code, china_date(request.issuedAt)


@pytest.fixture
def registered(invoice_registry, issue_request, merchant):
    """Issues an invoice; returns (key, request, checkCode, China issue date)."""

    def do(**fields):
        request = issue_request(**fields)
        key = invoice_registry.issue(request, {"from": merchant}).return_value
        return elements(key, request)

    return do


def test_lookups(invoice_registry, registered):
    key, request, _, _ = registered()
    assert as_bytes(invoice_registry.keyOf(request.number)) == invoice_key(request.number)
    assert invoice_registry.getInvoiceByNumber(request.number) == invoice_registry.getInvoice(key)
    assert invoice_registry.exists(key)
    assert not invoice_registry.exists(b"\x09" * 32)
    assert invoice_registry.openAmount(key) == request.gross
    assert invoice_registry.availableForReceivable(key) == request.gross
    with reverts_with("InvoiceNotFound"):
        invoice_registry.getInvoice(b"\x09" * 32)
    with reverts_with("InvoiceNotFound"):
        invoice_registry.getInvoiceByNumber("26449999999999999999")
    with reverts_with("InvoiceNotFound"):
        invoice_registry.openAmount(b"\x09" * 32)
    with reverts_with("InvoiceNotFound"):
        invoice_registry.checkCodeOf(b"\x09" * 32)


def test_check_code_is_20_digits_from_registered_data(invoice_registry, registered):
    key, _, code, _ = registered()
    assert invoice_registry.checkCodeOf(key) == code
    assert 0 <= code < 10**20
    other_key, _, other_code, _ = registered()
    assert other_code != code


def test_verify_authentic_by_gross_or_net(invoice_registry, registered):
    key, request, code, date = registered()
    number, gross, net = request.number, request.gross, request.net
    assert invoice_registry.verify(number, date, gross, code % 10**6) == AUTHENTIC
    assert invoice_registry.verify(number, date, net, code % 10**6) == AUTHENTIC


def test_verify_mismatch_and_not_found(invoice_registry, registered):
    key, request, code, date = registered()
    number, gross = request.number, request.gross
    cc6 = code % 10**6
    assert invoice_registry.verify(number, date + 1, gross, cc6) == MISMATCH
    assert invoice_registry.verify(number, date, gross + 1, cc6) == MISMATCH
    assert invoice_registry.verify(number, date, request.tax, cc6) == MISMATCH  # the tax is not an accepted amount
    assert invoice_registry.verify(number, date, gross, (cc6 + 1) % 10**6) == MISMATCH
    assert invoice_registry.verify("26449999999999999999", date, gross, cc6) == NOT_FOUND


def test_verify_reports_status(invoice_registry, registered, issue_request, merchant, auditor):
    def result(entry):
        _, request, code, date = entry
        return invoice_registry.verify(request.number, date, request.gross, code % 10**6)

    voided = registered()
    invoice_registry.voidInvoice(voided[0], {"from": merchant})
    flagged = registered(buyer_tax_id=SELF)
    rejected = registered(buyer_tax_id=SELF)
    invoice_registry.reject(rejected[0], 1, {"from": auditor})
    cleared = registered(buyer_tax_id=SELF)
    invoice_registry.clear(cleared[0], 1, {"from": auditor})
    partly = registered()
    note_request = issue_request(net=1_000, like=partly[1])
    note_key = invoice_registry.issueRedLetter(partly[0], note_request, 1, {"from": merchant}).return_value
    note = elements(note_key, note_request)
    fully = registered(net=1_000)
    invoice_registry.issueRedLetter(fully[0], issue_request(net=1_000, like=fully[1]), 1, {"from": merchant})

    assert result(voided) == V_VOIDED
    assert result(flagged) == V_FLAGGED
    assert result(rejected) == V_REJECTED
    assert result(cleared) == AUTHENTIC
    assert result(partly) == V_PARTLY_RED_LETTERED
    assert result(fully) == V_RED_LETTERED
    assert result(note) == V_RED_LETTER_NOTE


def test_verify_batch(invoice_registry, registered, merchant):
    good = registered()
    voided = registered()
    invoice_registry.voidInvoice(voided[0], {"from": merchant})

    def query(entry, amount_delta=0):
        key, request, code, date = entry
        return (key, date, request.gross + amount_delta, code % 10**6)

    queries = [query(good), query(voided), query(good, 1), (b"\x07" * 32, 20260101, 1, 1)]
    assert list(invoice_registry.verifyBatch(queries)) == [AUTHENTIC, V_VOIDED, MISMATCH, NOT_FOUND]
    assert list(invoice_registry.verifyBatch([])) == []


def test_verify_batch_of_many(invoice_registry, registered):
    entries = [registered() for _ in range(20)]
    queries = [(key, date, request.gross, code % 10**6) for key, request, code, date in entries]
    assert list(invoice_registry.verifyBatch(queries)) == [AUTHENTIC] * 20


def test_verify_document(invoice_registry, registered):
    key, request, _, _ = registered()
    document = request.documentHash
    assert invoice_registry.verifyDocument(key, document)
    assert not invoice_registry.verifyDocument(key, b"\x01" + document[1:])  # tampered
    assert not invoice_registry.verifyDocument(b"\x08" * 32, document)  # unknown invoice
    assert not invoice_registry.verifyDocument(key, bytes(32))
    other_key, other_request, _, _ = registered()
    assert not invoice_registry.verifyDocument(other_key, document)  # another invoice's document


def test_verify_buyer(invoice_registry, registered):
    key, request, _, _ = registered(buyer_tax_id=BUYER_TAX_ID)
    salt, tag = salt_of(request.number), buyer_tag(BUYER_TAX_ID)

    assert invoice_registry.verifyBuyer(key, salt, BUYER_TAX_ID, tag)
    assert not invoice_registry.verifyBuyer(key, salt, MERCHANT_TAX_ID, tag)  # another tax ID
    assert not invoice_registry.verifyBuyer(key, salt, MERCHANT_TAX_ID, buyer_tag(MERCHANT_TAX_ID))
    assert not invoice_registry.verifyBuyer(key, b"\x01" + salt[1:], BUYER_TAX_ID, tag)  # another salt
    assert not invoice_registry.verifyBuyer(key, salt, BUYER_TAX_ID, b"\x00" * 32)  # another tag
    assert not invoice_registry.verifyBuyer(key, salt, BUYER_TAX_ID.lower(), tag)  # the tax ID as registered


@pytest.mark.parametrize(
    "utc, expected",
    [
        ("2026-12-31T15:59:59", 20261231),  # 23:59:59 China time
        ("2026-12-31T16:00:00", 20270101),  # 00:00:00 China time: the next day, month and year
        ("2028-02-28T16:00:00", 20280229),  # leap day
        ("2100-02-28T16:00:00", 21000301),  # 2100 is not a leap year: 2100-03-01
    ],
)
def test_china_calendar_dates(invoice_registry, issue_request, merchant, at, utc, expected):
    import datetime

    t = int(datetime.datetime.fromisoformat(utc).replace(tzinfo=datetime.timezone.utc).timestamp())
    request = issue_request(issued_at=t)
    at(t)
    key = invoice_registry.issue(request, {"from": merchant}).return_value
    assert invoice_registry.issueDateOf(key) == expected == china_date(t)
    month = invoice_registry.merchantActivity(merchant)["month"]
    assert month == expected // 100


def test_status_and_flag_names(invoice_registry, registered):
    key, *_ = registered(buyer_tax_id=SELF)
    status, flags, names = invoice_registry.statusOf(key)
    assert (status, flags, list(names)) == (FLAGGED, 4, ["SelfDealing"])
    assert list(invoice_registry.flagNamesOf(15)) == ["MonthlyQuotaExceeded", "DuplicateDocument", "SelfDealing", "RateSpike"]
    assert list(invoice_registry.flagNamesOf(0)) == []


def test_roles_and_registry(invoice_registry, approved_merchants, authority, auditor, ledger):
    assert invoice_registry.merchantRegistry() == approved_merchants
    assert invoice_registry.hasRole(invoice_registry.AUTHORITY_ROLE(), authority)
    assert invoice_registry.hasRole(invoice_registry.DEFAULT_ADMIN_ROLE(), authority)
    assert invoice_registry.defaultAdmin() == authority
    assert invoice_registry.defaultAdminDelay() == 2 * 86400
    assert invoice_registry.hasRole(invoice_registry.AUDITOR_ROLE(), auditor)
    assert invoice_registry.hasRole(invoice_registry.LEDGER_ROLE(), ledger)


def test_merchant_registry_issuer_profile(approved_merchants, merchant, stranger):
    status, limits, tag = approved_merchants.issuerProfile(merchant)
    assert status == 2  # Approved
    assert list(limits) == list(approved_merchants.merchant(merchant)["limits"])
    assert as_bytes(tag) == seller_tag(MERCHANT_TAX_ID, merchant)
    assert approved_merchants.issuerProfile(stranger)[0] == 0
