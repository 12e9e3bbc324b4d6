"""CLI: ``flask --app backend users create --role merchant NAME``, ``users reset-second-factor NAME``,
``outbox reconcile``,
``index`` (recovery first), ``verify-chain``, ``seed-dev``, ``detect`` (the anomaly
detector's full scan)."""
import json

import click
from flask import current_app
from flask.cli import AppGroup

from .core.db import get_db
from .core.models import ROLES, User
from .schemas.tax_ids import taxpayer_id_problem

users_cli = AppGroup("users", help="Manage users.")
outbox_cli = AppGroup("outbox", help="The transaction outbox.")


def create_user(username, role, password=None, *, address=None, dev_account=None, token=False, buyer_tax_id=None):
    """Create a user. The signing address is a dev account (dev mode), a given address
    (read-only), or a new encrypted keystore (production, when KEYSTORE_PASSWORD is set
    and the role signs on chain). A given password must pass the password rules
    (services.passwords); none: a random one that does. Returns (user, password, token)."""
    from .chain import get_keyring
    from .services import passwords

    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not username or len(username) > 64 or not username.isprintable():
        raise ValueError("a username is 1..64 printable characters")
    if buyer_tax_id is not None:
        buyer_tax_id = buyer_tax_id.strip().upper()
        problem = taxpayer_id_problem(buyer_tax_id)
        if problem:
            raise ValueError(problem)
    db = get_db()
    if db.query(User).filter_by(username=username).first():
        raise ValueError(f"user {username!r} exists")
    password = password or passwords.generate()
    if passwords.problems(password, username):
        raise ValueError("密码不符合要求 the password does not meet the rules: " +  # an operator's console: both
                         "; ".join(p if isinstance(p, str) else " ".join(map(str, p))  # (zh, en) or one translated text
                                   for p in passwords.problems(password, username)))
    keyring = get_keyring()
    if dev_account is not None:
        address = keyring.dev_address(dev_account)
    elif address is None and role in ("authority", "merchant", "auditor", "financier") and not keyring.dev_mode \
            and current_app.config.get("KEYSTORE_PASSWORD"):
        address = keyring.create()
    user = User(username=username, role=role, address=address, buyer_tax_id=buyer_tax_id)
    user.set_password(password)
    api_token = user.new_api_token() if token else None
    db.add(user)
    db.commit()
    return user, password, api_token


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password", help="Random when omitted (printed once).")
@click.option("--address", help="Bind an existing chain address (no key: read-only on chain).")
@click.option("--dev-account", type=int, help="Bind Anvil dev account N (dev mode only).")
@click.option("--token/--no-token", default=True, help="Create an API token (printed once).")
@click.option("--buyer-tax-id", help="Buyers: the tax ID whose invoices they see; employees and approvers: their company's.")
def create_command(username, role, password, address, dev_account, token, buyer_tax_id):
    """Create a user with a role."""
    try:
        user, password, api_token = create_user(username, role, password, address=address, dev_account=dev_account,
                                                token=token, buyer_tax_id=buyer_tax_id)
    except Exception as exc:  # noqa: BLE001 - reported to the operator
        raise click.ClickException(str(exc))
    click.echo(json.dumps({"username": user.username, "role": role, "password": password,
                           "api_token": api_token, "address": user.address}, ensure_ascii=False))


@users_cli.command("list")
def list_command():
    for u in get_db().query(User).order_by(User.id):
        click.echo(f"{u.id}\t{u.username}\t{u.role}\t{u.address or '-'}\t{'active' if u.active else 'disabled'}")


@users_cli.command("reset-second-factor")
@click.argument("username")
def reset_second_factor_command(username):
    """Remove a user's second factor and recovery codes (a lost phone; SECRET_KEY changed)."""
    from .services import two_factor

    user = get_db().query(User).filter_by(username=username).first()
    if user is None:
        raise click.ClickException(f"用户不存在 no user {username!r}")
    two_factor.reset(user)
    click.echo(f"{username}: second factor removed" + ("; enrols again at the next sign-in"
                                                       if two_factor.is_required(user) else ""))


@outbox_cli.command("reconcile")
@click.option("--deep", is_flag=True, help="Also re-check mined transactions.")
def reconcile_command(deep):
    """Re-broadcast journaled transactions unknown to the chain; record receipts."""
    from .services import issuance

    changed = issuance.reconcile(deep=deep)
    click.echo(json.dumps(changed))


def init_app(app):
    app.cli.add_command(users_cli)
    app.cli.add_command(outbox_cli)

    @app.cli.command("index")
    def index_command():
        """Recover (a rewound chain, the outbox, invoice rows), then index contract events
        up to the latest block."""
        from .services import recovery

        out = recovery.recover()
        click.echo(json.dumps({**out.pop("index"), **out}))

    @app.cli.command("verify-chain")
    def verify_chain_command():
        """Compare every invoice row, outbox row and indexed event with the chain; exit 1
        when they disagree."""
        from .services.consistency import verify_against_chain

        report = verify_against_chain()
        for p in report["problems"][:200]:
            click.echo(f"{p['kind']}\t{p['ref']}\t{p['detail']}")
        c = report["checked"]
        click.echo(f"{'一致' if report['ok'] else '不一致'}: {c['invoices']} invoices, {c['outbox']} outbox rows, "
                   f"{c['events']} events up to block {c['to_block']} checked against the chain: "
                   f"{len(report['problems'])} problems")
        if not report["ok"]:
            raise SystemExit(1)

    @app.cli.command("detect")
    def detect_command():
        """The anomaly detector's full scan: every rule over every invoice; new alerts stored
        and notified (docs/alerts.md). Prints the summary as JSON."""
        from .services import alert_notify, detector

        summary = detector.full_scan(get_db())
        alert_notify.join(timeout=60)  # the webhook's posts, when one is configured
        click.echo(json.dumps(summary, ensure_ascii=False))

    @app.cli.command("seed-dev")
    @click.option("--out", default=None, help="Credentials file (default var/dev-credentials.json).")
    def seed_command(out):
        """Dev mode only: demo users bound to Anvil accounts, merchants approved on chain."""
        from .services import seed

        path = seed.seed_dev(out)
        click.echo(f"wrote {path}")
