"""Dev chain launcher: Anvil (or Ganache) on 127.0.0.1, its state persisted under var/chain/.

    python -m scripts.chain run [--port 8545]     # foreground until Ctrl-C (state dumped on exit)
    python -m scripts.chain start | stop | status # background, pid in var/chain/anvil.pid
    CHAIN=ganache python -m scripts.chain start   # the same with npm's ganache

`make run` (scripts/run.py) writes the same pid file, so ``status`` and ``stop`` see its
chain too, also after the web app was killed (Anvil runs in its own session and outlives
it); the next `make run` adopts that chain or restarts it.

Anvil keeps the chain in memory and dumps it to ``var/chain/state.json`` every
``--state-interval`` seconds and on SIGTERM; the next start loads it, so contracts and
data survive a restart. A kill -9 loses what was not dumped yet. Ganache writes every
block to its database directory ``var/chain/ganache/`` as it goes.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAIN_DIR = Path(os.environ.get("CHAIN_DIR", ROOT / "var" / "chain"))
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8545
DEFAULT_CHAIN_ID = 31337
DEFAULT_STATE_INTERVAL = 5
CHAIN_KINDS = ("anvil", "ganache")
# The dev accounts of scripts.dev_accounts; Ganache is given Anvil's mnemonic and balance.
DEV_MNEMONIC = "test test test test test test test test test test test junk"


class ChainError(Exception):
    """A launcher failure with a one-line, user-facing message."""


def _executable(variable: str, packaged: Path, name: str, package: str) -> Path:
    """$``variable``, else the npm package's binary, else ``name`` on PATH."""
    if os.environ.get(variable):
        path = Path(os.environ[variable])
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ChainError(f"{variable}={path} is not an executable file")
        return path
    if packaged.is_file():
        return packaged
    found = shutil.which(name)
    if found:
        return Path(found)
    raise ChainError(f"{name} not found: run 'npm ci' (package {package}) or set {variable}")


def anvil_binary() -> Path:
    """The Anvil executable: $ANVIL_BIN, the npm package's binary, or `anvil` on PATH."""
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower(), platform.machine())
    packaged = ROOT / "node_modules" / "@foundry-rs" / f"anvil-{sys.platform}-{arch}" / "bin" / "anvil"
    return _executable("ANVIL_BIN", packaged, "anvil", "@foundry-rs/anvil")


def chain_kind(kind: str | None = None) -> str:
    """The chain to run: ``kind`` or $CHAIN, "anvil" (default) or "ganache"."""
    kind = (kind or os.environ.get("CHAIN") or "anvil").strip().lower()
    if kind not in CHAIN_KINDS:
        raise ChainError(f"CHAIN={kind} is not a chain this launcher runs; use one of: {', '.join(CHAIN_KINDS)}")
    return kind


def ganache_binary() -> Path:
    """The Ganache launcher: $GANACHE_BIN, the npm package's (pinned in package.json), or `ganache` on PATH."""
    return _executable("GANACHE_BIN", ROOT / "node_modules" / ".bin" / "ganache", "ganache", "ganache")


def ganache_command(chain: "Chain") -> list[str]:
    """Ganache with what the platform expects of its dev chain (as Anvil's defaults): the
    dev mnemonic's 10 accounts with 10,000 ETH, the chain id, a 30M block gas limit,
    instamine (a block per transaction, mined before the hash is answered) and the
    Shanghai rules the contracts are compiled for (Ganache 7 knows no Cancun)."""
    command = [str(ganache_binary()), "--server.host", chain.host, "--server.port", str(chain.port),
               "--chain.chainId", str(chain.chain_id), "--chain.hardfork", "shanghai",
               "--wallet.mnemonic", DEV_MNEMONIC, "--wallet.totalAccounts", "10", "--wallet.defaultBalance", "10000",
               "--miner.blockGasLimit", "30000000", "--miner.blockTime", "0", "--miner.instamine", "eager",
               "--server.ws", "false"]
    if chain.state_file:
        command += ["--database.dbPath", str(chain.state_file)]
    return command + chain.extra_args


