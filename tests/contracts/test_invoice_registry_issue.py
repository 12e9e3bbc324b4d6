"""InvoiceRegistry.issue (v2): registration, number ranges, every hard rule (pass / refuse /
boundary), rate groups, every soft rule (clean / flagged / boundary), roles, audit
parameters and pause."""
import datetime

import pytest

from tests.conftest import MERCHANT_TAX_ID, NUMBER_PREFIX, OTHER_MERCHANT_TAX_ID, RANGE_SIZE, licence_hash
from tests.contracts.conftest import (
    BUYER_TAX_ID,
    FLAG_DUPLICATE_DOCUMENT,
    FLAG_MONTHLY_QUOTA,
    FLAG_RATE_SPIKE,
    FLAG_SELF_DEALING,
    FLAGGED,
    ISSUED,
    as_bytes,
    buyer_commitment,
    buyer_digest,
    buyer_tag,
    check_code,
    event_groups,
    china_month_start_after,
    group,
    invoice_key,
    rate_mask,
    revert_args,
    reverts_with,
    status_counts,
    salt_of,
)

DAY = 86400
CAP = 1_000_000  # fen, the per-invoice cap set by `small_limits`
QUOTA = 2_000_000
BASE = NUMBER_PREFIX * 10**15  # numbers under the fixture's prefix are BASE + 1 ...


@pytest.fixture
def small_limits(approved_merchants, authority, merchant):
    """The merchant's limits lowered: cap 10,000.00 yuan, quota 20,000.00 yuan, 3 invoices/hour."""
    approved_merchants.setLimits(merchant, (CAP, QUOTA, 3), {"from": authority})


# ------------------------------------------------------------------ registration


def test_issue_registers_the_invoice(invoice_registry, issue_request, merchant, history):
    request = issue_request(net=123_456, rate=9, item_count=4, invoice_type=1)

    tx = invoice_registry.issue(request, {"from": merchant})

    key = invoice_key(request.number)
    assert as_bytes(tx.return_value) == key
    invoice = invoice_registry.getInvoice(key).dict()
    assert as_bytes(invoice["key"]) == key
    assert invoice["seller"] == merchant
    assert as_bytes(invoice["buyerCommitment"]) == request.buyerCommitment
    assert (invoice["net"], invoice["tax"], invoice["gross"]) == (request.net, request.tax, request.gross)
    assert (invoice["rateMask"], invoice["itemCount"], invoice["invoiceType"]) == (rate_mask(9), 4, 1)
    assert invoice["issuedAt"] == request.issuedAt
    assert (invoice["status"], invoice["flags"]) == (ISSUED, 0)
    assert not invoice["isRedLetter"]
    assert as_bytes(invoice["original"]) == bytes(32)
    assert (invoice["redLettered"], invoice["drawn"], invoice["settled"]) == (0, 0, 0)
    assert invoice["openAmount"] == request.gross
    assert invoice["checkCode"] == check_code(
        request.number, merchant, request.buyerCommitment, request.net, request.tax, request.issuedAt
    )
    assert invoice_registry.verifyDocument(key, request.documentHash)
    assert invoice_registry.availableForReceivable(key) == request.gross
    assert status_counts(invoice_registry, history) == [0, 1, 0, 0, 0, 0, 0]


def test_issue_emits_invoice_issued(invoice_registry, issue_request, merchant):
    request = issue_request(item_count=3)

    tx = invoice_registry.issue(request, {"from": merchant})

    assert "InvoiceFlagged" not in tx.events
    event = tx.events["InvoiceIssued"]
    assert as_bytes(event["key"]) == invoice_key(request.number)
    assert event["seller"] == merchant
    assert as_bytes(event["number"]).decode() == request.number
    assert as_bytes(event["buyerCommitment"]) == request.buyerCommitment
    assert (event["invoiceType"], event["issuedAt"]) == (request.invoiceType, request.issuedAt)
    assert as_bytes(event["documentHash"]) == request.documentHash
    assert event["flags"] == 0
    assert event_groups(event) == [(13, 3, request.net, request.tax)]


