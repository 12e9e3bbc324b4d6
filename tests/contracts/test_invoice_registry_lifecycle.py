"""InvoiceRegistry after issuance (v2): review, void, red-letter notes, receivable coupling,
status counts and the timeline rebuilt from events."""
import pytest

from tests.conftest import MERCHANT_TAX_ID
from tests.contracts.conftest import (
    CLEARED,
    FLAGGED,
    ISSUED,
    RED_LETTERED,
    REJECTED,
    VOIDED,
    as_bytes,
    china_month_start_after,
    group,
    invoice_key,
    rate_mask,
    reverts_with,
    status_counts,
)

SELF = MERCHANT_TAX_ID  # buyer = seller: a flagged invoice


@pytest.fixture
def flagged_invoice(invoice_registry, issue_request):
    """A Flagged (self-dealing) invoice of gross 113,000 fen: (key, request)."""
    request = issue_request(buyer_tax_id=SELF)
    key = invoice_registry.issue(request, {"from": request.seller}).return_value
    assert invoice_registry.getInvoice(key)["status"] == FLAGGED
    return key, request


@pytest.fixture
def flagged(flagged_invoice):
    return flagged_invoice[0]


@pytest.fixture
def original(invoice_registry, issue_request, merchant):
    """An Issued invoice of gross 113,000 fen (net 100,000 at 13 %), and its request."""
    request = issue_request(net=100_000)
    key = invoice_registry.issue(request, {"from": merchant}).return_value
    return key, request


@pytest.fixture
def note_request(issue_request, request):
    """A red-letter note request matching `of` (default: the `original` fixture's request):
    same seller, buyer commitment and rate, a fresh number and document."""

    def build(net, of=None, **overrides):
        of = request.getfixturevalue("original")[1] if of is None else of
        return issue_request(net=net, like=of, **overrides)

    return build


# ------------------------------------------------------------------ review


def test_auditor_clears_flagged_invoice(invoice_registry, flagged, auditor, history):
    tx = invoice_registry.clear(flagged, 7, {"from": auditor})
    event = tx.events["InvoiceCleared"]
    assert (as_bytes(event["key"]), event["auditor"], event["reasonCode"]) == (as_bytes(flagged), auditor, 7)
    invoice = invoice_registry.getInvoice(flagged)
    assert invoice["status"] == CLEARED
    assert invoice["flags"] == 4  # the reason stays on record
    assert status_counts(invoice_registry, history) == [0, 0, 0, 1, 0, 0, 0]


def test_auditor_rejects_flagged_invoice(invoice_registry, flagged_invoice, auditor, merchant, ledger, note_request,
                                         history):
    flagged, request = flagged_invoice
    tx = invoice_registry.reject(flagged, 9, {"from": auditor})
    event = tx.events["InvoiceRejected"]
    assert (as_bytes(event["key"]), event["auditor"], event["reasonCode"]) == (as_bytes(flagged), auditor, 9)
    assert invoice_registry.getInvoice(flagged)["status"] == REJECTED
    assert invoice_registry.openAmount(flagged) == 0
    assert status_counts(invoice_registry, history) == [0, 0, 0, 0, 1, 0, 0]
    # a rejected invoice can no longer be voided, red-lettered or drawn on
    with reverts_with("InvalidInvoiceStatus"):
        invoice_registry.voidInvoice(flagged, {"from": merchant})
    with reverts_with("InvalidInvoiceStatus"):
        invoice_registry.issueRedLetter(flagged, note_request(1000, of=request), 1, {"from": merchant})
    with reverts_with("InvalidInvoiceStatus"):
        invoice_registry.drawForReceivable(flagged, 1, {"from": ledger})


def test_review_needs_auditor_role(invoice_registry, flagged, merchant, stranger, authority):
    for sender in (merchant, stranger, authority):
        with reverts_with("AccessControlUnauthorizedAccount"):
            invoice_registry.clear(flagged, 1, {"from": sender})
        with reverts_with("AccessControlUnauthorizedAccount"):
            invoice_registry.reject(flagged, 1, {"from": sender})


