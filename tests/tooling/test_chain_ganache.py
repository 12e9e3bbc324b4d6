"""CHAIN=ganache: the launcher runs npm's ganache as the dev chain (same accounts, chain id,
gas limit, instamine as Anvil), and a deployment record tells the two chains apart."""
import pytest
from web3 import Web3

from scripts import run
from scripts.chain import Chain, ChainError, free_port, platform_chain, rpc_request
from scripts.deploy import connect, deploy
from scripts.dev_accounts import dev_account
from tests.tooling.test_chain_launcher import DEV_ACCOUNT, send_value


def deploy_to(chain, record, log=lambda *_: None):
    return deploy(connect(chain.rpc_url), dev_account(0), chain.rpc_url, record, log=log)


def test_cli_starts_shows_and_stops_ganache(run_cli, tmp_path):
    port = free_port()
    env = {"CHAIN_DIR": str(tmp_path), "CHAIN": "ganache"}
    started = run_cli("scripts.chain", "start", "--port", str(port), env=env)
    assert started.returncode == 0, started.stderr
    url = f"http://127.0.0.1:{port}"
    try:
        assert started.stdout.startswith(f"ganache running at {url} (chain id 31337")
        status = run_cli("scripts.chain", "status", env=env)
        assert status.returncode == 0 and status.stdout.startswith("ganache running (pid ")
        assert "ganache" in rpc_request(url, "web3_clientVersion").lower()
        assert int(rpc_request(url, "eth_chainId"), 16) == 31337
        assert rpc_request(url, "eth_accounts")[0].lower() == DEV_ACCOUNT.lower()
        assert int(rpc_request(url, "eth_getBalance", [DEV_ACCOUNT, "latest"]), 16) == 10_000 * 10**18
        assert int(rpc_request(url, "eth_getBlockByNumber", ["latest", False])["gasLimit"], 16) == 30_000_000
        tx_hash = send_value(url, 7)  # instamine: mined before the hash is answered
        height = int(rpc_request(url, "eth_blockNumber"), 16)
    finally:
        stopped = run_cli("scripts.chain", "stop", env=env)
    assert stopped.returncode == 0 and stopped.stdout.strip() == "stopped"
    assert run_cli("scripts.chain", "status", env=env).returncode == 3
    assert any((tmp_path / "ganache").iterdir()), "the database directory under CHAIN_DIR was written"
    with Chain(port=free_port(), state_file=tmp_path / "ganache", kind="ganache") as again:
        assert int(rpc_request(again.rpc_url, "eth_blockNumber"), 16) == height
        assert rpc_request(again.rpc_url, "eth_getTransactionReceipt", [tx_hash])["status"] == "0x1"


def test_chain_kind_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CHAIN", "ganache")
    chain = platform_chain()
    assert chain.kind == "ganache" and chain.state_file.name == "ganache"
    assert "--wallet.mnemonic" in chain.command() and "--database.dbPath" in chain.command()
    monkeypatch.delenv("CHAIN")
    assert platform_chain().kind == "anvil" and platform_chain().state_file.name == "state.json"


def test_unknown_chain_kind_is_one_line(run_cli, monkeypatch):
    monkeypatch.setenv("CHAIN", "hardhat")
    with pytest.raises(ChainError, match="CHAIN=hardhat is not a chain this launcher runs; use one of: anvil, ganache"):
        platform_chain()
    result = run_cli("scripts.chain", "status", env={"CHAIN": "hardhat"})
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: CHAIN=hardhat")


def test_switching_chains_replaces_the_deployment(tmp_path):
    """The same deployer's contracts land at the same addresses on an Anvil and a Ganache:
    the record's genesis hash tells the chains apart, so `make run` sets the old web
    database aside and a record is never reused on the other chain."""
    record_path = tmp_path / "deployment.json"
    with Chain(port=free_port()) as anvil:
        on_anvil = deploy_to(anvil, record_path)
        assert not run.deployment_replaced(on_anvil, deploy_to(anvil, record_path)), "reused on its own chain"
    with Chain(port=free_port(), kind="ganache") as ganache:
        on_ganache = deploy_to(ganache, record_path)
        assert on_ganache["contracts"] == on_anvil["contracts"] and on_ganache["genesis"] != on_anvil["genesis"]
        assert run.deployment_replaced(on_anvil, on_ganache)
        w3 = Web3(Web3.HTTPProvider(ganache.rpc_url))
        assert all(w3.eth.get_code(address) for address in on_ganache["contracts"].values())
        # the other chain's record is not reused even where our contracts have code
        record_path.write_text(record_path.read_text().replace(on_ganache["genesis"], on_anvil["genesis"]))
        said = []
        fresh = deploy_to(ganache, record_path, log=said.append)
        assert said[0] == "deploying fresh (the record is for another chain of the same chain id (its genesis block differs))"
        assert fresh["genesis"] == on_ganache["genesis"] and fresh["contracts"] != on_ganache["contracts"]
    legacy = {k: v for k, v in on_anvil.items() if k != "genesis"}  # written before records had one
    assert not run.deployment_replaced(legacy, on_ganache)
