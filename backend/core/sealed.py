"""Secrets at rest, keyed by the app's SECRET_KEY: ``seal``/``unseal`` encrypt and decrypt
short texts (Fernet: AES-128-CBC + HMAC-SHA256, from ``cryptography``) and ``keyed_hash``
is an HMAC-SHA256 for values that are only ever compared (recovery codes).

Each use gets its own key, derived from SECRET_KEY with HKDF-SHA256 and a purpose label, so
a leaked database alone gives neither the TOTP secrets nor a way to test guesses of the
recovery codes. Changing SECRET_KEY makes what was sealed unreadable: the users enrol again
(docs/security.md)."""
import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

__all__ = ["InvalidToken", "keyed_hash", "seal", "unseal"]


def derived_key(purpose: str) -> bytes:
    """32 bytes for ``purpose`` from SECRET_KEY (HKDF-SHA256)."""
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else bytes(secret)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"einvoice-sealed-v1",
                info=purpose.encode()).derive(secret)


def _fernet(purpose):
    return Fernet(base64.urlsafe_b64encode(derived_key(purpose)))


def seal(text: str, purpose: str) -> str:
    return _fernet(purpose).encrypt(text.encode()).decode()


def unseal(token: str, purpose: str) -> str:
    """The sealed text; raises InvalidToken when SECRET_KEY (or the purpose) differs."""
    return _fernet(purpose).decrypt(token.encode()).decode()


def keyed_hash(text: str, purpose: str) -> str:
    return hmac.new(derived_key(purpose), text.encode(), hashlib.sha256).hexdigest()
