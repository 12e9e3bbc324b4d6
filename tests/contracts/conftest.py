"""Fixtures of the InvoiceRegistry tests: the deployed registry, roles, and an
`issue_request(...)` builder producing valid IssueRequest tuples by default."""
import datetime
import itertools
from contextlib import contextmanager

import pytest
from brownie.exceptions import VirtualMachineError
from eth_abi import encode
from eth_utils import keccak

from tests.conftest import MERCHANT_TAX_ID

BUYER_TAX_ID = "91310000MA1FL8XY2K"
CHINA_OFFSET = 8 * 3600

# InvoiceStatus / VerifyResult enum values and flag bits (IInvoiceRegistry).
NONE, ISSUED, FLAGGED, CLEARED, REJECTED, VOIDED, RED_LETTERED = range(7)
AUTHENTIC, NOT_FOUND, MISMATCH, V_VOIDED, V_FLAGGED, V_REJECTED, V_RED_LETTERED = range(7)
FLAG_MONTHLY_QUOTA, FLAG_DUPLICATE_DOCUMENT, FLAG_SELF_DEALING, FLAG_RATE_SPIKE = 1, 2, 4, 8

_numbers = itertools.count(1)


def tax_id_hash(tax_id: str) -> bytes:
    """bytes20 buyer identity: first 20 bytes of keccak256(upper-cased tax ID)."""
    return keccak(text=tax_id.upper())[:20]


def invoice_key(number: str) -> bytes:
    return keccak(text=number)


def next_number() -> str:
    return f"2644{next(_numbers):016d}"


def check_code(number, seller, buyer_id_hash, net, tax, issued_at) -> int:
    """The contract's check-code derivation, reproduced off chain."""
    packed = encode(
        ["bytes32", "address", "bytes20", "uint48", "uint48", "uint40"],
        [invoice_key(number), str(seller), bytes(buyer_id_hash), net, tax, issued_at],
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
def invoice_registry(InvoiceRegistry, approved_merchants, authority, auditor, ledger):
    registry = InvoiceRegistry.deploy(authority, approved_merchants, {"from": authority})
    registry.grantRole(registry.AUDITOR_ROLE(), auditor, {"from": authority})
    registry.grantRole(registry.LEDGER_ROLE(), ledger, {"from": authority})
    return registry


@pytest.fixture
def issue_request(chain, merchant):
    """Builds an IssueRequest tuple; every field can be overridden by keyword.

    Defaults: a fresh 20-digit number, the merchant as seller, a third-party buyer,
    net 1,000.00 yuan at 13 % (tax computed exactly), one line item, ordinary type,
    issued a minute ago, a fresh document hash.
    """

    def build(
        number=None,
        seller=None,
        buyer_id_hash=None,
        net=100_000,
        tax=None,
        gross=None,
        rate=13,
        item_count=1,
        invoice_type=0,
        issued_at=None,
        document_hash=None,
    ):
        number = number or next_number()
        tax = net * rate // 100 if tax is None else tax
        gross = net + tax if gross is None else gross
        return (
            number,
            str(seller or merchant),
            buyer_id_hash if buyer_id_hash is not None else tax_id_hash(BUYER_TAX_ID),
            net,
            tax,
            gross,
            rate,
            item_count,
            invoice_type,
            chain[-1].timestamp - 60 if issued_at is None else issued_at,
            document_hash if document_hash is not None else keccak(text="document " + number),
        )

    return build


@pytest.fixture
def issue(invoice_registry, issue_request, merchant):
    """Issues an invoice as the merchant; returns (key, transaction)."""

    def do(sender=None, **fields):
        request = issue_request(**fields)
        tx = invoice_registry.issue(request, {"from": sender or merchant})
        return tx.return_value, tx

    return do


SELLER_ID_HASH = tax_id_hash(MERCHANT_TAX_ID)


@contextmanager
def reverts_with(error_name: str):
    """Expects a revert by the custom error `error_name` (brownie shows "Name: args")."""
    with pytest.raises(VirtualMachineError) as excinfo:
        yield excinfo
    message = excinfo.value.revert_msg or ""
    assert message.split(":")[0].strip() == error_name, f"reverted with {message!r}, expected {error_name}"


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