def test_issue_stores_maximum_amounts(invoice_registry, approved_merchants, issue_request, authority, merchant):
    biggest = 2**48 - 1
    approved_merchants.setLimits(merchant, (biggest, biggest, 50), {"from": authority})
    request = issue_request(net=biggest, rate=0)
    invoice_registry.issue(request, {"from": merchant})
    assert invoice_registry.getInvoiceByNumber(request.number)["gross"] == biggest


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
        invoice_registry.issue(issue_request(seller=applicant, number=f"{BASE + 5:020d}"), {"from": applicant})


def test_auditor_cannot_issue(invoice_registry, issue_request, auditor, merchant):
    with reverts_with("MerchantNotActive"):
        invoice_registry.issue(issue_request(seller=auditor, number=f"{BASE + 5:020d}"), {"from": auditor})
    with reverts_with("NotMerchantOrOperator"):
        invoice_registry.issue(issue_request(seller=merchant), {"from": auditor})


# ------------------------------------------------------------------ number ranges


def test_fixture_ranges_are_adjacent_and_disjoint(invoice_registry, merchant, other_merchant):
    assert tuple(invoice_registry.numberRangeOf(merchant)) == (BASE + 1, BASE + RANGE_SIZE)
    assert tuple(invoice_registry.numberRangeOf(other_merchant)) == (BASE + RANGE_SIZE + 1, BASE + 2 * RANGE_SIZE)


def test_allocate_number_range_gives_the_next_unused_numbers(invoice_registry, authority, merchant):
    tx = invoice_registry.allocateNumberRange(merchant, NUMBER_PREFIX, 500, {"from": authority})

    first, last = tx.return_value
    assert (first, last) == (BASE + 2 * RANGE_SIZE + 1, BASE + 2 * RANGE_SIZE + 500)
    event = tx.events["NumberRangeAllocated"]
    assert (event["merchant"], event["prefix"], event["first"], event["last"]) == (merchant, NUMBER_PREFIX, first, last)
    assert tuple(invoice_registry.numberRangeOf(merchant)) == (first, last)
    activity = invoice_registry.merchantActivity(merchant).dict()
    assert (activity["rangeFirst"], activity["rangeLast"]) == (first, last)


def test_new_range_replaces_the_previous_one(invoice_registry, issue_request, authority, merchant):
    old_first, _ = invoice_registry.numberRangeOf(merchant)
    first, last = invoice_registry.allocateNumberRange(merchant, 27350, 10, {"from": authority}).return_value

    assert (first, last) == (27350 * 10**15 + 1, 27350 * 10**15 + 10)
    with reverts_with("NumberNotInSellerRange") as excinfo:
        invoice_registry.issue(issue_request(number=f"{old_first + 7:020d}"), {"from": merchant})
    assert revert_args(excinfo) == [str(old_first + 7), str(first), str(last)]
    invoice_registry.issue(issue_request(number=f"{first:020d}"), {"from": merchant})
    invoice_registry.issue(issue_request(number=f"{last:020d}"), {"from": merchant})


def test_issue_accepts_the_edges_of_a_whole_prefix(invoice_registry, issue_request, authority, merchant):
    first, last = invoice_registry.allocateNumberRange(merchant, 99999, 10**15 - 1, {"from": authority}).return_value

    assert (f"{first:020d}", f"{last:020d}") == ("99999000000000000001", "99999999999999999999")
    for number in ("99999000000000000001", "99999999999999999999"):
        invoice_registry.issue(issue_request(number=number), {"from": merchant})
        assert invoice_registry.exists(invoice_key(number))
    with reverts_with("InvalidNumberRange"):  # the prefix is used up
        invoice_registry.allocateNumberRange(merchant, 99999, 1, {"from": authority})


@pytest.mark.parametrize("offset", [0, RANGE_SIZE + 1, 2 * RANGE_SIZE + 1], ids=["before", "other-merchant", "after"])
def test_issue_refuses_number_outside_the_sellers_range(invoice_registry, issue_request, merchant, offset):
    number = f"{BASE + offset:020d}"
    with reverts_with("NumberNotInSellerRange") as excinfo:
        invoice_registry.issue(issue_request(number=number), {"from": merchant})
    assert revert_args(excinfo) == [str(BASE + offset), str(BASE + 1), str(BASE + RANGE_SIZE)]


