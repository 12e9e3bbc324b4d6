"""The `cast call` examples in README.md name real functions with their real types."""
import re

import pytest

from scripts.deploy import ROOT, load_artifact

CAST_CALL = re.compile(r'cast call \$(\w+) "(\w+)\(([^"]*?)\)(\(.*?\))"')
CONTRACT_OF = {"REGISTRY": "InvoiceRegistry"}


def canonical_type(entry: dict) -> str:
    if entry["type"].startswith("tuple"):
        return "(" + ",".join(canonical_type(c) for c in entry["components"]) + ")" + entry["type"][5:]
    return entry["type"]


def examples():
    return CAST_CALL.findall((ROOT / "README.md").read_text())


def test_readme_has_cast_examples():
    assert len(examples()) >= 10


@pytest.mark.parametrize("variable,name,inputs,outputs", examples())
def test_cast_example_matches_the_abi(variable, name, inputs, outputs):
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
