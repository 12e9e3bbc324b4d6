"""The deploy script: fresh deployments, reuse, and refusals that never deploy wrongly."""
import json
import os
import shutil
import subprocess

import pytest
from web3 import Web3

from scripts.chain import ROOT, Chain, free_port
from scripts.deploy import PLAN, DeployError, connect, deploy
from scripts.dev_accounts import dev_account


def deploy_to(chain, record):
    return deploy(connect(chain.rpc_url), dev_account(0), chain.rpc_url, record, log=lambda *_: None)


def test_fresh_deployment_writes_the_record(throwaway_chain, tmp_path):
    record_path = tmp_path / "deployment.json"
    record = deploy_to(throwaway_chain, record_path)
    assert json.loads(record_path.read_text()) == record
    assert record["chain_id"] == 31337 and record["rpc_url"] == throwaway_chain.rpc_url
    assert set(record["contracts"]) == {name for name, _ in PLAN}
    assert record["abi_dir"].endswith("build/contracts") and record["block"] >= 1
    w3 = Web3(Web3.HTTPProvider(throwaway_chain.rpc_url))
    assert all(w3.eth.get_code(address) for address in record["contracts"].values())


def test_second_run_reuses_the_contracts(throwaway_chain, tmp_path):
    record_path = tmp_path / "deployment.json"
    first = deploy_to(throwaway_chain, record_path)
    height = Web3(Web3.HTTPProvider(throwaway_chain.rpc_url)).eth.block_number
    assert deploy_to(throwaway_chain, record_path)["contracts"] == first["contracts"]
    assert Web3(Web3.HTTPProvider(throwaway_chain.rpc_url)).eth.block_number == height, "nothing was sent"


def test_new_chain_gets_a_fresh_deployment(tmp_path):
    record_path = tmp_path / "deployment.json"
    with Chain(port=free_port()) as chain:
        deploy_to(chain, record_path)
    messages = []
    with Chain(port=free_port()) as other:
        record = deploy(connect(other.rpc_url), dev_account(0), other.rpc_url, record_path, log=messages.append)
        assert record["rpc_url"] == other.rpc_url
        w3 = Web3(Web3.HTTPProvider(other.rpc_url))
        assert all(w3.eth.get_code(a) for a in record["contracts"].values())
    # a new chain: its genesis differs from the record's, or (same genesis second) our code is absent
    assert messages[0].startswith(("deploying fresh (MerchantRegistry has no code at",
                                   "deploying fresh (the record is for another chain of the same chain id"))


def test_unfunded_deployer_is_a_clear_error(tmp_path):
    with Chain(port=free_port(), extra_args=["--mnemonic-seed-unsafe", "7"]) as chain:
        with pytest.raises(DeployError, match="refused by .*[Ii]nsufficient funds"):
            deploy_to(chain, tmp_path / "deployment.json")
    assert not (tmp_path / "deployment.json").exists()


def test_changed_contract_is_redeployed(throwaway_chain, tmp_path):
    record_path = tmp_path / "deployment.json"
    first = deploy_to(throwaway_chain, record_path)
    stale = json.loads(record_path.read_text())
    stale["artifact_hashes"]["MerchantRegistry"] = "0x" + "00" * 32
    record_path.write_text(json.dumps(stale))
    assert deploy_to(throwaway_chain, record_path)["contracts"]["MerchantRegistry"] != first["contracts"]["MerchantRegistry"]


def test_record_for_another_chain_is_refused(tmp_path):
    record_path = tmp_path / "deployment.json"
    record_path.write_text(json.dumps({"chain_id": 1, "contracts": {"MerchantRegistry": "0x" + "11" * 20}}))
    with Chain(port=free_port(), chain_id=31337) as chain:
        with pytest.raises(DeployError, match="is for chain id 1 but .* is chain id 31337"):
            deploy_to(chain, record_path)
    assert json.loads(record_path.read_text())["chain_id"] == 1, "the record is left untouched"


def test_corrupt_record_is_refused(throwaway_chain, tmp_path):
    record_path = tmp_path / "deployment.json"
    record_path.write_text("{ not json")
    with pytest.raises(DeployError, match="is corrupt"):
        deploy_to(throwaway_chain, record_path)


def test_cli_wrong_chain_id_is_one_line(run_cli, tmp_path):
    record_path = tmp_path / "deployment.json"
    record_path.write_text(json.dumps({"chain_id": 5, "contracts": {}}))
    with Chain(port=free_port()) as chain:
        result = run_cli("scripts.deploy", "--rpc-url", chain.rpc_url, "--record", str(record_path))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


