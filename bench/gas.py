"""Gas benchmark of the platform's contracts (v2) on a throwaway Anvil chain.

    python bench/gas.py [--count 10000] [--output bench/results/gas.json] [--profile] [--strict]

Starts its own Anvil on a free 127.0.0.1 port (the binary from node_modules), deploys
the contracts from brownie's build artifacts (runs `brownie compile` when they are
missing), measures each operation from its receipt (views: eth_estimateGas), writes
{"operations": {name: gas}, "goals": {name: {...}}} and prints a table and one PASS/FAIL
line per goal (GOALS below). `--strict` exits 1 when a goal fails.

Each benchmark is a function `measure_xxx(bench) -> {name: gas}` listed in BENCHMARKS;
the receivable operations live in gas_receivables.py, the reimbursement ones in
gas_claims.py (same `Bench` helper). `--profile`
re-runs one clean issue with step tracing and prints the gas per opcode, to see where
issuance gas goes.

What the v2 contracts need before an invoice can be issued (and what this module does):
the merchant is approved with its seller tag (`approve(account, limits, sellerTag)`), the
authority allocates it a number range (`allocateNumberRange(merchant, prefix, count)`,
numbers prefix*10^15 + n), and each request carries a salted buyer commitment, the buyer's
seller-scoped tag and its rate groups (docs/privacy.md has the formulas).
"""
from __future__ import annotations

import argparse
import collections
import datetime
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from eth_abi import encode
from eth_utils import keccak
from web3 import HTTPProvider, Web3

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "contracts"
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"

MERCHANT_TAX_ID = "91350100M000100Y43"
OTHER_TAX_ID = "91110000802100433B"
BUYER_TAX_ID = "91310000MA1FL8XY2A"
UINT48_MAX = 2**48 - 1
UINT64_MAX = 2**64 - 1
UINT32_MAX = 2**32 - 1
LIMITS = (10_000_000_00, UINT64_MAX, UINT32_MAX)  # invoiceCap 10 million yuan, no quota, no hourly norm

# Number ranges (号段): prefix = YY + 2-digit region + 1-digit channel; numbers prefix*10^15 + n.
MERCHANT_PREFIX = 26351  # 2026, Fujian (35), channel 1
OTHER_PREFIX = 26111  # 2026, Beijing (11), channel 1
RANGE_SIZE = 1_000_000

# The operator's buyer-tag key (BUYER_TAG_KEY). Any key works for gas; this one is the bench's own.
BUYER_TAG_KEY = b"bench buyer-tag key, not a secret"

RATE_GROUP = "(uint8,uint16,uint256,uint256)"
ISSUE_TUPLE = f"(string,address,bytes20,bytes12,uint256,uint256,uint256,uint8,uint64,bytes32,{RATE_GROUP}[])"

# Goals of issue 8: (operation, limit in gas, how it was set). issue_at_10000 vs issue_at_1 is
# checked separately (ISSUE_SCALING_GOAL_PERCENT).
V1_GAS = {"transfer": 30_217, "split_2": 83_018, "pledge": 54_401}
GOALS: dict[str, tuple[int, str]] = {
    "issue": (120_000, "<= 120,000"),
    "issue_3_rates": (130_000, "<= 130,000"),
    "issue_batch_100_per_invoice": (85_000, "<= 85,000"),
    **{name: (int(gas * 1.05), f"<= {int(gas * 1.05):,} (v1 {gas:,} x 1.05)") for name, gas in V1_GAS.items()},
}
ISSUE_SCALING_GOAL_PERCENT = 2.0


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

    def send(self, function, sender, gas: int = 3_000_000) -> dict:
        """Sends a contract function call, requires success, returns the receipt."""
        tx_hash = function.transact({"from": sender, "gas": gas})
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


# ------------------------------------------------------------------ buyer privacy (docs/privacy.md)

def buyer_tag(tax_id: str, key: bytes = BUYER_TAG_KEY) -> bytes:
    """HMAC-SHA256(key, "einvoice-buyer-tag:" + upper-case tax ID): the operator's keyed tag."""
    return hmac.new(key, b"einvoice-buyer-tag:" + tax_id.upper().encode("ascii"), hashlib.sha256).digest()


