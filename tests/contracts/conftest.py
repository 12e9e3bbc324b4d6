"""Fixtures of the InvoiceRegistry tests (contracts v2): the deployed registry with a number
range for each approved merchant, roles, an `issue_request(...)` builder producing valid
IssueRequest tuples by default, and the buyer-privacy formulas of the v2 spec in Python.

Buyer privacy (IInvoiceRegistry): the buyer is on chain only as
    buyerTag          = HMAC-SHA256(operator key, b"einvoice-buyer-tag:" + TAX_ID)
    buyerDigest       = keccak256(abi.encode(bytes32 salt, keccak256(bytes(taxId))))
    buyerCommitment   = bytes20(keccak256(abi.encode(bytes32 buyerDigest, bytes32 buyerTag)))
    selfDealingTag    = HMAC-SHA256(operator key, b"einvoice-self-dealing-tag:" + TAX_ID)  (never published)
    buyerTagForSeller = bytes12(keccak256(abi.encode(bytes32 selfDealingTag, address seller)))
and a merchant's sellerTag is the tag-for-seller of its own tax ID and account. The tests'
operator key is TEST_BUYER_TAG_KEY, fixed and public (never a production key).

This module is imported twice (by pytest as `conftest`, by the test modules as
`tests.contracts.conftest`): keep mutable state out of it (see tests/conftest.py NUMBERS).
"""
import datetime
import hashlib
import hmac
from contextlib import contextmanager
from typing import NamedTuple

import pytest
from brownie.exceptions import VirtualMachineError
from eth_abi import encode
from eth_utils import keccak

from tests.conftest import MERCHANT_TAX_ID, NUMBERS, allocate_number_ranges

BUYER_TAX_ID = "91310000MA1FL8XY2A"
CHINA_OFFSET = 8 * 3600

# InvoiceStatus / VerifyResult enum values and flag bits (IInvoiceRegistry).
NONE, ISSUED, FLAGGED, CLEARED, REJECTED, VOIDED, RED_LETTERED = range(7)
(
    AUTHENTIC,
    NOT_FOUND,
    MISMATCH,
    V_VOIDED,
    V_FLAGGED,
    V_REJECTED,
    V_RED_LETTERED,
    V_PARTLY_RED_LETTERED,
    V_RED_LETTER_NOTE,
) = range(9)
FLAG_MONTHLY_QUOTA, FLAG_DUPLICATE_DOCUMENT, FLAG_SELF_DEALING, FLAG_RATE_SPIKE = 1, 2, 4, 8

MAX_ITEM_COUNT = 1000
MAX_BATCH_SIZE = 200

# ------------------------------------------------------------------ buyer privacy

TEST_BUYER_TAG_KEY = b"einvoice contract tests: public buyer tag key"
BUYER_TAG_DOMAIN = b"einvoice-buyer-tag:"
SELF_DEALING_DOMAIN = b"einvoice-self-dealing-tag:"


def buyer_tag(tax_id: str, key: bytes = TEST_BUYER_TAG_KEY) -> bytes:
    """The operator's keyed tag of a buyer: HMAC-SHA256(key, b"einvoice-buyer-tag:" + TAX_ID)."""
    return hmac.new(key, BUYER_TAG_DOMAIN + tax_id.upper().encode("ascii"), hashlib.sha256).digest()


def buyer_digest(salt: bytes, tax_id: str) -> bytes:
    """keccak256(abi.encode(bytes32 salt, keccak256(bytes(taxId))))."""
    return keccak(encode(["bytes32", "bytes32"], [bytes(salt), keccak(text=tax_id)]))


def buyer_commitment(digest: bytes, tag: bytes) -> bytes:
    """bytes20(keccak256(abi.encode(bytes32 buyerDigest, bytes32 buyerTag)))."""
    return keccak(encode(["bytes32", "bytes32"], [bytes(digest), bytes(tag)]))[:20]


def self_dealing_tag(tax_id: str, key: bytes = TEST_BUYER_TAG_KEY) -> bytes:
    """The operator's second keyed tag, never published: HMAC-SHA256(key, b"einvoice-self-dealing-tag:" + TAX_ID).
    (The ledger publishes buyer tags when it registers buyers; scoping those would link a buyer across sellers.)"""
    return hmac.new(key, SELF_DEALING_DOMAIN + tax_id.upper().encode("ascii"), hashlib.sha256).digest()


def buyer_tag_for_seller(tax_id: str, seller) -> bytes:
    """bytes12(keccak256(abi.encode(bytes32 selfDealingTag(taxId), address seller)))."""
    return keccak(encode(["bytes32", "address"], [self_dealing_tag(tax_id), str(seller)]))[:12]


