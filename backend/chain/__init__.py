"""Chain: the read client and its error decoding, the signer (nonce manager, outbox), the event indexer, signing keys; uses the core, called by the services."""
import threading

from flask import current_app

from ..core.db import db
from .client import ChainClient, read_deployment
from .errors import ChainUnavailable
from .keys import KeyRing
from .signer import Signer

# dev mode only: the keystores of accounts made in the app (self-service merchants) are encrypted
# with this public password when KEYSTORE_PASSWORD is unset; like the Anvil dev keys, worth nothing
DEV_KEYSTORE_PASSWORD = "dev-keystore-not-secret"

_build_lock = threading.Lock()


def init_app(app):
    app.extensions["einvoice.keyring"] = KeyRing(
        dev_mode=app.config["DEV_MODE"], mnemonic=app.config["DEV_MNEMONIC"],
        keystore_dir=app.config["KEYSTORE_DIR"],
        password=app.config.get("KEYSTORE_PASSWORD") or (DEV_KEYSTORE_PASSWORD if app.config["DEV_MODE"] else None))
    reset_chain(app)


def get_keyring():
    return current_app.extensions["einvoice.keyring"]


def _built(app):
    """(client, signer) of the app, built on first use from the deployment record."""
    built = app.extensions.get("einvoice.chain")
    if built is not None:
        return built
    if not app.config.get("CHAIN_ENABLED", True):
        raise ChainUnavailable("chain access is disabled")
    with _build_lock:
        built = app.extensions.get("einvoice.chain")
        if built is None:
            deployment = read_deployment(app.config["DEPLOYMENT_FILE"])
            client = ChainClient(rpc_url=app.config.get("RPC_URL") or deployment["rpc_url"], deployment=deployment,
                                 artifacts_dir=app.config["ARTIFACTS_DIR"])
            signer = Signer(client, keyring=get_keyring(), session_factory=lambda: db.session,
                            tx_timeout=app.config["TX_TIMEOUT"])
            built = app.extensions["einvoice.chain"] = (client, signer)
    return built


def get_chain() -> ChainClient:
    """The app's read client."""
    return _built(current_app._get_current_object())[0]


def get_signer() -> Signer:
    """The app's signer (the only way a transaction is sent)."""
    return _built(current_app._get_current_object())[1]


def reset_chain(app):
    app.extensions["einvoice.chain"] = None
