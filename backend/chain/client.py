"""Read client of the chain: contract handles from the build artifacts and the deployment
record (var/deployment.json: chain_id, rpc_url, block, contracts, abi_dir), calldata
encoded with eth_abi, views called (eth_call over a kept-alive connection, rpc.py) and
decoded, reverts decoded into named custom errors."""
import json
import os
from functools import lru_cache

import requests
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_abi_to_4byte_selector, to_checksum_address
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware

from .errors import ChainError, ChainRefusal, ChainUnavailable, human_message
from .rpc import KeepAliveRpc, RpcError

# the contracts the backend talks to, by their deployment names
REGISTRY = "InvoiceRegistry"
MERCHANTS = "MerchantRegistry"
LEDGER = "ReceivableLedger"


def _post(abi_output, value):
    """Checksum addresses inside a decoded value (eth_abi gives lower case)."""
    t = abi_output["type"]
    if t == "address":
        return to_checksum_address(value)
    if t.startswith("tuple"):
        comps = abi_output["components"]
        if t.endswith("]"):
            inner = {**abi_output, "type": t[:t.rindex("[")]}
            return [_post(inner, v) for v in value]
        return tuple(_post(c, v) for c, v in zip(comps, value))
    if t.endswith("]") and t.startswith("address"):
        return [to_checksum_address(v) for v in value]
    return value


def _abi_type(inp):
    t = inp["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in inp["components"]) + ")" + t[5:]
    return t


class ChainClient:
    """Reads: views, calldata, decoded reverts. Signing is the Signer's (signer.py)."""

    def __init__(self, *, rpc_url, deployment, artifacts_dir):
        self.deployment = deployment
        session = requests.Session()
        session.trust_env = False  # no proxy lookup in the environment on every RPC
        self.w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 15}, session=session))
        # Calldata is encoded and checked here (eth_abi, from the ABI), so web3's default
        # middlewares (ENS, validation: an eth_chainId per call, gas strategies) are not
        # needed; the POA one lets get_block work on Clique/QBFT chains.
        self.w3.middleware_onion.clear()
        self.w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        self.rpc = KeepAliveRpc(rpc_url, timeout=15)  # the views' eth_calls, without web3's request path
        self._fn_cache = {}
        self.chain_id = int(deployment["chain_id"])
        self.deploy_block = int(deployment.get("block", 0))
        self.contracts = {}
        self.errors = {}  # selector -> (name, [types], [names])
        abi_dir = deployment.get("abi_dir") or artifacts_dir
        for name, address in deployment["contracts"].items():
            abi = load_abi(name, abi_dir, artifacts_dir)
            if abi is None:
                continue
            self.contracts[name] = self.w3.eth.contract(address=to_checksum_address(address), abi=abi)
            for entry in abi:
                if entry.get("type") == "error":
                    types = [_abi_type(i) for i in entry.get("inputs", [])]
                    selector = function_abi_to_4byte_selector({"name": entry["name"], "type": "function",
                                                                "inputs": entry.get("inputs", [])})
                    self.errors[bytes(selector)] = (entry["name"], types, [i["name"] for i in entry.get("inputs", [])])

    # ---- reading -------------------------------------------------------------------
    def contract(self, name):
        try:
            return self.contracts[name]
        except KeyError:
            raise ChainUnavailable(f"contract {name} is not deployed") from None

    def has(self, name):
        return name in self.contracts

    def _function(self, contract, function):
        """(address, selector, input types, output ABI) of ``contract.function``, cached."""
        key = (contract, function)
        hit = self._fn_cache.get(key)
        if hit is None:
            c = self.contract(contract)
            for entry in c.abi:
                if entry.get("type") == "function" and entry.get("name") == function:
                    break
            else:
                raise ChainError(f"{contract} has no function {function}")
            selector = bytes(function_abi_to_4byte_selector(entry))
            hit = (c.address, selector, [_abi_type(i) for i in entry["inputs"]], entry.get("outputs", []))
            self._fn_cache[key] = hit
        return hit

    def selector(self, contract, function):
        """The 4-byte selector of ``contract.function``."""
        return self._function(contract, function)[1]

    def encode(self, contract, function, *args):
        """Calldata for ``contract.function(*args)`` (eth_abi; bad arguments raise ValueError/TypeError)."""
        address, selector, types, _ = self._function(contract, function)
        return address, "0x" + (selector + abi_encode(types, list(args))).hex()

    def eth_call(self, tx, contract, block="latest"):
        """eth_call of ``tx`` ({"to", "data"}, optionally "from") at ``block`` ("latest" or a
        number): the returned bytes. A revert raises its decoded ChainRefusal; any other
        error answer, or no answer, ChainUnavailable."""
        try:
            raw = self.rpc.request("eth_call", [tx, block if isinstance(block, str) else hex(block)])
        except RpcError as exc:
            if exc.is_revert:
                raise self.decode_error(exc, contract) from None
            raise ChainUnavailable(f"eth_call: {exc.message} (code {exc.code})") from None
        return bytes.fromhex(raw[2:])

    def call(self, contract, function, *args, block="latest"):
        """eth_call of a view; the decoded result (one value, or a tuple for several)."""
        address, data = self.encode(contract, function, *args)
        outputs = self._function(contract, function)[3]
        raw = self.eth_call({"to": address, "data": data}, contract, block)
        values = abi_decode([_abi_type(o) for o in outputs], raw)
        values = [_post(o, v) for o, v in zip(outputs, values)]
        return values[0] if len(values) == 1 else tuple(values)

    def refusal_of(self, sender, contract, function, *args):
        """Simulate ``contract.function(*args)`` sent by ``sender`` (eth_call on the latest
        block): its ChainRefusal, or None when it would go through."""
        address, data = self.encode(contract, function, *args)
        try:
            self.eth_call({"from": sender, "to": address, "data": data}, contract)
        except ChainRefusal as exc:
            return exc
        return None

    def call_named(self, contract, function, *args, block="latest"):
        """Call a view returning one struct; the result as a dict by component name."""
        result = self.call(contract, function, *args, block=block)
        for entry in self.contract(contract).abi:
            if entry.get("type") == "function" and entry.get("name") == function:
                outputs = entry.get("outputs", [])
                if len(outputs) == 1 and outputs[0]["type"] == "tuple":
                    return dict(zip([c["name"] for c in outputs[0]["components"]], result))
                return dict(zip([o["name"] or f"out{i}" for i, o in enumerate(outputs)],
                                result if len(outputs) > 1 else [result]))
        raise ChainError(f"{contract} has no function {function}")

    def has_function(self, contract, function):
        return self.has(contract) and any(e.get("type") == "function" and e.get("name") == function
                                          for e in self.contract(contract).abi)

    def decode_error(self, exc, contract=None):
        data = getattr(exc, "data", None)
        if isinstance(data, dict):  # Ganache 7 answers {"result": revert data, "reason", "hash", ...}
            data = data.get("data") or data.get("result")
        return self.decode_revert_data(data, contract, fallback=str(exc))

    def decode_revert_data(self, data, contract=None, fallback="execution reverted"):
        if isinstance(data, (bytes, bytearray)):
            raw = bytes(data)
        elif isinstance(data, str) and data.startswith("0x"):
            try:
                raw = bytes.fromhex(data[2:])
            except ValueError:
                raw = b""
        else:
            raw = b""
        if len(raw) >= 4 and raw[:4] in self.errors:
            name, types, names = self.errors[raw[:4]]
            try:
                values = abi_decode(types, raw[4:])
            except Exception:
                values = ()
            values = [to_checksum_address(v) if t == "address" else v for t, v in zip(types, values)]
            args = {n or f"arg{i}": v for i, (n, v) in enumerate(zip(names, values))}
            return ChainRefusal(name, args, human_message(name, args), contract)
        if raw[:4] == bytes.fromhex("08c379a0"):  # Error(string)
            try:
                (reason,) = abi_decode(["string"], raw[4:])
            except Exception:
                reason = fallback
            return ChainRefusal("Reverted", {"reason": reason}, reason, contract)
        if raw[:4] == bytes.fromhex("4e487b71"):  # Panic(uint256)
            return ChainRefusal("Panic", {"code": int.from_bytes(raw[4:36] or b"\0", "big")},
                                "The contract panicked (arithmetic or assertion error).", contract)
        return ChainRefusal("Reverted", {}, fallback, contract)


