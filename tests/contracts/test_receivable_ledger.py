"""ReceivableLedger: deployment, buyer registry, creation, acceptance (direct and EIP-712),
cancel/decline, invoice coupling and views."""
import pytest
from eth_utils import keccak

from tests.conftest import MERCHANT_TAX_ID
from tests.contracts.receivables_fixtures import *  # noqa: F401,F403
from tests.contracts.receivables_fixtures import (
    ACCEPTED,
    ATTESTOR_KEY,
    BUYER_HASH,
    CANCELLED,
    CREATED,
    DAY,
    DEBTOR_KEY,
    DECLINED,
    INV_CLEARED,
    INV_FLAGGED,
    INV_RED_LETTERED,
    INV_VOIDED,
    NONE,
    OTHER_DEBTOR_KEY,
    SETTLED,
    buyer_id_hash,
    reverts,
    sign_acceptance,
    sign_buyer_claim,
)


@pytest.fixture
def created(new_receivable):
    """A receivable of 5,000.00 yuan waiting for the debtor's acceptance."""
    return new_receivable(accept=False)


@pytest.fixture
def deadline(chain):
    return chain[-1].timestamp + 3600


# ---------------------------------------------------------------- deployment & buyers


def test_deployment_roles_and_links(receivable_ledger, receivable_invoices, settlement_token, authority, financier):
    assert receivable_ledger.hasRole(receivable_ledger.DEFAULT_ADMIN_ROLE(), authority)
    assert receivable_ledger.hasRole(receivable_ledger.AUTHORITY_ROLE(), authority)
    assert receivable_ledger.hasRole(receivable_ledger.FINANCIER_ROLE(), financier)
    assert receivable_ledger.invoiceRegistry() == receivable_invoices
    assert receivable_ledger.settlementToken() == settlement_token
    assert receivable_ledger.rootCount() == 0
    assert receivable_ledger.MAX_PARTS() == 10


def test_authority_registers_buyer(receivable_ledger, authority, buyer):
    hash_ = buyer_id_hash("91440300MA5EXAMPLE")

    tx = receivable_ledger.registerBuyer(hash_, buyer, {"from": authority})

    assert receivable_ledger.buyerAccountOf(hash_) == buyer
    assert tx.events["BuyerRegistered"]["account"] == buyer
    assert tx.events["BuyerRegistered"]["attestedBy"] == authority


def test_authority_reregisters_buyer_after_key_change(receivable_ledger, authority, buyer, debtor):
    receivable_ledger.registerBuyer(BUYER_HASH, buyer, {"from": authority})

    assert receivable_ledger.buyerAccountOf(BUYER_HASH) == buyer


def test_stranger_cannot_register_buyer(receivable_ledger, stranger):
    with reverts("AccessControlUnauthorizedAccount", stranger, receivable_ledger.AUTHORITY_ROLE()):
        receivable_ledger.registerBuyer(buyer_id_hash("X"), stranger, {"from": stranger})


def test_register_zero_account_reverts(receivable_ledger, authority):
    hash_ = buyer_id_hash("X")
    with reverts("InvalidBuyerRegistration"):
        receivable_ledger.registerBuyer(hash_, "0x" + "00" * 20, {"from": authority})
    with reverts("InvalidBuyerRegistration"):
        receivable_ledger.registerBuyer(b"\x00" * 20, authority, {"from": authority})


def test_buyer_claims_with_authority_attestation(receivable_ledger, authority, attestor, buyer, stranger, chain, deadline):
    receivable_ledger.grantRole(receivable_ledger.AUTHORITY_ROLE(), attestor, {"from": authority})
    hash_ = buyer_id_hash("91440300MA5CLAIMED")
    nonce = receivable_ledger.nonces(buyer)
    attestation = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, hash_, buyer, nonce, deadline, chain.id)

    tx = receivable_ledger.claimBuyer(hash_, buyer, deadline, attestation, {"from": stranger})

    assert receivable_ledger.buyerAccountOf(hash_) == buyer
    assert receivable_ledger.nonces(buyer) == nonce + 1
    assert tx.events["BuyerRegistered"]["attestedBy"] == attestor


def test_claim_signed_by_non_authority_reverts(receivable_ledger, attestor, buyer, chain, deadline):
    hash_ = buyer_id_hash("91440300MA5CLAIMED")
    attestation = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, hash_, buyer, 0, deadline, chain.id)

    with reverts("InvalidAttestor", attestor):
        receivable_ledger.claimBuyer(hash_, buyer, deadline, attestation, {"from": buyer})