def buyer_digest(salt: bytes, tax_id: str) -> bytes:
    return keccak(encode(["bytes32", "bytes32"], [salt, keccak(text=tax_id.upper())]))


def buyer_commitment(digest: bytes, tag: bytes) -> bytes:
    return keccak(encode(["bytes32", "bytes32"], [digest, tag]))[:20]


def self_dealing_tag(tax_id: str, key: bytes = BUYER_TAG_KEY) -> bytes:
    """HMAC-SHA256(key, "einvoice-self-dealing-tag:" + tax ID): the operator's second, never published tag."""
    return hmac.new(key, b"einvoice-self-dealing-tag:" + tax_id.upper().encode("ascii"), hashlib.sha256).digest()


def tag_for_seller(tax_id: str, seller: str) -> bytes:
    return keccak(encode(["bytes32", "address"], [self_dealing_tag(tax_id), seller]))[:12]


def seller_tag(own_tax_id: str, account: str) -> bytes:
    """What the authority passes to approve(): the merchant's own tax ID scoped to its account."""
    return tag_for_seller(own_tax_id, account)


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc(first17: str) -> str:
    """A USCC tax ID: `first17` plus its check character (GB 32100-2015)."""
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return first17 + USCC_ALPHABET[(31 - total % 31) % 31]


# ------------------------------------------------------------------ invoice helpers

