"""InvoiceRegistry.issue: registration, every hard rule (pass / refuse / boundary), every
soft rule (clean / flagged / boundary), roles, audit parameters and pause."""
import pytest

from tests.conftest import MERCHANT_TAX_ID, OTHER_MERCHANT_TAX_ID, licence_hash
from tests.contracts.conftest import (
    FLAG_DUPLICATE_DOCUMENT,
    FLAG_MONTHLY_QUOTA,
    FLAG_RATE_SPIKE,
    FLAG_SELF_DEALING,
    FLAGGED,
    ISSUED,
    as_bytes,
    check_code,
    china_month_start_after,
    invoice_key,
    reverts_with,
    tax_id_hash,
)

DAY = 86400
CAP = 1_000_000  # fen, the per-invoice cap set by `small_limits`
QUOTA = 2_000_000


@pytest.fixture
def small_limits(approved_merchants, authority, merchant):
    """The merchant's limits lowered: cap 10,000.00 yuan, quota 20,000.00 yuan, 3 invoices/hour."""
    approved_merchants.setLimits(merchant, (CAP, QUOTA, 3), {"from": authority})


# ------------------------------------------------------------------ registration


def test_issue_registers_the_invoice(invoice_registry, issue_request, merchant):
    request = issue_request(net=123_456, rate=9, item_count=4, invoice_type=1)
    number, _, buyer, net, tax, gross, rate, items, kind, issued_at, document = request

    tx = invoice_registry.issue(request, {"from": merchant})

    key = invoice_key(number)
    assert as_bytes(tx.return_value) == key
    invoice = invoice_registry.getInvoice(key).dict()
    assert as_bytes(invoice["key"]) == key
    assert invoice["seller"] == merchant
    assert as_bytes(invoice["buyerIdHash"]) == buyer
    assert (invoice["net"], invoice["tax"], invoice["gross"]) == (net, tax, gross)
    assert (invoice["rate"], invoice["itemCount"], invoice["invoiceType"]) == (9, 4, 1)
    assert invoice["issuedAt"] == issued_at
    assert (invoice["status"], invoice["flags"]) == (ISSUED, 0)
    assert not invoice["isRedLetter"]
    assert as_bytes(invoice["original"]) == bytes(32)
    assert (invoice["redLettered"], invoice["drawn"], invoice["openAmount"]) == (0, 0, gross)
    assert invoice["checkCode"] == check_code(number, merchant, buyer, net, tax, issued_at)
    assert invoice_registry.verifyDocument(key, document)
    assert list(invoice_registry.statusCounts()) == [0, 1, 0, 0, 0, 0, 0]


def test_issue_emits_invoice_issued(invoice_registry, issue_request, merchant):
    request = issue_request()
    tx = invoice_registry.issue(request, {"from": merchant})

    assert "InvoiceFlagged" not in tx.events
    event = tx.events["InvoiceIssued"]
    assert as_bytes(event["key"]) == invoice_key(request[0])
    assert event["seller"] == merchant
    assert as_bytes(event["buyerIdHash"]) == request[2]
    assert as_bytes(event["number"]).decode() == request[0]
    assert (event["net"], event["tax"], event["rate"]) == (request[3], request[4], request[6])
    assert (event["invoiceType"], event["issuedAt"]) == (request[8], request[9])
    assert as_bytes(event["documentHash"]) == request[10]
    assert event["flags"] == 0


def test_issue_stores_maximum_amounts(invoice_registry, approved_merchants, issue_request, authority, merchant):
    biggest = 2**48 - 1
    approved_merchants.setLimits(merchant, (biggest, biggest, 50), {"from": authority})
    request = issue_request(net=biggest, rate=0)
    invoice_registry.issue(request, {"from": merchant})
    assert invoice_registry.getInvoiceByNumber(request[0])["gross"] == biggest


def test_issue_refuses_amount_over_48_bits(invoice_registry, issue_request, merchant):
    with reverts_with("AmountTooLarge"):
        invoice_registry.issue(issue_request(net=2**48, rate=0), {"from": merchant})


# ------------------------------------------------------------------ roles


def test_operator_issues_for_merchant(invoice_registry, approved_merchants, issue_request, merchant, operator):
    approved_merchants.setOperator(operator, True, {"from": merchant})
    tx = invoice_registry.issue(issue_request(), {"from": operator})
    assert tx.events["InvoiceIssued"]["seller"] == merchant

    approved_merchants.setOperator(operator, False, {"from": merchant})
    with reverts_with("NotMerchantOrOperator"):
        invoice_registry.issue(issue_request(), {"from": operator})


