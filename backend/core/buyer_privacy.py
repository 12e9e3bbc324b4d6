"""Buyer privacy: the buyer is never on chain in the clear (contracts v2).

The formulas are the contracts' (contracts/interfaces/IInvoiceRegistry.sol):

* ``buyer_tag(tax_id)`` = HMAC-SHA256(BUYER_TAG_KEY, b"einvoice-buyer-tag:" + upper-cased tax ID),
  32 bytes. Only the platform holds the key, so nobody else can compute a buyer's tag from
  its tax ID, and the same buyer has the same tag on every invoice of this platform.
* ``salt`` = 32 random bytes per invoice (a red-letter note reuses its original's salt).
* ``buyer_digest`` = keccak256(abi.encode(bytes32 salt, keccak256(bytes(TAX_ID)))).
* ``buyer_commitment`` = bytes20(keccak256(abi.encode(bytes32 buyer_digest, bytes32 buyer_tag))),
  what ``issue`` takes and the registry stores.
* ``self_dealing_tag(tax_id)`` = HMAC-SHA256(BUYER_TAG_KEY, b"einvoice-self-dealing-tag:" + tax ID):
  a second keyed tag that never leaves the platform. (Buyer tags become public when a ledger
  registers a buyer; a calldata value derived from them would link that buyer across sellers.)
* ``buyer_tag_for_seller(tax_id, seller)`` = bytes12(keccak256(abi.encode(bytes32
  self_dealing_tag, address seller))): compared on chain with the seller's own ``seller_tag``
  (self-dealing rule) without linking one buyer across sellers.
* ``seller_tag(tax_id, account)`` = buyer_tag_for_seller(tax_id, account), given to
  ``MerchantRegistry.approve``.

Salt and tag travel in the canonical document's buyer block, so the document holder can
prove who the buyer is with ``InvoiceRegistry.verifyBuyer(key, salt, taxId, tag)``.

The key (``BUYER_TAG_KEY``) comes from the environment or instance/config.py and is never
logged; in dev mode a fixed, public dev key (``DEV_BUYER_TAG_KEY``) is used.
"""
import hashlib
import hmac
import os
from functools import lru_cache

from eth_utils import keccak, to_checksum_address

TAG_DOMAIN = b"einvoice-buyer-tag:"
SELF_DEALING_DOMAIN = b"einvoice-self-dealing-tag:"
# Public, documented, for development and tests only: a tag made with it proves nothing.
DEV_BUYER_TAG_KEY = "einvoice-dev-buyer-tag-key-NOT-FOR-PRODUCTION"
MIN_KEY_BYTES = 16
EXTENSION = "einvoice.buyer_tag_key"


class BuyerKeyError(RuntimeError):
    """BUYER_TAG_KEY missing or unusable."""


def parse_key(value) -> bytes:
    """The HMAC key from its configured form: ``0x…`` (or ``hex:…``) hex digits, or text
    (its UTF-8 bytes), or bytes. At least 16 bytes."""
    if isinstance(value, (bytes, bytearray)):
        key = bytes(value)
    elif isinstance(value, str):
        text = value.strip()
        if text[:2].lower() == "0x" or text[:4].lower() == "hex:":
            digits = text[2:] if text[:2].lower() == "0x" else text[4:]
            try:
                key = bytes.fromhex(digits)
            except ValueError:
                raise BuyerKeyError("BUYER_TAG_KEY 不是有效的十六进制。BUYER_TAG_KEY starts with 0x but is "
                                    "not valid hex digits.") from None
        else:
            key = text.encode("utf-8")
    else:
        raise BuyerKeyError("BUYER_TAG_KEY must be text or bytes.")
    if len(key) < MIN_KEY_BYTES:
        raise BuyerKeyError(f"BUYER_TAG_KEY 太短（至少 {MIN_KEY_BYTES} 字节）。BUYER_TAG_KEY is too short: "
                            f"at least {MIN_KEY_BYTES} bytes (e.g. 0x + 64 hex digits).")
    return key