def test_review_only_flagged(invoice_registry, original, flagged, auditor):
    key, _ = original
    with reverts_with("InvalidInvoiceStatus"):
        invoice_registry.clear(key, 1, {"from": auditor})
    invoice_registry.clear(flagged, 1, {"from": auditor})
    with reverts_with("InvalidInvoiceStatus"):
        invoice_registry.clear(flagged, 1, {"from": auditor})
    with reverts_with("InvalidInvoiceStatus"):
        invoice_registry.reject(flagged, 1, {"from": auditor})
    with reverts_with("InvoiceNotFound"):
        invoice_registry.clear(b"\x01" * 32, 1, {"from": auditor})


# ------------------------------------------------------------------ void


def test_merchant_voids_issued_invoice(invoice_registry, original, merchant, history):
    key, _ = original
    tx = invoice_registry.voidInvoice(key, {"from": merchant})
    event = tx.events["InvoiceVoided"]
    assert (as_bytes(event["key"]), event["seller"], event["operator"]) == (as_bytes(key), merchant, merchant)
    assert invoice_registry.getInvoice(key)["status"] == VOIDED
    assert invoice_registry.openAmount(key) == 0
    assert status_counts(invoice_registry, history) == [0, 0, 0, 0, 0, 1, 0]
    with reverts_with("InvalidInvoiceStatus"):
        invoice_registry.voidInvoice(key, {"from": merchant})


def test_operator_voids_cleared_invoice(invoice_registry, approved_merchants, flagged, auditor, merchant, operator,
                                        history):
    invoice_registry.clear(flagged, 1, {"from": auditor})
    approved_merchants.setOperator(operator, True, {"from": merchant})
    tx = invoice_registry.voidInvoice(flagged, {"from": operator})
    assert tx.events["InvoiceVoided"]["operator"] == operator
    assert status_counts(invoice_registry, history) == [0, 0, 0, 0, 0, 1, 0]


def test_void_refusals_by_role(invoice_registry, approved_merchants, original, stranger, other_merchant, auditor,
                               authority, merchant):
    key, _ = original
    for sender in (stranger, other_merchant, auditor, authority):
        with reverts_with("NotMerchantOrOperator"):
            invoice_registry.voidInvoice(key, {"from": sender})
    approved_merchants.suspend(merchant, "audit", {"from": authority})
    with reverts_with("MerchantNotActive"):
        invoice_registry.voidInvoice(key, {"from": merchant})


def test_void_refuses_flagged_and_unknown(invoice_registry, flagged, merchant):
    with reverts_with("InvalidInvoiceStatus"):
        invoice_registry.voidInvoice(flagged, {"from": merchant})
    with reverts_with("InvoiceNotFound"):
        invoice_registry.voidInvoice(b"\x02" * 32, {"from": merchant})


def test_void_window_is_the_china_month(invoice_registry, issue, merchant, at, now):
    next_month = china_month_start_after(now())
    at(next_month - 100)
    inside, _ = issue(issued_at=next_month - 200)
    late, _ = issue(issued_at=next_month - 200)
    at(next_month - 1)  # 23:59:59 China time, last day of the month: still open
    invoice_registry.voidInvoice(inside, {"from": merchant})
    at(next_month)  # 00:00:00 of the next month: closed
    with reverts_with("VoidWindowClosed"):
        invoice_registry.voidInvoice(late, {"from": merchant, "gas_limit": 1_000_000})


def test_void_window_configurable(invoice_registry, issue, authority, merchant, at, now):
    tx = invoice_registry.setVoidWindow(3600, {"from": authority})
    assert tx.events["VoidWindowChanged"]["voidWindow"] == 3600
    t = now() + 100
    at(t)
    first, _ = issue(issued_at=t)
    second, _ = issue(issued_at=t)
    at(t + 3600)
    invoice_registry.voidInvoice(first, {"from": merchant})
    at(t + 3601)
    with reverts_with("VoidWindowClosed"):
        invoice_registry.voidInvoice(second, {"from": merchant, "gas_limit": 1_000_000})


