"""Dev seeding (dev mode only): demo users bound to Anvil dev accounts, merchants
registered and approved on chain (limits, seller tag) with a number range each, the
auditor granted AUDITOR_ROLE, the buyer's account linked to its tax ID on the receivable
ledger, an employee and an approver of the buyer company (expense claims), and
var/dev-credentials.json written with their logins, API tokens and tax IDs.

The authority, the auditor and the financier must sign in with a second factor
(services.two_factor): they are seeded already enrolled, their TOTP secret in the credentials
file (``totp_secret``; kept from one seeding to the next, so an authenticator app set up once
keeps working) for a tester to compute codes with.

The demo logins stay the same across seedings (a new chain or database with the next
`make run` must not log everyone out nor break saved API tokens): each user keeps the
password, token and TOTP secret of the credentials file already there, else gets ones derived
from a secret made once per installation (var/dev-seed.secret, next to the file)."""
import base64
import hashlib
import hmac
import json
import os
import secrets

import pyotp
from eth_utils import keccak
from flask import current_app

from ..chain import get_chain, get_keyring, get_signer
from ..core import buyer_privacy
from ..core.config import VAR
from ..core.db import get_db
from ..core.models import Merchant, User, token_digest
from . import numbering, passwords, two_factor
from .merchants import link_buyer

# username, role, dev account index, merchant profile, buyer tax ID
DEMO = [
    ("authority", "authority", 0, None, None),
    ("merchant1", "merchant", 1, ("厦门示例贸易有限公司", "91350100M000100Y43", "L-350100-0001"), None),
    ("merchant2", "merchant", 2, ("北京示例科技有限公司", "91110000802100433B", "L-110000-0002"), None),
    # a third merchant (dev account 7: 6 is the tests' spare merchant), e.g. for a cycle of invoices
    ("merchant3", "merchant", 7, ("广州示例商贸有限公司", "91440100M000300Y45", "L-440100-0003"), None),
    ("auditor", "auditor", 3, None, None),
    ("financier", "financier", 4, None, None),
    ("buyer", "buyer", 5, None, "91530100MA6K0002XU"),
    # the demo buyer company's staff: no chain account of their own (the company's buyer account signs)
    ("employee", "employee", None, None, "91530100MA6K0002XU"),
    ("approver", "approver", None, None, "91530100MA6K0002XU"),
]
LIMITS = (10_000_000_00, 50_000_000_00, 50)  # MerchantLimits v2: (uint48 cap, uint64 quota, uint32 norm), fen
SECRET_FILE = "dev-seed.secret"


def _has_role(chain, contract, role_name, account):
    c = chain.contract(contract)
    role = getattr(c.functions, role_name)().call()
    return c.functions.hasRole(role, account).call()


def seed_dev(out=None, password=None):
    """Create/refresh the demo users; returns the credentials file path."""
    if not current_app.config["DEV_MODE"]:
        raise RuntimeError("seeding is for dev mode only (EINVOICE_DEV=1)")
    path = out or str(VAR / "dev-credentials.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    users = seed_users(password=password, known=stable_credentials(path))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"users": users}, f, ensure_ascii=False, indent=2)
    return path


def _previous_credentials(path):
    """{username: {password, api_token, totp_secret}} of the credentials file at ``path``
    (what it has of them); {} if none."""
    try:
        with open(path, encoding="utf-8") as f:
            users = json.load(f)["users"]
        return {u["username"]: {k: u[k] for k in ("password", "api_token", "totp_secret") if isinstance(u.get(k), str)}
                for u in users if isinstance(u.get("password"), str) and isinstance(u.get("api_token"), str)}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _installation_secret(folder):
    """32 random bytes kept in ``folder``/dev-seed.secret, made on first use (mode 0600)."""
    path = os.path.join(folder, SECRET_FILE)
    try:
        with open(path, "rb") as f:
            secret = f.read()
        if len(secret) >= 32:
            return secret
    except FileNotFoundError:
        pass
    secret = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secret)
    return secret


