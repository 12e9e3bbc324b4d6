"""Production entry point: waitress on 127.0.0.1:5000 (``python -m backend.serve`` or
the ``einvoice-serve`` script). The database is upgraded to the newest migration first
(``create_app``, unless DATABASE_AUTO_UPGRADE is off; a failed upgrade stops the start).
Recovers before serving (services.recovery: a rewound chain followed back, the outbox
and the invoice rows reconciled with the chain) and starts the event indexer and the mail
sender (services.mail: issued invoices e-mailed through MAIL_URL). ``--dev --seed``
(what ``make run`` wants): dev mode, demo users seeded and var/dev-credentials.json
written. ``main(argv)`` blocks until the server stops."""
import argparse
import logging

from waitress import serve

from . import create_app


def main(argv=None):
    parser = argparse.ArgumentParser(description="Serve the e-invoice backend with waitress.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--dev", action="store_true", help="dev mode (as EINVOICE_ENV=dev): Anvil dev keys, dev secret")
    parser.add_argument("--seed", action="store_true", help="dev mode: seed demo users first "
                                                            "(writes var/dev-credentials.json)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    overrides = {"SQLITE_WAL_AUTOCHECKPOINT": 50000}  # the indexer thread checkpoints
    if args.dev:
        overrides["DEV_MODE"] = True
    try:
        app = create_app(overrides)
    except RuntimeError as exc:  # e.g. no SECRET_KEY outside dev mode
        parser.exit(1, f"error: {exc}\n")
    with app.app_context():
        from .chain import indexer
        from .services import recovery, seed

        try:  # a rewound chain followed back, the outbox and invoice rows reconciled, indexed
            app.logger.info("recovered: %s", recovery.recover())
        except Exception as exc:  # noqa: BLE001 - serve anyway; chain pages say it is down
            app.logger.warning("recovery skipped: %s", exc)
        if args.seed:
            if not app.config["DEV_MODE"]:
                parser.error("--seed is for dev mode only (--dev or EINVOICE_ENV=dev)")
            try:
                app.logger.info("dev credentials: %s", seed.seed_dev())
            except Exception as exc:  # noqa: BLE001 - e.g. no deployment yet: serve anyway
                app.logger.error("seeding failed: %s", exc)
        if app.config["INDEXER_INTERVAL"] > 0:
            from .services import analytics_store

            indexer.start_background(app, app.config["INDEXER_INTERVAL"], on_rewind=recovery.recover,
                                     after_run=analytics_store.refresh)  # the dashboards' figures
        if app.config["MAIL_INTERVAL"] > 0:  # the mail outbox (issued invoices e-mailed); waits without MAIL_URL
            from .services import mail

            mail.start_background(app, app.config["MAIL_INTERVAL"])
    serve(app, host=args.host, port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()
