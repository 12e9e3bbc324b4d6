"""Self-service onboarding: a visitor signs up as a merchant user (username, password,
e-mail); signed in, it applies (company, USCC tax ID, licence number and file, contact) and
the platform makes it a signing account of its own, because MerchantRegistry.applyAsMerchant
is sent from the applicant's address; the authority then approves or rejects it
(services.merchants.decide). The authority also creates users of any role here, with the
signing account and on-chain role the role needs.

Problems are worded for the person filling the form, in the request's language: ``{field: "…"}``."""
import hashlib
import re

from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import func

from ..chain import get_chain, get_keyring
from ..chain.client import MERCHANTS
from ..chain.errors import ChainError, ChainUnavailable
from ..core.db import get_db
from ..core.models import COMPANY_ROLES, ROLES, MerchantLicence, User
from ..schemas.merchants import valid_uscc
from . import merchants, passwords
from .errors import Refused, ValidationError

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{5,23}$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# what a licence file may be, known by its first bytes (the browser's content type is not trusted)
LICENCE_TYPES = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
# roles whose users sign on chain themselves (merchants get their account when they apply)
SIGNING_ROLES = ("authority", "auditor", "financier", "buyer")
DEV_FUNDS = 100 * 10**18  # wei a new account gets on the dev chain for its gas
# the application's text fields as its problems name them (lazy: translated when said)
TEXT_FIELDS = {"name": _l("The company name"), "licence_number": _l("The licence number"),
               "contact_name": _l("The contact person")}


def _text_problem(value, max_len, what):
    if not value:
        return _("%(what)s is required.", what=what)
    if len(value) > max_len:
        return _("%(what)s has at most %(count)s characters.", what=what, count=max_len)
    if CONTROL_RE.search(value):
        return _("%(what)s contains control characters.", what=what)
    return None


def _username_problem(username):
    if not USERNAME_RE.match(username):
        return _("A username is 3 to 32 letters, digits or _ . -, starting with a letter or digit.")
    if get_db().query(User).filter(func.lower(User.username) == username.lower()).first() is not None:
        return _("This username is taken; choose another.")
    return None


def _email_problem(email):
    if not EMAIL_RE.match(email) or len(email) > 254:
        return _("Enter a valid e-mail address, e.g. name@example.cn.")
    return None


def _raise_if(problems, message=None):
    problems = {k: v for k, v in problems.items() if v}
    if problems:
        raise ValidationError(problems, message or _("Please correct the fields marked."))


def sign_up(body):
    """A new merchant user from the public sign-up form: ``{username, password, email}``."""
    username = (body.get("username") or "").strip()
    password = body.get("password") or ""
    email = (body.get("email") or "").strip()
    problems = {"username": _username_problem(username), "email": _email_problem(email),
                "password": passwords.describe(password, username)}
    if password != (body.get("password_again") or ""):
        problems["password_again"] = _("The two passwords differ.")
    _raise_if(problems)
    user = User(username=username, role="merchant", email=email)
    user.set_password(password)
    get_db().add(user)
    get_db().commit()
    return user


def licence_type(data):
    """The content type of a licence file by its first bytes; None when it is none we take."""
    return next((kind for magic, kind in LICENCE_TYPES if data.startswith(magic)), None)


def _licence_problem(filename, data):
    limit = current_app.config["LICENCE_MAX_BYTES"]
    if not filename or not data:
        return _("Upload the business licence (PDF, PNG or JPEG).")
    if len(data) > limit:
        return _("The licence file is larger than %(size)s MB.", size=f"{limit / 1e6:.1f}")
    if licence_type(data) is None:
        return _("The licence must be a PDF, PNG or JPEG file (this file is none of them).")
    return None


def application_problems(body, filename, data):
    """{field: problem} of a merchant application (empty when it is complete)."""
    tax_id = (body.get("tax_id") or "").strip().upper()
    phone = (body.get("contact_phone") or "").strip()
    return {k: v for k, v in {
        "name": _text_problem((body.get("name") or "").strip(), 100, TEXT_FIELDS["name"]),
        "tax_id": None if valid_uscc(tax_id) else
        _("The tax ID (Unified Social Credit Code) has 18 characters, the 18th a check character that must be "
          "right."),
        "licence_number": _text_problem((body.get("licence_number") or "").strip(), 64, TEXT_FIELDS["licence_number"]),
        "contact_name": _text_problem((body.get("contact_name") or "").strip(), 64, TEXT_FIELDS["contact_name"]),
        "contact_phone": None if PHONE_RE.match(phone) else
        _("Enter a valid contact phone number (6 to 24 digits)."),
        "licence": _licence_problem(filename, data),
    }.items() if v}