def _derived(secret, purpose, username, length):
    digest = hmac.new(secret, f"{purpose}:{username}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:length]


def stable_credentials(path):
    """{username: {password, api_token, totp_secret}} for every demo user: those of the
    credentials file at ``path`` when it has them, else derived from the installation's secret."""
    previous = _previous_credentials(path)
    secret = _installation_secret(os.path.dirname(os.path.abspath(path)))
    return {username: {"password": _derived(secret, "password", username, 12),
                       "api_token": "einv_" + _derived(secret, "api-token", username, 43),
                       "totp_secret": _derived_totp(secret, username), **previous.get(username, {})}
            for username, *_ in DEMO}


def _derived_totp(secret, username):
    """A TOTP secret (base32, 160 bits) derived from the installation's secret."""
    digest = hmac.new(secret, f"totp:{username}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode()


def seed_users(password=None, register=True, known=None):
    """Create or refresh the demo users; on chain: register + approve the merchants,
    grant the auditor AUDITOR_ROLE, link the buyer on the ledger. ``known``: {username:
    {password, api_token, totp_secret}} to keep (else new random ones; ``password`` for all
    when given). Returns [{username, password, role, api_token, address, tax_id, totp_secret}]
    (totp_secret: None for roles without a second factor)."""
    db = get_db()
    keyring = get_keyring()
    known = known or {}
    out = []
    for username, role, index, profile, buyer_tax in DEMO:
        address = keyring.dev_address(index) if index is not None else None
        user = db.query(User).filter_by(username=username).first()
        if user is None:
            user = User(username=username, role=role)
            db.add(user)
        user.role, user.address, user.buyer_tax_id, user.active = role, address, buyer_tax, True
        kept = known.get(username, {})
        pw = password or kept.get("password") or passwords.generate()
        user.set_password(pw)  # a password given here is the tests' and benches' own (dev mode only)
        token = kept.get("api_token")
        if token:
            user.api_token_hash = token_digest(token)
        else:
            token = user.new_api_token()
        db.flush()
        totp_secret = _second_factor(user, kept.get("totp_secret")) if two_factor.is_required(user) else None
        if profile and user.merchant is None:
            db.add(Merchant(user_id=user.id, name=profile[0], tax_id=profile[1], licence_number=profile[2],
                            status="pending"))
        out.append({"username": username, "password": pw, "role": role, "api_token": token, "address": address,
                    "tax_id": profile[1] if profile else buyer_tax, "totp_secret": totp_secret})
    db.commit()
    if register:
        register_on_chain()
    return out


def _second_factor(user, kept=None):
    """The demo user's TOTP secret, enrolled: ``kept`` (the credentials file's, which the
    tester's authenticator has), else the one it has, else a new one."""
    factor = two_factor.factor_of(user)
    secret = two_factor.secret_of(factor) if factor is not None and factor.confirmed_at else None
    secret = kept or secret or pyotp.random_base32()
    two_factor.enrol_with_secret(user, secret)
    return secret


def register_on_chain():
    chain, signer = get_chain(), get_signer()
    db = get_db()
    authority = db.query(User).filter_by(username="authority").one()
    demo_merchants = [username for username, _, _, profile, _ in DEMO if profile]
    # the demo merchants only: a self-service application waits for the authority's decision
    for m in db.query(Merchant).join(User).filter(User.username.in_(demo_merchants)).all():
        account = m.user.address
        status = chain.call_named("MerchantRegistry", "merchant", account)["status"]
        if status == 0:
            signer.transact(account, "MerchantRegistry", "applyAsMerchant", m.name, m.tax_id,
                           keccak(text=m.licence_number), ref=m.tax_id)
            status = 1
        if status == 1:
            signer.transact(authority.address, "MerchantRegistry", "approve", account, LIMITS,
                           buyer_privacy.seller_tag(m.tax_id, account), ref=m.tax_id)
            status = 2
        if status == 2:
            numbering.sync_from_chain(account)  # the range on chain (also drops one of an older deployment)
            if not numbering.usable(account):
                numbering.allocate_range(authority.address, account, m.tax_id)
        m.status = {2: "approved", 3: "suspended", 4: "rejected", 1: "pending"}.get(status, m.status)
        db.commit()  # else the next merchant's first query holds SQLite's write lock that numbering's writes wait for
    auditor = db.query(User).filter_by(role="auditor").first()
    if auditor is not None and chain.has("InvoiceRegistry") and \
            not _has_role(chain, "InvoiceRegistry", "AUDITOR_ROLE", auditor.address):
        role = chain.contract("InvoiceRegistry").functions.AUDITOR_ROLE().call()
        signer.transact(authority.address, "InvoiceRegistry", "grantRole", role, auditor.address, ref="auditor")
    for buyer in db.query(User).filter(User.role == "buyer", User.buyer_tax_id.isnot(None)).all():
        link_buyer(authority, buyer)
    financier = db.query(User).filter_by(role="financier").first()
    if financier is not None and chain.has_function("ReceivableLedger", "FINANCIER_ROLE") and \
            not _has_role(chain, "ReceivableLedger", "FINANCIER_ROLE", financier.address):
        role = chain.contract("ReceivableLedger").functions.FINANCIER_ROLE().call()
        signer.transact(authority.address, "ReceivableLedger", "grantRole", role, financier.address, ref="financier")
    db.commit()
