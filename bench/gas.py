"""Gas benchmark of the platform's contracts on a throwaway Anvil chain.

    python bench/gas.py [--count 10000] [--output bench/results/gas.json] [--profile]

Starts its own Anvil on a free 127.0.0.1 port (the binary from node_modules), deploys
the contracts from brownie's build artifacts (runs `brownie compile` when they are
missing), measures each operation from its receipt (views: eth_estimateGas), writes
{"operations": {name: gas}} and prints a table.

Each benchmark is a function `measure_xxx(bench) -> {name: gas}` listed in BENCHMARKS;
add receivable operations by writing another such function (the `Bench` helper deploys,
sends and estimates). `--profile` re-runs one clean issue with step tracing and prints
the gas per opcode, to see where issuance gas goes.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from web3 import HTTPProvider, Web3

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "contracts"
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"

MERCHANT_TAX_ID = "91350100M000100Y43"
OTHER_TAX_ID = "91110000802100433B"
BUYER_TAX_ID = "91310000MA1FL8XY2K"
UINT96_MAX = 2**96 - 1
UINT32_MAX = 2**32 - 1
ISSUE_TUPLE = "(string,address,bytes20,uint256,uint256,uint256,uint8,uint16,uint8,uint64,bytes32)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Bench:
    """A throwaway Anvil chain with its unlocked dev accounts, plus deploy/send/estimate helpers."""

    def __init__(self, steps_tracing: bool = False):
        self.port = free_port()
        args = [str(ANVIL), "--quiet", "--port", str(self.port), "--host", "127.0.0.1", "--accounts", "10",
                "--gas-limit", "30000000", "--block-base-fee-per-gas", "0"]
        if steps_tracing:
            args.append("--steps-tracing")
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.w3 = Web3(HTTPProvider(f"http://127.0.0.1:{self.port}", request_kwargs={"timeout": 120}))
        for _ in range(100):
            try:
                if self.w3.is_connected():
                    break
            except Exception:
                pass
            time.sleep(0.1)
        else:
            self.close()
            raise RuntimeError("anvil did not start")
        self.accounts = self.w3.eth.accounts
        self.contracts: dict[str, object] = {}

    def close(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def rpc(self, method: str, params: list):
        response = self.w3.provider.make_request(method, params)
        if "error" in response:
            raise RuntimeError(f"{method}: {response['error']}")
        return response["result"]

    def deploy(self, name: str, *args, sender=None):
        artifact = json.loads((BUILD / f"{name}.json").read_text())
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        tx_hash = factory.constructor(*args).transact({"from": sender or self.accounts[0]})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        contract = self.w3.eth.contract(address=receipt.contractAddress, abi=artifact["abi"])
        self.contracts[name] = contract
        return contract

    def send(self, function, sender) -> dict:
        """Sends a contract function call, requires success, returns the receipt."""
        tx_hash = function.transact({"from": sender, "gas": 3_000_000})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt.status != 1:
            raise RuntimeError(f"transaction failed: {function.fn_name}")
        return receipt

    def gas(self, function, sender) -> int:
        return self.send(function, sender).gasUsed

    def estimate(self, function, sender=None) -> int:
        return function.estimate_gas({"from": sender or self.accounts[0]})

    def now(self) -> int:
        return self.w3.eth.get_block("latest").timestamp


# ------------------------------------------------------------------ invoice helpers

def tax_id_hash(tax_id: str) -> bytes:
    return keccak(text=tax_id.upper())[:20]


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc(first17: str) -> str:
    """A USCC tax ID: `first17` plus its check character (GB 32100-2015)."""
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return first17 + USCC_ALPHABET[(31 - total % 31) % 31]


class Invoices:
    """Deploys MerchantRegistry + InvoiceRegistry with two approved merchants and builds requests."""

    def __init__(self, bench: Bench, limits=(10_000_000_00, UINT96_MAX, UINT32_MAX)):
        self.bench = bench
        acc = bench.accounts
        self.authority, self.merchant, self.other, self.auditor = acc[0], acc[1], acc[2], acc[3]
        self.merchants = bench.deploy("MerchantRegistry", self.authority)
        self.registry = bench.deploy("InvoiceRegistry", self.authority, self.merchants.address)
        for account, tax_id in ((self.merchant, MERCHANT_TAX_ID), (self.other, OTHER_TAX_ID)):
            bench.send(self.merchants.functions.applyAsMerchant("示例公司", tax_id, keccak(text=tax_id)), account)
            bench.send(self.merchants.functions.approve(account, limits), self.authority)
        auditor_role = self.registry.functions.AUDITOR_ROLE().call()
        bench.send(self.registry.functions.grantRole(auditor_role, self.auditor), self.authority)
        self.serial = 0

    def request(self, seller=None, net=100_000, rate=13, buyer=None, document=None, issued_at=None):
        self.serial += 1
        number = f"2644{self.serial:016d}"
        tax = net * rate // 100
        return (
            number,
            seller or self.merchant,
            buyer or tax_id_hash(BUYER_TAX_ID),
            net,
            tax,
            net + tax,
            rate,
            3,
            0,
            issued_at or self.bench.now() - 60,
            document or keccak(text="document " + number),
        )

    def issue(self, request, sender=None) -> tuple[bytes, dict]:
        receipt = self.bench.send(self.registry.functions.issue(request), sender or request[1])
        return keccak(text=request[0]), receipt


# ------------------------------------------------------------------ benchmarks

def measure_invoice_operations(bench: Bench) -> dict[str, int]:
    """issue (clean), issue_flagged, clear, void, red_letter, verify_batch_100."""
    inv = Invoices(bench)
    ops = {}
    inv.issue(inv.request(seller=inv.other))  # warm the global counters
    bench.send(inv.registry.functions.openMerchantBook(inv.merchant), inv.merchant)
    inv.issue(inv.request())
    _, receipt = inv.issue(inv.request())
    ops["issue"] = receipt.gasUsed
    operator = bench.accounts[7]
    bench.send(inv.merchants.functions.setOperator(operator, True), inv.merchant)
    _, receipt = inv.issue(inv.request(), sender=operator)
    ops["issue_by_operator"] = receipt.gasUsed
    flagged_request = inv.request(buyer=tax_id_hash(MERCHANT_TAX_ID))  # self-dealing
    flagged_key, receipt = inv.issue(flagged_request)
    ops["issue_flagged"] = receipt.gasUsed
    ops["clear"] = bench.gas(inv.registry.functions.clear(flagged_key, 1), inv.auditor)
    void_key, _ = inv.issue(inv.request())
    ops["void"] = bench.gas(inv.registry.functions.voidInvoice(void_key), inv.merchant)
    original = inv.request(net=1_000_000)
    original_key, _ = inv.issue(original)
    note = inv.request(net=100_000)
    ops["red_letter"] = bench.gas(inv.registry.functions.issueRedLetter(original_key, note, 1), inv.merchant)
    ops["get_invoice"] = bench.estimate(inv.registry.functions.getInvoice(original_key))
    plain = inv.request()
    inv.issue(plain)
    verify_args = _verify_query(plain)[1:]
    if inv.registry.functions.verify(plain[0], *verify_args).call() != 0:
        raise RuntimeError("benchmark invoice does not verify as Authentic")
    ops["verify"] = bench.estimate(inv.registry.functions.verify(plain[0], *verify_args))

    requests = [inv.request() for _ in range(100)]
    _issue_many(bench, inv, requests)
    queries = [_verify_query(r) for r in requests]
    if set(inv.registry.functions.verifyBatch(queries).call()) != {0}:
        raise RuntimeError("benchmark batch does not verify as Authentic")
    ops["verify_batch_100"] = bench.estimate(inv.registry.functions.verifyBatch(queries))
    return ops


def _verify_query(request) -> tuple:
    """(key, China date, gross, last 6 check-code digits) of an issued request: the full, Authentic path."""
    number, seller, buyer, net, tax, gross, _, _, _, issued_at, _ = request
    key = keccak(text=number)
    code = int.from_bytes(keccak(encode(["bytes32", "address", "bytes20", "uint48", "uint48", "uint40"],
                                        [key, seller, buyer, net, tax, issued_at])), "big") % 10**20
    day = datetime.datetime.fromtimestamp(issued_at + 8 * 3600, datetime.timezone.utc)
    return key, day.year * 10000 + day.month * 100 + day.day, gross, code % 10**6


def _issue_many(bench: Bench, inv: Invoices, requests: list, block_size: int = 200) -> list[bytes]:
    """Issues `requests` as raw eth_sendTransaction calls, `block_size` per mined block."""
    selector = keccak(text=f"issue({ISSUE_TUPLE})")[:4]
    sender = inv.merchant
    nonce = bench.w3.eth.get_transaction_count(sender)
    to = inv.registry.address
    bench.rpc("evm_setAutomine", [False])
    try:
        hashes = []
        for start in range(0, len(requests), block_size):
            for request in requests[start:start + block_size]:
                data = "0x" + (selector + encode([ISSUE_TUPLE], [request])).hex()
                tx = {"from": sender, "to": to, "data": data, "gas": hex(400_000), "nonce": hex(nonce),
                      "gasPrice": "0x0"}
                hashes.append(bench.rpc("eth_sendTransaction", [tx]))
                nonce += 1
            bench.rpc("evm_mine", [])
    finally:
        bench.rpc("evm_setAutomine", [True])
    failed = [h for h in hashes[-1:] + hashes[:1] if bench.w3.eth.get_transaction_receipt(h).status != 1]
    if failed:
        raise RuntimeError(f"bulk issue failed: {failed}")
    return [keccak(text=r[0]) for r in requests]


def measure_issue_scaling(bench: Bench, count: int = 10_000) -> dict[str, int]:
    """The same merchant's 1st and count-th invoice (its counters opened first), plus the
    1st without openMerchantBook (one-off fresh counter slot)."""
    inv = Invoices(bench)
    inv.issue(inv.request(seller=inv.other))  # global status counters exist already
    ops = {"issue_at_1_without_open_book": _first_issue_of_new_merchant(bench, inv)}
    bench.send(inv.registry.functions.openMerchantBook(inv.merchant), inv.merchant)
    _, first = inv.issue(inv.request())
    ops["issue_at_1"] = first.gasUsed
    started = time.time()
    _issue_many(bench, inv, [inv.request() for _ in range(count - 2)])
    print(f"  issued {count - 2} invoices in {time.time() - started:.1f}s", file=sys.stderr)
    _, last = inv.issue(inv.request())
    issued = inv.registry.functions.merchantActivity(inv.merchant).call()[4]
    if issued != count:
        raise RuntimeError(f"expected {count} invoices of the merchant, found {issued}")
    ops[f"issue_at_{count}"] = last.gasUsed
    return ops


def _first_issue_of_new_merchant(bench: Bench, inv: Invoices) -> int:
    """Gas of the first invoice of a merchant whose counters were not opened."""
    acc = bench.accounts[8]
    bench.send(inv.merchants.functions.applyAsMerchant("新公司", uscc("91440300MA5EYH1X2"), keccak(text="L-8")), acc)
    bench.send(inv.merchants.functions.approve(acc, (10_000_000_00, UINT96_MAX, UINT32_MAX)), inv.authority)
    _, first = inv.issue(inv.request(seller=acc))
    return first.gasUsed


BENCHMARKS = [measure_invoice_operations, measure_issue_scaling]


def all_benchmarks() -> list:
    # Imported late: gas_receivables builds on this module's Bench (importing it at the
    # top would be circular).
    from gas_receivables import measure as measure_receivable_operations

    return BENCHMARKS + [measure_receivable_operations]


def profile_issue(bench: Bench) -> None:
    """Prints the gas of one clean issue per opcode (needs --steps-tracing)."""
    inv = Invoices(bench)
    inv.issue(inv.request(seller=inv.other))
    inv.issue(inv.request())
    _, receipt = inv.issue(inv.request())
    trace = bench.rpc("debug_traceTransaction", [receipt.transactionHash.hex() if isinstance(receipt.transactionHash, bytes) else receipt.transactionHash,
                                                 {"disableStorage": True, "disableMemory": True, "disableStack": True}])
    logs = trace["structLogs"]
    per_op = collections.Counter()
    calls = collections.Counter()
    for step in logs:
        per_op[step["op"]] += step["gasCost"]
        calls[step["op"]] += 1
    # CALL/STATICCALL gasCost includes the gas forwarded; subtract what the callee used.
    print(f"issue gasUsed {receipt.gasUsed}; steps {len(logs)}")
    for op, gas in per_op.most_common(30):
        print(f"  {op:14} {gas:>9,} ({calls[op]}x)")
    depth = collections.Counter()
    for step in logs:
        depth[step["depth"]] += step["gasCost"]
    print("  by depth:", dict(depth))
    # Gas of the registry's own opcodes per source line (brownie's pcMap), expensive ops excluded.
    artifact = json.loads((BUILD / "InvoiceRegistry.json").read_text())
    pc_map, sources = artifact["pcMap"], artifact["allSourcePaths"]
    texts = {}
    per_line = collections.Counter()
    for step in logs:
        if step["depth"] != 1 or step["op"] in ("SSTORE", "SLOAD", "STATICCALL", "LOG4", "LOG3", "LOG2"):
            continue
        entry = pc_map.get(str(step["pc"]), {})
        offset, path = entry.get("offset"), entry.get("path")
        if not offset or path is None:
            per_line["<no source>"] += step["gasCost"]
            continue
        if path not in texts:
            texts[path] = (ROOT / sources[path]).read_text()
        text = texts[path]
        line = text.count("\n", 0, offset[0]) + 1
        snippet = text[offset[0]:offset[1]].split("\n")[0][:70]
        per_line[f"{Path(sources[path]).name}:{line} {snippet}"] += step["gasCost"]
    print("  plain opcodes by source (top 40):")
    for where, gas in per_line.most_common(40):
        print(f"    {gas:>6}  {where}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="invoices of one merchant for issue_at_N")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "gas.json")
    parser.add_argument("--profile", action="store_true", help="print the gas per opcode of one issue and exit")
    args = parser.parse_args(argv)

    if not (BUILD / "InvoiceRegistry.json").exists():
        subprocess.run(["brownie", "compile"], cwd=ROOT, check=True)

    if args.profile:
        bench = Bench(steps_tracing=True)
        try:
            profile_issue(bench)
        finally:
            bench.close()
        return 0

    operations: dict[str, int] = {}
    for benchmark in all_benchmarks():
        bench = Bench()
        try:
            print(f"running {benchmark.__name__} ...", file=sys.stderr)
            if benchmark is measure_issue_scaling:
                operations.update(benchmark(bench, args.count))
            else:
                operations.update(benchmark(bench))
        finally:
            bench.close()

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"operations": operations}, indent=2) + "\n")
    width = max(len(name) for name in operations)
    print(f"{'operation':{width}}  {'gas':>10}")
    for name, gas in operations.items():
        print(f"{name:{width}}  {gas:>10,}")
    first, last = operations.get("issue_at_1"), operations.get(f"issue_at_{args.count}")
    if first and last:
        print(f"issue_at_{args.count} vs issue_at_1: {100 * (last - first) / first:+.2f} %")
    print(f"written {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
