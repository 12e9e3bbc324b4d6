"""Fixtures and helpers of the ReceivableLedger / SettlementToken tests (contracts v2).

Imported by the receivable test modules with ``from tests.contracts.receivables_fixtures
import *`` so that they do not depend on (or clash with) the invoice tests' fixtures.

Set-up: a fresh InvoiceRegistry on the approved merchants (each with a number range), the
settlement token, the ledger holding LEDGER_ROLE on the registry, `financier` and
`second_financier` holding FINANCIER_ROLE, and the invoice buyer's keyed tag registered to
`debtor`, a keyed local account so that it can sign EIP-712 acceptances. `debtor` and the
financiers hold tokens and have approved the ledger.

Invoices name their buyer only by a salted commitment: `new_invoice()` returns an
`IssuedInvoice` whose `proof` (buyer digest, buyer tag) opens it, as the off-chain document
would; `ledger.create(inv.key, amount, due, *inv.proof, {"from": seller})`.
"""
from contextlib import contextmanager
from typing import NamedTuple

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from tests.conftest import NUMBERS, allocate_number_ranges
from tests.contracts.conftest import (  # the buyer-privacy formulas of the v2 spec
    buyer_commitment,
    buyer_digest,
    buyer_tag,
    buyer_tag_for_seller,
    reverts_with,
    salt_of,
)

RECEIVABLE_BUYER_TAX_ID = "91310000MA1FL8XY2A"
DEBTOR_KEY = "0x" + keccak(text="receivables test debtor").hex()
OTHER_DEBTOR_KEY = "0x" + keccak(text="receivables test other debtor").hex()
ATTESTOR_KEY = "0x" + keccak(text="receivables test attestor").hex()

DAY = 24 * 3600
FUNDS = 10**12  # fen given to the debtor and the financiers
MAX_UINT = 2**256 - 1
MAX_AMOUNT = 2**48 - 1  # the ledger's and the registry's largest amount in fen
ZERO_ADDRESS = "0x" + "00" * 20

# ReceivableStatus
NONE, CREATED, ACCEPTED, PLEDGED, SPLIT, SETTLED, CANCELLED, DECLINED, HELD, OFFERED, OVERDUE, DEFAULTED = range(12)
LIVE = (CREATED, ACCEPTED, PLEDGED, HELD, OFFERED, OVERDUE, DEFAULTED)
# IInvoiceRegistry.InvoiceStatus
INV_ISSUED, INV_FLAGGED, INV_CLEARED, INV_REJECTED, INV_VOIDED, INV_RED_LETTERED = range(1, 7)

ROOT_BITS, DIGIT_BITS = 64, 4
EIP712_NAME, EIP712_VERSION = "ReceivableLedger", "2"  # v2 bumped the domain version: v1 signatures are void

BUYER_TAG = buyer_tag(RECEIVABLE_BUYER_TAX_ID)


class IssuedInvoice(NamedTuple):
    """An invoice issued by `new_invoice`, with what its off-chain document tells about the buyer."""

    key: str
    number: str
    seller: str
    salt: bytes
    buyer_tax_id: str
    tag: bytes
    digest: bytes
    gross: int

    @property
    def proof(self):
        """(buyerDigest, buyerTag): the arguments that open the invoice's buyer commitment."""
        return (self.digest, self.tag)


def depth_of(receivable_id: int) -> int:
    digits = receivable_id >> ROOT_BITS
    return 0 if digits == 0 else (digits.bit_length() - 1) // DIGIT_BITS + 1


def child_id(parent: int, part: int) -> int:
    """Id of part `part` (1-based) of a split of `parent` (mirrors childIdOf)."""
    return parent | (part << (ROOT_BITS + DIGIT_BITS * depth_of(parent)))


def parent_id(receivable_id: int) -> int:
    depth = depth_of(receivable_id)
    if depth == 0:
        return 0
    return receivable_id & ~(0xF << (ROOT_BITS + DIGIT_BITS * (depth - 1)))


def allocate_parts(paid: int, amounts):
    """What a split records as paid on each part: earlier payments fill the parts in order."""
    allocated = []
    for amount in amounts:
        share = min(paid, amount)
        allocated.append(share)
        paid -= share
    return allocated


