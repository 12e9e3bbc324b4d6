"""Regression tests of the registry defects fixed by contracts v2 (issue 8), one test per
defect, each named after what it prevents. Each one fails on the v1 behaviour:

 1  a declared item count widened the tax tolerance without bound (tax 0 passed);
 2  one rate per invoice: a mixed-rate invoice could not be registered;
 3  numbers and documents were global: a merchant could take another's next number, or
    register its document hash first and get the victim flagged / its red-letter notes refused;
 4  a pending application reserved a tax ID (squatting a company's USCC);
 5  the buyer was keccak(USCC)[:20] on chain, the same for every seller (linkable, guessable);
 6  settled receivables were forgotten: the invoice could be drawn on, voided or red-lettered again;
11  verify said RedLettered for a partly reduced invoice and Authentic for a red-letter note;
12  no OpenZeppelin Pausable on everything that changes state; the admin role moved in one step;
13  InvoiceIssued did not carry the record (rate groups, commitment ...): no rebuild from logs;
14  no batch issuance;
and every function of the interfaces carries its NatSpec (@notice, @param, @return).
"""
import gzip
import json
import math
from pathlib import Path

import pytest
from eth_utils import keccak

from tests.conftest import DEFAULT_LIMITS, MERCHANT_TAX_ID, NUMBER_PREFIX, OTHER_MERCHANT_TAX_ID, licence_hash
from tests.contracts.conftest import (
    AUTHENTIC,
    BUYER_TAX_ID,
    CLEARED,
    FLAG_DUPLICATE_DOCUMENT,
    FLAG_MONTHLY_QUOTA,
    FLAG_RATE_SPIKE,
    FLAG_SELF_DEALING,
    FLAGGED,
    ISSUED,
    MAX_BATCH_SIZE,
    MAX_ITEM_COUNT,
    RED_LETTERED,
    REJECTED,
    V_PARTLY_RED_LETTERED,
    V_RED_LETTER_NOTE,
    V_RED_LETTERED,
    VOIDED,
    as_bytes,
    buyer_tag,
    buyer_tag_for_seller,
    check_code,
    event_groups,
    china_date,
    group,
    invoice_key,
    next_number,
    rate_mask,
    revert_args,
    reverts_with,
    status_counts,
    salt_of,
    seller_tag,
    tax_id_hash,
)

DAY = 86400
ADMIN_TRANSFER_DELAY = 2 * DAY
ZERO32 = bytes(32)
BUILD = Path(__file__).resolve().parents[2] / "build" / "contracts"
SQUATTED_TAX_ID = "91440300MA5EYH1X2H"  # a valid USCC no fixture uses

# Three rates on one invoice: 3 % (2 lines), 6 % service (3 lines), 13 % goods (5 lines).
THREE_RATES = [group(3, 10_000, 2), group(6, 50_000, 3), group(13, 100_000, 5)]  # net 160,000, tax 16,300


def issued_key(registry, request, sender=None):
    return registry.issue(request, {"from": sender or request.seller}).return_value


def code6(request) -> int:
    return check_code(request.number, request.seller, request.buyerCommitment, request.net, request.tax,
                      request.issuedAt) % 10**6


def verify(registry, request):
    return registry.verify(request.number, china_date(request.issuedAt), request.gross, code6(request))


# =========================================================== 1. tax tolerance


def test_declared_item_count_cannot_let_a_wrong_tax_pass(invoice_registry, issue_request, merchant):
    # net 5,000.00 yuan at 13 % is 650.00 yuan of tax; v1 let tax 0 pass with 65,000 declared lines
    request = issue_request(net=500_000, rate=13, tax=0, item_count=MAX_ITEM_COUNT)

    with reverts_with("TaxOutOfTolerance") as excinfo:
        invoice_registry.issue(request, {"from": merchant})

    assert revert_args(excinfo) == ["13", "500000", "0", "1000"]  # min(1000 lines x 1 fen, 6,500 + 1)


