"""Schema fuzzing of /api/v1: schemathesis against the live app (waitress, test chain,
seeded demo users) with every check, a fixed seed and a fixed example budget.

schemathesis runs from its own virtualenv ``.venv-schemathesis`` (the Makefile builds it;
its dependencies conflict with brownie's pins), as a CLI in a subprocess. The test fails
when the run does (any check failing, a 500, an error) and prints schemathesis's report.

Knobs (environment): ``SCHEMA_FUZZ_EXAMPLES`` (examples per operation and phase, default
below; ``make fuzz-api`` runs a longer one), ``SCHEMA_FUZZ_SEED``, ``SCHEMA_FUZZ_TOKEN_USER``
(whose bearer token is sent, default the merchant ``merchant1``), ``SCHEMATHESIS`` (the CLI).
"""
import json
import os
import subprocess
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.request import urlopen

import pytest
from waitress import create_server

from backend.core.db import db

from backendutil import make_app, sample_invoice

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(os.environ.get("SCHEMATHESIS", ROOT / ".venv-schemathesis" / "bin" / "schemathesis"))
MAX_EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "150"))
SEED = int(os.environ.get("SCHEMA_FUZZ_SEED", "20261122"))
TOKEN_USER = os.environ.get("SCHEMA_FUZZ_TOKEN_USER", "merchant1")
RUN_TIMEOUT = int(os.environ.get("SCHEMA_FUZZ_TIMEOUT", "1800"))