def test_stranger_cannot_issue_for_merchant(invoice_registry, issue_request, stranger):
    with reverts_with("NotMerchantOrOperator"):
        invoice_registry.issue(issue_request(), {"from": stranger})


def test_other_merchant_cannot_issue_for_merchant(invoice_registry, issue_request, merchant, other_merchant):
    with reverts_with("NotMerchantOrOperator"):
        invoice_registry.issue(issue_request(seller=merchant), {"from": other_merchant})
    tx = invoice_registry.issue(issue_request(seller=other_merchant), {"from": other_merchant})
    assert tx.events["InvoiceIssued"]["seller"] == other_merchant


def test_suspended_merchant_cannot_issue(invoice_registry, approved_merchants, issue_request, authority, merchant):
    approved_merchants.suspend(merchant, "audit", {"from": authority})
    with reverts_with("MerchantNotActive"):
        invoice_registry.issue(issue_request(), {"from": merchant})

    approved_merchants.reinstate(merchant, {"from": authority})
    invoice_registry.issue(issue_request(), {"from": merchant})


def test_pending_merchant_cannot_issue(invoice_registry, merchant_registry, issue_request, accounts):
    applicant = accounts[8]
    merchant_registry.applyAsMerchant("待审公司", "91440300MA5EYH1X2H", licence_hash("L-8"), {"from": applicant})
    with reverts_with("MerchantNotActive"):
        invoice_registry.issue(issue_request(seller=applicant), {"from": applicant})


def test_auditor_cannot_issue(invoice_registry, issue_request, auditor, merchant):
    with reverts_with("MerchantNotActive"):
        invoice_registry.issue(issue_request(seller=auditor), {"from": auditor})
    with reverts_with("NotMerchantOrOperator"):
        invoice_registry.issue(issue_request(seller=merchant), {"from": auditor})


# ------------------------------------------------------------------ hard rules


@pytest.mark.parametrize("number", ["00000000000000000000", "99999999999999999999", "26440000000000012345"])
def test_issue_accepts_20_digit_numbers(invoice_registry, issue_request, merchant, number):
    invoice_registry.issue(issue_request(number=number), {"from": merchant})
    assert invoice_registry.exists(invoice_key(number))


@pytest.mark.parametrize(
    "number",
    ["2644000000000000001", "264400000000000000001", "2644000000000000000A", "2644000000000000000/",
     "2644000000000000000:", " 2644000000000000001", "２６４４００００００００００００００"],
)
def test_issue_refuses_malformed_numbers(invoice_registry, issue_request, merchant, number):
    with reverts_with("InvalidInvoiceNumber"):
        invoice_registry.issue(issue_request(number=number), {"from": merchant})


def test_issue_refuses_duplicate_number(invoice_registry, issue_request, merchant, other_merchant):
    request = issue_request()
    invoice_registry.issue(request, {"from": merchant})
    with reverts_with("InvoiceAlreadyRegistered"):
        invoice_registry.issue(issue_request(number=request[0]), {"from": merchant})
    with reverts_with("InvoiceAlreadyRegistered"):
        invoice_registry.issue(issue_request(number=request[0], seller=other_merchant), {"from": other_merchant})


@pytest.mark.parametrize("delta", [-1, 1])
def test_issue_refuses_gross_not_net_plus_tax(invoice_registry, issue_request, merchant, delta):
    with reverts_with("GrossMismatch"):
        invoice_registry.issue(issue_request(net=100_000, tax=13_000, gross=113_000 + delta), {"from": merchant})


def test_issue_refuses_overflowing_parts(invoice_registry, issue_request, merchant):
    with reverts_with("GrossMismatch"):
        invoice_registry.issue(issue_request(net=2**256 - 1, tax=2, gross=1, rate=0), {"from": merchant})


def test_issue_refuses_zero_amount(invoice_registry, issue_request, merchant):
    with reverts_with("ZeroAmount"):
        invoice_registry.issue(issue_request(net=0, rate=0), {"from": merchant})


