"""The dev chain launcher: start, persist, restart, and clear refusals."""
import json
import socket
import time

import pytest

from scripts.chain import Chain, ChainError, free_port, rpc_request

DEV_ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
OTHER_ACCOUNT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def send_value(url, wei):
    tx_hash = rpc_request(url, "eth_sendTransaction", [{"from": DEV_ACCOUNT, "to": OTHER_ACCOUNT, "value": hex(wei)}])
    deadline = time.monotonic() + 10
    while (receipt := rpc_request(url, "eth_getTransactionReceipt", [tx_hash])) is None and time.monotonic() < deadline:
        time.sleep(0.05)  # automine answers before the receipt is queryable, now and then
    assert receipt["status"] == "0x1"
    return tx_hash


def test_chain_answers_on_loopback(throwaway_chain):
    assert throwaway_chain.rpc_url.startswith("http://127.0.0.1:")
    assert int(rpc_request(throwaway_chain.rpc_url, "eth_chainId"), 16) == 31337


def test_state_survives_a_restart(tmp_path):
    state = tmp_path / "state.json"
    chain = Chain(port=free_port(), state_file=state)
    with chain:
        tx_hash = send_value(chain.rpc_url, 12345)
        height = int(rpc_request(chain.rpc_url, "eth_blockNumber"), 16)
    assert json.loads(state.read_text())["accounts"]
    with Chain(port=free_port(), state_file=state) as again:
        assert int(rpc_request(again.rpc_url, "eth_blockNumber"), 16) == height
        assert rpc_request(again.rpc_url, "eth_getTransactionReceipt", [tx_hash])["status"] == "0x1"
        assert int(rpc_request(again.rpc_url, "eth_getTransactionCount", [DEV_ACCOUNT, "latest"]), 16) == 1


def test_port_in_use_is_refused():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(ChainError, match=f"port {port} on 127.0.0.1 is already in use"):
            Chain(port=port).start()


def test_corrupt_state_file_is_refused(tmp_path):
    state = tmp_path / "state.json"
    state.write_text('{"block": {"number": "0x1"}, "accou')
    with pytest.raises(ChainError, match="is corrupt"):
        Chain(port=free_port(), state_file=state).start()
    assert state.read_text().endswith("accou"), "the corrupt file is left for the user to inspect"


def test_state_file_of_another_kind_is_refused(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("[1, 2, 3]")
    with pytest.raises(ChainError, match="not an Anvil state dump"):
        Chain(port=free_port(), state_file=state).start()


def test_missing_anvil_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("ANVIL_BIN", "/nonexistent/anvil")
    with pytest.raises(ChainError, match="ANVIL_BIN=/nonexistent/anvil is not an executable file"):
        Chain(port=free_port()).start()


def test_cli_runs_and_stops_with_state(run_cli, tmp_path):
    port = free_port()
    env = {"CHAIN_DIR": str(tmp_path)}
    started = run_cli("scripts.chain", "start", "--port", str(port), env=env)
    assert started.returncode == 0, started.stderr
    try:
        assert run_cli("scripts.chain", "status", env=env).returncode == 0
        send_value(f"http://127.0.0.1:{port}", 1)
    finally:
        stopped = run_cli("scripts.chain", "stop", env=env)
    assert stopped.returncode == 0 and stopped.stdout.strip() == "stopped"
    assert (tmp_path / "state.json").is_file()
    assert run_cli("scripts.chain", "status", env=env).returncode == 3


@pytest.mark.parametrize("problem", ["port_in_use", "corrupt_state"])
def test_cli_errors_are_one_line(run_cli, tmp_path, problem):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        port = squatter.getsockname()[1]
        if problem == "port_in_use":
            squatter.listen()
        else:
            squatter.close()
            (tmp_path / "state.json").write_text("\x00garbage")
        result = run_cli("scripts.chain", "run", "--port", str(port), env={"CHAIN_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
