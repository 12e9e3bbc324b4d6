"""ExpenseClaims (issue 12, reimbursement): no double reimbursement on chain.

The buyer company's registered account (ReceivableLedger.buyerAccountOf of the invoice's buyer
tag) marks an invoice claimed with the document's buyer proof; a second mark, by anyone, is
refused with AlreadyClaimed. Payment lists of approved claims are registered by hash and total
and marked paid once.

Set-up (receivables_fixtures): the ledger has the test buyer's tag registered to `debtor`;
`new_invoice()` issues an invoice to that buyer. Here a second buyer company's tag is
registered to `other_buyer`.
"""
import pytest
from eth_utils import keccak

from tests.conftest import MERCHANT_TAX_ID
from tests.contracts.receivables_fixtures import *  # noqa: F401,F403
from tests.contracts.receivables_fixtures import (
    INV_CLEARED,
    INV_FLAGGED,
    INV_ISSUED,
    INV_REJECTED,
    INV_RED_LETTERED,
    INV_VOIDED,
    ZERO_ADDRESS,
    buyer_tag,
    reverts_with,
    reverts_with_args,
)

OTHER_BUYER_TAX_ID = "91440300MA5EYH1X3L"
CLAIM_REF = keccak(text="claim BX-2024-0001")
LIST_HASH = keccak(text="payment list 2024-06 #1")
PAYMENT_REF = keccak(text="bank transfer 20240630-0001")


@pytest.fixture(scope="module")
def other_buyer(accounts):
    return accounts.add(keccak(text="expense claims other buyer").hex())


@pytest.fixture(scope="module")
def claims(ExpenseClaims, receivable_invoices, receivable_ledger, authority, other_buyer):
    """ExpenseClaims on the test registry, reading the ledger's buyer registry; a second buyer
    company registered to `other_buyer`."""
    authority.transfer(other_buyer, 10**19)
    receivable_ledger.registerBuyer(buyer_tag(OTHER_BUYER_TAX_ID), other_buyer, {"from": authority})
    return ExpenseClaims.deploy(authority, receivable_invoices, receivable_ledger, {"from": authority})


@pytest.fixture
def claimed(claims, new_invoice, debtor):
    """An invoice of the test buyer, marked claimed by `debtor`."""
    invoice = new_invoice()
    claims.markClaimed(invoice.key, *invoice.proof, CLAIM_REF, {"from": debtor})
    return invoice


@pytest.fixture
def listed(claims, claimed, debtor):
    """A payment list of 1 claim worth 11,300.00 yuan registered by `debtor`."""
    claims.registerPaymentList(LIST_HASH, 1_130_000, 1, {"from": debtor})
    return LIST_HASH


# ---------------------------------------------------------------- deployment


def test_deployment_wires_registry_ledger_and_roles(claims, receivable_invoices, receivable_ledger, authority):
    assert claims.invoiceRegistry() == receivable_invoices
    assert claims.buyerRegistry() == receivable_ledger
    assert claims.hasRole(claims.AUTHORITY_ROLE(), authority)
    assert claims.defaultAdmin() == authority and claims.defaultAdminDelay() == 2 * 24 * 3600
    assert not claims.paused()


# ---------------------------------------------------------------- markClaimed


def test_buyer_marks_invoice_claimed(claims, new_invoice, debtor, chain):
    invoice = new_invoice()
    assert not claims.isClaimed(invoice.key)
    assert tuple(claims.claimOf(invoice.key)) == (ZERO_ADDRESS, 0, "0x" + "00" * 32)

    tx = claims.markClaimed(invoice.key, *invoice.proof, CLAIM_REF, {"from": debtor})

    assert claims.isClaimed(invoice.key)
    assert tuple(claims.claimOf(invoice.key)) == (debtor, tx.timestamp, "0x" + CLAIM_REF.hex())
    assert claims.isBuyerAccount(debtor)
    event = tx.events["InvoiceClaimed"]
    assert (event["key"], event["claimant"], event["claimRef"], event["openAmount"]) == (
        invoice.key, debtor, "0x" + CLAIM_REF.hex(), invoice.gross)
    assert len(tx.events) == 1


def test_second_claim_by_the_same_buyer_is_refused(claims, claimed, debtor):
    mark = claims.claimOf(claimed.key)
    with reverts_with_args("AlreadyClaimed", claimed.key, debtor, mark[1]):
        claims.markClaimed(claimed.key, *claimed.proof, keccak(text="claim BX-2024-0002"), {"from": debtor})
    assert tuple(claims.claimOf(claimed.key)) == mark