@pytest.mark.parametrize(
    "net, rate, tax, items, ok",
    [
        (100_000, 13, 13_000, 1, True),  # exact
        (100_000, 13, 13_001, 1, True),  # 1 fen off, tolerance 1 fen: edge
        (100_000, 13, 12_999, 1, True),
        (100_000, 13, 13_002, 1, False),  # 2 fen off, tolerance 1
        (100_000, 13, 13_002, 2, True),  # tolerance grows with items: edge
        (100_000, 13, 12_998, 2, True),
        (100_000, 13, 12_997, 2, False),
        (1, 13, 0, 1, True),  # exact 0.13 fen
        (1, 13, 1, 1, True),  # 0.87 fen off
        (1, 13, 2, 1, False),  # 1.87 fen off
        (99_999, 6, 6_000, 1, True),  # exact 5999.94
        (99_999, 6, 6_001, 1, False),  # 1.06 off
    ],
)
def test_tax_rounding_tolerance(invoice_registry, issue_request, merchant, net, rate, tax, items, ok):
    request = issue_request(net=net, rate=rate, tax=tax, item_count=items)
    if ok:
        invoice_registry.issue(request, {"from": merchant})
    else:
        with reverts_with("TaxOutOfTolerance"):
            invoice_registry.issue(request, {"from": merchant})


def test_zero_tolerance_requires_exact_tax(invoice_registry, issue_request, authority, merchant):
    tx = invoice_registry.setRoundingTolerance(0, {"from": authority})
    assert tx.events["RoundingToleranceChanged"]["perItemTolerance"] == 0
    with reverts_with("TaxOutOfTolerance"):
        invoice_registry.issue(issue_request(net=100_000, tax=13_001, item_count=10), {"from": merchant})
    invoice_registry.issue(issue_request(net=100_000, tax=13_000), {"from": merchant})


def test_issue_accepts_china_vat_rates(invoice_registry, issue_request, merchant):
    for rate in (0, 1, 3, 5, 6, 9, 13):
        invoice_registry.issue(issue_request(rate=rate), {"from": merchant})
    assert invoice_registry.statusCounts()[ISSUED] == 7


@pytest.mark.parametrize("rate", [2, 4, 10, 17, 31, 32, 100, 255])
def test_issue_refuses_other_rates(invoice_registry, issue_request, merchant, rate):
    with reverts_with("RateNotAllowed"):
        invoice_registry.issue(issue_request(rate=rate, net=100, tax=rate), {"from": merchant})


def test_authority_sets_allowed_rates(invoice_registry, issue_request, authority, merchant):
    mask = (1 << 13) | (1 << 17)
    tx = invoice_registry.setAllowedRates(mask, {"from": authority})
    assert tx.events["AllowedRatesChanged"]["allowedRates"] == mask
    invoice_registry.issue(issue_request(rate=17), {"from": merchant})
    with reverts_with("RateNotAllowed"):
        invoice_registry.issue(issue_request(rate=9), {"from": merchant})
    with reverts_with("InvalidAllowedRates"):
        invoice_registry.setAllowedRates(0, {"from": authority})


def test_issue_refuses_zero_items_bad_type_missing_document(invoice_registry, issue_request, merchant):
    with reverts_with("InvalidItemCount"):
        invoice_registry.issue(issue_request(item_count=0), {"from": merchant})
    with reverts_with("InvalidInvoiceType"):
        invoice_registry.issue(issue_request(invoice_type=2), {"from": merchant})
    with reverts_with("MissingDocumentHash"):
        invoice_registry.issue(issue_request(document_hash=bytes(32)), {"from": merchant})


def test_issue_time_window_edges(invoice_registry, issue_request, merchant, at, now):
    t = now() + 1000
    cases = [
        (t + 300, None),  # future skew edge (5 minutes)
        (t + 301, "IssueTimeInFuture"),
        (t - 30 * DAY, None),  # backdating edge (30 days)
        (t - 30 * DAY - 1, "IssueTimeTooOld"),
    ]
    for offset, (issued_at, error) in enumerate(cases):
        request = issue_request(issued_at=issued_at + offset)
        at(t + offset)
        if error is None:
            invoice_registry.issue(request, {"from": merchant})
        else:
            with reverts_with(error):
                invoice_registry.issue(request, {"from": merchant, "gas_limit": 1_000_000})