def ensure_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: connections of a chain that just stopped linger in TIME_WAIT and
        # would make a free port look taken; a listening socket still refuses the bind.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            holder = port_holder(port)
            who = f"by pid {holder[0]} ({holder[1]})" if holder else "(another chain or program)"
            raise ChainError(f"port {port} on {host} is already in use {who}; stop it or choose another port (CHAIN_PORT)") from None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def port_holder(port: int) -> tuple[int, str] | None:
    """(pid, command line) of the process listening on TCP ``port`` (Linux /proc; None
    elsewhere or when the process is not ours to inspect)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name), _cmdline(int(proc.name)) or "?"
        except OSError:
            continue
    return None


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that is free right now, for tests and throwaway chains."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def check_state_file(path: Path) -> None:
    """Refuse a state file Anvil could not load, with a message saying what to do."""
    if not path.exists():
        return
    try:
        state = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ChainError(f"state file {path} is corrupt ({error.__class__.__name__}); move it away or run 'make clean' to start a new chain") from None
    if not isinstance(state, dict) or "accounts" not in state:
        raise ChainError(f"state file {path} is not an Anvil state dump; move it away or run 'make clean' to start a new chain")


def rpc_request(url: str, method: str, params: list | None = None, timeout: float = 5.0):
    """One JSON-RPC call; returns the result or raises ChainError."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ChainError(f"no JSON-RPC answer from {url}: {error}") from None
    if "error" in reply:
        raise ChainError(f"{method} failed at {url}: {reply['error'].get('message')}")
    return reply["result"]


@dataclass
class Chain:
    """An Anvil (or Ganache: ``kind``) process. With ``state_file`` its state survives
    restarts: Anvil's dump file, or Ganache's database directory."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    chain_id: int = DEFAULT_CHAIN_ID
    state_file: Path | None = None
    state_interval: int = DEFAULT_STATE_INTERVAL
    log_file: Path | None = None
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None
    kind: str = "anvil"
    adopted_pid: int | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        if self.kind == "ganache":
            return ganache_command(self)
        command = [str(anvil_binary()), "--host", self.host, "--port", str(self.port), "--chain-id", str(self.chain_id)]
        if self.state_file:
            command += ["--state", str(self.state_file), "--state-interval", str(self.state_interval)]
        return command + self.extra_args

    def start(self, timeout: float = 30.0) -> "Chain":
        command = self.command()
        ensure_port_free(self.host, self.port)
        if self.state_file and self.kind == "ganache":
            self.state_file.mkdir(parents=True, exist_ok=True)
        elif self.state_file:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            check_state_file(self.state_file)
        log_path = self.log_file or (self.state_file.parent / f"{self.kind}.log" if self.state_file else None)
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        # Own session: Ctrl-C in the terminal reaches us, and we stop Anvil with SIGTERM
        # so that it dumps its state.
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if log is not subprocess.DEVNULL:
            log.close()
        try:
            self._wait_until_ready(timeout, log_path)
        except ChainError:
            self.stop()
            raise
        return self

    def _wait_until_ready(self, timeout: float, log_path: Path | None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ChainError(f"{self.kind} exited with code {self.process.returncode} during start-up{_last_line(log_path)}")
            try:
                answered = int(rpc_request(self.rpc_url, "eth_chainId", timeout=1.0), 16)
            except ChainError:
                time.sleep(0.1)
                continue
            if answered != self.chain_id:
                raise ChainError(f"the chain at {self.rpc_url} answers chain id {answered}, expected {self.chain_id}")
            return
        raise ChainError(f"{self.kind} did not answer on {self.rpc_url} within {timeout:.0f}s{_last_line(log_path)}")

    def adopt(self, pid: int) -> "Chain":
        """Take over a still-running Anvil of ours (started by an earlier `make run` or
        `python -m scripts.chain start`): ``stop`` ends it as if we had started it."""
        self.adopted_pid = pid
        return self

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (Anvil dumps its state, Ganache closes its database), then SIGKILL if it does not exit in time."""
        if self.adopted_pid:
            stop_pid(self.adopted_pid, timeout)
            return
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "Chain":
        return self.start() if self.process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


