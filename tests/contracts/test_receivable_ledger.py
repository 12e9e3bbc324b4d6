"""ReceivableLedger: deployment, buyer registry (keyed tags), creation with the buyer proof,
acceptance (direct and EIP-712), cancel/decline, invoice coupling and views."""
import pytest
from eth_utils import keccak

from tests.conftest import MERCHANT_TAX_ID
from tests.contracts.receivables_fixtures import *  # noqa: F401,F403
from tests.contracts.receivables_fixtures import (
    ACCEPTED,
    ATTESTOR_KEY,
    BUYER_TAG,
    CANCELLED,
    CREATED,
    DAY,
    DEBTOR_KEY,
    DECLINED,
    EIP712_NAME,
    EIP712_VERSION,
    INV_CLEARED,
    INV_FLAGGED,
    INV_RED_LETTERED,
    INV_VOIDED,
    MAX_AMOUNT,
    NONE,
    OTHER_DEBTOR_KEY,
    RECEIVABLE_BUYER_TAX_ID,
    SETTLED,
    ZERO_ADDRESS,
    buyer_digest,
    buyer_tag,
    reverts_with,
    reverts_with_args,
    sign_acceptance,
    sign_buyer_claim,
)

CLAIMED_TAG = buyer_tag("91440300MA5CLAIMED")


@pytest.fixture
def created(new_receivable):
    """A receivable of 5,000.00 yuan waiting for the debtor's acceptance."""
    return new_receivable(accept=False)


@pytest.fixture
def deadline(chain):
    return chain[-1].timestamp + 3600


@pytest.fixture
def attesting(receivable_ledger, authority, attestor):
    """`attestor` holds AUTHORITY_ROLE on the ledger: its BuyerClaim attestations are valid."""
    receivable_ledger.grantRole(receivable_ledger.AUTHORITY_ROLE(), attestor, {"from": authority})
    return attestor


@pytest.fixture
def due(chain):
    return chain[-1].timestamp + 30 * DAY


# ---------------------------------------------------------------- deployment & buyers


def test_deployment_roles_and_links(receivable_ledger, receivable_invoices, settlement_token, authority, financier):
    assert receivable_ledger.hasRole(receivable_ledger.DEFAULT_ADMIN_ROLE(), authority)
    assert receivable_ledger.defaultAdmin() == authority
    assert receivable_ledger.defaultAdminDelay() == 2 * DAY
    assert receivable_ledger.hasRole(receivable_ledger.AUTHORITY_ROLE(), authority)
    assert receivable_ledger.hasRole(receivable_ledger.FINANCIER_ROLE(), financier)
    assert not receivable_ledger.paused()
    assert receivable_ledger.invoiceRegistry() == receivable_invoices
    assert receivable_ledger.token() == settlement_token
    assert receivable_ledger.receivableCount() == 0
    assert receivable_ledger.MAX_PARTS() == 10


def test_authority_registers_buyer_by_tag(receivable_ledger, authority, buyer):
    tag = buyer_tag("91440300MA5EXAMPLE")

    tx = receivable_ledger.registerBuyer(tag, buyer, {"from": authority})

    assert receivable_ledger.buyerAccountOf(tag) == buyer
    event = tx.events["BuyerRegistered"]
    assert bytes(event["buyerTag"]) == tag
    assert (event["account"], event["attestedBy"]) == (buyer, authority)


def test_authority_reregisters_buyer_after_key_change(receivable_ledger, authority, buyer):
    receivable_ledger.registerBuyer(BUYER_TAG, buyer, {"from": authority})

    assert receivable_ledger.buyerAccountOf(BUYER_TAG) == buyer


def test_stranger_cannot_register_buyer(receivable_ledger, stranger):
    with reverts_with_args("AccessControlUnauthorizedAccount", stranger, receivable_ledger.AUTHORITY_ROLE()):
        receivable_ledger.registerBuyer(buyer_tag("X"), stranger, {"from": stranger})


def test_register_zero_tag_or_zero_account_reverts(receivable_ledger, authority):
    with reverts_with("InvalidBuyerRegistration"):
        receivable_ledger.registerBuyer(buyer_tag("X"), ZERO_ADDRESS, {"from": authority})
    with reverts_with("InvalidBuyerRegistration"):
        receivable_ledger.registerBuyer(b"\x00" * 32, authority, {"from": authority})