checksum = lru_cache(maxsize=1024)(to_checksum_address)


def raw_request(w3, method, params):
    """A JSON-RPC call without web3's formatters (for the large answers of bulk issuance:
    logs and receipts of hundreds of events); the raw ``result``. ChainError on an error answer."""
    response = w3.provider.make_request(method, params)
    if "error" in response:
        raise ChainError(f"{method}: {response['error']}")
    return response.get("result")


def light_log(raw):
    """A raw log as the dict web3 gives, with bytes for hashes, topics and data."""
    return {"address": checksum(raw["address"]), "topics": [bytes.fromhex(t[2:]) for t in raw["topics"]],
            "data": bytes.fromhex(raw["data"][2:]), "blockNumber": int(raw["blockNumber"], 16),
            "blockHash": bytes.fromhex(raw["blockHash"][2:]),
            "transactionHash": bytes.fromhex(raw["transactionHash"][2:]),
            "transactionIndex": int(raw["transactionIndex"], 16), "logIndex": int(raw["logIndex"], 16)}


def light_receipt(raw):
    """The fields of a raw receipt the signer reads (web3's types), its logs as ``light_log``."""
    return {"transactionHash": bytes.fromhex(raw["transactionHash"][2:]), "blockNumber": int(raw["blockNumber"], 16),
            "blockHash": bytes.fromhex(raw["blockHash"][2:]), "gasUsed": int(raw["gasUsed"], 16),
            "status": int(raw.get("status") or "0x0", 16), "logs": [light_log(log) for log in raw["logs"]]}


def load_abi(name, abi_dir, artifacts_dir):
    for d in (abi_dir, artifacts_dir):
        if not d:
            continue
        for path in (os.path.join(d, f"{name}.json"), os.path.join(d, "contracts", f"{name}.json")):
            if os.path.exists(path):
                with open(path) as f:
                    data = json.load(f)
                return data["abi"] if isinstance(data, dict) else data
    return None


def read_deployment(path):
    if not os.path.exists(path):
        raise ChainUnavailable(f"no deployment record at {path}: deploy the contracts first")
    with open(path) as f:
        return json.load(f)