def fund_for_gas(address):
    """Dev mode: give a new account gas money on the dev chain (Anvil's anvil_setBalance,
    Ganache's evm_setAccountBalance). Elsewhere the operator funds accounts (or gas is free)."""
    if not current_app.config["DEV_MODE"]:
        return
    provider = get_chain().w3.provider
    try:
        for method in ("anvil_setBalance", "evm_setAccountBalance"):
            if "error" not in provider.make_request(method, [address, hex(DEV_FUNDS)]):
                return
    except OSError as exc:  # requests' connection errors are OSErrors
        raise ChainUnavailable(str(exc)) from None


def new_signing_account():
    """A new key in the encrypted keystore (KEYSTORE_PASSWORD; dev mode: a public dev
    password), funded on the dev chain. 503 when no keystore can be written."""
    try:
        address = get_keyring().create()
    except LookupError:
        raise Refused("no_keystore", _("The platform has no keystore to create a chain account in: ask its "
                                       "operator."), 503) from None
    fund_for_gas(address)
    return address


def apply(user, body, filename, data):
    """The signed-in merchant user's application, with its licence file; sent on chain from
    its own (new) account. Returns (Merchant, TxResult)."""
    if user.role != "merchant":
        raise Refused("forbidden", _("Only merchant accounts apply."), 403)
    if user.merchant is not None and user.merchant.status != "rejected":
        raise Refused("MerchantAlreadyRegistered", _("This account has already applied."), 409)
    _raise_if(application_problems(body, filename, data), _("The application needs corrections."))
    if not user.address:
        user.address = new_signing_account()
        get_db().commit()
    fields = {k: body[k].strip() for k in ("name", "tax_id", "licence_number")}
    m, result = merchants.register(user, fields)
    m.contact_name, m.contact_phone = body["contact_name"].strip(), body["contact_phone"].strip()
    get_db().add(MerchantLicence(merchant_id=m.id, filename=_safe_filename(filename), content_type=licence_type(data),
                                 size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data))
    get_db().commit()
    return m, result


def _safe_filename(filename):
    """The uploaded name without folders or characters a download header cannot carry."""
    name = re.sub(r"[^\w.\- ]", "_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip() or "licence"
    return name[-200:]


def latest_licence(merchant):
    return get_db().query(MerchantLicence).filter_by(merchant_id=merchant.id) \
        .order_by(MerchantLicence.id.desc()).first()


def current_limits(merchant_rows):
    """{merchant id: {"invoice_cap", "monthly_quota", "hourly_norm"}} (fen, fen, per hour) as
    the MerchantRegistry holds them, for the approved and suspended merchants; a merchant the
    chain cannot tell about is left out."""
    out = {}
    for m in merchant_rows:
        if m.status not in ("approved", "suspended") or not m.user.address:
            continue
        try:
            limits = get_chain().call_named(MERCHANTS, "merchant", m.user.address).get("limits")
        except Exception:  # noqa: BLE001 - the page says "unknown"
            continue
        if limits:
            out[m.id] = {"invoice_cap": int(limits[0]), "monthly_quota": int(limits[1]),
                         "hourly_norm": int(limits[2])}
    return out


def create_user(authority, body):
    """The authority creates a user: ``{username, role, email?, company_tax_id}`` (the tax
    ID for buyers, employees and approvers: their company's). Roles that sign on chain get a
    new signing account; auditors and financiers their on-chain role, a buyer its account
    linked to its tax ID. Returns (user, its first password (shown once), None or the reason
    the on-chain role could not be granted: the user exists, the role is granted later from
    the users page)."""
    if authority.role != "authority":
        raise Refused("forbidden", _("Only the authority creates users."), 403)
    username = (body.get("username") or "").strip()
    role = body.get("role") or ""
    email = (body.get("email") or "").strip()
    tax_id = (body.get("company_tax_id") or "").strip().upper()
    problems = {"username": _username_problem(username), "email": _email_problem(email) if email else None,
                "role": None if role in ROLES else _("Choose a role.")}
    if role in COMPANY_ROLES and not valid_uscc(tax_id):
        problems["company_tax_id"] = _("Buyers, employees and approvers need their company's tax ID (a Unified "
                                       "Social Credit Code: 18 characters, the check character right).")
    _raise_if(problems)
    password = passwords.generate()
    user = User(username=username, role=role, email=email or None,
                buyer_tax_id=tax_id if role in COMPANY_ROLES else None)
    user.set_password(password)
    if role in SIGNING_ROLES:
        user.address = new_signing_account()
    get_db().add(user)
    get_db().commit()
    try:
        if merchants.chain_role_of(user) is not None:  # AUDITOR_ROLE, FINANCIER_ROLE, the buyer's link
            merchants.set_chain_role(authority, user, True)
    except (Refused, ChainError) as exc:
        return user, password, getattr(exc, "message", str(exc))
    return user, password, None