def test_buyer_claims_with_authority_attestation(receivable_ledger, attesting, buyer, stranger, chain, deadline):
    nonce = receivable_ledger.claimNonces(buyer)
    attestation = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, CLAIMED_TAG, buyer, nonce, deadline, chain.id)

    tx = receivable_ledger.claimBuyer(CLAIMED_TAG, buyer, deadline, attestation, {"from": stranger})

    assert receivable_ledger.buyerAccountOf(CLAIMED_TAG) == buyer
    assert receivable_ledger.claimNonces(buyer) == nonce + 1
    assert receivable_ledger.nonces(buyer) == 0  # the acceptance nonce is another counter
    assert tx.events["BuyerRegistered"]["attestedBy"] == attesting


def test_claim_signed_by_non_authority_reverts(receivable_ledger, attestor, buyer, chain, deadline):
    attestation = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, CLAIMED_TAG, buyer, 0, deadline, chain.id)

    with reverts_with_args("InvalidAttestor", attestor):
        receivable_ledger.claimBuyer(CLAIMED_TAG, buyer, deadline, attestation, {"from": buyer})


def test_claim_for_another_account_reverts(receivable_ledger, attesting, buyer, stranger, chain, deadline):
    attestation = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, CLAIMED_TAG, buyer, 0, deadline, chain.id)

    with reverts_with("InvalidAttestor"):  # recovers some other address
        receivable_ledger.claimBuyer(CLAIMED_TAG, stranger, deadline, attestation, {"from": stranger})


def test_claim_for_another_tag_reverts(receivable_ledger, attesting, buyer, chain, deadline):
    attestation = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, CLAIMED_TAG, buyer, 0, deadline, chain.id)

    with reverts_with("InvalidAttestor"):
        receivable_ledger.claimBuyer(buyer_tag("91440300MA5OTHERTAG"), buyer, deadline, attestation, {"from": buyer})


def test_expired_claim_reverts(receivable_ledger, attesting, buyer, chain):
    deadline = chain[-1].timestamp - 1
    attestation = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, CLAIMED_TAG, buyer, 0, deadline, chain.id)

    with reverts_with_args("ExpiredSignature", deadline):
        receivable_ledger.claimBuyer(CLAIMED_TAG, buyer, deadline, attestation, {"from": buyer})


def test_claim_of_registered_tag_reverts(receivable_ledger, attesting, buyer, debtor, chain, deadline):
    attestation = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, BUYER_TAG, buyer, 0, deadline, chain.id)

    with reverts_with_args("BuyerAlreadyRegistered", BUYER_TAG, debtor):
        receivable_ledger.claimBuyer(BUYER_TAG, buyer, deadline, attestation, {"from": buyer})


def test_claim_signed_over_used_nonce_reverts(receivable_ledger, attesting, buyer, chain, deadline):
    first = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, CLAIMED_TAG, buyer, 0, deadline, chain.id)
    receivable_ledger.claimBuyer(CLAIMED_TAG, buyer, deadline, first, {"from": buyer})
    other_tag = buyer_tag("91440300MA5SECOND")
    stale = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, other_tag, buyer, 0, deadline, chain.id)

    with reverts_with("InvalidAttestor"):  # signed over nonce 0, the account is at 1
        receivable_ledger.claimBuyer(other_tag, buyer, deadline, stale, {"from": buyer})


def test_replayed_claim_reverts(receivable_ledger, attesting, authority, buyer, chain, deadline):
    attestation = sign_buyer_claim(receivable_ledger, ATTESTOR_KEY, CLAIMED_TAG, buyer, 0, deadline, chain.id)
    receivable_ledger.claimBuyer(CLAIMED_TAG, buyer, deadline, attestation, {"from": buyer})
    receivable_ledger.registerBuyer(CLAIMED_TAG, authority, {"from": authority})  # tag taken either way

    with reverts_with("BuyerAlreadyRegistered"):
        receivable_ledger.claimBuyer(CLAIMED_TAG, buyer, deadline, attestation, {"from": buyer})


# ---------------------------------------------------------------- create