def test_authority_sets_issue_time_window(invoice_registry, issue_request, authority, merchant, at, now):
    tx = invoice_registry.setIssueTimeWindow(DAY, 0, {"from": authority})
    event = tx.events["IssueTimeWindowChanged"]
    assert (event["backdatingWindow"], event["futureSkew"]) == (DAY, 0)
    t = now() + 100
    at(t)
    invoice_registry.issue(issue_request(issued_at=t - DAY), {"from": merchant})
    at(t + 1)
    invoice_registry.issue(issue_request(issued_at=t + 1), {"from": merchant})
    with reverts_with("IssueTimeInFuture"):
        invoice_registry.issue(issue_request(issued_at=now() + 2), {"from": merchant, "gas_limit": 1_000_000})
    with reverts_with("IssueTimeTooOld"):
        invoice_registry.issue(issue_request(issued_at=now() - DAY - 1), {"from": merchant, "gas_limit": 1_000_000})
    with reverts_with("InvalidIssueTimeWindow"):
        invoice_registry.setIssueTimeWindow(0, 60, {"from": authority})


def test_issue_cap_edge(invoice_registry, issue_request, merchant, small_limits):
    invoice_registry.issue(issue_request(net=CAP, rate=0), {"from": merchant})
    with reverts_with("InvoiceCapExceeded"):
        invoice_registry.issue(issue_request(net=CAP + 1, rate=0), {"from": merchant})


def test_parameter_setters_need_authority(invoice_registry, stranger, auditor):
    for sender in (stranger, auditor):
        for call in (
            lambda: invoice_registry.setAllowedRates(1, {"from": sender}),
            lambda: invoice_registry.setIssueTimeWindow(DAY, 0, {"from": sender}),
            lambda: invoice_registry.setRoundingTolerance(2, {"from": sender}),
            lambda: invoice_registry.setVoidWindow(3600, {"from": sender}),
            lambda: invoice_registry.pause({"from": sender}),
        ):
            with reverts_with("AccessControlUnauthorizedAccount"):
                call()


def test_audit_parameter_defaults(invoice_registry):
    params = invoice_registry.auditParameters().dict()
    assert params == {
        "allowedRates": sum(1 << r for r in (0, 1, 3, 5, 6, 9, 13)),
        "backdatingWindow": 30 * DAY,
        "futureSkew": 300,
        "perItemTolerance": 1,
        "voidWindow": 0,
        "paused": False,
    }


def test_pause_stops_issuance(invoice_registry, issue_request, authority, merchant):
    tx = invoice_registry.pause({"from": authority})
    assert tx.events["Paused"]["account"] == authority
    assert invoice_registry.paused()
    with reverts_with("EnforcedPause"):
        invoice_registry.issue(issue_request(), {"from": merchant})
    with reverts_with("EnforcedPause"):
        invoice_registry.pause({"from": authority})

    tx = invoice_registry.unpause({"from": authority})
    assert tx.events["Unpaused"]["account"] == authority
    invoice_registry.issue(issue_request(), {"from": merchant})
    with reverts_with("ExpectedPause"):
        invoice_registry.unpause({"from": authority})


# ------------------------------------------------------------------ soft rules


def test_monthly_quota_edge_flags_next_invoice(invoice_registry, issue_request, merchant, small_limits, at, now):
    month_start = china_month_start_after(now())
    at(month_start + 10)
    invoice_registry.issue(issue_request(net=CAP, rate=0, issued_at=month_start), {"from": merchant})
    at(month_start + 4000)
    tx = invoice_registry.issue(issue_request(net=CAP, rate=0, issued_at=month_start), {"from": merchant})
    assert tx.events["InvoiceIssued"]["flags"] == 0  # exactly at the quota
    at(month_start + 8000)
    tx = invoice_registry.issue(issue_request(net=1, rate=0, issued_at=month_start), {"from": merchant})
    key = tx.return_value
    assert tx.events["InvoiceIssued"]["flags"] == FLAG_MONTHLY_QUOTA
    event = tx.events["InvoiceFlagged"]
    assert (as_bytes(event["key"]), event["seller"], event["flags"]) == (as_bytes(key), merchant, FLAG_MONTHLY_QUOTA)
    assert invoice_registry.getInvoice(key)["status"] == FLAGGED
    activity = invoice_registry.merchantActivity(merchant).dict()
    assert activity["monthGross"] == QUOTA + 1
    assert activity["issuedCount"] == 3


