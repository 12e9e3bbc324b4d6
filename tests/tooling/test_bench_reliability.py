"""The reliability benchmark's harness (bench/reliability.py) in --quick mode on two cheap
scenarios: it starts and stops its own chain and app, and writes the documented shape."""
import json
import subprocess
import sys

from scripts.chain import ROOT

SHAPE = {
    "same_key_race": {"rounds": int, "clients": int, "invoices_per_key": int, "next_issue_ms": float},
    "idle_chain": {"idle_s": int, "issue_status": int, "latest_block_age_s": int, "method": str},
}


def test_quick_run_writes_the_documented_shape(tmp_path):
    out = tmp_path / "reliability.json"
    run = subprocess.run([sys.executable, "bench/reliability.py", "--quick", "--only", "same_key_race,idle_chain",
                          "--output", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    for scenario, fields in SHAPE.items():
        assert "error" not in result[scenario], result[scenario]
        for name, kind in fields.items():
            assert isinstance(result[scenario][name], kind), (scenario, name, result[scenario])
    assert result["same_key_race"]["rounds"] == 2 and result["same_key_race"]["clients"] == 16
    # the chain really was idle for 600 s (latest block that old) when the invoice was sent
    assert result["idle_chain"]["latest_block_age_s"] >= 600
    assert result["idle_chain"]["issue_status"] in (201, 422)
    goals = result["goals"]
    assert goals["idle_chain: issue_status 201"] is (result["idle_chain"]["issue_status"] == 201)
    assert goals["load: lost 0"] is None  # not run
    assert {"cpus", "platform"} <= set(result["machine"]) and result["date"] and result["quick"] is True


def test_unknown_scenario_is_refused():
    run = subprocess.run([sys.executable, "bench/reliability.py", "--only", "load,nope"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "unknown scenario(s): nope" in run.stderr