def test_second_claim_by_another_account_is_refused(claims, claimed, debtor, other_buyer, stranger, authority,
                                                    receivable_ledger):
    """Even when the buyer tag is moved to a new account (key change), the invoice stays claimed."""
    claimed_at = claims.claimOf(claimed.key)[1]
    for account in (other_buyer, stranger):
        with reverts_with_args("AlreadyClaimed", claimed.key, debtor, claimed_at):
            claims.markClaimed(claimed.key, *claimed.proof, CLAIM_REF, {"from": account})
    receivable_ledger.registerBuyer(claimed.tag, other_buyer, {"from": authority})
    with reverts_with_args("AlreadyClaimed", claimed.key, debtor, claimed_at):
        claims.markClaimed(claimed.key, *claimed.proof, CLAIM_REF, {"from": other_buyer})


def test_second_deployment_is_a_separate_book(ExpenseClaims, claims, claimed, receivable_invoices,
                                              receivable_ledger, authority, debtor):
    """The guarantee is per deployed contract: platforms must share the one deployment."""
    other = ExpenseClaims.deploy(authority, receivable_invoices, receivable_ledger, {"from": authority})
    assert not other.isClaimed(claimed.key)


def test_another_companys_invoice_is_refused(claims, new_invoice, debtor, other_buyer):
    mine = new_invoice()  # the test buyer's (debtor's) invoice
    theirs = new_invoice(buyer_tax_id=OTHER_BUYER_TAX_ID)
    # the other company with its own tag but my invoice's digest: the proof does not open it
    with reverts_with_args("BuyerProofMismatch", mine.key):
        claims.markClaimed(mine.key, mine.digest, theirs.tag, CLAIM_REF, {"from": other_buyer})
    # the other company holding my document (a copy of the proof): not its account
    with reverts_with_args("NotInvoiceBuyer", mine.key, other_buyer):
        claims.markClaimed(mine.key, *mine.proof, CLAIM_REF, {"from": other_buyer})
    # and I cannot claim theirs
    with reverts_with_args("NotInvoiceBuyer", theirs.key, debtor):
        claims.markClaimed(theirs.key, *theirs.proof, CLAIM_REF, {"from": debtor})
    claims.markClaimed(theirs.key, *theirs.proof, CLAIM_REF, {"from": other_buyer})
    assert claims.claimOf(theirs.key)[0] == other_buyer
    assert not claims.isClaimed(mine.key)


def test_wrong_proof_is_refused(claims, new_invoice, debtor):
    invoice = new_invoice()
    wrong_digest = keccak(text="not the document's digest")
    with reverts_with_args("BuyerProofMismatch", invoice.key):
        claims.markClaimed(invoice.key, wrong_digest, invoice.tag, CLAIM_REF, {"from": debtor})
    with reverts_with_args("BuyerProofMismatch", invoice.key):
        claims.markClaimed(invoice.key, invoice.digest, keccak(text="another tag"), CLAIM_REF, {"from": debtor})


def test_stranger_is_refused(claims, new_invoice, stranger):
    invoice = new_invoice()
    with reverts_with_args("NotInvoiceBuyer", invoice.key, stranger):
        claims.markClaimed(invoice.key, *invoice.proof, CLAIM_REF, {"from": stranger})


def test_unregistered_buyer_tag_is_refused(claims, new_invoice, stranger):
    """A buyer whose tag the authority never linked: nobody can claim its invoices (not the zero account either)."""
    invoice = new_invoice(buyer_tax_id="91330100MA27XL000U")
    with reverts_with_args("NotInvoiceBuyer", invoice.key, stranger):
        claims.markClaimed(invoice.key, *invoice.proof, CLAIM_REF, {"from": stranger})


def test_unknown_invoice_is_refused(claims, new_invoice, debtor):
    proof = new_invoice().proof
    key = keccak(text="99999999999999999999")
    with reverts_with_args("InvoiceNotFound", key):
        claims.markClaimed(key, *proof, CLAIM_REF, {"from": debtor})


def test_voided_invoice_is_refused(claims, receivable_invoices, new_invoice, merchant, debtor):
    invoice = new_invoice()
    receivable_invoices.voidInvoice(invoice.key, {"from": merchant})
    with reverts_with_args("InvoiceNotClaimable", invoice.key, INV_VOIDED):
        claims.markClaimed(invoice.key, *invoice.proof, CLAIM_REF, {"from": debtor})