@pytest.mark.parametrize(
    "net, rate, items, tolerance",
    [
        (100_000, 13, 5, 5),  # 1 fen per line: 5 lines, 5 fen
        (500_000, 13, 1000, 1000),  # 1,000 lines: 10.00 yuan, under 10 % of 650.00 yuan
        (1_000, 13, 1000, 14),  # capped by 10 % of the tax (13 fen) + 1 fen
        (100, 6, 1000, 1),  # 10 % of 6 fen is 0: 1 fen
        (99_999, 9, 50, 50),
        (9_000, 9, 900, 82),  # 10 % of 810 fen + 1
    ],
)
def test_tax_tolerance_is_at_most_one_fen_per_line_and_a_tenth_of_the_tax(
    invoice_registry, issue_request, merchant, net, rate, items, tolerance
):
    assert tolerance == min(items, net * rate // 1000 + 1)
    highest = (net * rate + 100 * tolerance) // 100  # largest tax with |100 tax - net rate| <= 100 tolerance
    lowest = max(0, math.ceil((net * rate - 100 * tolerance) / 100))

    for tax in (highest, lowest):
        invoice_registry.issue(issue_request(net=net, rate=rate, tax=tax, item_count=items), {"from": merchant})
    with reverts_with("TaxOutOfTolerance") as excinfo:
        invoice_registry.issue(issue_request(net=net, rate=rate, tax=highest + 1, item_count=items), {"from": merchant})
    assert revert_args(excinfo) == [str(rate), str(net), str(highest + 1), str(tolerance)]
    if lowest > 0:
        with reverts_with("TaxOutOfTolerance"):
            invoice_registry.issue(issue_request(net=net, rate=rate, tax=lowest - 1, item_count=items), {"from": merchant})


def test_item_count_over_the_maximum_is_refused(invoice_registry, issue_request, merchant):
    with reverts_with("InvalidItemCount") as excinfo:
        invoice_registry.issue(issue_request(item_count=MAX_ITEM_COUNT + 1), {"from": merchant})
    assert revert_args(excinfo) == [str(MAX_ITEM_COUNT + 1), str(MAX_ITEM_COUNT)]

    split = [group(6, 50_000, 600), group(13, 100_000, 401)]  # 1,001 lines over two groups
    with reverts_with("InvalidItemCount") as excinfo:
        invoice_registry.issue(issue_request(groups=split), {"from": merchant})
    assert revert_args(excinfo) == [str(MAX_ITEM_COUNT + 1), str(MAX_ITEM_COUNT)]


# =========================================================== 2. several rates on one invoice


def test_mixed_rate_invoice_registers_as_issued(invoice_registry, issue_request, merchant):
    request = issue_request(groups=THREE_RATES)

    key = issued_key(invoice_registry, request)

    invoice = invoice_registry.getInvoice(key)
    assert (invoice["status"], invoice["flags"]) == (ISSUED, 0)
    assert invoice["rateMask"] == rate_mask(3, 6, 13) == (1 << 3) | (1 << 6) | (1 << 13)
    assert (invoice["net"], invoice["tax"], invoice["gross"], invoice["itemCount"]) == (160_000, 16_300, 176_300, 10)


def test_each_rate_group_tax_is_checked_not_just_the_total(invoice_registry, issue_request, merchant):
    wrong_service = [group(3, 10_000, 2), group(6, 50_000, 3, tax=3_100), group(13, 100_000, 5)]
    with reverts_with("TaxOutOfTolerance") as excinfo:
        invoice_registry.issue(issue_request(groups=wrong_service), {"from": merchant})
    assert revert_args(excinfo) == ["6", "50000", "3100", "3"]

    # the right total tax, moved from the 13 % lines to the 6 % lines
    shifted = [group(3, 10_000, 2), group(6, 50_000, 3, tax=3_500), group(13, 100_000, 5, tax=12_500)]
    assert sum(g[3] for g in shifted) == 16_300
    with reverts_with("TaxOutOfTolerance"):
        invoice_registry.issue(issue_request(groups=shifted), {"from": merchant})


@pytest.mark.parametrize("field, delta", [("net", 1), ("net", -1), ("tax", 1), ("tax", -1)])
def test_invoice_totals_must_be_the_sums_of_the_rate_groups(invoice_registry, issue_request, merchant, field, delta):
    totals = {"net": 160_000, "tax": 16_300}
    totals[field] += delta
    request = issue_request(groups=THREE_RATES, **totals)  # gross = net + tax: only the sums are wrong

    with reverts_with("RateGroupTotalsMismatch") as excinfo:
        invoice_registry.issue(request, {"from": merchant})
    assert revert_args(excinfo) == [str(totals["net"]), str(totals["tax"]), "160000", "16300"]


@pytest.mark.parametrize("rates", [[13, 6, 3], [3, 13, 6], [3, 6, 6]], ids=["descending", "unsorted", "repeated"])
def test_rate_groups_must_ascend_strictly(invoice_registry, issue_request, merchant, rates):
    groups = [group(rate, 10_000) for rate in rates]
    with reverts_with("InvalidRateGroups"):
        invoice_registry.issue(issue_request(groups=groups), {"from": merchant})


def test_invoice_issued_event_carries_the_rate_groups(invoice_registry, issue_request, merchant):
    request = issue_request(groups=THREE_RATES)

    tx = invoice_registry.issue(request, {"from": merchant})

    assert event_groups(tx.events["InvoiceIssued"]) == THREE_RATES


# =========================================================== 3. numbers and documents per seller


def test_another_merchant_cannot_register_the_victims_next_number(
    invoice_registry, issue_request, merchant, other_merchant
):
    number = next_number(merchant)
    first, last = invoice_registry.numberRangeOf(other_merchant)

    with reverts_with("NumberNotInSellerRange") as excinfo:
        invoice_registry.issue(issue_request(number=number, seller=other_merchant), {"from": other_merchant})

    assert revert_args(excinfo) == [str(int(number)), str(first), str(last)]
    issued_key(invoice_registry, issue_request(number=number))  # still the victim's


def test_number_ranges_of_two_merchants_never_overlap(invoice_registry, authority, merchant, other_merchant):
    ranges = [tuple(invoice_registry.numberRangeOf(m)) for m in (merchant, other_merchant)]
    for seller, prefix, count in [
        (merchant, NUMBER_PREFIX, 7),
        (other_merchant, NUMBER_PREFIX, 1),
        (merchant, 26110, 1_000),
        (other_merchant, 26110, 3),
        (other_merchant, NUMBER_PREFIX, 10**6),
        (merchant, NUMBER_PREFIX, 2),
    ]:
        first, last = invoice_registry.allocateNumberRange(seller, prefix, count, {"from": authority}).return_value
        assert last - first + 1 == count
        assert first // 10**15 == last // 10**15 == prefix
        ranges.append((first, last))

    ranges.sort()
    for (_, last), (next_first, _) in zip(ranges, ranges[1:]):
        assert last < next_first, ranges


def test_a_copy_of_the_victims_document_hash_does_not_flag_the_victim(
    invoice_registry, issue_request, merchant, other_merchant
):
    invoice_document, note_document = keccak(text="victim invoice"), keccak(text="victim red-letter note")
    for document in (invoice_document, note_document):  # the attacker registers them first
        attacker = issue_request(seller=other_merchant, document_hash=document)
        assert invoice_registry.issue(attacker, {"from": other_merchant}).events["InvoiceIssued"]["flags"] == 0

    request = issue_request(document_hash=invoice_document)
    tx = invoice_registry.issue(request, {"from": merchant})
    key = tx.return_value

    assert tx.events["InvoiceIssued"]["flags"] == 0
    assert invoice_registry.getInvoice(key)["status"] == ISSUED
    assert [as_bytes(x) for x in invoice_registry.duplicateOf(key)] == [ZERO32, ZERO32]
    assert invoice_registry.verifyDocument(key, invoice_document)
    note = issue_request(like=request, net=10_000, document_hash=note_document)
    tx = invoice_registry.issueRedLetter(key, note, 1, {"from": merchant})
    assert tx.events["InvoiceRedLettered"]["openAmount"] == 113_000 - 11_300


def test_the_same_seller_reusing_a_document_hash_is_still_flagged(invoice_registry, issue_request, merchant):
    document = keccak(text="one document, two invoices")
    request = issue_request(document_hash=document)
    first = issued_key(invoice_registry, request)

    tx = invoice_registry.issue(issue_request(document_hash=document), {"from": merchant})

    assert tx.events["InvoiceFlagged"]["flags"] == FLAG_DUPLICATE_DOCUMENT
    assert [as_bytes(x) for x in invoice_registry.duplicateOf(tx.return_value)] == [document, as_bytes(first)]
    with reverts_with("DocumentAlreadyRegistered"):  # nor may a note of the seller reuse it
        invoice_registry.issueRedLetter(first, issue_request(like=request, net=1_000, document_hash=document), 1,
                                        {"from": merchant})


# =========================================================== 4. tax IDs bound at approval


def test_a_pending_application_does_not_block_the_real_owners_application(merchant_registry, accounts, stranger):
    squatter, owner = stranger, accounts[8]
    merchant_registry.applyAsMerchant("抢注公司", SQUATTED_TAX_ID, licence_hash("L-FAKE"), {"from": squatter})

    merchant_registry.applyAsMerchant("深圳真实科技有限公司", SQUATTED_TAX_ID, licence_hash("L-REAL"), {"from": owner})

    assert merchant_registry.merchant(owner)["status"] == 1  # Pending
    assert merchant_registry.merchant(squatter)["status"] == 1
    assert merchant_registry.accountOfTaxId(SQUATTED_TAX_ID.encode()) == "0x" + "00" * 20


def test_an_approved_tax_id_cannot_be_approved_or_applied_for_again(
    merchant_registry, authority, accounts, stranger, buyer
):
    squatter, owner, latecomer = stranger, accounts[8], buyer
    merchant_registry.applyAsMerchant("抢注公司", SQUATTED_TAX_ID, licence_hash("L-FAKE"), {"from": squatter})
    merchant_registry.applyAsMerchant("深圳真实科技有限公司", SQUATTED_TAX_ID, licence_hash("L-REAL"), {"from": owner})
    merchant_registry.approve(owner, DEFAULT_LIMITS, seller_tag(SQUATTED_TAX_ID, owner), {"from": authority})

    with reverts_with("TaxIdAlreadyRegistered") as excinfo:
        merchant_registry.approve(squatter, DEFAULT_LIMITS, seller_tag(SQUATTED_TAX_ID, squatter), {"from": authority})
    assert revert_args(excinfo)[1] == owner.address.lower()
    with reverts_with("TaxIdAlreadyRegistered"):
        merchant_registry.applyAsMerchant("后来公司", SQUATTED_TAX_ID, licence_hash("L-LATE"), {"from": latecomer})
    merchant_registry.suspend(owner, "audit", {"from": authority})  # a suspended owner keeps it
    with reverts_with("TaxIdAlreadyRegistered"):
        merchant_registry.applyAsMerchant("后来公司", SQUATTED_TAX_ID, licence_hash("L-LATE"), {"from": latecomer})
    assert merchant_registry.accountOfTaxId(SQUATTED_TAX_ID.encode()) == owner
    merchant_registry.reject(squatter, "tax ID owned by an approved merchant", {"from": authority})


# =========================================================== 5. buyer privacy


def _stored_words(web3, tx, registry) -> bytes:
    """The storage the transaction wrote (geth's prestateTracer in diff mode: every slot and
    value it changed, in any account), then all of the registry's storage (anvil_dumpState)."""
    response = web3.provider.make_request(
        "debug_traceTransaction", [tx.txid, {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}}]
    )
    assert "error" not in response, response
    words = []
    for account in response["result"]["post"].values():
        for slot, value in (account.get("storage") or {}).items():
            words += [int(slot, 16), int(value, 16)]
    assert words, "the trace shows no storage write"
    dump = web3.provider.make_request("anvil_dumpState", [])["result"]
    raw = bytes.fromhex(dump[2:])
    state = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    accounts = {address.lower(): account for address, account in state["accounts"].items()}
    for slot, value in accounts[registry.address.lower()]["storage"].items():
        words += [int(slot, 16), int(value, 16)]
    return b"".join(word.to_bytes(32, "big") for word in words)


