"""Re-index benchmark (issue 13): the indexer's events/s, run again and again over the
chain and database a ``BENCH_KEEP=1 bench/scale.py`` run kept.

    BENCH_KEEP=1 python bench/scale.py --invoices 20000 --chain-invoices 10000   # keeps /tmp/bench-scale-…
    python bench/reindex.py /tmp/bench-scale-… [--runs 5] [--profile /tmp/reindex.prof]

Starts Anvil from the kept state dump (anvil-state.json: its blocks and logs), then each run
does what bench/scale.py's ``indexer_events_per_s`` measures: the chain events and the
cursor deleted, ``run_once(max_blocks=5000)`` from the deployment block. Each run prints its
events/s and the CPU seconds of this process (on a busy machine the wall time varies with
the load; the CPU time much less). ``--profile``
writes the cProfile (in CPU seconds) of the last run (``python -m pstats`` or snakeviz to read it) and
prints its top functions by cumulative time."""
import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale import reindex  # noqa: E402
from scripts.chain import Chain, free_port  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="the directory a BENCH_KEEP=1 bench/scale.py run kept")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", help="write the last run's cProfile here")
    args = parser.parse_args(argv)
    kept = Path(args.directory)
    state = kept / "anvil-state.json"
    if not state.exists():
        parser.error(f"{state} is missing: keep a run with BENCH_KEEP=1 bench/scale.py")
    deployment = json.loads((kept / "deployment.json").read_text())
    chain = Chain(port=free_port(), chain_id=int(deployment["chain_id"]),
                  extra_args=["--load-state", str(state), "--base-fee", "0", "--gas-limit", "30000000"]).start()
    try:
        os.environ.update({"EINVOICE_ENV": "dev", "SECRET_KEY": "bench-only", "RPC_URL": chain.rpc_url,
                           "DATABASE_URL": f"sqlite:///{kept / 'scale.sqlite'}",
                           "DEPLOYMENT_FILE": str(kept / "deployment.json")})
        from backend import create_app

        app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
        with app.app_context():  # the chain client built before timing, as in bench/scale.py (it has used it)
            from backend.chain import get_chain

            get_chain()
        rates = []
        for run in range(args.runs):
            # timed in CPU seconds: on a busy machine wall-clock profiles blame whatever ran when the
            # process was not scheduled
            profiler = cProfile.Profile(time.process_time) if args.profile and run == args.runs - 1 else None
            if profiler:
                profiler.enable()
            cpu = time.process_time()
            events, seconds = reindex(app)
            cpu = time.process_time() - cpu
            if profiler:
                profiler.disable()
            rates.append(events / seconds)
            print(f"run {run + 1}: {events} events in {seconds:.2f} s = {rates[-1]:,.0f} events/s, "
                  f"{cpu:.2f} CPU s, load average {os.getloadavg()[0]:.2f}{' (profiled)' if profiler else ''}",
                  flush=True)
        print(f"median {statistics.median(rates):,.0f} events/s, load average {os.getloadavg()[0]:.2f}")
        if args.profile:
            profiler.dump_stats(args.profile)
            pstats.Stats(args.profile).sort_stats("cumulative").print_stats(30)
    finally:
        chain.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
