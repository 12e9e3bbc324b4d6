"""Slither (crytic-compile, standard-json mode) compiles the contracts through the adapter."""
import json
import subprocess

from scripts import install_solc

SLITHER = install_solc.ROOT / ".venv-slither" / "bin" / "slither"


def test_slither_analyses_the_contracts_through_the_adapter():
    assert SLITHER.exists(), "Slither is missing: 'make test' installs it into .venv-slither"
    solc, _ = install_solc.install()
    result = subprocess.run(
        [str(SLITHER), "contracts", "--solc-standard-json", "--solc", str(solc),
         "--solc-remaps", "@openzeppelin=node_modules/@openzeppelin", "--filter-paths", "node_modules", "--json", "-"],
        cwd=install_solc.ROOT, capture_output=True, text=True, timeout=600,
    )
    report = json.loads(result.stdout)
    assert report["success"], report["error"]
    analysed = {element["source_mapping"]["filename_relative"] for finding in report["results"].get("detectors", []) for element in finding["elements"]}
    assert "contracts/MerchantRegistry.sol" in analysed
    assert all(not path.startswith("node_modules") for path in analysed)