def test_merchant_without_range_cannot_issue(invoice_registry, merchant_registry, issue_request, authority, accounts):
    applicant = accounts[8]
    merchant_registry.applyAsMerchant("新商户", "91440300MA5EYH1X2H", licence_hash("L-8"), {"from": applicant})
    merchant_registry.approve(applicant, (CAP, QUOTA, 3), b"\x01" * 12, {"from": authority})

    with reverts_with("NumberNotInSellerRange") as excinfo:
        invoice_registry.issue(issue_request(seller=applicant, number=f"{BASE + 5:020d}"), {"from": applicant})
    assert revert_args(excinfo) == [str(BASE + 5), "0", "0"]
    assert tuple(invoice_registry.numberRangeOf(applicant)) == (0, 0)


@pytest.mark.parametrize(
    "prefix, count",
    [(100_000, 10), (NUMBER_PREFIX, 0), (NUMBER_PREFIX, 10**15 - 2 * RANGE_SIZE)],
    ids=["prefix-6-digits", "zero-count", "over-available"],
)
def test_allocate_refuses_invalid_range(invoice_registry, authority, merchant, prefix, count):
    with reverts_with("InvalidNumberRange"):
        invoice_registry.allocateNumberRange(merchant, prefix, count, {"from": authority})


def test_allocate_takes_the_rest_of_a_prefix_exactly(invoice_registry, issue_request, authority, merchant):
    # a prefix holds 10**15 - 1 numbers (15 digits after it, not all zero); the fixture used 2 x RANGE_SIZE
    first, last = invoice_registry.allocateNumberRange(
        merchant, NUMBER_PREFIX, 10**15 - 1 - 2 * RANGE_SIZE, {"from": authority}
    ).return_value
    assert (first, last) == (BASE + 2 * RANGE_SIZE + 1, BASE + 10**15 - 1)
    assert f"{last:020d}" == f"{NUMBER_PREFIX}" + "9" * 15
    invoice_registry.issue(issue_request(number=f"{last:020d}"), {"from": merchant})


def test_allocate_needs_authority_and_an_approved_merchant(
    invoice_registry, approved_merchants, merchant_registry, authority, merchant, stranger, accounts
):
    for sender in (stranger, merchant):
        with reverts_with("AccessControlUnauthorizedAccount"):
            invoice_registry.allocateNumberRange(merchant, NUMBER_PREFIX, 10, {"from": sender})
    with reverts_with("MerchantNotActive", "InvalidMerchantStatus"):
        invoice_registry.allocateNumberRange(stranger, NUMBER_PREFIX, 10, {"from": authority})
    applicant = accounts[8]
    merchant_registry.applyAsMerchant("待审公司", "91440300MA5EYH1X2H", licence_hash("L-8"), {"from": applicant})
    with reverts_with("MerchantNotActive", "InvalidMerchantStatus"):
        invoice_registry.allocateNumberRange(applicant, NUMBER_PREFIX, 10, {"from": authority})
    approved_merchants.suspend(merchant, "audit", {"from": authority})
    with reverts_with("MerchantNotActive", "InvalidMerchantStatus"):
        invoice_registry.allocateNumberRange(merchant, NUMBER_PREFIX, 10, {"from": authority})


# ------------------------------------------------------------------ hard rules


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
        invoice_registry.issue(issue_request(number=request.number), {"from": merchant})
    with reverts_with("InvoiceAlreadyRegistered", "NumberNotInSellerRange"):
        invoice_registry.issue(issue_request(number=request.number, seller=other_merchant), {"from": other_merchant})


@pytest.mark.parametrize("delta", [-1, 1])
def test_issue_refuses_gross_not_net_plus_tax(invoice_registry, issue_request, merchant, delta):
    with reverts_with("GrossMismatch"):
        invoice_registry.issue(issue_request(net=100_000, tax=13_000, gross=113_000 + delta), {"from": merchant})


def test_issue_refuses_overflowing_parts(invoice_registry, issue_request, merchant):
    with reverts_with("GrossMismatch", "AmountTooLarge"):
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
        (100_000, 0, 0, 5, True),  # 0 %: no tax
        (100_000, 0, 1, 5, False),  # 0 %: tolerance 0 whatever the items
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


def test_issue_accepts_china_vat_rates(invoice_registry, issue_request, merchant, history):
    for rate in (0, 1, 3, 5, 6, 9, 13):
        invoice_registry.issue(issue_request(rate=rate), {"from": merchant})
    assert status_counts(invoice_registry, history)[ISSUED] == 7