def issue_request(
    registry,
    seller,
    chain,
    net=1_000_000,
    rate=13,
    buyer_tax_id=RECEIVABLE_BUYER_TAX_ID,
    salt=None,
    number=None,
):
    """A valid v2 IssueRequest tuple (one rate group, exact tax, next number of the seller's
    range on `registry`) and the document's buyer data: returns (request, salt, tag, digest)."""
    number = number or NUMBERS.next(seller, registry=registry)
    salt = salt_of(number) if salt is None else salt
    tag = buyer_tag(buyer_tax_id)
    digest = buyer_digest(salt, buyer_tax_id)
    tax = net * rate // 100
    request = (
        number,
        str(seller),
        buyer_commitment(digest, tag),
        buyer_tag_for_seller(buyer_tax_id, seller),
        net,
        tax,
        net + tax,
        0,
        chain[-1].timestamp - 60,
        keccak(text="receivable test document " + number),
        [(rate, 1, net, tax)],
    )
    return request, salt, tag, digest


def typed_data(ledger, chain_id, primary, fields, message, verifying_contract=None, version=EIP712_VERSION):
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            primary: fields,
        },
        "primaryType": primary,
        "domain": {
            "name": EIP712_NAME,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": str(verifying_contract or ledger.address),
        },
        "message": message,
    }