def test_claim_for_another_account_reverts(receivable_ledger, authority, attestor, buyer, stranger, chain, deadline):
    receivable_ledger.grantRole(receivable_ledger.AUTHORITY_ROLE(), attestor, {"from": authority})
    hash_ = buyer_id_hash("91440300MA5CLAIMED")
    attestation = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, hash_, buyer, 0, deadline, chain.id)

    with reverts("InvalidAttestor"):  # recovers some other address
        receivable_ledger.claimBuyer(hash_, stranger, deadline, attestation, {"from": stranger})


def test_expired_claim_reverts(receivable_ledger, authority, attestor, buyer, chain):
    receivable_ledger.grantRole(receivable_ledger.AUTHORITY_ROLE(), attestor, {"from": authority})
    hash_ = buyer_id_hash("91440300MA5CLAIMED")
    deadline = chain[-1].timestamp - 1
    attestation = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, hash_, buyer, 0, deadline, chain.id)

    with reverts("ExpiredSignature", deadline):
        receivable_ledger.claimBuyer(hash_, buyer, deadline, attestation, {"from": buyer})


def test_claim_of_registered_hash_reverts(receivable_ledger, authority, attestor, buyer, debtor, chain, deadline):
    receivable_ledger.grantRole(receivable_ledger.AUTHORITY_ROLE(), attestor, {"from": authority})
    attestation = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, BUYER_HASH, buyer, 0, deadline, chain.id)

    with reverts("BuyerAlreadyRegistered", BUYER_HASH, debtor):
        receivable_ledger.claimBuyer(BUYER_HASH, buyer, deadline, attestation, {"from": buyer})


def test_replayed_claim_reverts(receivable_ledger, authority, attestor, buyer, chain, deadline):
    receivable_ledger.grantRole(receivable_ledger.AUTHORITY_ROLE(), attestor, {"from": authority})
    hash_ = buyer_id_hash("91440300MA5CLAIMED")
    attestation = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, hash_, buyer, 0, deadline, chain.id)
    receivable_ledger.claimBuyer(hash_, buyer, deadline, attestation, {"from": buyer})
    receivable_ledger.registerBuyer(hash_, authority, {"from": authority})  # hash taken either way

    with reverts("BuyerAlreadyRegistered"):
        receivable_ledger.claimBuyer(hash_, buyer, deadline, attestation, {"from": buyer})


# ---------------------------------------------------------------- create


def test_seller_creates_receivable(receivable_ledger, receivable_invoices, new_invoice, merchant, debtor, chain):
    key = new_invoice()  # gross 11,300.00 yuan
    due = chain[-1].timestamp + 30 * DAY

    tx = receivable_ledger.create(key, 500_000, due, {"from": merchant})

    rid = tx.return_value
    assert rid == 1
    view = receivable_ledger.getReceivable(rid)
    assert view["status"] == CREATED
    assert view["holder"] == merchant and view["creditor"] == merchant
    assert view["debtor"] == debtor
    assert view["amount"] == 500_000 and view["paid"] == 0
    assert view["dueDate"] == due
    assert view["invoiceKey"] == key
    assert view["parentId"] == 0 and view["rootId"] == rid
    event = tx.events["ReceivableCreated"]
    assert (event["id"], event["creditor"], event["debtor"], event["amount"]) == (rid, merchant, debtor, 500_000)
    assert receivable_invoices.getInvoice(key)["drawn"] == 500_000
    assert tx.events["ReceivableDrawn"]["amount"] == 500_000
    assert receivable_ledger.receivableCountOfInvoice(key) == 1
    assert receivable_ledger.receivableOfInvoiceAt(key, 0) == rid
    assert receivable_ledger.availableOfInvoice(key) == 1_130_000 - 500_000


def test_several_receivables_up_to_the_open_amount(receivable_ledger, new_invoice, merchant, chain):
    key = new_invoice()
    due = chain[-1].timestamp + DAY
    receivable_ledger.create(key, 1_000_000, due, {"from": merchant})
    receivable_ledger.create(key, 130_000, due, {"from": merchant})

    assert receivable_ledger.availableOfInvoice(key) == 0
    assert receivable_ledger.receivableCountOfInvoice(key) == 2
    assert receivable_ledger.receivableOfInvoiceAt(key, 1) == 2
    with reverts("ExceedsInvoiceAvailable", key, 1, 0):
        receivable_ledger.create(key, 1, due, {"from": merchant})


def test_create_over_open_amount_reverts(receivable_ledger, new_invoice, merchant, chain):
    key = new_invoice()
    with reverts("ExceedsInvoiceAvailable", key, 1_130_001, 1_130_000):
        receivable_ledger.create(key, 1_130_001, chain[-1].timestamp + DAY, {"from": merchant})


