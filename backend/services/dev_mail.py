"""Dev mode: the messages the local SMTP sink (scripts/mail_sink.py, started by `make
run`) kept as .eml files in MAIL_SINK_DIR (var/mail/), listed and read for the dev mail page."""
import re
from email import policy
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from .errors import Refused

NAME = re.compile(r"^[0-9A-Za-z._-]{1,120}\.eml$")


def folder():
    return Path(current_app.config["MAIL_SINK_DIR"])


def _parse(path):
    with open(path, "rb") as f:
        return BytesParser(policy=policy.default).parse(f)


def _summary(path, msg):
    try:
        date = parsedate_to_datetime(msg["Date"]) if msg["Date"] else None
    except (TypeError, ValueError):
        date = None
    return {"name": path.name, "date": date, "to": str(msg["To"] or ""), "from": str(msg["From"] or ""),
            "subject": str(msg["Subject"] or ""),
            "attachments": [{"filename": p.get_filename(), "type": p.get_content_type(),
                             "size": len(p.get_payload(decode=True) or b"")} for p in msg.iter_attachments()]}


def messages():
    """The kept messages, newest first: name, date, to, from, subject, attachments."""
    base = folder()
    if not base.is_dir():
        return []
    paths = sorted((p for p in base.iterdir() if NAME.match(p.name)), key=lambda p: p.name, reverse=True)
    return [_summary(p, _parse(p)) for p in paths]


def message(name):
    """One kept message: its summary and its text body. 404 for an unknown name."""
    path = folder() / name
    if not NAME.match(name) or not path.is_file():
        raise Refused("not_found", _("There is no such message."), 404)
    msg = _parse(path)
    body = msg.get_body(preferencelist=("plain",))
    return _summary(path, msg) | {"text": body.get_content() if body is not None else ""}


def attachment(name, index):
    """(filename, content type, bytes) of a kept message's attachment ``index``."""
    path = folder() / name
    if not NAME.match(name) or not path.is_file():
        raise Refused("not_found", _("There is no such message."), 404)
    parts = list(_parse(path).iter_attachments())
    if not 0 <= index < len(parts):
        raise Refused("not_found", _("There is no such attachment."), 404)
    part = parts[index]
    return part.get_filename() or f"attachment-{index}", part.get_content_type(), part.get_payload(decode=True)