@pytest.fixture
def chain_app(tmp_path, chain):
    """The test app (as conftest's) with the rate limits raised far above what the fuzzer
    sends: their 429s are documented, but a run that hits them would test the limiter
    instead of the routes. TESTING off: errors are handled as in production."""
    app = make_app(tmp_path, chain["record"]["path"], TESTING=False,
                   VERIFY_RATE_LIMIT="1000000/minute", LOGIN_RATE_LIMIT="1000000/minute")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def live_server(chain_app, seeded):
    """The app under waitress on 127.0.0.1 at a free port, in a thread; its base URL."""
    server = create_server(chain_app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="schema-fuzz-waitress", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urlopen(url + "/healthz", timeout=5) as resp:
                if resp.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    yield url
    server.close()
    thread.join(timeout=10)


# The defaults of schemathesis 4's positive_data_acceptance (what a valid request may get)
# and negative_data_rejection (what an invalid one may get); the config below adds to them.
POSITIVE = ["2xx", "3xx", 401, 403, 404, 409, 429, "5xx"]
NEGATIVE = [400, 401, 403, 404, 405, 406, 409, 415, 422, 428, 429, "5xx"]


def schemathesis_config(tokens, invoice_number, ids):
    """The run's schemathesis.toml. Every check stays on; it says whose bearer token each
    operation gets (so that the role-restricted routes are reached instead of answering
    403), offers, half of the time, an existing invoice, merchant or user to the {number}
    and {id} routes and to the inbox export's numbers (else they would only ever see 404), and
    adds to the statuses two checks take the refusals the document describes beyond its
    schemas."""
    return f"""
# Default: the merchant (issue, preview, list, void, red-letter, registration, verification).
headers = {{ Authorization = "Bearer {tokens[TOKEN_USER]}" }}

# negative_data_rejection: 413 (a body over MAX_CONTENT_LENGTH, e.g. a batch over its
# maxItems) is a refusal too, documented for every operation with a body.
checks.negative_data_rejection.expected-statuses = {json.dumps(NEGATIVE + [413])}

# The authority's routes: merchants' decisions, users and their chain roles, audit parameters.
[[operations]]
include-path-regex = "^/(merchants|users|audit/parameters)"
headers = {{ Authorization = "Bearer {tokens['authority']}" }}

# The auditor's: the review queue and its decisions.
[[operations]]
include-path-regex = '^/(review-queue|invoices/\\{{number\\}}/(clear|reject))$'
headers = {{ Authorization = "Bearer {tokens['auditor']}" }}

# The anomaly detector's alerts and thresholds: the authority's (merchants get 403).
[[operations]]
include-path-regex = "^/(alerts|detector)"
headers = {{ Authorization = "Bearer {tokens['authority']}" }}

# A valid body may still be refused for what JSON Schema cannot say: 400 for a username that is
# no active auditor's (assign), for thresholds that must agree with the others in force
# (circular_min_length ≤ circular_max_length, night hours that differ).
[[operations]]
include-path-regex = '^/alerts/\\{{id\\}}/assign$'
checks.positive_data_acceptance.expected-statuses = {json.dumps(POSITIVE + [400])}

[[operations]]
include-path-regex = '^/detector/settings$'
include-method = "PUT"
checks.positive_data_acceptance.expected-statuses = {json.dumps(POSITIVE + [400])}

# Expense claims: the demo company's employee submits and lists; its approver decides, makes
# payment lists and pays them. A valid body may still be refused for what JSON Schema cannot
# say: 400 (a file that is no invoice document), 409 (claimed before, nothing to pay), 422 (the
# verification on chain: not found, mismatch, not this company's invoice).
[[operations]]
include-path-regex = "^/claims"
headers = {{ Authorization = "Bearer {tokens['employee']}" }}
checks.positive_data_acceptance.expected-statuses = {json.dumps(POSITIVE + [400, 422])}

[[operations]]
include-path-regex = '^/(claims/\\{{claim_id\\}}/(approve|reject)|payment-lists)'
headers = {{ Authorization = "Bearer {tokens['approver']}" }}
checks.positive_data_acceptance.expected-statuses = {json.dumps(POSITIVE + [400, 422])}

# The buyer's inbox and its export.
[[operations]]
include-path-regex = "^/inbox"
headers = {{ Authorization = "Bearer {tokens['buyer']}" }}

[[operations]]
include-path-regex = "^/inbox/export$"
parameters = {{ "query.numbers" = {{ dictionary = "invoice_numbers", probability = 0.5 }} }}

[[operations]]
include-path-regex = '^/invoices/\\{{number\\}}'
parameters = {{ "path.number" = {{ dictionary = "invoice_numbers", probability = 0.5 }} }}

# positive_data_acceptance: a request the document calls valid must not be refused, with the
# refusals the document itself describes beyond its schemas. 400: rules between fields that
# JSON Schema cannot say (line amount = quantity × unit price and > 0, net/tax/gross/rate
# equal to the computed ones, issue date not in the future, a red-letter note's rates those
# of the original; monthly_quota >= invoice_cap; the check character of a merchant's or a
# buyer's tax ID; an upload that must be UTF-8 CSV/JSON or the platform's invoice document).
# 422: the contracts' audit rules, which depend on the chain's state (merchant suspended, void
# window, paused …), and a batch whose rows have the problems a single invoice answers 400 for.
[[operations]]
include-path-regex = '^/invoices(/preview|/batch|/\\{{number\\}}/red-letter)?$'
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = {json.dumps(POSITIVE + [400, 422])}

[[operations]]
include-path-regex = '^/(merchants/\\{{id\\}}/.*|merchant/registration)$'
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = {json.dumps(POSITIVE + [400, 422])}

[[operations]]
include-path-regex = '^/verify/(batch|document)$'
checks.positive_data_acceptance.expected-statuses = {json.dumps(POSITIVE + [400])}

[[operations]]
include-path-regex = '^/(invoices/\\{{number\\}}/(void|clear|reject)|users/\\{{id\\}}/\\{{action\\}}|audit/parameters)$'
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = {json.dumps(POSITIVE + [422])}

# Now and then an existing merchant (merchant2, not the one whose token issues) and users (all but
# the authority) for the authority's {id} routes.
[[operations]]
include-path-regex = '^/merchants/\\{{id\\}}/'
parameters = {{ "path.id" = {{ dictionary = "merchant_ids", probability = 0.5 }} }}

[[operations]]
include-path-regex = '^/users/\\{{id\\}}/'
parameters = {{ "path.id" = {{ dictionary = "user_ids", probability = 0.5 }} }}

# Half of the time, a receivable of the merchant's (drawn on its invoice, accepted by the buyer)
# for the {{rid}} routes. A valid body may still be refused for what JSON Schema cannot say: 400
# (split parts not summing to the face value, a due date not in the future, an unknown user),
# 422 (the ledger's rules on amounts: FeeExceedsOutstanding …).
[[operations]]
include-path-regex = '^/receivables/\\{{rid\\}}'
parameters = {{ "path.rid" = {{ dictionary = "receivable_ids", probability = 0.5 }} }}

[[operations]]
include-path-regex = '^/(receivables|balances/faucet)'
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = {json.dumps(POSITIVE + [400, 422])}

# The dashboards: the authority's and the financier's with their own tokens. A valid query may
# still be refused (400) for what JSON Schema cannot say: a date that does not exist
# (2026-02-30), `from` after `to`, a period over 1,096 days, the authority without `merchant`.
[[operations]]
include-path-regex = "^/analytics/authority$"
headers = {{ Authorization = "Bearer {tokens['authority']}" }}
checks.positive_data_acceptance.expected-statuses = {json.dumps(POSITIVE + [400])}

[[operations]]
include-path-regex = "^/analytics/financier$"
headers = {{ Authorization = "Bearer {tokens['financier']}" }}

[[operations]]
include-path-regex = "^/analytics/merchant$"
checks.positive_data_acceptance.expected-statuses = {json.dumps(POSITIVE + [400])}

[dictionaries.invoice_numbers]
values = ["{invoice_number}"]

[dictionaries.receivable_ids]
values = ["{ids['receivable']}"]

[dictionaries.merchant_ids]
values = {json.dumps(ids["merchants"])}

[dictionaries.user_ids]
values = {json.dumps(ids["users"])}
"""


def schemathesis_command(url, config_file):
    return [
        str(SCHEMATHESIS), "--config-file", str(config_file), "run", f"{url}/api/v1/openapi.json",
        "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--workers", "1",
        "--generation-database", "none",  # no example store in the tree: the seed alone decides
        "--request-timeout", "60",
        "--no-color",
    ]


@pytest.fixture
def existing_ids(chain_app, seeded):
    """Ids of merchant2 and of the users other than the authority."""
    from backend.core.models import Merchant, User

    with chain_app.app_context():
        users = {u.username: u for u in db.session.query(User)}
        merchants = [m.id for m in db.session.query(Merchant) if m.user_id == users["merchant2"].id]
        return {"merchants": merchants, "users": sorted(u.id for n, u in users.items() if n != "authority")}


@pytest.fixture
def invoice_number(chain_app, seeded):
    """An invoice of the merchant's, issued before the run."""
    client = chain_app.test_client()
    resp = client.post("/api/v1/invoices", json=sample_invoice(),
                       headers={"Authorization": f"Bearer {seeded[TOKEN_USER]['api_token']}"})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["number"]


@pytest.fixture
def receivable_id(chain_app, seeded, invoice_number):
    """A receivable of the merchant's on that invoice, accepted by the buyer."""
    client = chain_app.test_client()
    due = (date.today() + timedelta(days=60)).isoformat()
    resp = client.post("/api/v1/receivables", json={"invoice_number": invoice_number, "amount": 10_000,
                                                    "due_date": due},
                       headers={"Authorization": f"Bearer {seeded[TOKEN_USER]['api_token']}"})
    assert resp.status_code == 201, resp.get_json()
    rid = resp.get_json()["id"]
    resp = client.post(f"/api/v1/receivables/{rid}/accept",
                       headers={"Authorization": f"Bearer {seeded['buyer']['api_token']}"})
    assert resp.status_code == 200, resp.get_json()
    return rid


def test_api_schema_fuzz(live_server, seeded, invoice_number, receivable_id, existing_ids, tmp_path):
    if not SCHEMATHESIS.exists():
        pytest.fail(f"{SCHEMATHESIS} missing: `make test` builds .venv-schemathesis "
                    f"(by hand: python3.11 -m venv .venv-schemathesis && .venv-schemathesis/bin/pip install "
                    f"schemathesis==<SCHEMATHESIS_VERSION of the Makefile>)")
    tokens = {name: user["api_token"] for name, user in seeded.items()}
    config_file = tmp_path / "schemathesis.toml"
    config_file.write_text(schemathesis_config(tokens, invoice_number, {**existing_ids, "receivable": receivable_id}))
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160", "PYTHONIOENCODING": "utf-8",
           # the CLI's own interpreter, not this venv's (PATH may put .venv first)
           "PATH": f"{SCHEMATHESIS.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)
    started = time.monotonic()
    proc = subprocess.run(schemathesis_command(live_server, config_file), cwd=tmp_path,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=RUN_TIMEOUT)
    took = time.monotonic() - started
    report = proc.stdout
    for token in tokens.values():
        report = report.replace(token, "<token>")
    summary = f"schemathesis exit {proc.returncode} after {took:.0f} s " \
              f"(max-examples {MAX_EXAMPLES}, seed {SEED})"
    if proc.returncode != 0:
        pytest.fail(f"{summary}; its report:\n{report}", pytrace=False)
    print(summary)
    print(report[-3000:])
