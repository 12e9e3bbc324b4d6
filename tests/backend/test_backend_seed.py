"""Dev seeding keeps the demo logins: the same passwords, API tokens and TOTP secrets after seeding again,
on a new database too, and without the credentials file (derived from var/dev-seed.secret)."""
import json
import os

from backendutil import login, make_app

from backend.core.db import db
from backend.services import seed


def _seed(app, out):
    with app.app_context():
        seed.seed_dev(out=str(out))
    return {u["username"]: u for u in json.loads(out.read_text())["users"]}


def _me(app, token):
    return app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_seeding_again_keeps_passwords_and_tokens(chain_app, chain, tmp_path):
    out = tmp_path / "var" / "dev-credentials.json"
    first = _seed(chain_app, out)
    assert len({u["api_token"] for u in first.values()}) == len(first)  # one token per user
    assert first["authority"]["totp_secret"] and first["merchant1"]["totp_secret"] is None  # officials' second factor
    assert _seed(chain_app, out) == first
    assert _me(chain_app, first["merchant1"]["api_token"]).get_json()["username"] == "merchant1"

    # the next `make run` on a new database (a new chain moves the old one aside)
    fresh = make_app(tmp_path / "second", chain["record"]["path"], SQLALCHEMY_DATABASE_URI="sqlite:///" + str(
        tmp_path / "second.sqlite"))
    assert _seed(fresh, out) == first
    assert _me(fresh, first["buyer"]["api_token"]).get_json()["username"] == "buyer"
    assert login(fresh.test_client(), "merchant1", first["merchant1"]["password"]).status_code == 302

    # the credentials file lost: the same ones again, derived from the installation's secret
    out.unlink()
    assert _seed(fresh, out) == first
    assert oct(os.stat(out.parent / seed.SECRET_FILE).st_mode & 0o777) == "0o600"
    with fresh.app_context():
        db.engine.dispose()


def test_the_credentials_file_is_kept_before_the_secret(chain_app, tmp_path):
    """A file written before the secret existed (an older checkout's random ones) is kept."""
    out = tmp_path / "dev-credentials.json"
    out.write_text(json.dumps({"users": [{"username": "merchant2", "password": "kept-from-file",
                                          "api_token": "einv_kept-from-file"}]}))
    users = _seed(chain_app, out)
    assert (users["merchant2"]["password"], users["merchant2"]["api_token"]) == ("kept-from-file",
                                                                                 "einv_kept-from-file")
    assert _me(chain_app, "einv_kept-from-file").get_json()["username"] == "merchant2"
    assert users["merchant1"]["password"] != "kept-from-file"


def test_another_installation_gets_other_credentials(chain_app, tmp_path):
    mine = _seed(chain_app, tmp_path / "a" / "dev-credentials.json")
    theirs = _seed(chain_app, tmp_path / "b" / "dev-credentials.json")
    assert mine["authority"]["password"] != theirs["authority"]["password"]
    assert mine["authority"]["api_token"] != theirs["authority"]["api_token"]
    assert _me(chain_app, mine["authority"]["api_token"]).status_code == 401  # the last seeding's tokens hold
