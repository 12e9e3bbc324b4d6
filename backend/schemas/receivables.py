"""Receivable requests and answers: create from an invoice, transfer, split, pledge, finance,
settle; the receivable with its lineage and timeline; lists; the caller's token balance and
who the caller is (``/me``). Money in fen; receivable ids are decimal strings (a split's parts
exceed 2^53, more than a JSON number keeps exactly)."""
from typing import Annotated

from pydantic import BeforeValidator, Field

from .common import AnyDate, Answer, InvoiceNumber, Model, Query, integer, strip

MAX_FEN = 2**48 - 1  # the ledger's largest amount
MAX_PARTS = 10  # ReceivableLedger.MAX_PARTS
STATUSES = ("created", "accepted", "offered", "pledged", "overdue", "defaulted", "held", "split", "settled",
            "cancelled", "declined")
Fen = integer(1, MAX_FEN, "fen")
Party = Annotated[str, Field(min_length=1, max_length=64, pattern="^[A-Za-z0-9_.@-]+$",
                             description="a username of this platform or a 0x address"), BeforeValidator(strip)]


class CreateReceivable(Model):
    """The seller of an invoice draws a receivable on it, payable by the invoice's buyer."""
    invoice_number: InvoiceNumber
    amount: Annotated[Fen, Field(description="face value in fen; at most the invoice's available amount")]
    due_date: Annotated[AnyDate, Field(description="the day the debtor pays by (YYYY-MM-DD, China time); in the "
                                                   "future")]


class TransferRequest(Model):
    to: Party


class SplitRequest(Model):
    amounts: Annotated[list[Fen], Field(min_length=2, max_length=MAX_PARTS,
                                        description="face value of each part in fen; they sum to the whole")]


class PledgeRequest(Model):
    financier: Party


class FinanceRequest(Model):
    advance: Annotated[Fen, Field(description="paid to the holder now, fen; at most the unpaid amount")]
    fee: Annotated[integer(0, MAX_FEN, "fen"), Field(description="the financier's fee or discount, repaid to it "
                                                                 "before the holder; advance + fee ≤ unpaid")] = 0


class SettleRequest(Model):
    amount: Annotated[Fen, Field(description="fen paid now; at most the outstanding amount")]


class FaucetRequest(Model):
    amount: Annotated[integer(1, 100_000_000_00, "fen"), Field(description="dev mode only")] = 1_000_000_00


class ReceivableQuery(Query):
    role: Annotated[str | None, Field(None, pattern="^(holder|debtor|financier|creditor)$",
                                      description="the caller's part in it; all of them when left out")]
    status: Annotated[str | None, Field(None, pattern="^(" + "|".join(STATUSES) + ")$")]


class TimelineEntry(Answer):
    event: str
    label: str
    detail: str = Field(description="what it did, in words, in the request's language")
    block: int
    time: int | None = None
    tx_hash: str
    args: dict


class ReceivableOut(Answer):
    id: str
    invoice_number: str | None
    status: str
    status_label: str
    amount: int
    paid: int
    outstanding: int
    holder: str
    holder_name: str | None = None
    debtor: str
    debtor_name: str | None = None
    creditor: str
    financier: str | None
    advance: int
    fee: int
    repaid: int
    owed_to_financier: int
    due_date: str
    parent: str | None
    root: str
    children: list[str]
    actions: list[str] = Field(description="what the caller may do now (the state and its part in it)")
    timeline: list[TimelineEntry] | None = None


class ReceivableList(Answer):
    receivables: list[ReceivableOut]


class SplitResult(ReceivableOut):
    pass


class Balance(Answer):
    address: str
    balance: int = Field(description="settlement-token balance in fen")
    token: str
    symbol: str


class Me(Answer):
    username: str
    role: str
    address: str | None
    tax_id: str | None
    invoice_cap: int | None = Field(None, description="merchants only: the most one invoice may be (gross, fen), on "
                                                      "chain (MerchantRegistry); null: the chain cannot be read")
    monthly_quota: int | None = Field(None, description="merchants only: the gross a month may reach before invoices "
                                                        "are flagged (fen), on chain; null: the chain cannot be read")