@pytest.fixture
def self_dealing(receivable_invoices, receivable_ledger, new_invoice, authority, auditor, debtor):
    """A flagged invoice (buyer = seller) whose buyer tag is registered to `debtor`; `auditor` may review."""
    invoice = new_invoice(buyer_tax_id=MERCHANT_TAX_ID)
    receivable_ledger.registerBuyer(invoice.tag, debtor, {"from": authority})
    receivable_invoices.grantRole(receivable_invoices.AUDITOR_ROLE(), auditor, {"from": authority})
    assert receivable_invoices.getInvoice(invoice.key)["status"] == INV_FLAGGED
    return invoice


def test_flagged_invoice_is_refused_until_cleared(claims, receivable_invoices, self_dealing, auditor, debtor):
    invoice = self_dealing
    with reverts_with_args("InvoiceNotClaimable", invoice.key, INV_FLAGGED):
        claims.markClaimed(invoice.key, *invoice.proof, CLAIM_REF, {"from": debtor})
    receivable_invoices.clear(invoice.key, 1, {"from": auditor})
    assert receivable_invoices.getInvoice(invoice.key)["status"] == INV_CLEARED
    claims.markClaimed(invoice.key, *invoice.proof, CLAIM_REF, {"from": debtor})
    assert claims.isClaimed(invoice.key)


def test_rejected_invoice_is_refused(claims, receivable_invoices, self_dealing, auditor, debtor):
    invoice = self_dealing
    receivable_invoices.reject(invoice.key, 2, {"from": auditor})
    with reverts_with_args("InvoiceNotClaimable", invoice.key, INV_REJECTED):
        claims.markClaimed(invoice.key, *invoice.proof, CLAIM_REF, {"from": debtor})


def test_fully_red_lettered_invoice_and_its_note_are_refused(claims, receivable_invoices, new_invoice,
                                                            new_red_letter_note, debtor):
    invoice = new_invoice(net=1_000_000)
    tx = new_red_letter_note(invoice, 1_000_000)
    note_key = tx.return_value
    assert receivable_invoices.getInvoice(invoice.key)["status"] == INV_RED_LETTERED
    with reverts_with_args("InvoiceNotClaimable", invoice.key, INV_RED_LETTERED):
        claims.markClaimed(invoice.key, *invoice.proof, CLAIM_REF, {"from": debtor})
    # the note opens with the same proof (same commitment) but is a negative invoice
    assert receivable_invoices.getInvoice(note_key)["isRedLetter"]
    with reverts_with_args("RedLetterNoteNotClaimable", note_key):
        claims.markClaimed(note_key, *invoice.proof, CLAIM_REF, {"from": debtor})


def test_partly_red_lettered_invoice_is_claimed_for_its_open_amount(claims, receivable_invoices, new_invoice,
                                                                   new_red_letter_note, debtor):
    invoice = new_invoice(net=1_000_000)
    new_red_letter_note(invoice, 400_000)
    assert receivable_invoices.getInvoice(invoice.key)["status"] == INV_ISSUED
    tx = claims.markClaimed(invoice.key, *invoice.proof, CLAIM_REF, {"from": debtor})
    assert tx.events["InvoiceClaimed"]["openAmount"] == 600_000 + 78_000


def test_zero_claim_ref_is_allowed(claims, new_invoice, debtor):
    invoice = new_invoice()
    claims.markClaimed(invoice.key, *invoice.proof, "0x" + "00" * 32, {"from": debtor})
    assert claims.isClaimed(invoice.key)
    assert claims.claimOf(invoice.key)[2] == "0x" + "00" * 32


# ---------------------------------------------------------------- payment lists


def test_buyer_registers_a_payment_list(claims, claimed, debtor):
    tx = claims.registerPaymentList(LIST_HASH, 1_130_000, 1, {"from": debtor})

    assert tuple(claims.paymentListOf(LIST_HASH)) == (debtor, tx.timestamp, 1, 1_130_000, 0, "0x" + "00" * 32)
    event = tx.events["PaymentListRegistered"]
    assert (event["listHash"], event["payer"], event["total"], event["claimCount"]) == (
        "0x" + LIST_HASH.hex(), debtor, 1_130_000, 1)


def test_unknown_payment_list_is_empty(claims):
    assert tuple(claims.paymentListOf(LIST_HASH)) == (ZERO_ADDRESS, 0, 0, 0, 0, "0x" + "00" * 32)