def test_create_by_non_seller_reverts(receivable_ledger, new_invoice, other_merchant, chain):
    key = new_invoice()
    with reverts("NotInvoiceSeller", key, other_merchant):
        receivable_ledger.create(key, 1, chain[-1].timestamp + DAY, {"from": other_merchant})


def test_create_zero_amount_reverts(receivable_ledger, new_invoice, merchant, chain):
    with reverts("InvalidAmount", 0):
        receivable_ledger.create(new_invoice(), 0, chain[-1].timestamp + DAY, {"from": merchant})


def test_create_due_date_not_in_future_reverts(receivable_ledger, new_invoice, merchant, chain):
    key = new_invoice()
    due = chain[-1].timestamp - 1
    with reverts("DueDateNotInFuture", due):
        receivable_ledger.create(key, 1, due, {"from": merchant})


def test_create_for_unregistered_buyer_reverts(receivable_ledger, new_invoice, merchant, chain):
    other_hash = buyer_id_hash("91110108MA01UNKNOWN")
    key = new_invoice(buyer_hash=other_hash)
    with reverts("BuyerNotRegistered", other_hash):
        receivable_ledger.create(key, 1, chain[-1].timestamp + DAY, {"from": merchant})


def test_create_on_unknown_invoice_reverts(receivable_ledger, merchant, chain):
    key = keccak(text="99999999999999999999")
    with reverts("InvoiceNotFound", key):
        receivable_ledger.create(key, 1, chain[-1].timestamp + DAY, {"from": merchant})


def test_create_on_voided_invoice_reverts(receivable_ledger, receivable_invoices, new_invoice, merchant, chain):
    key = new_invoice()
    receivable_invoices.voidInvoice(key, {"from": merchant})

    with reverts("InvoiceNotEligible", key, INV_VOIDED):
        receivable_ledger.create(key, 1, chain[-1].timestamp + DAY, {"from": merchant})
    assert receivable_ledger.availableOfInvoice(key) == 0


def test_create_on_flagged_invoice_reverts_until_cleared(
    receivable_ledger, receivable_invoices, new_invoice, merchant, auditor, debtor, authority, chain
):
    seller_hash = buyer_id_hash(MERCHANT_TAX_ID)  # buyer = seller: flagged as self-dealing
    receivable_ledger.registerBuyer(seller_hash, debtor, {"from": authority})
    receivable_invoices.grantRole(receivable_invoices.AUDITOR_ROLE(), auditor, {"from": authority})
    key = new_invoice(buyer_hash=seller_hash)
    assert receivable_invoices.getInvoice(key)["status"] == INV_FLAGGED

    with reverts("InvoiceNotEligible", key, INV_FLAGGED):
        receivable_ledger.create(key, 1, chain[-1].timestamp + DAY, {"from": merchant})

    receivable_invoices.clear(key, 1, {"from": auditor})
    assert receivable_invoices.getInvoice(key)["status"] == INV_CLEARED
    rid = receivable_ledger.create(key, 1, chain[-1].timestamp + DAY, {"from": merchant}).return_value
    assert receivable_ledger.statusOf(rid) == CREATED


# ---------------------------------------------------------------- accept


def test_debtor_accepts(receivable_ledger, created, debtor):
    tx = receivable_ledger.accept(created, {"from": debtor})

    assert receivable_ledger.statusOf(created) == ACCEPTED
    event = tx.events["ReceivableAccepted"]
    assert (event["id"], event["debtor"], event["relayer"]) == (created, debtor, debtor)


def test_accept_by_non_debtor_reverts(receivable_ledger, created, merchant):
    with reverts("NotDebtor", created, merchant):
        receivable_ledger.accept(created, {"from": merchant})


def test_accept_twice_reverts(receivable_ledger, created, debtor):
    receivable_ledger.accept(created, {"from": debtor})
    with reverts("ReceivableAlreadyAccepted", created, ACCEPTED):
        receivable_ledger.accept(created, {"from": debtor})


def test_accept_unknown_reverts(receivable_ledger, debtor):
    with reverts("ReceivableNotFound", 42):
        receivable_ledger.accept(42, {"from": debtor})


def test_accept_by_signature_relayed_by_anyone(receivable_ledger, created, debtor, stranger, chain, deadline):
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, created, 0, deadline, chain.id)

    tx = receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})

    assert receivable_ledger.statusOf(created) == ACCEPTED
    assert receivable_ledger.nonces(debtor) == 1
    event = tx.events["ReceivableAccepted"]
    assert (event["debtor"], event["relayer"]) == (debtor, stranger)