class Invoices:
    """Deploys MerchantRegistry + InvoiceRegistry with two approved merchants, each with a
    number range, and builds v2 issue requests."""

    def __init__(self, bench: Bench, limits=LIMITS):
        self.bench = bench
        acc = bench.accounts
        self.authority, self.merchant, self.other, self.auditor = acc[0], acc[1], acc[2], acc[3]
        self.merchants = bench.deploy("MerchantRegistry", self.authority)
        self.registry = bench.deploy("InvoiceRegistry", self.authority, self.merchants.address)
        self.tax_ids: dict[str, str] = {}
        self.next_number: dict[str, int] = {}
        self.buyers: dict[str, tuple[bytes, bytes, bytes]] = {}  # number -> (salt, digest, tag)
        self.serial = 0
        for account, tax_id, prefix in ((self.merchant, MERCHANT_TAX_ID, MERCHANT_PREFIX),
                                        (self.other, OTHER_TAX_ID, OTHER_PREFIX)):
            self.approve(account, "示例公司", tax_id, prefix, limits)
        auditor_role = self.registry.functions.AUDITOR_ROLE().call()
        bench.send(self.registry.functions.grantRole(auditor_role, self.auditor), self.authority)

    def approve(self, account, name: str, tax_id: str, prefix: int, limits=LIMITS, count: int = RANGE_SIZE):
        """applyAsMerchant + approve(sellerTag) + allocateNumberRange."""
        bench = self.bench
        bench.send(self.merchants.functions.applyAsMerchant(name, tax_id, keccak(text="licence " + tax_id)), account)
        bench.send(self.merchants.functions.approve(account, limits, seller_tag(tax_id, account)), self.authority)
        self.tax_ids[account] = tax_id
        self.allocate(account, prefix, count)

    def allocate(self, account, prefix: int, count: int = RANGE_SIZE) -> dict:
        receipt = self.bench.send(self.registry.functions.allocateNumberRange(account, prefix, count), self.authority)
        first, last = self.registry.functions.numberRangeOf(account).call()
        if first // 10**15 != prefix or last - first + 1 != count:
            raise RuntimeError(f"unexpected range {first}..{last} for prefix {prefix}")
        self.next_number[account] = first
        return receipt

    def number(self, seller) -> str:
        value = self.next_number[seller]
        self.next_number[seller] = value + 1
        return f"{value:020d}"

    def request(self, seller=None, net=100_000, rate=13, buyer_tax_id=BUYER_TAX_ID, document=None,
                issued_at=None, groups=None, number=None, salt=None):
        """An IssueRequest v2 tuple. `groups` = [(rate, itemCount, net)] (tax = net*rate/100 each)
        overrides `net`/`rate`; the buyer's salt, digest and tag are kept in self.buyers."""
        self.serial += 1
        seller = seller or self.merchant
        number = number or self.number(seller)
        groups = groups or [(rate, 3, net)]
        group_tuples = [(r, items, n, n * r // 100) for r, items, n in sorted(groups)]
        total_net = sum(g[2] for g in group_tuples)
        total_tax = sum(g[3] for g in group_tuples)
        salt = salt or keccak(text=f"bench salt {self.serial}")
        tag = buyer_tag(buyer_tax_id)
        digest = buyer_digest(salt, buyer_tax_id)
        self.buyers[number] = (salt, digest, tag)
        return (
            number,
            seller,
            buyer_commitment(digest, tag),
            tag_for_seller(buyer_tax_id, seller),
            total_net,
            total_tax,
            total_net + total_tax,
            0,
            issued_at or self.bench.now() - 60,
            document or keccak(text="document " + number),
            group_tuples,
        )

    def issue(self, request, sender=None) -> tuple[bytes, dict]:
        receipt = self.bench.send(self.registry.functions.issue(request), sender or request[1])
        return keccak(text=request[0]), receipt

    def issue_batch(self, requests, sender=None) -> tuple[list[bytes], dict]:
        gas = 1_000_000 + 200_000 * len(requests)
        receipt = self.bench.send(self.registry.functions.issueBatch(requests), sender or requests[0][1],
                                  gas=min(gas, 29_000_000))
        return [keccak(text=r[0]) for r in requests], receipt


# ------------------------------------------------------------------ benchmarks

def measure_invoice_operations(bench: Bench) -> dict[str, int]:
    """issue (clean), issue_by_operator, issue_3_rates, issue_flagged, issue_batch_100_per_invoice,
    clear, void, red_letter, get_invoice, verify, verify_buyer, verify_batch_100, allocate_number_range."""
    inv = Invoices(bench)
    ops = {}
    inv.issue(inv.request(seller=inv.other))  # the registry has registered before (steady state)
    inv.issue(inv.request())  # the merchant's book is warm from here on
    _, receipt = inv.issue(inv.request())
    ops["issue"] = receipt.gasUsed
    _, receipt = inv.issue(inv.request(groups=[(3, 1, 30_000), (6, 1, 50_000), (13, 1, 100_000)]))
    ops["issue_3_rates"] = receipt.gasUsed
    operator = bench.accounts[7]
    bench.send(inv.merchants.functions.setOperator(operator, True), inv.merchant)
    _, receipt = inv.issue(inv.request(), sender=operator)
    ops["issue_by_operator"] = receipt.gasUsed
    flagged_request = inv.request(buyer_tax_id=MERCHANT_TAX_ID)  # self-dealing
    flagged_key, receipt = inv.issue(flagged_request)
    if inv.registry.functions.getInvoice(flagged_key).call()[10] != 2:  # Flagged
        raise RuntimeError("the self-dealing invoice was not flagged")
    ops["issue_flagged"] = receipt.gasUsed

    batch = [inv.request() for _ in range(100)]
    keys, receipt = inv.issue_batch(batch)
    ops["issue_batch_100"] = receipt.gasUsed
    ops["issue_batch_100_per_invoice"] = receipt.gasUsed // 100
    if inv.registry.functions.getInvoice(keys[-1]).call()[10] != 1:  # Issued
        raise RuntimeError("the last invoice of the batch is not Issued")

    ops["clear"] = bench.gas(inv.registry.functions.clear(flagged_key, 1), inv.auditor)
    void_key, _ = inv.issue(inv.request())
    ops["void"] = bench.gas(inv.registry.functions.voidInvoice(void_key), inv.merchant)
    original = inv.request(net=1_000_000)
    original_key, _ = inv.issue(original)
    note = inv.request(net=100_000, salt=inv.buyers[original[0]][0])  # a note reuses its original's salt
    ops["red_letter"] = bench.gas(inv.registry.functions.issueRedLetter(original_key, note, 1), inv.merchant)
    ops["get_invoice"] = bench.estimate(inv.registry.functions.getInvoice(original_key))
    plain = inv.request()
    plain_key, _ = inv.issue(plain)
    verify_args = _verify_query(plain)[1:]
    if inv.registry.functions.verify(plain[0], *verify_args).call() != 0:
        raise RuntimeError("benchmark invoice does not verify as Authentic")
    ops["verify"] = bench.estimate(inv.registry.functions.verify(plain[0], *verify_args))
    salt, _, tag = inv.buyers[plain[0]]
    verify_buyer = inv.registry.functions.verifyBuyer(plain_key, salt, BUYER_TAX_ID, tag)
    if not verify_buyer.call():
        raise RuntimeError("verifyBuyer does not open the benchmark invoice's commitment")
    ops["verify_buyer"] = bench.estimate(verify_buyer)

    requests = [inv.request() for _ in range(100)]
    _issue_many(bench, inv, requests)
    queries = [_verify_query(r) for r in requests]
    if set(inv.registry.functions.verifyBatch(queries).call()) != {0}:
        raise RuntimeError("benchmark batch does not verify as Authentic")
    ops["verify_batch_100"] = bench.estimate(inv.registry.functions.verifyBatch(queries))

    ops["allocate_number_range"] = inv.allocate(inv.other, OTHER_PREFIX).gasUsed  # a merchant's second range
    return ops


def _check_code(request) -> int:
    number, seller, commitment, _, net, tax, _, _, issued_at, _, _ = request
    return int.from_bytes(keccak(encode(["bytes32", "address", "bytes20", "uint48", "uint48", "uint40"],
                                        [keccak(text=number), seller, commitment, net, tax, issued_at])),
                          "big") % 10**20


def _verify_query(request) -> tuple:
    """(key, China date, gross, last 6 check-code digits) of an issued request: the full, Authentic path."""
    issued_at, gross = request[8], request[6]
    day = datetime.datetime.fromtimestamp(issued_at + 8 * 3600, datetime.timezone.utc)
    return keccak(text=request[0]), day.year * 10000 + day.month * 100 + day.day, gross, _check_code(request) % 10**6


def _issue_many(bench: Bench, inv: Invoices, requests: list, batch_size: int = 100) -> list[bytes]:
    """Issues `requests` (one seller) with issueBatch, `batch_size` per transaction, all sent
    before one block is mined."""
    selector = keccak(text=f"issueBatch({ISSUE_TUPLE}[])")[:4]
    sender = requests[0][1]
    nonce = bench.w3.eth.get_transaction_count(sender)
    to = inv.registry.address
    hashes = []
    bench.rpc("evm_setAutomine", [False])
    try:
        for start in range(0, len(requests), batch_size):
            chunk = requests[start:start + batch_size]
            data = "0x" + (selector + encode([f"{ISSUE_TUPLE}[]"], [chunk])).hex()
            tx = {"from": sender, "to": to, "data": data, "gas": hex(min(29_000_000, 1_000_000 + 200_000 * len(chunk))),
                  "nonce": hex(nonce), "gasPrice": "0x0"}
            hashes.append(bench.rpc("eth_sendTransaction", [tx]))
            nonce += 1
            if len(hashes) % 2 == 0:  # two batches per block stay under the 30M block gas limit
                bench.rpc("evm_mine", [])
        bench.rpc("evm_mine", [])
    finally:
        bench.rpc("evm_setAutomine", [True])
    failed = [h for h in hashes if bench.w3.eth.get_transaction_receipt(h).status != 1]
    if failed:
        raise RuntimeError(f"bulk issue failed: {failed[:3]}")
    return [keccak(text=r[0]) for r in requests]


def measure_issue_scaling(bench: Bench, count: int = 10_000) -> dict[str, int]:
    """The same merchant's 1st and count-th invoice (the range allocation opened its book).
    Numbers from one range, the same hour and month: only the number of invoices differs."""
    inv = Invoices(bench)
    inv.issue(inv.request(seller=inv.other))  # the registry has registered before (steady state)
    ops = {}
    _, first = inv.issue(inv.request())
    ops["issue_at_1"] = first.gasUsed
    started = time.time()
    _issue_many(bench, inv, [inv.request() for _ in range(count - 2)])
    print(f"  issued {count - 2} invoices in {time.time() - started:.1f}s", file=sys.stderr)
    last_request = inv.request()
    last_key, last = inv.issue(last_request)
    if not inv.registry.functions.exists(last_key).call():
        raise RuntimeError("the last invoice is not registered")
    first_number, _ = inv.registry.functions.numberRangeOf(inv.merchant).call()
    if int(last_request[0]) - first_number + 1 != count:
        raise RuntimeError(f"the last invoice {last_request[0]} is not number {count} of the range")
    ops[f"issue_at_{count}"] = last.gasUsed
    return ops


BENCHMARKS = [measure_invoice_operations, measure_issue_scaling]


def all_benchmarks() -> list:
    # Imported late: gas_receivables builds on this module's Bench (importing it at the
    # top would be circular).
    from gas_claims import measure as measure_claim_operations
    from gas_receivables import measure as measure_receivable_operations

    return BENCHMARKS + [measure_receivable_operations, measure_claim_operations]


def evaluate_goals(operations: dict[str, int], count: int | None = None) -> dict[str, dict]:
    """{goal name: {"goal", "limit" | "limit_percent", "gas" | "percent", "pass"}} for the goals
    whose operations were measured."""
    goals: dict[str, dict] = {}
    for name, (limit, text) in GOALS.items():
        if name in operations:
            entry = {"goal": text, "limit": limit, "gas": operations[name], "pass": operations[name] <= limit}
            if name in V1_GAS:
                entry["v1"] = V1_GAS[name]
            goals[name] = entry
    last_name = f"issue_at_{count}" if count else next(
        (n for n in operations if n.startswith("issue_at_") and n != "issue_at_1"), None)
    first, last = operations.get("issue_at_1"), operations.get(last_name)
    if first and last:
        percent = 100 * (last - first) / first
        goals[f"{last_name}_vs_issue_at_1"] = {
            "goal": f"within {ISSUE_SCALING_GOAL_PERCENT:g} %", "limit_percent": ISSUE_SCALING_GOAL_PERCENT,
            "percent": round(percent, 2), "pass": abs(percent) <= ISSUE_SCALING_GOAL_PERCENT,
        }
    return goals


def print_goals(goals: dict[str, dict]) -> bool:
    """One PASS/FAIL line per goal; True when all pass."""
    for name, goal in goals.items():
        verdict = "PASS" if goal["pass"] else "FAIL"
        actual = f"{goal['percent']:+.2f} %" if "percent" in goal else f"{goal['gas']:,} gas"
        print(f"{verdict} {name}: {actual}, goal {goal['goal']}")
    return all(goal["pass"] for goal in goals.values())


def profile_issue(bench: Bench) -> None:
    """Prints the gas of one clean issue per opcode (needs --steps-tracing)."""
    inv = Invoices(bench)
    inv.issue(inv.request(seller=inv.other))
    inv.issue(inv.request())
    _, receipt = inv.issue(inv.request())
    tx_hash = receipt.transactionHash
    trace = bench.rpc("debug_traceTransaction", ["0x" + bytes(tx_hash).hex() if isinstance(tx_hash, bytes) else tx_hash,
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
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal fails")
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

    goals = evaluate_goals(operations, args.count)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"operations": operations, "goals": goals}, indent=2, ensure_ascii=False) + "\n")
    width = max(len(name) for name in operations)
    print(f"{'operation':{width}}  {'gas':>10}")
    for name, gas in operations.items():
        print(f"{name:{width}}  {gas:>10,}")
    all_pass = print_goals(goals)
    print(f"written {args.output}")
    return 1 if args.strict and not all_pass else 0


if __name__ == "__main__":
    sys.exit(main())