def test_void_refused_while_drawn_and_after_red_letter(invoice_registry, original, note_request, merchant, ledger):
    key, _ = original
    invoice_registry.drawForReceivable(key, 50_000, {"from": ledger})
    with reverts_with("InvoiceHasReceivable"):
        invoice_registry.voidInvoice(key, {"from": merchant})
    invoice_registry.releaseForReceivable(key, 50_000, {"from": ledger})
    invoice_registry.issueRedLetter(key, note_request(1_000), 1, {"from": merchant})
    with reverts_with("InvoiceHasRedLetterNotes"):
        invoice_registry.voidInvoice(key, {"from": merchant})


def test_void_refused_while_paused(invoice_registry, original, authority, merchant):
    invoice_registry.pause({"from": authority})
    with reverts_with("EnforcedPause"):
        invoice_registry.voidInvoice(original[0], {"from": merchant})


# ------------------------------------------------------------------ red-letter notes


def test_partial_red_letter_note(invoice_registry, original, note_request, merchant, history):
    key, _ = original
    note = note_request(10_000)  # gross 11,300
    tx = invoice_registry.issueRedLetter(key, note, 3, {"from": merchant})
    note_key = tx.return_value
    assert as_bytes(note_key) == invoice_key(note[0])

    event = tx.events["InvoiceRedLettered"]
    assert as_bytes(event["originalKey"]) == as_bytes(key)
    assert as_bytes(event["noteKey"]) == as_bytes(note_key)
    assert (event["seller"], event["amount"], event["reasonCode"]) == (merchant, 11_300, 3)
    assert (event["openAmount"], event["status"]) == (101_700, ISSUED)
    assert as_bytes(tx.events["InvoiceIssued"]["key"]) == as_bytes(note_key)

    invoice = invoice_registry.getInvoice(key)
    assert (invoice["redLettered"], invoice["openAmount"], invoice["status"]) == (11_300, 101_700, ISSUED)
    note_invoice = invoice_registry.getInvoice(note_key)
    assert note_invoice["isRedLetter"]
    assert as_bytes(note_invoice["original"]) == as_bytes(key)
    assert (note_invoice["gross"], note_invoice["openAmount"], note_invoice["status"]) == (11_300, 0, ISSUED)
    assert status_counts(invoice_registry, history) == [0, 2, 0, 0, 0, 0, 0]


def test_notes_sum_exactly_to_gross(invoice_registry, original, note_request, merchant, history):
    key, _ = original
    invoice_registry.issueRedLetter(key, note_request(60_000), 1, {"from": merchant})  # 67,800
    tx = invoice_registry.issueRedLetter(key, note_request(40_000), 1, {"from": merchant})  # 45,200: total 113,000
    event = tx.events["InvoiceRedLettered"]
    assert (event["openAmount"], event["status"]) == (0, RED_LETTERED)
    invoice = invoice_registry.getInvoice(key)
    assert (invoice["status"], invoice["redLettered"], invoice["openAmount"]) == (RED_LETTERED, 113_000, 0)
    assert status_counts(invoice_registry, history) == [0, 2, 0, 0, 0, 0, 1]
    with reverts_with("InvalidInvoiceStatus"):
        invoice_registry.issueRedLetter(key, note_request(1), 1, {"from": merchant})


def test_note_cannot_exceed_open_amount(invoice_registry, original, note_request, merchant):
    key, _ = original
    invoice_registry.issueRedLetter(key, note_request(90_000), 1, {"from": merchant})  # 101,700; open 11,300
    with reverts_with("RedLetterExceedsOpenAmount"):
        invoice_registry.issueRedLetter(key, note_request(10_001, tax=1_300), 1, {"from": merchant})  # 11,301
    invoice_registry.issueRedLetter(key, note_request(10_000, tax=1_300), 1, {"from": merchant})  # 11,300 exactly
    assert invoice_registry.getInvoice(key)["status"] == RED_LETTERED