def test_seller_creates_receivable(receivable_ledger, receivable_invoices, new_invoice, merchant, debtor, due):
    invoice = new_invoice()  # gross 11,300.00 yuan

    tx = receivable_ledger.create(invoice.key, 500_000, due, *invoice.proof, {"from": merchant})

    rid = tx.return_value
    assert rid == 1
    view = receivable_ledger.getReceivable(rid)
    assert view["status"] == CREATED
    assert view["holder"] == merchant and view["creditor"] == merchant
    assert view["debtor"] == debtor
    assert view["amount"] == 500_000 and view["paid"] == 0
    assert view["dueDate"] == due
    assert view["invoiceKey"] == invoice.key
    assert view["parentId"] == 0 and view["rootId"] == rid
    event = tx.events["ReceivableCreated"]
    assert (event["id"], event["creditor"], event["debtor"], event["amount"]) == (rid, merchant, debtor, 500_000)
    assert receivable_invoices.getInvoice(invoice.key)["drawn"] == 500_000
    drawn = tx.events["InvoiceAmountDrawn"]
    assert (drawn["ledger"], drawn["amount"], drawn["drawn"]) == (receivable_ledger, 500_000, 500_000)
    assert list(receivable_ledger.rootsOfInvoice(invoice.key)) == [rid]
    assert receivable_invoices.availableForReceivable(invoice.key) == 1_130_000 - 500_000


def test_several_receivables_up_to_the_open_amount(receivable_ledger, receivable_invoices, new_invoice, merchant, due):
    invoice = new_invoice()
    receivable_ledger.create(invoice.key, 1_000_000, due, *invoice.proof, {"from": merchant})
    receivable_ledger.create(invoice.key, 130_000, due, *invoice.proof, {"from": merchant})

    assert receivable_invoices.availableForReceivable(invoice.key) == 0
    assert list(receivable_ledger.rootsOfInvoice(invoice.key)) == [1, 2]
    with reverts_with_args("ExceedsInvoiceAvailable", invoice.key, 1, 0):
        receivable_ledger.create(invoice.key, 1, due, *invoice.proof, {"from": merchant})


def test_create_over_open_amount_reverts(receivable_ledger, new_invoice, merchant, due):
    invoice = new_invoice()
    with reverts_with_args("ExceedsInvoiceAvailable", invoice.key, 1_130_001, 1_130_000):
        receivable_ledger.create(invoice.key, 1_130_001, due, *invoice.proof, {"from": merchant})


def test_create_by_non_seller_reverts(receivable_ledger, new_invoice, other_merchant, due):
    invoice = new_invoice()
    with reverts_with_args("NotInvoiceSeller", invoice.key, other_merchant):
        receivable_ledger.create(invoice.key, 1, due, *invoice.proof, {"from": other_merchant})


def test_create_zero_amount_reverts(receivable_ledger, new_invoice, merchant, due):
    invoice = new_invoice()
    with reverts_with_args("InvalidAmount", 0):
        receivable_ledger.create(invoice.key, 0, due, *invoice.proof, {"from": merchant})


def test_create_amount_of_48_bits_or_more_reverts(receivable_ledger, new_invoice, merchant, due):
    invoice = new_invoice()
    with reverts_with_args("InvalidAmount", MAX_AMOUNT + 1):
        receivable_ledger.create(invoice.key, MAX_AMOUNT + 1, due, *invoice.proof, {"from": merchant})


def test_create_due_date_not_in_future_reverts(receivable_ledger, new_invoice, merchant, chain):
    invoice = new_invoice()
    due = chain[-1].timestamp - 1
    with reverts_with_args("DueDateNotInFuture", due):
        receivable_ledger.create(invoice.key, 1, due, *invoice.proof, {"from": merchant})


def test_create_with_wrong_buyer_digest_reverts(receivable_ledger, new_invoice, merchant, due):
    invoice = new_invoice()
    wrong_digest = buyer_digest(keccak(text="another salt"), RECEIVABLE_BUYER_TAX_ID)

    with reverts_with_args("BuyerProofMismatch", invoice.key):
        receivable_ledger.create(invoice.key, 1, due, wrong_digest, invoice.tag, {"from": merchant})


def test_seller_cannot_name_another_registered_buyer_as_debtor(
    receivable_ledger, new_invoice, merchant, authority, buyer, due
):
    other_tag = buyer_tag("91440300MA5EXAMPLE")
    receivable_ledger.registerBuyer(other_tag, buyer, {"from": authority})
    invoice = new_invoice()  # issued to the debtor's company

    with reverts_with_args("BuyerProofMismatch", invoice.key):
        receivable_ledger.create(invoice.key, 1, due, invoice.digest, other_tag, {"from": merchant})