def test_accept_by_expired_signature_reverts(receivable_ledger, created, stranger, chain):
    deadline = chain[-1].timestamp + 60
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, created, 0, deadline, chain.id)
    chain.sleep(120)
    chain.mine()

    with reverts("ExpiredSignature", deadline):
        receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})


def test_replayed_acceptance_signature_reverts(receivable_ledger, new_receivable, debtor, stranger, chain, deadline):
    first = new_receivable(accept=False)
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, first, 0, deadline, chain.id)
    receivable_ledger.acceptBySignature(first, 0, deadline, signature, {"from": stranger})

    with reverts("InvalidAccountNonce", debtor, 1):
        receivable_ledger.acceptBySignature(first, 0, deadline, signature, {"from": stranger})


def test_acceptance_signature_with_future_nonce_reverts(receivable_ledger, created, debtor, stranger, chain, deadline):
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, created, 5, deadline, chain.id)
    with reverts("InvalidAccountNonce", debtor, 0):
        receivable_ledger.acceptBySignature(created, 5, deadline, signature, {"from": stranger})


def test_acceptance_signed_by_wrong_signer_reverts(receivable_ledger, created, debtor, stranger, chain, deadline):
    signature = sign_acceptance(receivable_ledger, OTHER_DEBTOR_KEY, created, 0, deadline, chain.id)
    with reverts("InvalidSignature", debtor):
        receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})


def test_acceptance_signed_for_other_chain_reverts(receivable_ledger, created, debtor, stranger, chain, deadline):
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, created, 0, deadline, chain.id + 1)
    with reverts("InvalidSignature", debtor):
        receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})


def test_acceptance_signed_for_other_contract_reverts(receivable_ledger, created, debtor, stranger, chain, deadline):
    signature = sign_acceptance(
        receivable_ledger, DEBTOR_KEY, created, 0, deadline, chain.id, verifying_contract=stranger.address
    )
    with reverts("InvalidSignature", debtor):
        receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})


def test_acceptance_signature_over_other_terms_reverts(receivable_ledger, created, debtor, stranger, chain, deadline):
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, created, 0, deadline, chain.id, amount=1)
    with reverts("InvalidSignature", debtor):
        receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})


def test_signature_for_one_receivable_cannot_accept_another(
    receivable_ledger, new_receivable, debtor, stranger, chain, deadline
):
    first = new_receivable(accept=False)
    second = new_receivable(accept=False)
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, first, 0, deadline, chain.id)
    with reverts("InvalidSignature", debtor):
        receivable_ledger.acceptBySignature(second, 0, deadline, signature, {"from": stranger})


# ---------------------------------------------------------------- cancel / decline


def test_holder_cancels_before_acceptance(receivable_ledger, receivable_invoices, created, merchant):
    key = receivable_ledger.getReceivable(created)["invoiceKey"]

    tx = receivable_ledger.cancel(created, {"from": merchant})

    assert receivable_ledger.statusOf(created) == CANCELLED
    assert tx.events["ReceivableCancelled"]["holder"] == merchant
    assert receivable_invoices.getInvoice(key)["drawn"] == 0
    assert receivable_ledger.availableOfInvoice(key) == 1_130_000


def test_cancel_by_non_holder_reverts(receivable_ledger, created, stranger):
    with reverts("NotHolder", created, stranger):
        receivable_ledger.cancel(created, {"from": stranger})


def test_cancel_after_acceptance_reverts(receivable_ledger, new_receivable, merchant):
    rid = new_receivable()
    with reverts("ReceivableAlreadyAccepted", rid, ACCEPTED):
        receivable_ledger.cancel(rid, {"from": merchant})


def test_debtor_declines(receivable_ledger, receivable_invoices, created, debtor):
    key = receivable_ledger.getReceivable(created)["invoiceKey"]

    tx = receivable_ledger.decline(created, {"from": debtor})

    assert receivable_ledger.statusOf(created) == DECLINED
    assert tx.events["ReceivableDeclined"]["debtor"] == debtor
    assert receivable_invoices.getInvoice(key)["drawn"] == 0


def test_decline_by_non_debtor_reverts(receivable_ledger, created, merchant):
    with reverts("NotDebtor", created, merchant):
        receivable_ledger.decline(created, {"from": merchant})


def test_closed_receivable_cannot_be_accepted(receivable_ledger, created, merchant, debtor):
    receivable_ledger.cancel(created, {"from": merchant})
    with reverts("ReceivableClosed", created, CANCELLED):
        receivable_ledger.accept(created, {"from": debtor})
    with reverts("ReceivableClosed", created, CANCELLED):
        receivable_ledger.decline(created, {"from": debtor})