def _linkable_forms(tax_id: str) -> list:
    """What would identify the buyer across invoices: its tax ID, its unsalted hashes and its tag."""
    digest = keccak(text=tax_id)
    return [tax_id.encode(), digest, digest[:20], digest[:12], tax_id_hash(tax_id), buyer_tag(tax_id),
            buyer_tag(tax_id)[:20], buyer_tag(tax_id)[:12]]


def test_the_chain_stores_no_unsalted_buyer_hash(invoice_registry, issue_request, merchant, other_merchant, web3):
    from_merchant = issue_request(buyer_tax_id=BUYER_TAX_ID)
    from_other = issue_request(buyer_tax_id=BUYER_TAX_ID, seller=other_merchant)
    txs = [invoice_registry.issue(r, {"from": r.seller}) for r in (from_merchant, from_other)]

    # the same buyer, two sellers: nothing in common
    assert from_merchant.buyerCommitment != from_other.buyerCommitment
    assert from_merchant.buyerTagForSeller != from_other.buyerTagForSeller
    again = issue_request(buyer_tax_id=BUYER_TAX_ID)  # even one seller's two invoices differ (fresh salt)
    assert again.buyerCommitment != from_merchant.buyerCommitment
    assert again.buyerTagForSeller == from_merchant.buyerTagForSeller

    forms = _linkable_forms(BUYER_TAX_ID)
    for tx, request in zip(txs, (from_merchant, from_other)):
        calldata = bytes.fromhex(tx.input[2:])
        logs = b"".join(as_bytes(log["data"]) + b"".join(as_bytes(t) for t in log["topics"]) for log in tx.logs)
        record = repr(invoice_registry.getInvoice(tx.return_value).dict()).encode()
        stored = _stored_words(web3, tx, invoice_registry)
        for blob in (calldata, logs, stored):  # the search sees what is there: the salted commitment
            assert request.buyerCommitment in blob
        for form in forms:
            for where, blob in (("input", calldata), ("logs", logs), ("storage", stored)):
                assert form not in blob, f"{form.hex()} in the {where} of {tx.txid}"
            assert form.hex() not in record.decode(errors="ignore"), f"{form.hex()} in the record"