def test_note_follows_arithmetic_rules(invoice_registry, original, note_request, merchant):
    key, _ = original
    with reverts_with("GrossMismatch"):
        invoice_registry.issueRedLetter(key, note_request(1_000, gross=1_131), 1, {"from": merchant})
    with reverts_with("TaxOutOfTolerance"):
        invoice_registry.issueRedLetter(key, note_request(1_000, tax=132), 1, {"from": merchant})
    with reverts_with("InvalidInvoiceNumber"):
        invoice_registry.issueRedLetter(key, note_request(1_000, number="123"), 1, {"from": merchant})
    with reverts_with("InvoiceAlreadyRegistered"):
        invoice_registry.issueRedLetter(key, note_request(1_000, number=original[1][0]), 1, {"from": merchant})


def test_note_must_match_original(invoice_registry, original, note_request, merchant, other_merchant):
    key, request = original
    with reverts_with("SellerMismatch"):
        invoice_registry.issueRedLetter(key, note_request(1_000, seller=other_merchant), 1, {"from": other_merchant})
    with reverts_with("BuyerMismatch"):
        invoice_registry.issueRedLetter(key, note_request(1_000, commitment=b"\x05" * 20), 1, {"from": merchant})
    with reverts_with("RateMismatch") as excinfo:
        invoice_registry.issueRedLetter(key, note_request(1_000, rate=9), 1, {"from": merchant})
    assert excinfo.value.revert_msg.endswith(f", {rate_mask(13)}, {rate_mask(9)}")
    with reverts_with("DocumentAlreadyRegistered"):
        invoice_registry.issueRedLetter(key, note_request(1_000, document_hash=request.documentHash), 1, {"from": merchant})
    with reverts_with("NumberNotInSellerRange"):
        invoice_registry.issueRedLetter(key, note_request(1_000, number=f"{10**19 + 1}"), 1, {"from": merchant})


def test_note_rates_are_a_subset_of_the_original(invoice_registry, issue_request, merchant):
    request = issue_request(groups=[group(6, 50_000, 2), group(13, 100_000, 3)])  # gross 166,000
    key = invoice_registry.issue(request, {"from": merchant}).return_value

    invoice_registry.issueRedLetter(key, issue_request(like=request, net=10_000, rate=13), 3, {"from": merchant})
    invoice_registry.issueRedLetter(key, issue_request(like=request, net=10_000, rate=6), 3, {"from": merchant})
    both = [group(6, 10_000), group(13, 10_000)]
    tx = invoice_registry.issueRedLetter(key, issue_request(like=request, groups=both), 3, {"from": merchant})
    assert tx.events["InvoiceRedLettered"]["openAmount"] == 166_000 - 11_300 - 10_600 - 21_900
    with reverts_with("RateMismatch") as excinfo:
        invoice_registry.issueRedLetter(
            key, issue_request(like=request, groups=[group(9, 1_000), group(13, 1_000)]), 3, {"from": merchant}
        )
    assert excinfo.value.revert_msg.endswith(f", {rate_mask(6, 13)}, {rate_mask(9, 13)}")


def test_note_refusals_by_role(invoice_registry, approved_merchants, original, note_request, stranger, auditor,
                               authority, merchant):
    key, _ = original
    for sender in (stranger, auditor):
        with reverts_with("NotMerchantOrOperator"):
            invoice_registry.issueRedLetter(key, note_request(1_000), 1, {"from": sender})
    approved_merchants.suspend(merchant, "audit", {"from": authority})
    with reverts_with("MerchantNotActive"):
        invoice_registry.issueRedLetter(key, note_request(1_000), 1, {"from": merchant})


