"""Nonces kept in the database (table ``signer_nonces``).

A nonce is taken with ``UPDATE … RETURNING`` in the same database transaction that journals
its outbox row: a rollback (a refused or duplicate request) gives it back, a commit journals
it, so no nonce is ever consumed without a journaled transaction. The UPDATE holds the
sender's row lock on PostgreSQL (several processes sign for one sender in turn) and the
single write lock on SQLite (writers wait on the busy timeout). An in-process re-entrant
lock per sender keeps this process's threads from queueing inside the database and keeps
their broadcasts in nonce order."""
import threading
from collections import defaultdict

from sqlalchemy import func, insert, select, update

from ..core.models import OutboxTx, SignerNonce

# outbox statuses whose nonce is used (or will be, once mined)
LIVE_STATUSES = ("signed", "sent", "mined")
_T = SignerNonce.__table__


class NonceManager:
    def __init__(self, w3, chain_id):
        self.w3 = w3
        self.chain_id = chain_id
        self._locks = defaultdict(threading.RLock)
        self._guard = threading.Lock()

    def lock(self, sender):
        with self._guard:
            return self._locks[sender]

    def take(self, session, sender, count=1):
        """The first of ``count`` consecutive nonces of ``sender``, in ``session``'s
        transaction (the caller commits with the journal or rolls back)."""
        return self._bump(session, sender, count) - count

    def lock_row(self, session, sender):
        """Locks the sender's counter until the transaction ends; returns its value. Every
        transaction that took a nonce before has committed (journaled) or rolled back."""
        return self._bump(session, sender, 0)

    def set(self, session, sender, value):
        session.execute(update(_T).where(_T.c.chain_id == self.chain_id, _T.c.sender == sender)
                        .values(next_nonce=value))

    def floor(self, session, sender):
        """max(the chain's pending nonce, the highest journaled live nonce + 1)."""
        top = session.execute(select(func.max(OutboxTx.nonce)).where(
            OutboxTx.chain_id == self.chain_id, OutboxTx.sender == sender,
            OutboxTx.status.in_(LIVE_STATUSES))).scalar()
        pending = self.w3.eth.get_transaction_count(sender, "pending")
        return max(pending, -1 if top is None else top + 1)

    def resync(self, session, sender):
        """Counter := floor (nonces of dropped/rejected rows at the top are handed out again)."""
        self.lock_row(session, sender)
        self.set(session, sender, self.floor(session, sender))

    def senders(self, session):
        return [s for (s,) in session.execute(select(_T.c.sender).where(_T.c.chain_id == self.chain_id))]

    def _bump(self, session, sender, by):
        stmt = (update(_T).where(_T.c.chain_id == self.chain_id, _T.c.sender == sender)
                .values(next_nonce=_T.c.next_nonce + by).returning(_T.c.next_nonce))
        value = session.execute(stmt).scalar()
        if value is None:  # first use of this sender: start from the chain and the journal
            session.execute(_insert_ignore(session, chain_id=self.chain_id, sender=sender,
                                           next_nonce=self.floor(session, sender)))
            value = session.execute(stmt).scalar()
        return value


def _insert_ignore(session, **values):
    """INSERT that leaves a row another process inserted meanwhile alone."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        return insert(_T).values(**values)
    return dialect_insert(_T).values(**values).on_conflict_do_nothing()
