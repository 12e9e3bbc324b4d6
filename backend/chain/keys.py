"""Signing keys. Dev mode: the Anvil dev accounts, derived from the standard Anvil test
mnemonic with eth-account's HD wallet (no key is written anywhere). Otherwise:
eth-account keystore files (``KEYSTORE_DIR/<address>.json``, scrypt-encrypted) unlocked
with ``KEYSTORE_PASSWORD`` from the environment. No plaintext key on disk."""
import json
import os
import threading

from eth_account import Account
from eth_utils import to_checksum_address

Account.enable_unaudited_hdwallet_features()
DEV_ACCOUNT_COUNT = 10


class KeyError_(LookupError):
    pass


class KeyRing:
    def __init__(self, *, dev_mode, mnemonic=None, keystore_dir=None, password=None):
        self.dev_mode = dev_mode
        self.keystore_dir = keystore_dir
        self._password = password
        self._lock = threading.Lock()
        self._accounts = {}
        self._dev = []
        if dev_mode:
            for i in range(DEV_ACCOUNT_COUNT):
                acct = Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}")
                self._dev.append(acct)
                self._accounts[acct.address] = acct

    def dev_address(self, index: int) -> str:
        if not self.dev_mode:
            raise KeyError_("dev accounts exist only in dev mode")
        return self._dev[index].address

    def has(self, address) -> bool:
        address = to_checksum_address(address)
        if address in self._accounts:
            return True
        return bool(self.keystore_dir) and os.path.exists(self._path(address))

    def _path(self, address):
        return os.path.join(self.keystore_dir, f"{address}.json")

    def account(self, address):
        """The LocalAccount for ``address`` (unlocked once, kept in memory)."""
        address = to_checksum_address(address)
        with self._lock:
            acct = self._accounts.get(address)
            if acct is not None:
                return acct
            if not self.keystore_dir or not os.path.exists(self._path(address)):
                raise KeyError_(f"no key for {address}")
            if not self._password:
                raise KeyError_("KEYSTORE_PASSWORD is not set")
            with open(self._path(address)) as f:
                key = Account.decrypt(json.load(f), self._password)
            acct = Account.from_key(key)
            self._accounts[address] = acct
            return acct

    def create(self) -> str:
        """Generate a key, store it encrypted, return its address (production mode)."""
        if not self._password:
            raise KeyError_("KEYSTORE_PASSWORD is not set: cannot create an encrypted keystore")
        acct = Account.create()
        os.makedirs(self.keystore_dir, mode=0o700, exist_ok=True)
        encrypted = Account.encrypt(acct.key, self._password)
        path = self._path(acct.address)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(encrypted, f)
        with self._lock:
            self._accounts[acct.address] = acct
        return acct.address