def test_note_refused_for_voided_rejected_notes_and_unknown(invoice_registry, original, issue, note_request,
                                                            merchant, auditor):
    key, _ = original
    note_key = invoice_registry.issueRedLetter(key, note_request(1_000), 1, {"from": merchant}).return_value
    with reverts_with("IsRedLetterNote"):
        invoice_registry.issueRedLetter(note_key, note_request(100), 1, {"from": merchant})
    with reverts_with("IsRedLetterNote"):
        invoice_registry.voidInvoice(note_key, {"from": merchant})

    voided, _ = issue()
    invoice_registry.voidInvoice(voided, {"from": merchant})
    with reverts_with("InvalidInvoiceStatus"):
        invoice_registry.issueRedLetter(voided, note_request(1_000), 1, {"from": merchant})
    with reverts_with("InvoiceNotFound"):
        invoice_registry.issueRedLetter(b"\x03" * 32, note_request(1_000), 1, {"from": merchant})


def test_note_on_flagged_and_cleared_originals(invoice_registry, flagged_invoice, note_request, merchant, auditor,
                                               history):
    flagged, request = flagged_invoice
    invoice_registry.issueRedLetter(flagged, note_request(1_000, of=request), 1, {"from": merchant})
    invoice_registry.clear(flagged, 1, {"from": auditor})
    tx = invoice_registry.issueRedLetter(flagged, note_request(99_000, of=request), 1, {"from": merchant})
    assert tx.events["InvoiceRedLettered"]["status"] == RED_LETTERED
    assert status_counts(invoice_registry, history) == [0, 2, 0, 0, 0, 0, 1]


def test_note_cannot_leave_open_below_drawn(invoice_registry, original, note_request, merchant, ledger):
    key, _ = original
    invoice_registry.drawForReceivable(key, 100_000, {"from": ledger})  # open 113,000: 13,000 free
    with reverts_with("OpenAmountBelowReceivables"):
        invoice_registry.issueRedLetter(key, note_request(11_505, tax=1_496), 1, {"from": merchant})  # 13,001
    invoice_registry.issueRedLetter(key, note_request(11_504, tax=1_496), 1, {"from": merchant})  # 13,000: edge
    assert invoice_registry.getInvoice(key)["openAmount"] == 100_000


def test_note_refused_while_paused(invoice_registry, original, note_request, authority, merchant):
    invoice_registry.pause({"from": authority})
    with reverts_with("EnforcedPause"):
        invoice_registry.issueRedLetter(original[0], note_request(1_000), 1, {"from": merchant})


# ------------------------------------------------------------------ receivable coupling


def test_ledger_draws_and_releases(invoice_registry, original, ledger):
    key, _ = original
    tx = invoice_registry.drawForReceivable(key, 80_000, {"from": ledger})
    event = tx.events["InvoiceAmountDrawn"]
    assert (event["ledger"], event["amount"], event["drawn"]) == (ledger, 80_000, 80_000)
    invoice_registry.drawForReceivable(key, 33_000, {"from": ledger})  # all of 113,000
    with reverts_with("DrawExceedsAvailable"):
        invoice_registry.drawForReceivable(key, 1, {"from": ledger})

    tx = invoice_registry.releaseForReceivable(key, 13_000, {"from": ledger})
    event = tx.events["InvoiceDrawReleased"]
    assert (event["ledger"], event["amount"], event["drawn"]) == (ledger, 13_000, 100_000)
    assert invoice_registry.getInvoice(key)["drawn"] == 100_000
    assert invoice_registry.availableForReceivable(key) == 13_000
    with reverts_with("ReleaseExceedsDrawn"):
        invoice_registry.releaseForReceivable(key, 100_001, {"from": ledger})


def test_draw_limited_by_red_letter(invoice_registry, original, note_request, merchant, ledger):
    key, _ = original
    invoice_registry.issueRedLetter(key, note_request(10_000), 1, {"from": merchant})  # open 101,700
    with reverts_with("DrawExceedsAvailable"):
        invoice_registry.drawForReceivable(key, 101_701, {"from": ledger})
    invoice_registry.drawForReceivable(key, 101_700, {"from": ledger})