def test_cli_without_chain_is_one_line(run_cli, tmp_path):
    result = run_cli("scripts.deploy", "--rpc-url", f"http://127.0.0.1:{free_port()}", "--record", str(tmp_path / "d.json"))
    assert result.returncode == 1
    assert "no JSON-RPC answer" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_outside_dev_mode_needs_a_keystore(run_cli, throwaway_chain, tmp_path):
    result = run_cli("scripts.deploy", "--rpc-url", throwaway_chain.rpc_url, "--record", str(tmp_path / "d.json"), env={"EINVOICE_ENV": "production"})
    assert result.returncode == 1 and "DEPLOYER_KEYSTORE" in result.stderr


def test_cli_deploys_with_an_encrypted_keystore(run_cli, throwaway_chain, tmp_path):
    from eth_account import Account

    keystore = tmp_path / "deployer.json"
    keystore.write_text(json.dumps(Account.encrypt(dev_account(7).key, "correct horse", iterations=2)))
    env = {"EINVOICE_ENV": "production", "DEPLOYER_KEYSTORE": str(keystore), "DEPLOYER_KEYSTORE_PASSWORD": "correct horse"}
    result = run_cli("scripts.deploy", "--rpc-url", throwaway_chain.rpc_url, "--record", str(tmp_path / "d.json"), env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "d.json").read_text())["deployer"] == dev_account(7).address
    wrong = run_cli("scripts.deploy", "--rpc-url", throwaway_chain.rpc_url, "--record", str(tmp_path / "e.json"), env={**env, "DEPLOYER_KEYSTORE_PASSWORD": "wrong"})
    assert wrong.returncode == 1 and "cannot unlock keystore" in wrong.stderr


def brownie_project_copy(where):
    """The project's brownie files in a folder whose path has no dots: brownie 1.22 imports
    `brownie run` scripts by their absolute path joined with dots, so a checkout under e.g.
    /tmp/tmp.XXXX/ cannot run them (ModuleNotFoundError 'tmp.tmp')."""
    project = where / "project"
    assert not any("." in part for part in project.parts[1:]), project
    project.mkdir()
    for name in ("brownie-config.yaml", "brownie.env"):
        shutil.copy2(ROOT / name, project / name)
    for name in ("contracts", "scripts", "build"):
        shutil.copytree(ROOT / name, project / name, symlinks=True)
    (project / "node_modules").symlink_to(ROOT / "node_modules")
    return project


def test_brownie_run_deploys_and_reuses(tmp_path):
    record_path = tmp_path / "deployment.json"
    project = brownie_project_copy(tmp_path)
    with Chain(port=free_port()) as chain:
        env = {**os.environ, "DEPLOYMENT_RECORD": str(record_path), "TEST_CHAIN_PORT": str(chain.port)}
        command = [str(ROOT / ".venv" / "bin" / "brownie"), "run", "scripts/deploy.py", "--network", "anvil"]
        first = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=600)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "deployed on chain 31337" in first.stdout
        second = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=600)
        assert "reusing the deployment" in second.stdout
    assert json.loads(record_path.read_text())["rpc_url"] == chain.rpc_url


def test_dev_mode_grants_the_demo_roles(throwaway_chain, tmp_path):
    from scripts.deploy import DEV_GRANTS, DEV_MINTS, GRANTS, load_artifact, named_accounts

    record = deploy_to(throwaway_chain, tmp_path / "deployment.json")
    w3 = Web3(Web3.HTTPProvider(throwaway_chain.rpc_url))
    names = {**named_accounts(record["deployer"], with_demo=True), **record["contracts"]}
    for contract_name, role, grantee in GRANTS + DEV_GRANTS:
        contract = w3.eth.contract(address=record["contracts"][contract_name], abi=load_artifact(contract_name)["abi"])
        assert contract.functions.hasRole(contract.functions[role]().call(), names[grantee]).call(), (contract_name, role, grantee)
    assert ("InvoiceRegistry", "AUDITOR_ROLE", "auditor") in DEV_GRANTS
    token = w3.eth.contract(address=record["contracts"]["SettlementToken"], abi=load_artifact("SettlementToken")["abi"])
    for holder, amount in DEV_MINTS:
        assert token.functions.balanceOf(names[holder]).call() == amount