def test_verify_buyer_opens_only_with_the_documents_salt_tax_id_and_tag(invoice_registry, issue_request):
    request = issue_request(buyer_tax_id=BUYER_TAX_ID)
    key = issued_key(invoice_registry, request)
    salt, tag = salt_of(request.number), buyer_tag(BUYER_TAX_ID)

    assert invoice_registry.verifyBuyer(key, salt, BUYER_TAX_ID, tag)
    assert not invoice_registry.verifyBuyer(key, salt, OTHER_MERCHANT_TAX_ID, tag)
    assert not invoice_registry.verifyBuyer(key, salt, OTHER_MERCHANT_TAX_ID, buyer_tag(OTHER_MERCHANT_TAX_ID))
    assert not invoice_registry.verifyBuyer(key, salt_of("another invoice"), BUYER_TAX_ID, tag)


def test_self_dealing_is_still_flagged_through_the_seller_tag(invoice_registry, approved_merchants, issue_request,
                                                             merchant):
    own_tag = as_bytes(approved_merchants.merchant(merchant)["sellerTag"])
    request = issue_request(buyer_tax_id=MERCHANT_TAX_ID)
    assert request.buyerTagForSeller == own_tag == buyer_tag_for_seller(MERCHANT_TAX_ID, merchant)

    tx = invoice_registry.issue(request, {"from": merchant})

    assert tx.events["InvoiceFlagged"]["flags"] == FLAG_SELF_DEALING
    other_sellers_tag = issue_request(buyer_tax_id=MERCHANT_TAX_ID, seller=merchant,
                                      tag_for_seller=buyer_tag_for_seller(MERCHANT_TAX_ID, "0x" + "11" * 20))
    assert invoice_registry.issue(other_sellers_tag, {"from": merchant}).events["InvoiceIssued"]["flags"] == 0


# =========================================================== 6. settled receivables


@pytest.fixture
def drawn_invoice(invoice_registry, issue_request, merchant):
    """An Issued invoice of gross 113,000 fen: (key, request)."""
    request = issue_request(net=100_000)
    return issued_key(invoice_registry, request), request


def test_settled_receivables_are_never_drawn_again(invoice_registry, drawn_invoice, ledger):
    key, _ = drawn_invoice
    invoice_registry.drawForReceivable(key, 50_000, {"from": ledger})

    tx = invoice_registry.settleForReceivable(key, 30_000, {"from": ledger})

    event = tx.events["InvoiceAmountSettled"]
    assert (as_bytes(event["key"]), event["ledger"]) == (as_bytes(key), ledger)
    assert (event["amount"], event["drawn"], event["settled"]) == (30_000, 20_000, 30_000)
    invoice = invoice_registry.getInvoice(key)
    assert (invoice["drawn"], invoice["settled"], invoice["openAmount"]) == (20_000, 30_000, 113_000)
    assert invoice_registry.availableForReceivable(key) == 63_000
    invoice_registry.releaseForReceivable(key, 20_000, {"from": ledger})
    assert invoice_registry.availableForReceivable(key) == 83_000  # the settled 30,000 stay used
    with reverts_with("DrawExceedsAvailable"):
        invoice_registry.drawForReceivable(key, 83_001, {"from": ledger})
    with reverts_with("ReleaseExceedsDrawn"):
        invoice_registry.settleForReceivable(key, 1, {"from": ledger})


