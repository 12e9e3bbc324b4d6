"""`make run`'s chain (issue 10, item 4): its pid is in the pid file scripts.chain reads, so
after the web app is killed (Anvil, in its own session, outlives it) ``status`` and ``stop``
see the chain, and the next start adopts it (our chain id and deployment on it) or stops it
and starts it again; a port held by another program is refused naming that program."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from web3 import HTTPProvider, Web3

from scripts import deploy as deploy_module
from scripts.chain import ROOT, Chain, ChainError, free_port
from scripts.dev_accounts import dev_account

# what scripts.run.main does before it deploys and serves, in a process we can kill -9
START = ("import sys, time; from pathlib import Path; from scripts.run import start_chain; "
         "c = start_chain(Path(sys.argv[1])); print('pid', c.adopted_pid or c.process.pid, flush=True); time.sleep(600)")


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return b"anvil" in Path(f"/proc/{pid}/cmdline").read_bytes()


def start_run(env, record):
    """(the killable parent, the chain's pid, what it said)."""
    parent = subprocess.Popen([sys.executable, "-c", START, str(record)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    said = []
    for line in parent.stdout:
        said.append(line.strip())
        if line.startswith("pid "):
            return parent, int(line.split()[1]), said
    raise AssertionError(f"no chain: {said} {parent.stderr.read()}")


def kill9(parent):
    parent.kill()
    parent.wait()
    parent.stdout.close()
    parent.stderr.close()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds processes through /proc")
def test_run_chain_survives_kill9_is_seen_adopted_and_stopped(run_cli, tmp_path):
    port = free_port()
    env = {"CHAIN_DIR": str(tmp_path), "CHAIN_PORT": str(port)}
    full_env = {**os.environ, **env}
    record = tmp_path / "deployment.json"
    first, pid, _ = start_run(full_env, record)
    stopped = []
    try:
        kill9(first)
        assert alive(pid), "Anvil outlives the killed web app (its own session)"
        status = run_cli("scripts.chain", "status", env=env)
        assert status.returncode == 0 and f"pid {pid}" in status.stdout and str(port) in status.stdout

        # no deployment of ours on it: stopped (its state dumped) and started again
        second, pid2, said = start_run(full_env, record)
        stopped.append(pid2)
        assert pid2 != pid and not alive(pid) and any("stopping the earlier anvil" in s for s in said)
        url = f"http://127.0.0.1:{port}"
        deploy_module.deploy(Web3(HTTPProvider(url)), dev_account(0), url, record, ROOT / "build" / "contracts",
                             log=lambda *a: None)
        kill9(second)

        # our chain id and deployment on it: adopted, the same process
        third, pid3, said = start_run(full_env, record)
        kill9(third)
        assert pid3 == pid2 and any("adopting" in s for s in said)
        assert run_cli("scripts.chain", "status", env=env).returncode == 0
        stop = run_cli("scripts.chain", "stop", env=env)
        assert stop.returncode == 0 and stop.stdout.strip() == "stopped"
        assert not alive(pid2) and not (tmp_path / "anvil.pid").exists()
        assert run_cli("scripts.chain", "status", env=env).returncode == 3
        Chain(port=port).start().stop()  # the port is free again
    finally:
        for p in [pid, *stopped]:
            if alive(p):
                os.kill(p, 9)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds processes through /proc")
def test_port_of_another_program_names_it():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(ChainError, match=f"port {port} on 127.0.0.1 is already in use by pid {os.getpid()} "):
            Chain(port=port).start()