@pytest.mark.parametrize("rate", [2, 4, 10, 17, 23, 24, 31, 32, 100, 255])
def test_issue_refuses_other_rates(invoice_registry, issue_request, merchant, rate):
    with reverts_with("RateNotAllowed"):
        invoice_registry.issue(issue_request(rate=rate, net=100, tax=rate), {"from": merchant})


def test_authority_sets_allowed_rates(invoice_registry, issue_request, authority, merchant):
    mask = (1 << 13) | (1 << 17) | (1 << 23)
    tx = invoice_registry.setAllowedRates(mask, {"from": authority})
    assert tx.events["AllowedRatesChanged"]["allowedRates"] == mask
    invoice_registry.issue(issue_request(rate=17), {"from": merchant})
    invoice_registry.issue(issue_request(rate=23), {"from": merchant})
    with reverts_with("RateNotAllowed"):
        invoice_registry.issue(issue_request(rate=9), {"from": merchant})


@pytest.mark.parametrize("mask", [0, 1 << 24, (1 << 13) | (1 << 31), 2**32 - 1], ids=["zero", "rate-24", "rate-31", "all"])
def test_allowed_rates_only_0_to_23(invoice_registry, authority, mask):
    with reverts_with("InvalidAllowedRates"):
        invoice_registry.setAllowedRates(mask, {"from": authority})


def test_issue_refuses_zero_items_bad_type_missing_document(invoice_registry, issue_request, merchant):
    with reverts_with("InvalidItemCount"):
        invoice_registry.issue(issue_request(item_count=0), {"from": merchant})
    with reverts_with("InvalidInvoiceType"):
        invoice_registry.issue(issue_request(invoice_type=2), {"from": merchant})
    with reverts_with("MissingDocumentHash"):
        invoice_registry.issue(issue_request(document_hash=bytes(32)), {"from": merchant})


def test_issue_accepts_max_item_count(invoice_registry, issue_request, merchant):
    assert invoice_registry.MAX_ITEM_COUNT() == 1000
    key = invoice_registry.issue(issue_request(item_count=1000), {"from": merchant}).return_value
    assert invoice_registry.getInvoice(key)["itemCount"] == 1000


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
    request = issue_request(issued_at=t - DAY)
    at(t)
    invoice_registry.issue(request, {"from": merchant})
    request = issue_request(issued_at=t + 1)
    at(t + 1)
    invoice_registry.issue(request, {"from": merchant})
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