def seller_tag(tax_id: str, account) -> bytes:
    """The seller tag given to MerchantRegistry.approve: the merchant's own tax ID scoped to its
    account like a buyer's (so buyerTagForSeller == sellerTag iff buyer = seller)."""
    return buyer_tag_for_seller(tax_id, account)


def salt_of(number: str) -> bytes:
    """The tests' per-invoice salt: fixed per number, so a test can reopen a commitment."""
    return keccak(text="buyer salt " + number)


# ------------------------------------------------------------------ requests


class IssueRequest(NamedTuple):
    """IInvoiceRegistry.IssueRequest (v2), field for field; brownie takes it as a tuple."""

    number: str
    seller: str
    buyerCommitment: bytes
    buyerTagForSeller: bytes
    net: int
    tax: int
    gross: int
    invoiceType: int
    issuedAt: int
    documentHash: bytes
    groups: list


def group(rate: int, net: int, items: int = 1, tax=None) -> tuple:
    """A RateGroup (rate, itemCount, net, tax); the tax defaults to net x rate / 100 (floor)."""
    return (rate, items, net, net * rate // 100 if tax is None else tax)


def rate_mask(*rates) -> int:
    return sum(1 << rate for rate in set(rates))


_MASK48 = (1 << 48) - 1


def unpack_group(word: int) -> tuple:
    """A rate group of the InvoiceIssued event, packed `rate << 112 | itemCount << 96 | net << 48 | tax`,
    as (rate, itemCount, net, tax)."""
    return (word >> 112, (word >> 96) & 0xFFFF, (word >> 48) & _MASK48, word & _MASK48)


def event_groups(event) -> list:
    return [unpack_group(int(word)) for word in event["groups"]]


def status_counts(registry, txs) -> list:
    """Invoices (notes included) per InvoiceStatus, counted as an indexer does from the
    registry's events in `txs` (the registry keeps no counters: the events hold every transition)."""
    statuses = {}
    for tx in txs:
        for event in tx.events:
            if event.address != registry.address:
                continue
            if event.name == "InvoiceIssued":
                statuses[str(event["key"])] = ISSUED if event["flags"] == 0 else FLAGGED
            elif event.name == "InvoiceCleared":
                statuses[str(event["key"])] = CLEARED
            elif event.name == "InvoiceRejected":
                statuses[str(event["key"])] = REJECTED
            elif event.name == "InvoiceVoided":
                statuses[str(event["key"])] = VOIDED
            elif event.name == "InvoiceRedLettered":
                statuses[str(event["originalKey"])] = event["status"]
    counts = [0] * 7
    for status in statuses.values():
        counts[status] += 1
    return counts


def tax_id_hash(tax_id: str) -> bytes:
    """v1's bytes20 buyer identity, keccak256(upper-cased tax ID)[:20]: v2 must never put it on chain."""
    return keccak(text=tax_id.upper())[:20]


def invoice_key(number: str) -> bytes:
    return keccak(text=number)


def next_number(seller=None) -> str:
    """The next unused number of `seller`'s range (default: the merchant) on the registry of
    the module running."""
    return NUMBERS.next(seller)


def check_code(number, seller, commitment, net, tax, issued_at) -> int:
    """The contract's check-code derivation, reproduced off chain."""
    packed = encode(
        ["bytes32", "address", "bytes20", "uint48", "uint48", "uint40"],
        [invoice_key(number), str(seller), bytes(commitment), net, tax, issued_at],
    )
    return int.from_bytes(keccak(packed), "big") % 10**20


def china_date(timestamp: int) -> int:
    d = datetime.datetime.fromtimestamp(timestamp + CHINA_OFFSET, datetime.timezone.utc)
    return d.year * 10000 + d.month * 100 + d.day


@pytest.fixture(scope="session")
def ledger(accounts):
    """Stands in for the ReceivableLedger contract: an account holding LEDGER_ROLE."""
    return accounts[6]


@pytest.fixture(scope="session")
def operator(accounts):
    """An account the merchant authorises to issue on its behalf."""
    return accounts[7]


@pytest.fixture(scope="module")
def invoice_registry(InvoiceRegistry, approved_merchants, authority, auditor, ledger, merchant, other_merchant):
    """A fresh InvoiceRegistry; the auditor and the ledger hold their roles and both approved
    merchants hold adjacent ranges of RANGE_SIZE numbers under NUMBER_PREFIX (the allocation
    also opens their books)."""
    registry = InvoiceRegistry.deploy(authority, approved_merchants, {"from": authority})
    registry.grantRole(registry.AUDITOR_ROLE(), auditor, {"from": authority})
    registry.grantRole(registry.LEDGER_ROLE(), ledger, {"from": authority})
    allocate_number_ranges(registry, authority, [merchant, other_merchant])
    NUMBERS.use(registry, merchant)
    return registry


def build_request(
    chain,
    default_seller,
    number=None,
    seller=None,
    buyer_tax_id=BUYER_TAX_ID,
    salt=None,
    commitment=None,
    tag_for_seller=None,
    like=None,
    net=None,
    tax=None,
    gross=None,
    rate=13,
    item_count=1,
    groups=None,
    invoice_type=0,
    issued_at=None,
    document_hash=None,
) -> IssueRequest:
    seller = str(seller or default_seller)
    number = number or NUMBERS.next(seller)
    if groups is None:
        groups = [group(rate, 100_000 if net is None else net, item_count, tax)]
        net, tax = groups[0][2], groups[0][3]
    else:
        groups = [tuple(g) for g in groups]
        net = sum(g[2] for g in groups) if net is None else net
        tax = sum(g[3] for g in groups) if tax is None else tax
    gross = net + tax if gross is None else gross
    tag = buyer_tag(buyer_tax_id)
    derived_commitment = buyer_commitment(buyer_digest(salt_of(number) if salt is None else salt, buyer_tax_id), tag)
    derived_tag_for_seller = buyer_tag_for_seller(buyer_tax_id, seller)
    if like is not None:  # a red-letter note: the original's buyer
        derived_commitment, derived_tag_for_seller = bytes(like.buyerCommitment), bytes(like.buyerTagForSeller)
    return IssueRequest(
        number,
        seller,
        derived_commitment if commitment is None else bytes(commitment),
        derived_tag_for_seller if tag_for_seller is None else bytes(tag_for_seller),
        net,
        tax,
        gross,
        invoice_type,
        chain[-1].timestamp - 60 if issued_at is None else issued_at,
        keccak(text="document " + number) if document_hash is None else document_hash,
        groups,
    )


@pytest.fixture
def issue_request(chain, merchant, invoice_registry):
    """Builds an IssueRequest; every field can be overridden by keyword.

    Defaults: the next number of the seller's range, the merchant as seller, the third-party
    buyer BUYER_TAX_ID committed with salt_of(number), one group of net 1,000.00 yuan at 13 %
    (tax exact) with one line item, ordinary type, issued a minute ago, a fresh document hash.
    `groups=[group(...), ...]` gives several rates (net/tax default to their sums);
    `like=original_request` copies the original's buyer fields (red-letter notes);
    `commitment` / `tag_for_seller` override the derived buyer values.
    """

    def build(**fields):
        return build_request(chain, merchant, **fields)

    return build


@pytest.fixture
def issue(invoice_registry, issue_request, merchant):
    """Issues an invoice as the merchant; returns (key, transaction)."""

    def do(sender=None, **fields):
        request = issue_request(**fields)
        tx = invoice_registry.issue(request, {"from": sender or request.seller})
        return tx.return_value, tx

    return do


SELLER_ID_HASH = tax_id_hash(MERCHANT_TAX_ID)


@contextmanager
def reverts_with(error_name: str, *alternatives: str):
    """Expects a revert by the custom error `error_name` (or one of `alternatives`, when the
    order of two checks is the implementation's choice); brownie shows "Name: args"."""
    with pytest.raises(VirtualMachineError) as excinfo:
        yield excinfo
    message = excinfo.value.revert_msg or ""
    expected = (error_name, *alternatives)
    assert message.split(":")[0].strip() in expected, f"reverted with {message!r}, expected {' or '.join(expected)}"


def revert_args(excinfo) -> list:
    """The arguments of the custom error as brownie printed them ("Name: a, b")."""
    message = excinfo.value.revert_msg or ""
    _, _, args = message.partition(":")
    return [arg.strip() for arg in args.split(",")] if args.strip() else []


@pytest.fixture
def at(web3):
    """at(t): the next block gets timestamp t exactly."""

    def set_next(timestamp: int):
        response = web3.provider.make_request("evm_setNextBlockTimestamp", [int(timestamp)])
        assert "error" not in response, response

    return set_next


@pytest.fixture
def now(chain):
    """Timestamp of the latest block."""
    return lambda: chain[-1].timestamp


def china_month_start_after(timestamp: int) -> int:
    """Unix time of the first second of the China calendar month after the one of `timestamp`."""
    d = datetime.datetime.fromtimestamp(timestamp + CHINA_OFFSET, datetime.timezone.utc)
    year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    start = datetime.datetime(year, month, 1, tzinfo=datetime.timezone.utc)
    return int(start.timestamp()) - CHINA_OFFSET


def as_bytes(value) -> bytes:
    """brownie returns bytes32/bytes20 as hex strings; normalise for comparisons."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return bytes.fromhex(str(value)[2:] if str(value).startswith("0x") else str(value))
