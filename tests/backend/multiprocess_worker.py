"""One backend process of test_backend_multiprocess: its own app (own Signer, own
threads) on the shared database and chain; issues invoices for one merchant once the
test says go. Prints a JSON list of [status, number or error]."""
import json
import sys
import threading
import time
from pathlib import Path

from backendutil import make_app, sample_invoice


def main(tmp_path, deployment, token, name, threads, per_thread):
    app = make_app(Path(tmp_path), deployment, fresh=False)
    client_headers = {"Authorization": f"Bearer {token}"}
    out = []

    def work():
        c = app.test_client()
        for _ in range(per_thread):
            r = c.post("/api/v1/invoices", json=sample_invoice(), headers=client_headers)
            body = r.get_json() or {}
            out.append([r.status_code, body.get("number") or body.get("error") or body.get("message")])

    (Path(tmp_path) / f"ready-{name}").touch()
    while not (Path(tmp_path) / "go").exists():
        time.sleep(0.01)
    workers = [threading.Thread(target=work) for _ in range(threads)]
    [t.start() for t in workers]
    [t.join() for t in workers]
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