ACCEPT_FIELDS = [
    {"name": "id", "type": "uint256"},
    {"name": "invoiceKey", "type": "bytes32"},
    {"name": "amount", "type": "uint256"},
    {"name": "dueDate", "type": "uint40"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]

CLAIM_FIELDS = [
    {"name": "buyerTag", "type": "bytes32"},
    {"name": "account", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


def sign_typed(key, data) -> bytes:
    return bytes(Account.sign_message(encode_typed_data(full_message=data), key).signature)


def sign_acceptance(
    ledger, key, receivable_id, nonce, deadline, chain_id, verifying_contract=None, version=EIP712_VERSION, **overrides
):
    """The debtor's EIP-712 AcceptReceivable signature over the receivable's current terms."""
    view = ledger.getReceivable(receivable_id)
    message = {
        "id": receivable_id,
        "invoiceKey": bytes(view["invoiceKey"]),
        "amount": view["amount"],
        "dueDate": view["dueDate"],
        "nonce": nonce,
        "deadline": deadline,
    }
    message.update(overrides)
    data = typed_data(ledger, chain_id, "AcceptReceivable", ACCEPT_FIELDS, message, verifying_contract, version)
    return sign_typed(key, data)


def sign_buyer_claim(ledger, key, tag, account, nonce, deadline, chain_id):
    """An authority's EIP-712 BuyerClaim(bytes32 buyerTag,address account,uint256 nonce,uint256 deadline)."""
    message = {"buyerTag": bytes(tag), "account": str(account), "nonce": nonce, "deadline": deadline}
    return sign_typed(key, typed_data(ledger, chain_id, "BuyerClaim", CLAIM_FIELDS, message))


def _format_arg(value) -> str:
    """An argument as brownie prints it in a decoded custom error."""
    if isinstance(value, (bytes, bytearray)):
        return repr(bytes(value))
    if isinstance(value, (bool, int)):
        return str(value)
    text = str(value)
    if text.startswith("0x") and len(text) == 66:  # a bytes32 given as hex (e.g. an invoice key)
        return repr(bytes.fromhex(text[2:]))
    return text.lower()  # addresses, accounts, contracts


@contextmanager
def reverts_with_args(error: str, *args):
    """reverts_with(`error`), and the error's arguments are exactly `args`."""
    with reverts_with(error) as excinfo:
        yield excinfo
    expected = f"{error}: " + ", ".join(_format_arg(a) for a in args) if args else error
    assert excinfo.value.revert_msg == expected, f"reverted with {excinfo.value.revert_msg!r}, expected {expected!r}"


def _keyed_account(accounts, funder, key):
    account = accounts.add(key)
    if account.balance() < 10**18:
        funder.transfer(account, 10**19)
    return account


@pytest.fixture(scope="module")
def debtor(accounts, authority):
    """The buyer's registered account (keyed, so that it can sign acceptances)."""
    return _keyed_account(accounts, authority, DEBTOR_KEY)


@pytest.fixture(scope="module")
def attestor(accounts, authority):
    """A keyed account that may hold AUTHORITY_ROLE on the ledger (signs buyer attestations)."""
    return _keyed_account(accounts, authority, ATTESTOR_KEY)


@pytest.fixture(scope="module")
def holder2(accounts):
    """A supplier of the merchant that receives transferred or split receivables."""
    return accounts[6]


@pytest.fixture(scope="module")
def holder3(accounts):
    return accounts[7]


@pytest.fixture(scope="module")
def second_financier(accounts):
    return accounts[8]


@pytest.fixture(scope="module")
def settlement_token(SettlementToken, authority):
    return SettlementToken.deploy(authority, {"from": authority})


@pytest.fixture(scope="module")
def receivable_invoices(InvoiceRegistry, approved_merchants, authority, merchant, other_merchant):
    """A fresh InvoiceRegistry; both merchants hold a number range on it."""
    registry = InvoiceRegistry.deploy(authority, approved_merchants, {"from": authority})
    allocate_number_ranges(registry, authority, [merchant, other_merchant])
    return registry


def deploy_ledger(ReceivableLedger, registry, token, authority, financiers, debtor):
    """A ReceivableLedger with LEDGER_ROLE on `registry`, FINANCIER_ROLE for `financiers`,
    the test buyer registered to `debtor`, funded accounts approving it on `token`."""
    ledger = ReceivableLedger.deploy(authority, registry, token, {"from": authority})
    registry.grantRole(registry.LEDGER_ROLE(), ledger, {"from": authority})
    for financier in financiers:
        ledger.grantRole(ledger.FINANCIER_ROLE(), financier, {"from": authority})
    ledger.registerBuyer(BUYER_TAG, debtor, {"from": authority})
    for account in (debtor, *financiers):
        token.mint(account, FUNDS, {"from": authority})
        token.approve(ledger, MAX_UINT, {"from": account})
    return ledger


@pytest.fixture(scope="module")
def receivable_ledger(
    ReceivableLedger, receivable_invoices, settlement_token, authority, financier, second_financier, debtor
):
    return deploy_ledger(
        ReceivableLedger, receivable_invoices, settlement_token, authority, (financier, second_financier), debtor
    )


@pytest.fixture(scope="module")
def new_invoice(receivable_invoices, chain, merchant):
    """Issues an invoice of `net` fen at `rate` % (one line) to the buyer with `buyer_tax_id`
    (by default the one registered to `debtor`); returns an IssuedInvoice."""

    def issue(net=1_000_000, rate=13, seller=None, buyer_tax_id=RECEIVABLE_BUYER_TAX_ID):
        seller = seller or merchant
        request, salt, tag, digest = issue_request(
            receivable_invoices, seller, chain, net=net, rate=rate, buyer_tax_id=buyer_tax_id
        )
        key = receivable_invoices.issue(request, {"from": seller}).return_value
        return IssuedInvoice(key, request[0], str(seller), salt, buyer_tax_id, tag, digest, request[6])

    return issue


@pytest.fixture(scope="module")
def new_red_letter_note(receivable_invoices, chain):
    """Reduces `invoice` (an IssuedInvoice) by `net` + 13 % tax with a red-letter note from the
    seller's range, same buyer commitment and rate; returns the transaction."""

    def issue(invoice, net, reason_code=1, rate=13):
        request, _, _, _ = issue_request(
            receivable_invoices, invoice.seller, chain, net=net, rate=rate,
            buyer_tax_id=invoice.buyer_tax_id, salt=invoice.salt,
        )
        return receivable_invoices.issueRedLetter(invoice.key, request, reason_code, {"from": invoice.seller})

    return issue


@pytest.fixture(scope="module")
def new_receivable(receivable_ledger, new_invoice, chain, merchant, debtor):
    """Creates a receivable (by default accepted) on a fresh invoice; returns its id."""

    def create(amount=500_000, due_in=30 * DAY, accept=True, invoice=None, seller=None, ledger=None):
        ledger = ledger or receivable_ledger
        invoice = invoice if invoice is not None else new_invoice()
        tx = ledger.create(invoice.key, amount, chain[-1].timestamp + due_in, *invoice.proof, {"from": seller or merchant})
        receivable_id = tx.return_value
        if accept:
            ledger.accept(receivable_id, {"from": debtor})
        return receivable_id

    return create


@pytest.fixture
def invoice_of(receivable_ledger, receivable_invoices):
    """invoice_of(receivable_id): the registry's record of the receivable's invoice."""
    return lambda receivable_id: receivable_invoices.getInvoice(receivable_ledger.getReceivable(receivable_id)["invoiceKey"])


@pytest.fixture
def accepted(new_receivable):
    """An accepted receivable of 5,000.00 yuan held by the merchant, on an invoice of 11,300.00 yuan."""
    return new_receivable(amount=500_000)


PLEDGED_ADVANCE = 100_000  # the `pledged` fixture's financing: advance 1,000.00 yuan, no fee


@pytest.fixture
def offered(receivable_ledger, accepted, merchant, financier):
    """`accepted`, offered by the merchant to the financier as a pledge (status Offered)."""
    receivable_ledger.pledge(accepted, financier, {"from": merchant})
    return accepted


@pytest.fixture
def pledged(receivable_ledger, offered, financier):
    """`offered`, financed by the financier: advance PLEDGED_ADVANCE paid to the merchant, no fee (Pledged)."""
    receivable_ledger.finance(offered, PLEDGED_ADVANCE, 0, {"from": financier})
    return offered
