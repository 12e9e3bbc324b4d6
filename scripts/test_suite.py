"""`make test`: the whole suite as two pytest processes side by side, one per core.

    python -m scripts.test_suite [pytest arguments]

The contract and tool-chain tests (tests/contracts on brownie's chain, tests/tooling) run in
one process, the backend and browser tests (chains of their own) in another; each has its own chain port
(TEST_CHAIN_PORT) and its own temporary directory. The second starts once the first has
loaded the brownie project (loading tidies build/: two at once can trip over each other). The
second group's output streams; the first's is printed when it ends. The run fails when either fails
(pytest's exit 5, no test collected, included).

Given test paths (``make test PYTEST_ARGS="tests/backend/test_backend_claims.py -x"``), or
TEST_JOBS=1, one pytest process runs the arguments as given.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.chain import free_port

ROOT = Path(__file__).resolve().parents[1]
# 9 and 16 minutes on 2 cores (fresh clone, 2026-12-04); the slower one streams its output
GROUPS = (["tests/contracts", "tests/tooling"], ["tests/backend", "tests/browser"])


def pytest(args, port, **popen):
    env = {**os.environ, "TEST_CHAIN_PORT": str(port)}
    return subprocess.Popen([sys.executable, "-m", "pytest", "--network", "anvil", *args], cwd=ROOT, env=env, **popen)


def loaded(process, log, timeout=600):
    """Wait until the first process has loaded the brownie project (pytest printed what it
    collected) or ended: brownie's project loading tidies build/ (it deletes stale
    artifacts), so two processes loading at once can see a file vanish under them."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if re.search(rb"collected \d+ items?|Launching 'anvil|no tests ran", log.read_bytes()):
            return
        time.sleep(0.2)


def names_tests(args):
    """Whether the arguments choose tests (a path or a node id) rather than only options."""
    return any(not a.startswith("-") and (ROOT / a.split("::")[0]).exists() for a in args)


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    if names_tests(args) or os.environ.get("TEST_JOBS", "2") == "1":
        return pytest(args, os.environ.get("TEST_CHAIN_PORT") or free_port()).wait()
    with tempfile.TemporaryDirectory(prefix="einvoice-tests-") as tmp:
        log = Path(tmp) / "contracts.log"
        with open(log, "wb") as out:
            first = pytest([*GROUPS[0], *args, f"--basetemp={tmp}/contracts"], free_port(), stdout=out,
                           stderr=subprocess.STDOUT)
            loaded(first, log)
            second = pytest([*GROUPS[1], *args, f"--basetemp={tmp}/rest"], free_port())
            codes = [None, second.wait()]
            codes[0] = first.wait()
        print(f"\n===== {' '.join(GROUPS[0])} =====", flush=True)
        sys.stdout.buffer.write(log.read_bytes())
    print(f"\n===== exit codes: {GROUPS[0][0]} {codes[0]}, {' '.join(GROUPS[1])} {codes[1]} =====", flush=True)
    return 0 if codes == [0, 0] else (codes[0] or codes[1])


if __name__ == "__main__":
    sys.exit(main())