def test_account_that_never_claimed_cannot_register_a_list(claims, debtor, stranger):
    for account in (stranger, debtor):  # debtor is a registered buyer but has marked nothing here yet
        with reverts_with_args("NotBuyerAccount", account):
            claims.registerPaymentList(LIST_HASH, 1_130_000, 1, {"from": account})


def test_duplicate_payment_list_is_refused(claims, listed, debtor, other_buyer, new_invoice):
    with reverts_with_args("PaymentListAlreadyRegistered", listed, debtor):
        claims.registerPaymentList(listed, 999, 2, {"from": debtor})
    theirs = new_invoice(buyer_tax_id=OTHER_BUYER_TAX_ID)
    claims.markClaimed(theirs.key, *theirs.proof, CLAIM_REF, {"from": other_buyer})
    with reverts_with_args("PaymentListAlreadyRegistered", listed, debtor):
        claims.registerPaymentList(listed, 1_130_000, 1, {"from": other_buyer})


@pytest.mark.parametrize("list_hash, total, count", [
    ("0x" + "00" * 32, 1_130_000, 1),
    (LIST_HASH, 0, 1),
    (LIST_HASH, 1_130_000, 0),
    (LIST_HASH, 2**216, 1),
])
def test_invalid_payment_list_is_refused(claims, claimed, debtor, list_hash, total, count):
    with reverts_with_args("InvalidPaymentList", list_hash, total, count):
        claims.registerPaymentList(list_hash, total, count, {"from": debtor})


def test_payer_marks_the_list_paid_once(claims, listed, debtor):
    tx = claims.markPaid(listed, PAYMENT_REF, {"from": debtor})

    view = claims.paymentListOf(listed)
    assert (view["paidAt"], view["paymentRef"]) == (tx.timestamp, "0x" + PAYMENT_REF.hex())
    assert (view["payer"], view["total"], view["claimCount"]) == (debtor, 1_130_000, 1)
    event = tx.events["PaymentListPaid"]
    assert (event["listHash"], event["payer"], event["paymentRef"]) == (
        "0x" + listed.hex(), debtor, "0x" + PAYMENT_REF.hex())

    with reverts_with_args("PaymentListAlreadyPaid", listed, tx.timestamp):
        claims.markPaid(listed, keccak(text="a second transfer"), {"from": debtor})
    assert claims.paymentListOf(listed)["paymentRef"] == "0x" + PAYMENT_REF.hex()


def test_only_the_payer_marks_the_list_paid(claims, listed, other_buyer, stranger, new_invoice):
    theirs = new_invoice(buyer_tax_id=OTHER_BUYER_TAX_ID)
    claims.markClaimed(theirs.key, *theirs.proof, CLAIM_REF, {"from": other_buyer})
    for account in (other_buyer, stranger):
        with reverts_with_args("NotPaymentListPayer", listed, account):
            claims.markPaid(listed, PAYMENT_REF, {"from": account})


def test_mark_paid_needs_a_list_and_a_reference(claims, listed, debtor):
    with reverts_with_args("PaymentListNotFound", keccak(text="no such list")):
        claims.markPaid(keccak(text="no such list"), PAYMENT_REF, {"from": debtor})
    with reverts_with_args("MissingPaymentRef", listed):
        claims.markPaid(listed, "0x" + "00" * 32, {"from": debtor})


# ---------------------------------------------------------------- pause


def test_pause_stops_claims_and_lists(claims, listed, new_invoice, authority, debtor):
    invoice = new_invoice()
    tx = claims.pause({"from": authority})
    assert "Paused" in tx.events and claims.paused()
    with reverts_with("EnforcedPause"):
        claims.markClaimed(invoice.key, *invoice.proof, CLAIM_REF, {"from": debtor})
    with reverts_with("EnforcedPause"):
        claims.registerPaymentList(keccak(text="list 2"), 1, 1, {"from": debtor})
    with reverts_with("EnforcedPause"):
        claims.markPaid(listed, PAYMENT_REF, {"from": debtor})
    assert claims.isClaimed(listed) is False and claims.paymentListOf(listed)["payer"] == debtor  # views work

    claims.unpause({"from": authority})
    claims.markClaimed(invoice.key, *invoice.proof, CLAIM_REF, {"from": debtor})
    claims.markPaid(listed, PAYMENT_REF, {"from": debtor})


def test_only_the_authority_pauses(claims, debtor, authority):
    with reverts_with("AccessControlUnauthorizedAccount"):
        claims.pause({"from": debtor})
    claims.pause({"from": authority})
    with reverts_with("AccessControlUnauthorizedAccount"):
        claims.unpause({"from": debtor})