def test_parameter_setters_need_authority(invoice_registry, merchant, stranger, auditor):
    for sender in (stranger, auditor):
        for call in (
            lambda: invoice_registry.setAllowedRates(1, {"from": sender}),
            lambda: invoice_registry.setIssueTimeWindow(DAY, 0, {"from": sender}),
            lambda: invoice_registry.setRoundingTolerance(2, {"from": sender}),
            lambda: invoice_registry.setVoidWindow(3600, {"from": sender}),
            lambda: invoice_registry.allocateNumberRange(merchant, NUMBER_PREFIX, 1, {"from": sender}),
            lambda: invoice_registry.pause({"from": sender}),
            lambda: invoice_registry.unpause({"from": sender}),
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
    assert invoice_registry.MAX_BATCH_SIZE() == 200


def test_pause_stops_issuance(invoice_registry, issue_request, authority, merchant):
    tx = invoice_registry.pause({"from": authority})
    assert tx.events["Paused"]["account"] == authority
    assert invoice_registry.paused()
    assert invoice_registry.auditParameters()["paused"]
    with reverts_with("EnforcedPause"):
        invoice_registry.issue(issue_request(), {"from": merchant})
    with reverts_with("EnforcedPause"):
        invoice_registry.pause({"from": authority})

    tx = invoice_registry.unpause({"from": authority})
    assert tx.events["Unpaused"]["account"] == authority
    invoice_registry.issue(issue_request(), {"from": merchant})
    with reverts_with("ExpectedPause"):
        invoice_registry.unpause({"from": authority})


# ------------------------------------------------------------------ rate groups


def test_issue_registers_several_rates(invoice_registry, issue_request, merchant):
    groups = [group(3, 10_000, 2), group(6, 50_000, 3), group(13, 100_000, 5)]
    request = issue_request(groups=groups)

    key = invoice_registry.issue(request, {"from": merchant}).return_value

    invoice = invoice_registry.getInvoice(key)
    assert (invoice["net"], invoice["tax"], invoice["gross"]) == (160_000, 16_300, 176_300)
    assert (invoice["rateMask"], invoice["itemCount"]) == (rate_mask(3, 6, 13), 10)


@pytest.mark.parametrize(
    "rates",
    [[13, 6], [6, 6], [0, 13, 9]],
    ids=["descending", "repeated", "unsorted-tail"],
)
def test_issue_refuses_rates_not_strictly_ascending(invoice_registry, issue_request, merchant, rates):
    groups = [group(rate, 10_000) for rate in rates]
    with reverts_with("InvalidRateGroups"):
        invoice_registry.issue(issue_request(groups=groups), {"from": merchant})


def test_issue_refuses_no_groups(invoice_registry, issue_request, merchant):
    with reverts_with("InvalidRateGroups"):
        invoice_registry.issue(issue_request(groups=[], net=100, tax=0), {"from": merchant})


def test_issue_refuses_group_with_rate_not_allowed(invoice_registry, issue_request, merchant):
    with reverts_with("RateNotAllowed"):
        invoice_registry.issue(issue_request(groups=[group(6, 1_000), group(10, 1_000)]), {"from": merchant})


@pytest.mark.parametrize("field", ["net", "tax"])
def test_issue_refuses_totals_not_the_group_sums(invoice_registry, issue_request, merchant, field):
    groups = [group(6, 50_000), group(13, 100_000)]
    net, tax = 150_000, 16_000
    overrides = {"net": net + 1 if field == "net" else net, "tax": tax + 1 if field == "tax" else tax}
    with reverts_with("RateGroupTotalsMismatch"):
        invoice_registry.issue(issue_request(groups=groups, **overrides), {"from": merchant})


def test_issue_refuses_a_group_without_items(invoice_registry, issue_request, merchant):
    with reverts_with("InvalidItemCount"):
        invoice_registry.issue(issue_request(groups=[group(6, 1_000, 1), group(13, 1_000, 0)]), {"from": merchant})


# ------------------------------------------------------------------ soft rules


def test_monthly_quota_edge_flags_next_invoice(invoice_registry, issue_request, merchant, small_limits, at, now):
    month_start = china_month_start_after(now())
    request = issue_request(net=CAP, rate=0, issued_at=month_start)
    at(month_start + 10)
    invoice_registry.issue(request, {"from": merchant})
    request = issue_request(net=CAP, rate=0, issued_at=month_start)
    at(month_start + 4000)
    tx = invoice_registry.issue(request, {"from": merchant})
    assert tx.events["InvoiceIssued"]["flags"] == 0  # exactly at the quota
    request = issue_request(net=1, rate=0, issued_at=month_start)
    at(month_start + 8000)
    tx = invoice_registry.issue(request, {"from": merchant})
    key = tx.return_value
    assert tx.events["InvoiceIssued"]["flags"] == FLAG_MONTHLY_QUOTA
    event = tx.events["InvoiceFlagged"]
    assert (as_bytes(event["key"]), event["seller"], event["flags"]) == (as_bytes(key), merchant, FLAG_MONTHLY_QUOTA)
    assert invoice_registry.getInvoice(key)["status"] == FLAGGED
    activity = invoice_registry.merchantActivity(merchant).dict()
    assert activity["monthGross"] == QUOTA + 1
    assert (activity["rangeFirst"], activity["rangeLast"]) == tuple(invoice_registry.numberRangeOf(merchant))


def test_monthly_quota_resets_with_china_month(invoice_registry, issue_request, merchant, small_limits, at, now):
    next_month = china_month_start_after(now())
    requests = [issue_request(net=CAP, rate=0, issued_at=next_month - 20) for _ in range(3)]
    at(next_month - 10)  # 23:59:50 China time on the last day of the month
    invoice_registry.issue(requests[0], {"from": merchant})
    at(next_month - 5)
    invoice_registry.issue(requests[1], {"from": merchant})
    at(next_month)  # 00:00:00 China time: a new month
    tx = invoice_registry.issue(requests[2], {"from": merchant})
    assert tx.events["InvoiceIssued"]["flags"] == 0
    activity = invoice_registry.merchantActivity(merchant).dict()
    assert activity["monthGross"] == CAP
    d = datetime.datetime.fromtimestamp(next_month + 8 * 3600, datetime.timezone.utc)
    assert activity["month"] == d.year * 100 + d.month


def test_duplicate_document_of_the_same_seller_is_flagged(invoice_registry, issue_request, merchant):
    document = b"\x11" * 32
    first = invoice_registry.issue(issue_request(document_hash=document), {"from": merchant}).return_value
    tx = invoice_registry.issue(issue_request(document_hash=document), {"from": merchant})
    second = tx.return_value

    assert tx.events["InvoiceFlagged"]["flags"] == FLAG_DUPLICATE_DOCUMENT
    assert invoice_registry.getInvoice(second)["status"] == FLAGGED
    assert invoice_registry.getInvoice(first)["status"] == ISSUED
    assert [as_bytes(x) for x in invoice_registry.duplicateOf(second)] == [document, as_bytes(first)]
    assert [as_bytes(x) for x in invoice_registry.duplicateOf(first)] == [bytes(32), bytes(32)]
    assert invoice_registry.verifyDocument(first, document)
    assert invoice_registry.verifyDocument(second, document)


def test_same_document_of_another_seller_is_not_flagged(invoice_registry, issue_request, merchant, other_merchant):
    document = b"\x12" * 32
    first = invoice_registry.issue(issue_request(document_hash=document), {"from": merchant}).return_value
    tx = invoice_registry.issue(issue_request(document_hash=document, seller=other_merchant), {"from": other_merchant})

    assert tx.events["InvoiceIssued"]["flags"] == 0
    assert "InvoiceFlagged" not in tx.events
    assert invoice_registry.verifyDocument(first, document)
    assert invoice_registry.verifyDocument(tx.return_value, document)


def test_self_dealing_is_flagged(invoice_registry, issue_request, merchant):
    tx = invoice_registry.issue(issue_request(buyer_tax_id=MERCHANT_TAX_ID), {"from": merchant})
    assert tx.events["InvoiceFlagged"]["flags"] == FLAG_SELF_DEALING
    tx = invoice_registry.issue(issue_request(buyer_tax_id=OTHER_MERCHANT_TAX_ID), {"from": merchant})
    assert tx.events["InvoiceIssued"]["flags"] == 0


def test_buyer_commitment_helpers_match_the_contract(invoice_registry):
    salt = salt_of("26440000000000000001")
    tag = buyer_tag(BUYER_TAX_ID)
    commitment, digest = invoice_registry.buyerCommitmentOf(salt, BUYER_TAX_ID, tag)
    assert as_bytes(digest) == buyer_digest(salt, BUYER_TAX_ID)
    assert as_bytes(commitment) == buyer_commitment(buyer_digest(salt, BUYER_TAX_ID), tag)


def test_rate_spike_over_hourly_norm(invoice_registry, issue_request, merchant, small_limits, at, now):
    hour = (now() // 3600 + 1) * 3600
    for i in range(3):  # the norm: 3 per hour
        request = issue_request(issued_at=hour - 60)
        at(hour + i)
        assert invoice_registry.issue(request, {"from": merchant}).events["InvoiceIssued"]["flags"] == 0
    request = issue_request(issued_at=hour - 60)
    at(hour + 3599)
    tx = invoice_registry.issue(request, {"from": merchant})
    assert tx.events["InvoiceFlagged"]["flags"] == FLAG_RATE_SPIKE
    request = issue_request(issued_at=hour - 60)
    at(hour + 3600)  # the next hour starts a new count
    assert invoice_registry.issue(request, {"from": merchant}).events["InvoiceIssued"]["flags"] == 0
    assert invoice_registry.merchantActivity(merchant)["hourCount"] == 1


def test_flags_combine(invoice_registry, issue_request, merchant, history):
    document = b"\x22" * 32
    invoice_registry.issue(issue_request(document_hash=document), {"from": merchant})
    tx = invoice_registry.issue(issue_request(document_hash=document, buyer_tax_id=MERCHANT_TAX_ID), {"from": merchant})
    flags = FLAG_DUPLICATE_DOCUMENT | FLAG_SELF_DEALING
    assert tx.events["InvoiceFlagged"]["flags"] == flags
    status, got, names = invoice_registry.statusOf(tx.return_value)
    assert (status, got, list(names)) == (FLAGGED, flags, ["DuplicateDocument", "SelfDealing"])
    assert status_counts(invoice_registry, history) == [0, 1, 1, 0, 0, 0, 0]