def test_monthly_quota_resets_with_china_month(invoice_registry, issue_request, merchant, small_limits, at, now):
    next_month = china_month_start_after(now())
    at(next_month - 10)  # 23:59:50 China time on the last day of the month
    invoice_registry.issue(issue_request(net=CAP, rate=0), {"from": merchant})
    at(next_month - 5)
    invoice_registry.issue(issue_request(net=CAP, rate=0), {"from": merchant})
    at(next_month)  # 00:00:00 China time: a new month
    tx = invoice_registry.issue(issue_request(net=CAP, rate=0), {"from": merchant})
    assert tx.events["InvoiceIssued"]["flags"] == 0
    activity = invoice_registry.merchantActivity(merchant).dict()
    assert activity["monthGross"] == CAP
    import datetime

    d = datetime.datetime.fromtimestamp(next_month + 8 * 3600, datetime.timezone.utc)
    assert activity["month"] == d.year * 100 + d.month


def test_duplicate_document_is_flagged(invoice_registry, issue_request, merchant, other_merchant):
    document = b"\x11" * 32
    first = invoice_registry.issue(issue_request(document_hash=document), {"from": merchant}).return_value
    tx = invoice_registry.issue(issue_request(document_hash=document, seller=other_merchant), {"from": other_merchant})
    second = tx.return_value

    assert tx.events["InvoiceFlagged"]["flags"] == FLAG_DUPLICATE_DOCUMENT
    assert invoice_registry.getInvoice(second)["status"] == FLAGGED
    assert as_bytes(invoice_registry.keyOfDocument(document)) == as_bytes(first)
    assert [as_bytes(x) for x in invoice_registry.duplicateOf(second)] == [document, as_bytes(first)]
    assert [as_bytes(x) for x in invoice_registry.duplicateOf(first)] == [bytes(32), bytes(32)]
    assert invoice_registry.verifyDocument(first, document)
    assert invoice_registry.verifyDocument(second, document)


def test_self_dealing_is_flagged(invoice_registry, issue_request, merchant):
    own = tax_id_hash(MERCHANT_TAX_ID)
    tx = invoice_registry.issue(issue_request(buyer_id_hash=own), {"from": merchant})
    assert tx.events["InvoiceFlagged"]["flags"] == FLAG_SELF_DEALING
    other = tax_id_hash(OTHER_MERCHANT_TAX_ID)
    tx = invoice_registry.issue(issue_request(buyer_id_hash=other), {"from": merchant})
    assert tx.events["InvoiceIssued"]["flags"] == 0


def test_rate_spike_over_hourly_norm(invoice_registry, issue_request, merchant, small_limits, at, now):
    hour = (now() // 3600 + 1) * 3600
    for i in range(3):  # the norm: 3 per hour
        at(hour + i)
        assert invoice_registry.issue(issue_request(), {"from": merchant}).events["InvoiceIssued"]["flags"] == 0
    at(hour + 3599)
    tx = invoice_registry.issue(issue_request(), {"from": merchant})
    assert tx.events["InvoiceFlagged"]["flags"] == FLAG_RATE_SPIKE
    at(hour + 3600)  # the next hour starts a new count
    assert invoice_registry.issue(issue_request(), {"from": merchant}).events["InvoiceIssued"]["flags"] == 0
    assert invoice_registry.merchantActivity(merchant)["hourCount"] == 1


def test_flags_combine(invoice_registry, issue_request, merchant):
    document = b"\x22" * 32
    invoice_registry.issue(issue_request(document_hash=document), {"from": merchant})
    tx = invoice_registry.issue(
        issue_request(document_hash=document, buyer_id_hash=tax_id_hash(MERCHANT_TAX_ID)), {"from": merchant}
    )
    flags = FLAG_DUPLICATE_DOCUMENT | FLAG_SELF_DEALING
    assert tx.events["InvoiceFlagged"]["flags"] == flags
    status, got, names = invoice_registry.statusOf(tx.return_value)
    assert (status, got, list(names)) == (FLAGGED, flags, ["DuplicateDocument", "SelfDealing"])
    assert list(invoice_registry.statusCounts()) == [0, 1, 1, 0, 0, 0, 0]


def test_open_merchant_book(invoice_registry, issue_request, merchant, stranger):
    tx = invoice_registry.openMerchantBook(merchant, {"from": stranger})
    assert tx.events["MerchantBookOpened"]["merchant"] == merchant
    tx = invoice_registry.openMerchantBook(merchant, {"from": stranger})
    assert "MerchantBookOpened" not in tx.events
    invoice_registry.issue(issue_request(), {"from": merchant})
    assert invoice_registry.merchantActivity(merchant)["issuedCount"] == 1