def test_create_for_unregistered_buyer_reverts(receivable_ledger, new_invoice, merchant, due):
    invoice = new_invoice(buyer_tax_id="91110108MA01UNKNOWN")
    with reverts_with_args("BuyerNotRegistered", invoice.tag):
        receivable_ledger.create(invoice.key, 1, due, *invoice.proof, {"from": merchant})


def test_create_on_unknown_invoice_reverts(receivable_ledger, new_invoice, merchant, due):
    proof = new_invoice().proof
    key = keccak(text="99999999999999999999")
    with reverts_with_args("InvoiceNotFound", key):
        receivable_ledger.create(key, 1, due, *proof, {"from": merchant})


def test_create_on_voided_invoice_reverts(receivable_ledger, receivable_invoices, new_invoice, merchant, due):
    invoice = new_invoice()
    receivable_invoices.voidInvoice(invoice.key, {"from": merchant})

    with reverts_with_args("InvoiceNotEligible", invoice.key, INV_VOIDED):
        receivable_ledger.create(invoice.key, 1, due, *invoice.proof, {"from": merchant})
    assert receivable_invoices.availableForReceivable(invoice.key) == 0


def test_create_on_flagged_invoice_reverts_until_cleared(
    receivable_ledger, receivable_invoices, new_invoice, merchant, auditor, debtor, authority, due
):
    invoice = new_invoice(buyer_tax_id=MERCHANT_TAX_ID)  # buyer = seller: flagged as self-dealing
    receivable_ledger.registerBuyer(invoice.tag, debtor, {"from": authority})
    receivable_invoices.grantRole(receivable_invoices.AUDITOR_ROLE(), auditor, {"from": authority})
    assert receivable_invoices.getInvoice(invoice.key)["status"] == INV_FLAGGED

    with reverts_with_args("InvoiceNotEligible", invoice.key, INV_FLAGGED):
        receivable_ledger.create(invoice.key, 1, due, *invoice.proof, {"from": merchant})

    receivable_invoices.clear(invoice.key, 1, {"from": auditor})
    assert receivable_invoices.getInvoice(invoice.key)["status"] == INV_CLEARED
    rid = receivable_ledger.create(invoice.key, 1, due, *invoice.proof, {"from": merchant}).return_value
    assert receivable_ledger.statusOf(rid) == CREATED


# ---------------------------------------------------------------- accept


def test_debtor_accepts(receivable_ledger, created, debtor):
    tx = receivable_ledger.accept(created, {"from": debtor})

    assert receivable_ledger.statusOf(created) == ACCEPTED
    event = tx.events["ReceivableAccepted"]
    assert (event["id"], event["debtor"], event["relayer"]) == (created, debtor, debtor)


def test_accept_by_non_debtor_reverts(receivable_ledger, created, merchant):
    with reverts_with_args("NotDebtor", created, merchant):
        receivable_ledger.accept(created, {"from": merchant})


def test_accept_twice_reverts(receivable_ledger, created, debtor):
    receivable_ledger.accept(created, {"from": debtor})
    with reverts_with_args("ReceivableAlreadyAccepted", created, ACCEPTED):
        receivable_ledger.accept(created, {"from": debtor})


def test_accept_unknown_reverts(receivable_ledger, debtor):
    with reverts_with_args("ReceivableNotFound", 42):
        receivable_ledger.accept(42, {"from": debtor})


def test_accept_by_signature_relayed_by_anyone(receivable_ledger, created, debtor, stranger, chain, deadline):
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, created, 0, deadline, chain.id)

    tx = receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})

    assert receivable_ledger.statusOf(created) == ACCEPTED
    assert receivable_ledger.nonces(debtor) == 1
    assert receivable_ledger.claimNonces(debtor) == 0
    event = tx.events["ReceivableAccepted"]
    assert (event["debtor"], event["relayer"]) == (debtor, stranger)


def test_accept_by_expired_signature_reverts(receivable_ledger, created, stranger, chain):
    deadline = chain[-1].timestamp + 60
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, created, 0, deadline, chain.id)
    chain.sleep(120)
    chain.mine()

    with reverts_with_args("ExpiredSignature", deadline):
        receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})