def init_app(app):
    """Parse the configured key once (create_app). The parsed key lives in
    ``app.extensions``; it is never logged or shown."""
    app.extensions[EXTENSION] = parse_key(app.config["BUYER_TAG_KEY"])


def current_key() -> bytes:
    from flask import current_app

    return current_app.extensions[EXTENSION]


def normalize_tax_id(tax_id: str) -> str:
    return tax_id.strip().upper()


def buyer_tag(tax_id: str, key: bytes | None = None) -> bytes:
    """32-byte keyed tag of a buyer (HMAC-SHA256 of the upper-cased tax ID)."""
    key = current_key() if key is None else key
    message = TAG_DOMAIN + normalize_tax_id(tax_id).encode("ascii")
    return hmac.new(key, message, hashlib.sha256).digest()


def new_buyer(tax_id: str) -> tuple[bytes, bytes]:
    """(a fresh salt, the buyer's tag): what a new invoice's document commits its buyer with."""
    return new_salt(), buyer_tag(tax_id)


def new_salt() -> bytes:
    return os.urandom(32)


def _word(value: bytes) -> bytes:
    """abi.encode of one bytes32 (shorter values right-padded, as eth_abi does)."""
    value = bytes(value)
    if len(value) > 32:
        raise ValueError("more than 32 bytes for a bytes32")
    return value + bytes(32 - len(value))


@lru_cache(maxsize=4096)
def _tax_id_hash(tax_id: str) -> bytes:
    return keccak(normalize_tax_id(tax_id).encode("utf-8"))


def buyer_digest(salt: bytes, tax_id: str) -> bytes:
    """keccak256(abi.encode(bytes32 salt, keccak256(bytes(TAX_ID)))), the words written out."""
    return keccak(_word(salt) + _tax_id_hash(tax_id))


def buyer_commitment(digest: bytes, tag: bytes) -> bytes:
    return keccak(_word(digest) + _word(tag))[:20]


def commitment_of(salt: bytes, tax_id: str, tag: bytes) -> tuple[bytes, bytes]:
    """(bytes20 commitment, bytes32 digest), as ``InvoiceRegistry.buyerCommitmentOf``."""
    digest = buyer_digest(salt, tax_id)
    return buyer_commitment(digest, tag), digest


def self_dealing_tag(tax_id: str, key: bytes | None = None) -> bytes:
    """The second keyed tag of a tax ID, never published (the ledger publishes buyer tags)."""
    key = current_key() if key is None else key
    message = SELF_DEALING_DOMAIN + normalize_tax_id(tax_id).encode("ascii")
    return hmac.new(key, message, hashlib.sha256).digest()


def buyer_tag_for_seller(tax_id: str, seller: str, key: bytes | None = None) -> bytes:
    """bytes12: the buyer's self-dealing tag scoped to the seller (issue calldata)."""
    return _tag_for_seller(tax_id, seller, current_key() if key is None else key)


@lru_cache(maxsize=4096)
def _tag_for_seller(tax_id, seller, key):
    # abi.encode(bytes32, address): the address right-aligned in its word
    seller = bytes.fromhex(to_checksum_address(seller)[2:])
    return keccak(self_dealing_tag(tax_id, key) + bytes(12) + seller)[:12]


def seller_tag(tax_id: str, account: str, key: bytes | None = None) -> bytes:
    """The merchant's own tax ID scoped to its account like a buyer's (``MerchantRegistry.approve``)."""
    return buyer_tag_for_seller(tax_id, account, key)


def to_hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def from_hex(value: str, length: int) -> bytes:
    """bytes of a 0x-hex string of exactly ``length`` bytes (ValueError otherwise)."""
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError("not 0x-hex")
    raw = bytes.fromhex(value[2:])
    if len(raw) != length:
        raise ValueError(f"expected {length} bytes")
    return raw


def document_buyer(doc: dict) -> tuple[bytes, bytes]:
    """(salt, tag) from a canonical document's buyer block (version 2). ValueError when
    the document has none (a version 1 document)."""
    buyer = (doc or {}).get("buyer") or {}
    return from_hex(buyer.get("salt"), 32), from_hex(buyer.get("tag"), 32)