def _last_line(log_path: Path | None) -> str:
    if not log_path or not log_path.exists():
        return ""
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    return f": {lines[-1].strip()}" if lines else ""


def platform_chain(port: int | None = None, kind: str | None = None) -> Chain:
    """The platform's persistent dev chain, configured from the environment ($CHAIN: its kind)."""
    kind = chain_kind(kind)
    return Chain(
        host=os.environ.get("CHAIN_HOST", DEFAULT_HOST),
        port=port or int(os.environ.get("CHAIN_PORT", DEFAULT_PORT)),
        chain_id=int(os.environ.get("CHAIN_ID", DEFAULT_CHAIN_ID)),
        state_file=CHAIN_DIR / ("ganache" if kind == "ganache" else "state.json"),
        state_interval=int(os.environ.get("CHAIN_STATE_INTERVAL", DEFAULT_STATE_INTERVAL)),
        kind=kind,
    )


PID_FILE = CHAIN_DIR / "anvil.pid"


def _alive_chain(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    cmdline = _cmdline(pid)
    return "anvil" in cmdline or "ganache" in cmdline or not Path("/proc").is_dir()


def running_chain(port: int | None = None) -> tuple[int, int, str] | None:
    """(pid, port, kind) of our dev chain while it runs: the one the pid file names, or an
    Anvil on ``port`` that keeps our state file (a chain orphaned before pid files were
    written)."""
    try:
        fields = PID_FILE.read_text().split()
        pid, recorded = int(fields[0]), int(fields[1])
        if _alive_chain(pid):
            return pid, recorded, fields[2] if len(fields) > 2 else "anvil"
    except (OSError, ValueError, IndexError):
        pass
    holder = port_holder(port) if port else None
    if holder and "anvil" in holder[1] and str(CHAIN_DIR / "state.json") in holder[1]:
        return holder[0], port, "anvil"
    return None


def write_pid_file(chain: Chain) -> None:
    """What `status` and `stop` read: ``<pid> <port> <kind>``."""
    pid = chain.adopted_pid or chain.process.pid
    PID_FILE.parent.mkdir(parents=True, exist_ok=True)
    PID_FILE.write_text(f"{pid} {chain.port} {chain.kind}\n")


def stop_pid(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM (Anvil dumps its state) and wait; SIGKILL when it does not exit in time."""
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive_chain(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.chain", description="Start or stop the platform's dev chain ($CHAIN: anvil or ganache).")
    parser.add_argument("action", choices=["run", "start", "stop", "status"])
    parser.add_argument("--port", type=int, help=f"RPC port on 127.0.0.1 (default $CHAIN_PORT or {DEFAULT_PORT})")
    args = parser.parse_args(argv)
    try:
        chain = platform_chain(args.port)
        running = running_chain(chain.port)
        if args.action == "status":
            print(f"{running[2]} running (pid {running[0]}) at http://{chain.host}:{running[1]}" if running
                  else "not running")
            return 0 if running else 3
        if args.action == "stop":
            if running:
                stop_pid(running[0])
            PID_FILE.unlink(missing_ok=True)
            print("stopped" if running else "not running")
            return 0
        if running and args.action == "start":
            print(f"already running (pid {running[0]}) at http://{chain.host}:{running[1]}")
            return 0
        chain.start()
        write_pid_file(chain)
        print(f"{chain.kind} running at {chain.rpc_url} (chain id {chain.chain_id}, state {chain.state_file})")
        if args.action == "start":
            return 0
        try:
            chain.process.wait()
        except KeyboardInterrupt:
            pass
        finally:
            chain.stop()
            PID_FILE.unlink(missing_ok=True)
        return 0
    except ChainError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