def test_replayed_acceptance_signature_reverts(receivable_ledger, created, debtor, stranger, chain, deadline):
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, created, 0, deadline, chain.id)
    receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})

    with reverts_with_args("InvalidAccountNonce", debtor, 1):
        receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})


def test_acceptance_signature_with_future_nonce_reverts(receivable_ledger, created, debtor, stranger, chain, deadline):
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, created, 5, deadline, chain.id)
    with reverts_with_args("InvalidAccountNonce", debtor, 0):
        receivable_ledger.acceptBySignature(created, 5, deadline, signature, {"from": stranger})


def test_acceptance_signed_by_wrong_signer_reverts(receivable_ledger, created, debtor, stranger, chain, deadline):
    signature = sign_acceptance(receivable_ledger, OTHER_DEBTOR_KEY, created, 0, deadline, chain.id)
    with reverts_with_args("InvalidSignature", debtor):
        receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})


def test_acceptance_signed_for_other_chain_reverts(receivable_ledger, created, debtor, stranger, chain, deadline):
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, created, 0, deadline, chain.id + 1)
    with reverts_with_args("InvalidSignature", debtor):
        receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})


def test_acceptance_signed_for_other_contract_reverts(receivable_ledger, created, debtor, stranger, chain, deadline):
    signature = sign_acceptance(
        receivable_ledger, DEBTOR_KEY, created, 0, deadline, chain.id, verifying_contract=stranger.address
    )
    with reverts_with_args("InvalidSignature", debtor):
        receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})


def test_acceptance_signed_for_v1_domain_reverts(receivable_ledger, created, debtor, stranger, chain, deadline):
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, created, 0, deadline, chain.id, version="1")
    with reverts_with_args("InvalidSignature", debtor):
        receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})


def test_acceptance_signature_over_other_terms_reverts(receivable_ledger, created, debtor, stranger, chain, deadline):
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, created, 0, deadline, chain.id, amount=1)
    with reverts_with_args("InvalidSignature", debtor):
        receivable_ledger.acceptBySignature(created, 0, deadline, signature, {"from": stranger})


def test_signature_for_one_receivable_cannot_accept_another(
    receivable_ledger, new_receivable, debtor, stranger, chain, deadline
):
    first = new_receivable(accept=False)
    second = new_receivable(accept=False)
    signature = sign_acceptance(receivable_ledger, DEBTOR_KEY, first, 0, deadline, chain.id)
    with reverts_with_args("InvalidSignature", debtor):
        receivable_ledger.acceptBySignature(second, 0, deadline, signature, {"from": stranger})


# ---------------------------------------------------------------- cancel / decline


def test_holder_cancels_before_acceptance(receivable_ledger, receivable_invoices, created, merchant, invoice_of):
    tx = receivable_ledger.cancel(created, {"from": merchant})

    assert receivable_ledger.statusOf(created) == CANCELLED
    assert tx.events["ReceivableCancelled"]["holder"] == merchant
    assert tx.events["InvoiceDrawReleased"]["amount"] == 500_000
    invoice = invoice_of(created)
    assert (invoice["drawn"], invoice["settled"]) == (0, 0)
    assert receivable_invoices.availableForReceivable(invoice["key"]) == 1_130_000


def test_cancel_by_non_holder_reverts(receivable_ledger, created, stranger):
    with reverts_with_args("NotHolder", created, stranger):
        receivable_ledger.cancel(created, {"from": stranger})


def test_cancel_after_acceptance_reverts(receivable_ledger, new_receivable, merchant):
    rid = new_receivable()
    with reverts_with_args("ReceivableAlreadyAccepted", rid, ACCEPTED):
        receivable_ledger.cancel(rid, {"from": merchant})


def test_debtor_declines(receivable_ledger, created, debtor, invoice_of):
    tx = receivable_ledger.decline(created, {"from": debtor})

    assert receivable_ledger.statusOf(created) == DECLINED
    assert tx.events["ReceivableDeclined"]["debtor"] == debtor
    assert invoice_of(created)["drawn"] == 0


def test_decline_by_non_debtor_reverts(receivable_ledger, created, merchant):
    with reverts_with_args("NotDebtor", created, merchant):
        receivable_ledger.decline(created, {"from": merchant})