def test_draw_refusals(invoice_registry, original, flagged, note_request, merchant, ledger, stranger, authority):
    key, _ = original
    with reverts_with("DrawExceedsAvailable"):
        invoice_registry.drawForReceivable(key, 0, {"from": ledger})
    with reverts_with("InvalidInvoiceStatus"):
        invoice_registry.drawForReceivable(flagged, 1, {"from": ledger})
    note_key = invoice_registry.issueRedLetter(key, note_request(1_000), 1, {"from": merchant}).return_value
    with reverts_with("IsRedLetterNote"):
        invoice_registry.drawForReceivable(note_key, 1, {"from": ledger})
    with reverts_with("InvoiceNotFound"):
        invoice_registry.drawForReceivable(b"\x04" * 32, 1, {"from": ledger})
    for sender in (stranger, merchant, authority):
        with reverts_with("AccessControlUnauthorizedAccount"):
            invoice_registry.drawForReceivable(key, 1, {"from": sender})
        with reverts_with("AccessControlUnauthorizedAccount"):
            invoice_registry.releaseForReceivable(key, 0, {"from": sender})
    invoice_registry.pause({"from": authority})
    with reverts_with("EnforcedPause"):
        invoice_registry.drawForReceivable(key, 1, {"from": ledger})


# ------------------------------------------------------------------ counts and history


def test_status_counts_follow_every_transition(invoice_registry, issue_request, note_request, merchant, auditor,
                                               history):
    def issue(**fields):
        request = issue_request(**fields)
        return invoice_registry.issue(request, {"from": merchant}).return_value, request

    a, a_request = issue()
    b, _ = issue(buyer_tax_id=SELF)
    c, _ = issue(buyer_tax_id=SELF)
    d, d_request = issue(buyer_tax_id=SELF)
    assert status_counts(invoice_registry, history) == [0, 1, 3, 0, 0, 0, 0]
    invoice_registry.clear(b, 1, {"from": auditor})
    invoice_registry.reject(c, 1, {"from": auditor})
    assert status_counts(invoice_registry, history) == [0, 1, 1, 1, 1, 0, 0]
    invoice_registry.voidInvoice(b, {"from": merchant})  # Cleared -> Voided
    assert status_counts(invoice_registry, history) == [0, 1, 1, 0, 1, 1, 0]
    invoice_registry.issueRedLetter(d, note_request(100_000, of=d_request), 1, {"from": merchant})  # Flagged -> RedLettered
    invoice_registry.issueRedLetter(a, note_request(100_000, of=a_request), 1, {"from": merchant})  # Issued -> RedLettered
    assert status_counts(invoice_registry, history) == [0, 2, 0, 0, 1, 1, 2]


def test_timeline_rebuilt_from_events(invoice_registry, flagged_invoice, note_request, merchant, auditor, ledger,
                                     history):
    key, request = flagged_invoice
    invoice_registry.clear(key, 5, {"from": auditor})
    invoice_registry.drawForReceivable(key, 10_000, {"from": ledger})
    invoice_registry.releaseForReceivable(key, 4_000, {"from": ledger})
    invoice_registry.settleForReceivable(key, 6_000, {"from": ledger})
    invoice_registry.issueRedLetter(key, note_request(20_000, of=request), 2, {"from": merchant})
    # 22,600 then 84,400 (net 74,690, tax 9,710 within the 1-fen tolerance): 6,000 left = settled, the edge
    invoice_registry.issueRedLetter(key, note_request(74_690, tax=9_710, of=request), 2, {"from": merchant})

    timeline = []
    for tx in history:
        for event in tx.events:
            first = next(iter(event.values()), None)
            if event.name.startswith("Invoice") and as_bytes(first) == as_bytes(key):
                timeline.append(event.name)
    assert timeline == [
        "InvoiceIssued",
        "InvoiceFlagged",
        "InvoiceCleared",
        "InvoiceAmountDrawn",
        "InvoiceDrawReleased",
        "InvoiceAmountSettled",
        "InvoiceRedLettered",
        "InvoiceRedLettered",
    ]
