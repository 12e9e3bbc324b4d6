"""The README's auditor examples run as written: a `cast call` (npm's cast) against a deployed
chain, and `brownie console` attached to a chain on another port than 8545, with the
custom errors named by scripts.custom_errors. brownie runs in a HOME of its own, so that
`brownie networks add` leaves the user's network list alone."""
import os
import re
import shutil
import subprocess

import pytest

from scripts.chain import ROOT
from scripts.deploy import connect, deploy
from scripts.dev_accounts import dev_account

CAST = ROOT / "node_modules" / ".bin" / "cast"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
UNKNOWN = "26351000000000000099"


@pytest.fixture
def deployed(throwaway_chain, tmp_path):
    record = deploy(connect(throwaway_chain.rpc_url), dev_account(0), throwaway_chain.rpc_url,
                    tmp_path / "deployment.json", log=lambda *_: None)
    return throwaway_chain, record


def readme_line(fragment):
    return next(line for line in (ROOT / "README.md").read_text().splitlines() if fragment in line)


def test_readme_cast_example_runs(deployed):
    if not CAST.exists():
        pytest.skip("cast is missing: `npm ci` installs @foundry-rs/cast-linux-amd64 (package.json)")
    chain, record = deployed
    env = {**os.environ, "PATH": f"{CAST.parent}:{os.environ['PATH']}", "RPC": chain.rpc_url,
           "REGISTRY": record["contracts"]["InvoiceRegistry"]}
    example = readme_line('"flagNamesOf(uint8)(string[])" 6')
    out = subprocess.run(example, shell=True, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '["DuplicateDocument", "SelfDealing"]'
    key = subprocess.run(readme_line('"keyOf(string)(bytes32)"'), shell=True, env=env, capture_output=True,
                         text=True, timeout=60).stdout.strip()
    keccak = subprocess.run([str(CAST), "keccak", "26351000000000000001"], capture_output=True, text=True).stdout
    assert key == keccak.strip() and key.startswith("0x")  # $KEY as the README makes it


def console(home, network, lines):
    """The brownie console's output for ``lines`` typed in (colours taken out)."""
    env = {**os.environ, "HOME": str(home), "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    brownie = shutil.which("brownie", path=env["PATH"])
    out = subprocess.run([brownie, "console", "--network", network], input="\n".join(lines + ["exit()"]) + "\n",
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return ANSI.sub("", out.stdout + out.stderr)


def add_network(home, *args):
    env = {**os.environ, "HOME": str(home), "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    out = subprocess.run(["brownie", "networks", "add", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_console_on_another_port_names_custom_errors(deployed, tmp_path):
    chain, record = deployed
    add_network(tmp_path, "Development", "einvoice", "host=http://127.0.0.1", "cmd=anvil", f"port={chain.port}")
    registry = record["contracts"]["InvoiceRegistry"]
    out = console(tmp_path, "einvoice", [
        f'reg = InvoiceRegistry.at("{registry}")',
        'print("paused:", reg.paused())',
        "from scripts.custom_errors import call, explain",
        f'call(reg.getInvoiceByNumber, "{UNKNOWN}")',
    ])
    assert "paused: False" in out, out[-3000:]
    assert "CustomError: InvoiceNotFound(key=0x" in out and "链上没有该号码的发票" in out, out[-3000:]


def test_live_network_console_needs_persist_false(deployed, tmp_path):
    """brownie 1.22.2 (compiled with mypyc) fails in state._add_deployment, which runs for
    live networks only: `contract_sources: dict = contract._sources` is a Sources object."""
    chain, record = deployed
    add_network(tmp_path, "Ethereum", "einvoice-live", f"host={chain.rpc_url}", "chainid=31337")
    registry = record["contracts"]["InvoiceRegistry"]
    out = console(tmp_path, "einvoice-live", [f'InvoiceRegistry.at("{registry}")'])
    assert "TypeError: dict object expected; got brownie.project.sources.Sources" in out, out[-3000:]
    out = console(tmp_path, "einvoice-live", [f'reg = InvoiceRegistry.at("{registry}", persist=False)',
                                              'print("paused:", reg.paused())'])
    assert "paused: False" in out and "TypeError" not in out, out[-3000:]


def test_explain_decodes_revert_data():
    from web3.exceptions import ContractCustomError

    from scripts.custom_errors import decode, error_table, explain

    selector = next(s for s, (name, _, _) in error_table().items() if name == "InvoiceNotFound")
    data = "0x" + selector.hex() + "ab" * 32
    assert decode(data) == ("InvoiceNotFound", {"key": b"\xab" * 32})
    assert explain(ContractCustomError(data, data=data)).startswith("InvoiceNotFound(key=0x" + "ab" * 32 + "): ")
    assert decode("0xdeadbeef") is None and explain(ValueError("other")) == "other"