def test_closed_receivable_cannot_be_accepted(receivable_ledger, created, merchant, debtor):
    receivable_ledger.cancel(created, {"from": merchant})
    with reverts_with_args("ReceivableClosed", created, CANCELLED):
        receivable_ledger.accept(created, {"from": debtor})
    with reverts_with_args("ReceivableClosed", created, CANCELLED):
        receivable_ledger.decline(created, {"from": debtor})


# ---------------------------------------------------------------- invoice coupling


def test_invoice_with_live_receivable_cannot_be_voided(receivable_ledger, receivable_invoices, created, merchant):
    key = receivable_ledger.getReceivable(created)["invoiceKey"]
    with reverts_with_args("InvoiceHasReceivable", key, 500_000):
        receivable_invoices.voidInvoice(key, {"from": merchant})

    receivable_ledger.cancel(created, {"from": merchant})
    receivable_invoices.voidInvoice(key, {"from": merchant})
    assert receivable_invoices.getInvoice(key)["status"] == INV_VOIDED


def test_red_letter_cannot_push_open_amount_below_receivables(
    receivable_ledger, receivable_invoices, new_invoice, new_red_letter_note, merchant, due
):
    invoice = new_invoice()  # 1,000,000 + 130,000
    receivable_ledger.create(invoice.key, 1_000_000, due, *invoice.proof, {"from": merchant})

    with reverts_with_args("OpenAmountBelowReceivables", invoice.key, 904_000, 1_000_000):
        new_red_letter_note(invoice, 200_000)  # 226,000 off

    new_red_letter_note(invoice, 100_000)  # 113,000 off
    assert receivable_invoices.getInvoice(invoice.key)["openAmount"] == 1_017_000
    assert receivable_invoices.availableForReceivable(invoice.key) == 17_000


def test_red_lettered_to_zero_invoice_cannot_back_receivable(
    receivable_ledger, receivable_invoices, new_invoice, new_red_letter_note, merchant, due
):
    invoice = new_invoice(net=100_000)
    new_red_letter_note(invoice, 100_000)
    assert receivable_invoices.getInvoice(invoice.key)["status"] == INV_RED_LETTERED

    with reverts_with_args("InvoiceNotEligible", invoice.key, INV_RED_LETTERED):
        receivable_ledger.create(invoice.key, 1, due, *invoice.proof, {"from": merchant})


def test_red_letter_note_cannot_back_receivable(receivable_ledger, new_invoice, new_red_letter_note, merchant, due):
    invoice = new_invoice()
    note_key = new_red_letter_note(invoice, 100_000).return_value

    with reverts_with("InvoiceNotEligible"):
        receivable_ledger.create(note_key, 1, due, *invoice.proof, {"from": merchant})  # same buyer, same salt


def test_create_refused_while_registry_paused_but_closing_works(
    receivable_ledger, receivable_invoices, new_invoice, new_receivable, authority, merchant, debtor, due
):
    created = new_receivable(accept=False)
    accepted = new_receivable(amount=1_000)
    partly_paid = new_receivable(amount=1_000)
    receivable_ledger.settle(partly_paid, 600, {"from": debtor})
    invoice = new_invoice()
    receivable_invoices.pause({"from": authority})

    with reverts_with("EnforcedPause"):
        receivable_ledger.create(invoice.key, 1, due, *invoice.proof, {"from": merchant})
    receivable_ledger.cancel(created, {"from": merchant})  # releases on the paused registry
    receivable_ledger.settle(accepted, 1_000, {"from": debtor})  # settles on the paused registry
    parts = receivable_ledger.split(partly_paid, [600, 400], {"from": merchant}).return_value  # part 1 born settled

    assert receivable_ledger.statusOf(created) == CANCELLED
    assert receivable_ledger.statusOf(accepted) == SETTLED
    assert [receivable_ledger.statusOf(p) for p in parts] == [SETTLED, ACCEPTED]


# ---------------------------------------------------------------- views


def test_views_of_unknown_receivable(receivable_ledger):
    assert receivable_ledger.statusOf(7) == NONE
    with reverts_with_args("ReceivableNotFound", 7):
        receivable_ledger.getReceivable(7)
    with reverts_with_args("ReceivableNotFound", 7):
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
    assert (domain["name"], domain["version"]) == (EIP712_NAME, EIP712_VERSION)
    assert domain["chainId"] == chain.id
    assert domain["verifyingContract"] == receivable_ledger.address
