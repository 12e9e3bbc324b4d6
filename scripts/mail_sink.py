"""A local SMTP sink for development and tests (aiosmtpd): accepts every message on
127.0.0.1 and keeps each as an .eml file in a folder (var/mail/ under `make run`), where
the dev mail page (/dev/mail) lists them. Nothing is relayed anywhere.

    python -m scripts.mail_sink [--port 8025] [--dir var/mail]   # until Ctrl-C

``MailSink(folder, port).start()`` / ``.stop()`` runs it in a thread (scripts/run.py, tests).
"""
import argparse
import os
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller


class _Keep:
    """aiosmtpd handler: each message's bytes into ``<time>-<random>.eml`` (written to a
    temporary name, then renamed: a reader never sees half a file)."""

    def __init__(self, folder: Path):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}-{uuid.uuid4().hex[:8]}.eml"
        data = envelope.original_content or envelope.content
        data = data if isinstance(data, bytes) else data.encode("utf-8")
        tmp = self.folder / (name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, self.folder / name)
        return "250 Message accepted for delivery"


class MailSink:
    """The sink on ``host``:``port`` (port 0: a free one, read back from ``.port``)."""

    def __init__(self, folder, port=8025, host="127.0.0.1"):
        self.folder = Path(folder)
        self.host, self.port = host, port
        self.controller = None

    def start(self):
        self.controller = Controller(_Keep(self.folder), hostname=self.host, port=self.port)
        self.controller.start()
        self.port = self.controller.server.sockets[0].getsockname()[1]
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self):
        return f"smtp://{self.host}:{self.port}"

    def files(self):
        return sorted(self.folder.glob("*.eml"))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Local SMTP sink: keeps each message as an .eml file.")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", default="var/mail")
    args = parser.parse_args(argv)
    sink = MailSink(args.dir, args.port).start()
    print(f"SMTP sink: {sink.url}, messages in {sink.folder}/")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
