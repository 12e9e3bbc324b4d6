"""Fixtures and helpers of the ReceivableLedger / SettlementToken tests.

Imported by the receivable test modules with ``from tests.contracts.receivables_fixtures
import *`` so that they do not depend on (or clash with) the invoice tests' conftest.

Set-up: a fresh InvoiceRegistry on the approved merchants, the settlement token, the
ledger holding LEDGER_ROLE on the registry, `financier` holding FINANCIER_ROLE, and the
invoice buyer registered as `debtor`, a keyed local account so that it can sign EIP-712
acceptances. `debtor` and `financier` hold tokens and have approved the ledger.
"""
import itertools
import re

import brownie
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

RECEIVABLE_BUYER_TAX_ID = "91310000MA1FL8XY2K"
DEBTOR_KEY = "0x" + keccak(text="receivables test debtor").hex()
OTHER_DEBTOR_KEY = "0x" + keccak(text="receivables test other debtor").hex()
ATTESTOR_KEY = "0x" + keccak(text="receivables test attestor").hex()

DAY = 24 * 3600
FUNDS = 10**12  # fen given to the debtor and the financier
MAX_UINT = 2**256 - 1

# ReceivableStatus
NONE, CREATED, ACCEPTED, PLEDGED, SPLIT, SETTLED, CANCELLED, DECLINED = range(8)
# IInvoiceRegistry.InvoiceStatus
INV_ISSUED, INV_FLAGGED, INV_CLEARED, INV_REJECTED, INV_VOIDED, INV_RED_LETTERED = range(1, 7)

ROOT_BITS, DIGIT_BITS = 64, 4

_numbers = itertools.count(1)


def buyer_id_hash(tax_id: str) -> bytes:
    """bytes20 buyer identity: first 20 bytes of keccak256(upper-cased tax ID)."""
    return keccak(text=tax_id.upper())[:20]


BUYER_HASH = buyer_id_hash(RECEIVABLE_BUYER_TAX_ID)


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


def next_invoice_number() -> str:
    return f"2677{next(_numbers):016d}"


def typed_data(ledger, chain_id, primary, fields, message, verifying_contract=None):
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
            "name": "ReceivableLedger",
            "version": "1",
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
    {"name": "buyerIdHash", "type": "bytes20"},
    {"name": "account", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


def sign_typed(key, data) -> bytes:
    return bytes(Account.sign_message(encode_typed_data(full_message=data), key).signature)


def sign_acceptance(ledger, key, receivable_id, nonce, deadline, chain_id, verifying_contract=None, **overrides):
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
    return sign_typed(key, typed_data(ledger, chain_id, "AcceptReceivable", ACCEPT_FIELDS, message, verifying_contract))


def sign_buyer_claim(ledger, key, buyer_hash, account, nonce, deadline, chain_id):
    message = {"buyerIdHash": bytes(buyer_hash), "account": str(account), "nonce": nonce, "deadline": deadline}
    return sign_typed(key, typed_data(ledger, chain_id, "BuyerClaim", CLAIM_FIELDS, message))


def _format_arg(value) -> str:
    if isinstance(value, (bytes, bytearray)):
        return repr(bytes(value))  # brownie renders bytesN arguments as Python bytes
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return str(value).lower()  # addresses, accounts, contracts


def reverts(error: str, *args):
    """brownie.reverts for the custom error `error`, with exactly `args` when given."""
    if args:
        pattern = re.escape(f"{error}: " + ", ".join(_format_arg(a) for a in args))
    else:
        pattern = re.escape(error) + r"(: .*)?"
    return brownie.reverts(revert_pattern=pattern)


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
    """A keyed account that will hold AUTHORITY_ROLE on the ledger (signs buyer attestations)."""
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
def receivable_invoices(InvoiceRegistry, approved_merchants, authority):
    return InvoiceRegistry.deploy(authority, approved_merchants, {"from": authority})


@pytest.fixture(scope="module")
def receivable_ledger(
    ReceivableLedger, receivable_invoices, settlement_token, authority, financier, second_financier, debtor
):
    ledger = ReceivableLedger.deploy(authority, receivable_invoices, settlement_token, {"from": authority})
    receivable_invoices.grantRole(receivable_invoices.LEDGER_ROLE(), ledger, {"from": authority})
    ledger.grantRole(ledger.FINANCIER_ROLE(), financier, {"from": authority})
    ledger.grantRole(ledger.FINANCIER_ROLE(), second_financier, {"from": authority})
    ledger.registerBuyer(BUYER_HASH, debtor, {"from": authority})
    for account in (debtor, financier, second_financier):
        settlement_token.mint(account, FUNDS, {"from": authority})
        settlement_token.approve(ledger, MAX_UINT, {"from": account})
    return ledger


@pytest.fixture(scope="module")
def new_invoice(receivable_invoices, chain, merchant):
    """Issues an invoice of `net` fen at `rate` % to the registered buyer; returns its key."""

    def issue(net=1_000_000, rate=13, seller=None, buyer_hash=BUYER_HASH):
        number = next_invoice_number()
        tax = net * rate // 100
        seller = seller or merchant
        request = (
            number,
            str(seller),
            bytes(buyer_hash),
            net,
            tax,
            net + tax,
            rate,
            1,
            0,
            chain[-1].timestamp - 60,
            keccak(text="receivable test document " + number),
        )
        return receivable_invoices.issue(request, {"from": seller}).return_value

    return issue


@pytest.fixture(scope="module")
def new_receivable(receivable_ledger, new_invoice, chain, merchant, debtor):
    """Creates a receivable (by default accepted) on a fresh invoice; returns its id."""

    def create(amount=500_000, due_in=30 * DAY, accept=True, invoice=None, seller=None):
        key = invoice if invoice is not None else new_invoice()
        tx = receivable_ledger.create(key, amount, chain[-1].timestamp + due_in, {"from": seller or merchant})
        receivable_id = tx.return_value
        if accept:
            receivable_ledger.accept(receivable_id, {"from": debtor})
        return receivable_id

    return create