def test_settle_needs_the_ledger_role(invoice_registry, drawn_invoice, ledger, merchant, authority, stranger):
    key, _ = drawn_invoice
    invoice_registry.drawForReceivable(key, 1_000, {"from": ledger})
    for sender in (merchant, authority, stranger):
        with reverts_with("AccessControlUnauthorizedAccount"):
            invoice_registry.settleForReceivable(key, 1_000, {"from": sender})


def test_an_invoice_with_settled_receivables_cannot_be_voided(invoice_registry, drawn_invoice, ledger, merchant):
    key, _ = drawn_invoice
    invoice_registry.drawForReceivable(key, 40_000, {"from": ledger})
    invoice_registry.settleForReceivable(key, 40_000, {"from": ledger})
    assert invoice_registry.getInvoice(key)["drawn"] == 0

    with reverts_with("InvoiceHasReceivable") as excinfo:
        invoice_registry.voidInvoice(key, {"from": merchant})
    assert revert_args(excinfo)[1] == "40000"


def test_red_letter_cannot_push_the_open_amount_below_drawn_plus_settled(
    invoice_registry, drawn_invoice, issue_request, ledger, merchant
):
    key, request = drawn_invoice
    invoice_registry.drawForReceivable(key, 60_000, {"from": ledger})
    invoice_registry.settleForReceivable(key, 40_000, {"from": ledger})  # drawn 20,000 + settled 40,000

    over = issue_request(like=request, net=46_903, tax=6_098)  # 53,001: would leave 59,999
    with reverts_with("OpenAmountBelowReceivables") as excinfo:
        invoice_registry.issueRedLetter(key, over, 1, {"from": merchant})
    assert revert_args(excinfo)[1:] == ["59999", "60000"]
    edge = issue_request(like=request, net=46_903, tax=6_097)  # 53,000: leaves 60,000
    tx = invoice_registry.issueRedLetter(key, edge, 1, {"from": merchant})
    assert tx.events["InvoiceRedLettered"]["openAmount"] == 60_000
    assert invoice_registry.availableForReceivable(key) == 0


# =========================================================== 11. verify results


def test_verify_tells_a_red_letter_note_from_an_invoice(invoice_registry, issue_request, merchant):
    request = issue_request(net=100_000)
    key = issued_key(invoice_registry, request)
    note = issue_request(like=request, net=10_000)
    invoice_registry.issueRedLetter(key, note, 1, {"from": merchant})

    assert verify(invoice_registry, note) == V_RED_LETTER_NOTE == 8


def test_verify_tells_a_partly_from_a_fully_red_lettered_invoice(invoice_registry, issue_request, merchant):
    request = issue_request(net=100_000)
    key = issued_key(invoice_registry, request)
    assert verify(invoice_registry, request) == AUTHENTIC

    invoice_registry.issueRedLetter(key, issue_request(like=request, net=10_000), 1, {"from": merchant})
    assert verify(invoice_registry, request) == V_PARTLY_RED_LETTERED == 7

    invoice_registry.issueRedLetter(key, issue_request(like=request, net=90_000), 1, {"from": merchant})
    assert verify(invoice_registry, request) == V_RED_LETTERED == 6


# =========================================================== 12. pause and admin


@pytest.fixture
def paused_scene(invoice_registry, issue_request, merchant, auditor, ledger, authority):
    """Everything each paused operation needs, then the registry paused."""
    request = issue_request(net=100_000)
    key = issued_key(invoice_registry, request)
    flagged = issued_key(invoice_registry, issue_request(buyer_tax_id=MERCHANT_TAX_ID))
    clean = issued_key(invoice_registry, issue_request())
    invoice_registry.drawForReceivable(key, 50_000, {"from": ledger})
    invoice_registry.pause({"from": authority})
    return {"key": key, "request": request, "flagged": flagged, "clean": clean}


def test_pause_blocks_every_registry_change(invoice_registry, paused_scene, issue_request, merchant, auditor, ledger,
                                           authority):
    key, request, flagged = paused_scene["key"], paused_scene["request"], paused_scene["flagged"]
    calls = {
        "issue": lambda: invoice_registry.issue(issue_request(), {"from": merchant}),
        "issueBatch": lambda: invoice_registry.issueBatch([issue_request(), issue_request()], {"from": merchant}),
        "issueRedLetter": lambda: invoice_registry.issueRedLetter(
            key, issue_request(like=request, net=1_000), 1, {"from": merchant}),
        "voidInvoice": lambda: invoice_registry.voidInvoice(paused_scene["clean"], {"from": merchant}),
        "clear": lambda: invoice_registry.clear(flagged, 1, {"from": auditor}),
        "reject": lambda: invoice_registry.reject(flagged, 1, {"from": auditor}),
        "drawForReceivable": lambda: invoice_registry.drawForReceivable(key, 1_000, {"from": ledger}),
        "allocateNumberRange": lambda: invoice_registry.allocateNumberRange(merchant, 26990, 10, {"from": authority}),
    }
    for name, call in calls.items():
        with reverts_with("EnforcedPause"):
            call()
    assert invoice_registry.paused()


def test_pause_lets_ledgers_close_receivables(invoice_registry, paused_scene, ledger):
    key = paused_scene["key"]

    invoice_registry.releaseForReceivable(key, 10_000, {"from": ledger})
    invoice_registry.settleForReceivable(key, 40_000, {"from": ledger})

    invoice = invoice_registry.getInvoice(key)
    assert (invoice["drawn"], invoice["settled"]) == (0, 40_000)


