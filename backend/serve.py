"""Production entry point: waitress on 127.0.0.1:5000 (``python -m backend.serve`` or
the ``einvoice-serve`` script). Reconciles the outbox and starts the event indexer
before serving; in dev mode (EINVOICE_DEV=1) with ``--seed`` it seeds the demo users."""
import argparse
import logging

from waitress import serve

from . import create_app


def main(argv=None):
    parser = argparse.ArgumentParser(description="Serve the e-invoice backend with waitress.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", action="store_true", help="dev mode: seed demo users first")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    app = create_app({"SQLITE_WAL_AUTOCHECKPOINT": 50000})  # the indexer thread checkpoints
    with app.app_context():
        from . import indexer, invoices, seed

        try:
            changed = invoices.reconcile(deep=True)
            app.logger.info("outbox reconciled: %s", changed)
        except Exception as exc:  # noqa: BLE001 - serve anyway; chain pages say it is down
            app.logger.warning("outbox reconcile skipped: %s", exc)
        if args.seed and app.config["DEV_MODE"]:
            app.logger.info("dev credentials: %s", seed.seed_dev())
        if app.config["INDEXER_INTERVAL"] > 0:
            indexer.start_background(app, app.config["INDEXER_INTERVAL"])
    serve(app, host=args.host, port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()
