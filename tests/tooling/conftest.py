"""Fixtures for the tool-chain tests: throwaway Anvil chains on free ports."""
import pytest

from scripts.chain import Chain, free_port


@pytest.fixture
def throwaway_chain():
    """An Anvil chain without persistence, stopped after the test."""
    with Chain(port=free_port()) as chain:
        yield chain


@pytest.fixture
def run_cli():
    """Runs `python -m <module> args...` and returns the CompletedProcess."""
    import subprocess
    import sys

    from scripts.chain import ROOT

    def run(module, *args, env=None, timeout=120):
        import os

        full_env = {**os.environ, **(env or {})}
        return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)

    return run