def test_unpause_restores_the_blocked_operations(invoice_registry, paused_scene, issue_request, merchant, auditor,
                                                authority):
    tx = invoice_registry.unpause({"from": authority})

    assert tx.events["Unpaused"]["account"] == authority
    invoice_registry.clear(paused_scene["flagged"], 1, {"from": auditor})
    invoice_registry.issue(issue_request(), {"from": merchant})


@pytest.fixture(params=["MerchantRegistry", "InvoiceRegistry"])
def admin_ruled(request, approved_merchants, invoice_registry):
    return approved_merchants if request.param == "MerchantRegistry" else invoice_registry


def test_default_admin_role_cannot_be_granted_in_one_step(admin_ruled, authority, stranger):
    admin_role = admin_ruled.DEFAULT_ADMIN_ROLE()

    with reverts_with("AccessControlEnforcedDefaultAdminRules"):
        admin_ruled.grantRole(admin_role, stranger, {"from": authority})

    assert not admin_ruled.hasRole(admin_role, stranger)
    assert admin_ruled.defaultAdmin() == authority


def test_default_admin_moves_only_after_the_delay(admin_ruled, authority, stranger, accounts, chain):
    new_admin = accounts[8]
    admin_role = admin_ruled.DEFAULT_ADMIN_ROLE()
    assert admin_ruled.defaultAdminDelay() == ADMIN_TRANSFER_DELAY

    tx = admin_ruled.beginDefaultAdminTransfer(new_admin, {"from": authority})
    schedule = tx.timestamp + ADMIN_TRANSFER_DELAY

    assert tuple(admin_ruled.pendingDefaultAdmin()) == (new_admin, schedule)
    with reverts_with("AccessControlEnforcedDefaultAdminDelay"):
        admin_ruled.acceptDefaultAdminTransfer({"from": new_admin})
    chain.sleep(ADMIN_TRANSFER_DELAY - 600)
    chain.mine()
    with reverts_with("AccessControlEnforcedDefaultAdminDelay"):
        admin_ruled.acceptDefaultAdminTransfer({"from": new_admin, "gas_limit": 500_000})
    chain.sleep(601)
    chain.mine()
    with reverts_with("AccessControlInvalidDefaultAdmin"):
        admin_ruled.acceptDefaultAdminTransfer({"from": stranger})
    admin_ruled.acceptDefaultAdminTransfer({"from": new_admin})

    assert admin_ruled.defaultAdmin() == new_admin
    assert admin_ruled.hasRole(admin_role, new_admin)
    assert not admin_ruled.hasRole(admin_role, authority)


# =========================================================== 13. the record from the logs


def _replay(registry, txs) -> dict:
    """Each invoice's stored fields rebuilt from the registry's events alone."""
    records, documents = {}, {}
    for tx in txs:
        for event in tx.events:
            if event.address != registry.address:
                continue
            name, e = event.name, event
            if name == "InvoiceIssued":
                key = as_bytes(e["key"])
                number = as_bytes(e["number"]).decode()
                assert invoice_key(number) == key
                groups = event_groups(e)
                net, tax = sum(g[2] for g in groups), sum(g[3] for g in groups)
                records[key] = {
                    "key": key, "seller": e["seller"], "buyerCommitment": as_bytes(e["buyerCommitment"]),
                    "net": net, "tax": tax, "gross": net + tax, "rateMask": rate_mask(*(g[0] for g in groups)),
                    "itemCount": sum(g[1] for g in groups), "invoiceType": e["invoiceType"], "issuedAt": e["issuedAt"],
                    "status": ISSUED if e["flags"] == 0 else FLAGGED, "flags": e["flags"], "isRedLetter": False,
                    "original": ZERO32, "redLettered": 0, "drawn": 0, "settled": 0,
                }
                documents[key] = as_bytes(e["documentHash"])
            elif name == "InvoiceRedLettered":
                original, note = records[as_bytes(e["originalKey"])], records[as_bytes(e["noteKey"])]
                note.update(isRedLetter=True, original=as_bytes(e["originalKey"]))
                original["redLettered"] += e["amount"]
                original["status"] = e["status"]
                assert original["gross"] - original["redLettered"] == e["openAmount"]
            elif name in ("InvoiceCleared", "InvoiceRejected", "InvoiceVoided"):
                status = {"InvoiceCleared": CLEARED, "InvoiceRejected": REJECTED, "InvoiceVoided": VOIDED}[name]
                records[as_bytes(e["key"])]["status"] = status
            elif name in ("InvoiceAmountDrawn", "InvoiceDrawReleased"):
                records[as_bytes(e["key"])]["drawn"] = e["drawn"]
            elif name == "InvoiceAmountSettled":
                records[as_bytes(e["key"])].update(drawn=e["drawn"], settled=e["settled"])
    for record in records.values():
        closed = record["isRedLetter"] or record["status"] in (VOIDED, REJECTED)
        record["openAmount"] = 0 if closed else record["gross"] - record["redLettered"]
        record["checkCode"] = check_code_of(record)
    return records, documents


def check_code_of(record) -> int:
    from eth_abi import encode

    packed = encode(
        ["bytes32", "address", "bytes20", "uint48", "uint48", "uint40"],
        [record["key"], record["seller"], record["buyerCommitment"], record["net"], record["tax"], record["issuedAt"]],
    )
    return int.from_bytes(keccak(packed), "big") % 10**20