def test_production_deployment_grants_no_demo_roles(run_cli, throwaway_chain, tmp_path):
    from eth_account import Account

    from scripts.deploy import DEV_GRANTS, GRANTS, load_artifact, named_accounts

    keystore = tmp_path / "deployer.json"
    keystore.write_text(json.dumps(Account.encrypt(dev_account(8).key, "pw", iterations=2)))
    env = {"EINVOICE_ENV": "production", "DEPLOYER_KEYSTORE": str(keystore), "DEPLOYER_KEYSTORE_PASSWORD": "pw"}
    result = run_cli("scripts.deploy", "--rpc-url", throwaway_chain.rpc_url, "--record", str(tmp_path / "d.json"), env=env)
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "d.json").read_text())
    w3 = Web3(Web3.HTTPProvider(throwaway_chain.rpc_url))
    names = {**named_accounts(record["deployer"], with_demo=True), **record["contracts"]}
    contract = lambda name: w3.eth.contract(address=record["contracts"][name], abi=load_artifact(name)["abi"])
    for name, role, grantee in GRANTS:
        assert contract(name).functions.hasRole(contract(name).functions[role]().call(), names[grantee]).call()
    for name, role, grantee in DEV_GRANTS:
        assert not contract(name).functions.hasRole(contract(name).functions[role]().call(), names[grantee]).call()
    assert contract("SettlementToken").functions.totalSupply().call() == 0


def test_replaced_record_is_kept(throwaway_chain, tmp_path):
    """A fresh set deployed over a record whose contracts differ (here: a v1 record, no
    "version") keeps the old record as deployment.v1-<block>.json and says so in one line;
    reusing the deployment keeps nothing."""
    from scripts.deploy import RECORD_VERSION

    record_path = tmp_path / "deployment.json"
    first = deploy_to(throwaway_chain, record_path)
    assert first["version"] == RECORD_VERSION == 2
    assert deploy_to(throwaway_chain, record_path)["contracts"] == first["contracts"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deployment.json"], "a reuse keeps nothing"
    v1 = {k: v for k, v in first.items() if k != "version"}
    v1["artifact_hashes"] = {**v1["artifact_hashes"], "InvoiceRegistry": "0x" + "00" * 32}  # "the v1 build"
    record_path.write_text(json.dumps(v1))
    messages = []
    second = deploy(connect(throwaway_chain.rpc_url), dev_account(0), throwaway_chain.rpc_url, record_path,
                    log=messages.append)
    kept = tmp_path / f"deployment.v1-{first['block']}.json"
    assert json.loads(kept.read_text()) == v1, "the old record is kept as it was"
    assert json.loads(record_path.read_text()) == second and second["version"] == 2
    assert set(second["contracts"].values()).isdisjoint(first["contracts"].values())
    said = [m for m in messages if "kept" in m]
    assert len(said) == 1 and str(kept) in said[0] and "v1" in said[0]
    # replaced again: the v2 record is kept too, under its own name, and the v1 one stays
    stale = json.loads(record_path.read_text())
    stale["artifact_hashes"]["MerchantRegistry"] = "0x" + "00" * 32
    record_path.write_text(json.dumps(stale))
    deploy_to(throwaway_chain, record_path)
    assert (tmp_path / f"deployment.v2-{second['block']}.json").exists() and kept.exists()


def test_no_deployer_grants_the_default_admin_role():
    """AccessControlDefaultAdminRules refuses grantRole(DEFAULT_ADMIN_ROLE): the plan never asks."""
    from scripts.deploy import DEV_GRANTS, GRANTS

    assert all(role != "DEFAULT_ADMIN_ROLE" for _, role, _ in GRANTS + DEV_GRANTS)


def test_run_sets_the_dev_database_aside_when_the_contracts_changed(tmp_path, monkeypatch):
    from scripts import run

    database = tmp_path / "einvoice.sqlite"
    database.write_text("old")
    (tmp_path / "einvoice.sqlite-wal").write_text("wal")
    monkeypatch.setattr(run, "default_database", lambda: database)
    lines = []
    moved = run.set_database_aside({"block": 7, "contracts": {"InvoiceRegistry": "0x1"}}, log=lines.append)
    assert moved == tmp_path / "einvoice.v1-7.sqlite" and moved.read_text() == "old"
    assert (tmp_path / "einvoice.v1-7.sqlite-wal").read_text() == "wal"
    assert not database.exists() and len(lines) == 1 and str(moved) in lines[0]
    assert run.set_database_aside({"block": 7}, log=lines.append) is None  # nothing (left) to move
