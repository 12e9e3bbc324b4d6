"""Custom errors of the platform contracts by name, for auditors in `brownie console` (or any
Python): brownie and web3 show a revert only as its selector and raw arguments
(`ContractCustomError('0x20bb2818…')`). The names and argument types come from the ABIs in
build/contracts; the message, in Chinese then English, is the web app's (backend.chain.errors,
translated through its catalogs).

    >>> from scripts.custom_errors import call, explain
    >>> call(reg.getInvoiceByNumber, "26351000000000000099")
    CustomError: InvoiceNotFound(key=0x…): 发票不存在 …
    >>> explain("0x20bb2818" + "00" * 32)          # revert data, or a caught exception
"""
import json
import re
from functools import lru_cache
from pathlib import Path

from eth_abi import decode as abi_decode
from eth_utils import function_abi_to_4byte_selector, to_checksum_address

from backend.chain.client import _abi_type
from backend.chain.errors import human_message, jsonable
from backend.core import i18n

BUILD = Path(__file__).resolve().parent.parent / "build" / "contracts"
HEX = re.compile(r"0x[0-9a-fA-F]{8,}")


@lru_cache(maxsize=1)
def _babel_app():
    """A bare Flask app with the catalogs (the messages are translated in an app context)."""
    from flask import Flask

    app = Flask("custom_errors")
    i18n.init_app(app)
    return app


def bilingual_message(name, args):
    """The web app's message of the error in Chinese, then in English."""
    from flask_babel import force_locale

    with _babel_app().app_context():
        texts = []
        for language in ("zh", "en"):
            with force_locale(language):
                texts.append(human_message(name, args))
    return " ".join(texts)


class CustomError(Exception):
    """A revert with its custom error decoded: ``name``, ``args`` ({argument: value})."""

    def __init__(self, name, args):
        self.name, self.args_ = name, args
        super().__init__(f"{name}({', '.join(f'{k}={jsonable(v)}' for k, v in args.items())}): "
                         f"{bilingual_message(name, args)}")


@lru_cache(maxsize=1)
def error_table(build=BUILD):
    """{4-byte selector: (name, [types], [argument names])} of every error in the ABIs."""
    table = {}
    for path in sorted(Path(build).glob("*.json")):
        for entry in json.loads(path.read_text()).get("abi", []):
            if entry.get("type") == "error":
                inputs = entry.get("inputs", [])
                selector = bytes(function_abi_to_4byte_selector({"name": entry["name"], "type": "function",
                                                                 "inputs": inputs}))
                table[selector] = (entry["name"], [_abi_type(i) for i in inputs], [i["name"] for i in inputs])
    return table


def _candidates(error):
    """Revert data that ``error`` may hold: bytes, a 0x-hex string, or an exception of
    brownie or web3 (its ``data``, else the 0x-hex in its text, the longest first: a message
    may name the selector alone before the full data)."""
    if isinstance(error, (bytes, bytearray)):
        return [bytes(error)]
    data = getattr(error, "data", None)
    if isinstance(data, dict):
        data = data.get("data") or data.get("result")
    texts = ([data] if isinstance(data, str) else []) + ([error] if isinstance(error, str) else [repr(error)])
    found = [h[2:] for text in texts for h in HEX.findall(text)]
    return [bytes.fromhex(h[:len(h) // 2 * 2]) for h in sorted(found, key=len, reverse=True)]


def decode(error):
    """(name, {argument: value}) of a custom error; None when ``error`` holds none we know."""
    for raw in _candidates(error):
        if raw[:4] not in error_table():
            continue
        name, types, names = error_table()[raw[:4]]
        try:
            values = abi_decode(types, raw[4:])
        except Exception:  # noqa: BLE001 - cut short: look at the next candidate
            continue
        values = [to_checksum_address(v) if t == "address" else v for t, v in zip(types, values)]
        return name, {n or f"arg{i}": v for i, (n, v) in enumerate(zip(names, values))}
    return None


def explain(error):
    """The text "Name(arg=value, …): message" of a custom error, or the error's own text."""
    decoded = decode(error)
    return str(CustomError(*decoded)) if decoded else str(error)


def call(function, *args, **kwargs):
    """``function(*args)``; a revert with a custom error is raised again as CustomError,
    which names it."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:
        decoded = decode(exc)
        if decoded is None:
            raise
        raise CustomError(*decoded) from exc