def test_invoice_records_can_be_rebuilt_from_the_logs(invoice_registry, issue_request, merchant, auditor, ledger):
    txs = []

    def send(fn, *args, sender=merchant):
        tx = fn(*args, {"from": sender})
        txs.append(tx)
        return tx.return_value

    mixed_request = issue_request(groups=THREE_RATES, invoice_type=1)
    mixed = send(invoice_registry.issue, mixed_request)
    cleared = send(invoice_registry.issue, issue_request(buyer_tax_id=MERCHANT_TAX_ID, item_count=7))
    rejected = send(invoice_registry.issue, issue_request(buyer_tax_id=MERCHANT_TAX_ID))
    voided = send(invoice_registry.issue, issue_request(rate=6))
    send(invoice_registry.clear, cleared, 3, sender=auditor)
    send(invoice_registry.reject, rejected, 4, sender=auditor)
    send(invoice_registry.voidInvoice, voided)
    send(invoice_registry.drawForReceivable, mixed, 90_000, sender=ledger)
    send(invoice_registry.releaseForReceivable, mixed, 10_000, sender=ledger)
    send(invoice_registry.settleForReceivable, mixed, 50_000, sender=ledger)
    send(invoice_registry.issueRedLetter, mixed, issue_request(like=mixed_request, groups=[group(6, 10_000)]), 2)
    send(invoice_registry.issueRedLetter, mixed,
         issue_request(like=mixed_request, groups=[group(3, 1_000), group(13, 2_000)]), 1)
    full_request = issue_request(net=5_000)
    full = send(invoice_registry.issue, full_request)
    send(invoice_registry.issueRedLetter, full, issue_request(like=full_request, net=5_000), 1)

    records, documents = _replay(invoice_registry, txs)

    assert len(records) == 8  # 5 invoices, 3 notes
    for key, expected in records.items():
        stored = invoice_registry.getInvoice(key).dict()
        stored = {name: as_bytes(v) if name in ("key", "buyerCommitment", "original") else v
                  for name, v in stored.items()}
        assert stored == expected, key.hex()
        assert invoice_registry.verifyDocument(key, documents[key])
    assert records[invoice_key(full_request.number)]["status"] == RED_LETTERED


def test_the_registry_draw_events_are_named_for_the_invoice(InvoiceRegistry):
    events = {item["name"] for item in InvoiceRegistry.abi if item["type"] == "event"}

    assert {"InvoiceAmountDrawn", "InvoiceDrawReleased", "InvoiceAmountSettled"} <= events
    assert not {"ReceivableDrawn", "ReceivableReleased"} & events


# =========================================================== 14. batch issuance