# ---------------------------------------------------------------- invoice coupling


def test_invoice_with_live_receivable_cannot_be_voided(receivable_ledger, receivable_invoices, created, merchant):
    key = receivable_ledger.getReceivable(created)["invoiceKey"]
    with reverts("InvoiceHasReceivable", key, 500_000):
        receivable_invoices.voidInvoice(key, {"from": merchant})

    receivable_ledger.cancel(created, {"from": merchant})
    receivable_invoices.voidInvoice(key, {"from": merchant})
    assert receivable_invoices.getInvoice(key)["status"] == INV_VOIDED


def test_red_letter_cannot_push_open_amount_below_receivables(
    receivable_ledger, receivable_invoices, new_invoice, merchant, chain
):
    key = new_invoice()  # 1,000,000 + 130,000
    receivable_ledger.create(key, 1_000_000, chain[-1].timestamp + DAY, {"from": merchant})
    original = receivable_invoices.getInvoice(key)
    note = (
        "26779999999999999991",
        str(merchant),
        bytes(original["buyerIdHash"]),
        200_000,
        26_000,
        226_000,
        13,
        1,
        0,
        chain[-1].timestamp - 60,
        keccak(text="red letter note"),
    )
    with reverts("OpenAmountBelowDrawn"):
        receivable_invoices.issueRedLetter(key, note, 1, {"from": merchant})

    smaller = note[:3] + (100_000, 13_000, 113_000) + note[6:]
    receivable_invoices.issueRedLetter(key, smaller, 1, {"from": merchant})
    assert receivable_invoices.getInvoice(key)["openAmount"] == 1_017_000
    assert receivable_ledger.availableOfInvoice(key) == 17_000


def test_red_lettered_to_zero_invoice_cannot_back_receivable(
    receivable_ledger, receivable_invoices, new_invoice, merchant, chain
):
    key = new_invoice(net=100_000)
    original = receivable_invoices.getInvoice(key)
    note = (
        "26779999999999999992",
        str(merchant),
        bytes(original["buyerIdHash"]),
        100_000,
        13_000,
        113_000,
        13,
        1,
        0,
        chain[-1].timestamp - 60,
        keccak(text="full red letter note"),
    )
    receivable_invoices.issueRedLetter(key, note, 1, {"from": merchant})
    assert receivable_invoices.getInvoice(key)["status"] == INV_RED_LETTERED

    with reverts("InvoiceNotEligible", key, INV_RED_LETTERED):
        receivable_ledger.create(key, 1, chain[-1].timestamp + DAY, {"from": merchant})


# ---------------------------------------------------------------- views


def test_views_of_unknown_receivable(receivable_ledger):
    assert receivable_ledger.statusOf(7) == NONE
    with reverts("ReceivableNotFound", 7):
        receivable_ledger.getReceivable(7)
    with reverts("ReceivableNotFound", 7):
        receivable_ledger.holderOf(7)


def test_overdue_is_derived_from_due_date(receivable_ledger, new_receivable, chain):
    rid = new_receivable(due_in=DAY)
    assert not receivable_ledger.isOverdue(rid)
    assert not receivable_ledger.getReceivable(rid)["overdue"]

    chain.sleep(DAY + 10)
    chain.mine()

    assert receivable_ledger.isOverdue(rid)
    assert receivable_ledger.getReceivable(rid)["overdue"]


def test_domain_separator_binds_chain_and_contract(receivable_ledger, chain):
    domain = receivable_ledger.eip712Domain()
    assert domain["name"] == "ReceivableLedger" and domain["version"] == "1"
    assert domain["chainId"] == chain.id
    assert domain["verifyingContract"] == receivable_ledger.address


def test_create_refused_while_registry_paused_but_closing_works(
    receivable_ledger, receivable_invoices, new_invoice, new_receivable, authority, merchant, debtor, chain
):
    created = new_receivable(accept=False)
    accepted = new_receivable(amount=1_000)
    key = new_invoice()
    receivable_invoices.pause({"from": authority})

    with reverts("EnforcedPause"):
        receivable_ledger.create(key, 1, chain[-1].timestamp + DAY, {"from": merchant})
    receivable_ledger.cancel(created, {"from": merchant})  # releases on the paused registry
    receivable_ledger.settle(accepted, 1_000, {"from": debtor})

    assert receivable_ledger.statusOf(created) == CANCELLED
    assert receivable_ledger.statusOf(accepted) == SETTLED
