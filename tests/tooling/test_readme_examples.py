"""The `cast call` examples in README.md and the contract docs name real view functions with
their real types (the ABI of the build artifacts)."""
import re

import pytest

from scripts.deploy import ROOT, load_artifact

CAST_CALL = re.compile(r'cast call \$(\w+) "(\w+)\(([^"]*?)\)(\(.*?\))"')
# The shell variable an example calls -> the contract it stands for.
CONTRACT_OF = {
    "REGISTRY": "InvoiceRegistry",
    "LEDGER": "ReceivableLedger",
    "MERCHANTS": "MerchantRegistry",
    "TOKEN": "SettlementToken",
}
DOCUMENTS = ["README.md", "docs/invoice-registry.md", "docs/receivables.md", "docs/privacy.md", "docs/roles.md"]


def canonical_type(entry: dict) -> str:
    if entry["type"].startswith("tuple"):
        return "(" + ",".join(canonical_type(c) for c in entry["components"]) + ")" + entry["type"][5:]
    return entry["type"]


def examples(document: str = "README.md"):
    return CAST_CALL.findall((ROOT / document).read_text())


def all_examples():
    return [pytest.param(document, *example, id=f"{document}:{example[1]}({example[2]})")
            for document in DOCUMENTS if (ROOT / document).exists() for example in examples(document)]


def test_readme_has_cast_examples():
    assert len(examples()) >= 10


def test_readme_shows_the_v2_views():
    named = {name for _, name, _, _ in examples()}
    for view in ("getInvoice", "verify", "verifyBuyer", "numberRangeOf", "availableForReceivable", "merchantActivity"):
        assert view in named, f"README has no cast example of {view}"


@pytest.mark.parametrize("document,variable,name,inputs,outputs", all_examples())
def test_cast_example_matches_the_abi(document, variable, name, inputs, outputs):
    assert variable in CONTRACT_OF, f"{document}: unknown contract variable ${variable}"
    abi = load_artifact(CONTRACT_OF[variable])["abi"]
    candidates = [f for f in abi if f.get("type") == "function" and f["name"] == name]
    signatures = {",".join(canonical_type(i) for i in f["inputs"]): f for f in candidates}
    assert inputs in signatures, f"{name}({inputs}) is not in the ABI: {list(signatures)}"
    function = signatures[inputs]
    assert function["stateMutability"] in ("view", "pure")
    returned = ",".join(canonical_type(o) for o in function["outputs"])
    written = outputs[1:-1]
    if len(function["outputs"]) == 1 and function["outputs"][0]["type"] == "tuple" and written.startswith("("):
        returned = canonical_type(function["outputs"][0])
    assert written == returned, f"{name} returns ({returned})"