def test_issue_batch_registers_100_invoices_as_if_issued_one_by_one(
    invoice_registry, issue_request, merchant, at, now, history):
    hour = (now() // 3600 + 1) * 3600
    requests = [issue_request(issued_at=hour - 60) for _ in range(100)]
    requests[10] = requests[10]._replace(documentHash=requests[3].documentHash)  # the seller's own document again
    requests[20] = issue_request(issued_at=hour - 60, buyer_tax_id=MERCHANT_TAX_ID)  # to itself
    norm = DEFAULT_LIMITS[2]  # 50 an hour: the 51st of the hour on is a spike
    expected_flags = [
        (FLAG_RATE_SPIKE if i >= norm else 0)
        | (FLAG_DUPLICATE_DOCUMENT if i == 10 else 0)
        | (FLAG_SELF_DEALING if i == 20 else 0)
        for i in range(100)
    ]
    at(hour + 5)

    tx = invoice_registry.issueBatch(requests, {"from": merchant})

    keys = [as_bytes(k) for k in tx.return_value]
    assert keys == [invoice_key(r.number) for r in requests]
    issued = [e for e in tx.events if e.name == "InvoiceIssued"]
    assert [as_bytes(e["key"]) for e in issued] == keys
    assert [e["flags"] for e in issued] == expected_flags
    flagged_events = {as_bytes(e["key"]): e["flags"] for e in tx.events if e.name == "InvoiceFlagged"}
    assert flagged_events == {k: f for k, f in zip(keys, expected_flags) if f}
    for key, request, flags in zip(keys, requests, expected_flags):
        invoice = invoice_registry.getInvoice(key)
        assert (invoice["status"], invoice["flags"]) == (FLAGGED if flags else ISSUED, flags)
        assert invoice["gross"] == request.gross
    n_flagged = sum(1 for f in expected_flags if f)
    assert status_counts(invoice_registry, history) == [0, 100 - n_flagged, n_flagged, 0, 0, 0, 0]
    assert invoice_registry.merchantActivity(merchant)["hourCount"] == 100


def test_issue_batch_counts_the_monthly_quota_across_the_batch(
    invoice_registry, approved_merchants, issue_request, authority, merchant, at, now
):
    approved_merchants.setLimits(merchant, (1_000_000, 2_000_000, 3), {"from": authority})
    hour = (now() // 3600 + 1) * 3600
    requests = [issue_request(net=600_000, rate=0, issued_at=hour - 60) for _ in range(5)]  # 0.6M .. 3.0M
    at(hour + 5)

    tx = invoice_registry.issueBatch(requests, {"from": merchant})

    flags = [e["flags"] for e in tx.events if e.name == "InvoiceIssued"]
    assert flags == [0, 0, 0, FLAG_MONTHLY_QUOTA | FLAG_RATE_SPIKE, FLAG_MONTHLY_QUOTA | FLAG_RATE_SPIKE]
    assert invoice_registry.merchantActivity(merchant)["monthGross"] == 3_000_000


@pytest.mark.parametrize(
    "row, bad, error",
    [
        (37, {"tax": 13_002}, "TaxOutOfTolerance"),
        (99, {"number": f"{10**19 + 7}"}, "NumberNotInSellerRange"),
        (0, {"document_hash": ZERO32}, "MissingDocumentHash"),
        (50, {"gross": 1}, "GrossMismatch"),
    ],
    ids=["tax", "number-out-of-range", "no-document", "gross"],
)
def test_a_bad_row_reverts_the_whole_batch_with_that_rows_error(invoice_registry, issue_request, merchant, row, bad,
                                                                error, history):
    requests = [issue_request() for _ in range(100)]
    requests[row] = issue_request(**bad)

    with reverts_with(error):
        invoice_registry.issueBatch(requests, {"from": merchant})

    assert not any(invoice_registry.exists(invoice_key(r.number)) for r in (requests[0], requests[row - 1], requests[-1]))
    assert status_counts(invoice_registry, history) == [0] * 7


def test_a_number_twice_in_one_batch_reverts_the_batch(invoice_registry, issue_request, merchant):
    requests = [issue_request() for _ in range(5)]
    requests[4] = issue_request(number=requests[1].number)

    with reverts_with("InvoiceAlreadyRegistered"):
        invoice_registry.issueBatch(requests, {"from": merchant})


@pytest.mark.parametrize("size", [0, MAX_BATCH_SIZE + 1])
def test_batch_size_outside_1_to_max_is_refused(invoice_registry, issue_request, merchant, size):
    requests = [issue_request() for _ in range(size)]

    with reverts_with("InvalidBatchSize") as excinfo:
        invoice_registry.issueBatch(requests, {"from": merchant, "gas_limit": 29_000_000})

    assert revert_args(excinfo) == [str(size), str(MAX_BATCH_SIZE)]


def test_a_batch_of_the_maximum_size_fits_a_block(invoice_registry, issue_request, merchant):
    requests = [issue_request() for _ in range(MAX_BATCH_SIZE)]

    tx = invoice_registry.issueBatch(requests, {"from": merchant})

    assert len(tx.return_value) == MAX_BATCH_SIZE
    assert tx.gas_used < 30_000_000


def test_a_batch_of_mixed_sellers_is_refused(invoice_registry, approved_merchants, issue_request, merchant,
                                            other_merchant, operator):
    approved_merchants.setOperator(operator, True, {"from": merchant})
    approved_merchants.setOperator(operator, True, {"from": other_merchant})
    requests = [issue_request() for _ in range(5)]
    requests[3] = issue_request(seller=other_merchant)

    with reverts_with("BatchSellerMismatch") as excinfo:
        invoice_registry.issueBatch(requests, {"from": operator})

    assert revert_args(excinfo) == ["3", other_merchant.address.lower()]


def test_an_operator_issues_a_batch_for_its_merchant(invoice_registry, approved_merchants, issue_request, merchant,
                                                     operator, stranger):
    approved_merchants.setOperator(operator, True, {"from": merchant})
    requests = [issue_request() for _ in range(3)]

    tx = invoice_registry.issueBatch(requests, {"from": operator})

    assert {e["seller"] for e in tx.events if e.name == "InvoiceIssued"} == {merchant}
    with reverts_with("NotMerchantOrOperator"):
        invoice_registry.issueBatch([issue_request() for _ in range(2)], {"from": stranger})


# =========================================================== NatSpec of the interfaces


def _canonical_type(param) -> str:
    kind = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_canonical_type(c) for c in param["components"]) + ")" + kind[len("tuple"):]
    return kind


def _natspec(artifact) -> dict:
    """methods[signature] with notice (userdoc) and params / returns (devdoc)."""
    if "devdoc" in artifact or "userdoc" in artifact:
        user, dev = artifact.get("userdoc", {}).get("methods", {}), artifact.get("devdoc", {}).get("methods", {})
        return {sig: {**user.get(sig, {}), **dev.get(sig, {})} for sig in set(user) | set(dev)}
    return artifact["natspec"].get("methods", {})  # brownie merges userdoc and devdoc into "natspec"


@pytest.mark.parametrize("interface", ["IInvoiceRegistry", "IMerchantRegistry", "IReceivableLedger"])
def test_every_interface_function_is_documented(interface):
    artifact = json.loads((BUILD / f"{interface}.json").read_text())
    methods = _natspec(artifact)
    missing = []
    for item in artifact["abi"]:
        if item["type"] != "function":
            continue
        signature = f"{item['name']}({','.join(_canonical_type(p) for p in item['inputs'])})"
        doc = methods.get(signature, {})
        if not str(doc.get("notice", "")).strip():
            missing.append(f"{signature}: @notice")
        params = doc.get("params", {})
        for param in item["inputs"]:
            if param["name"] and not str(params.get(param["name"], "")).strip():
                missing.append(f"{signature}: @param {param['name']}")
        returns = doc.get("returns", {})
        for index, output in enumerate(item["outputs"]):
            name = output["name"] or f"_{index}"
            if not str(returns.get(name, "")).strip():
                missing.append(f"{signature}: @return {name}")
    assert missing == []
