"""Expense claims (报销) and payment lists: an employee's claim of one invoice (its four
verification elements, or its JSON document), finance's decision, payment lists and their
payment, the expense report. Money in fen."""
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from .common import ID_MAX, QUERY_TEXT, Answer, AnyDate, InvoiceNumber, Model, Query, integer, optional_text, text
from .verification import CheckCode, Gross

# category key → label (lazy: translated when shown; str() for JSON); the expense report groups by them
CATEGORIES = {
    "travel": _l("Travel"),
    "transport": _l("Transport"),
    "lodging": _l("Lodging"),
    "meals": _l("Meals"),
    "office": _l("Office supplies"),
    "communication": _l("Communication"),
    "training": _l("Training"),
    "entertainment": _l("Business entertainment"),
    "other": _l("Other"),
}
STATUSES = ("submitted", "approved", "rejected", "paid")
GROUPS = ("employee", "category", "month")
Category = Annotated[Literal[tuple(CATEGORIES)], Field(description="expense category: " + ", ".join(CATEGORIES))]
ClaimId = integer(1, ID_MAX)


class ClaimRequest(Model):
    """Either the four verification elements printed on the invoice (number, issue_date,
    gross, check_code) or its JSON `document` as the platform issued it (which proves the
    buyer even for an invoice of another platform)."""
    number: InvoiceNumber | None = None
    issue_date: AnyDate | None = None
    gross: Gross | None = None
    check_code: CheckCode | None = None
    document: Annotated[dict[str, Any] | None, Field(None, description="the invoice's JSON document")]
    category: Category = "other"
    purpose: optional_text(200, "what the expense was for (事由)")

    @model_validator(mode="after")
    def _elements_or_document(self):
        elements = (self.number, self.issue_date, self.gross, self.check_code)
        if self.document is not None:
            if any(e is not None for e in elements):
                raise PydanticCustomError("claim", _("send the four elements or the document, not both"))
        elif any(e is None for e in elements):
            raise PydanticCustomError("claim", _("give the invoice number, issue date, gross amount and check code, "
                                                 "or the invoice document"))
        return self


class UploadFields(Model):
    """The form fields beside an uploaded invoice file (JSON document or PDF)."""
    category: Category = "other"
    purpose: optional_text(200, "what the expense was for (事由)")


class RejectRequest(Model):
    reason: text(200, description="why finance rejects the claim; shown to the employee")


class PaymentListRequest(Model):
    claim_ids: Annotated[list[ClaimId] | None, Field(None, min_length=1, max_length=500,
                                                     description="approved claims not yet in a list; all of them "
                                                                 "when left out")]


class PaidRequest(Model):
    payment_ref: text(100, description="the bank transfer's reference (付款凭证号); its keccak-256 goes on chain")


class ClaimQuery(Query):
    status: Annotated[Literal[("",) + STATUSES], Field("", description="one status; all when empty")]
    q: Annotated[str, Field("", max_length=100, pattern=QUERY_TEXT, description="part of the number, the seller's "
                                                                                "name or the purpose")]


class ReportQuery(Query):
    group: Annotated[Literal[GROUPS], Field("category", description="employee, category or month")]
    format: Annotated[Literal["json", "csv", "xlsx"], Field("json")]
    status: Annotated[Literal["approved", "paid", "all"], Field(
        "all", description="approved: approved and paid claims; paid: paid only; all: every claim not rejected")]
    date_from: Annotated[str, Field("", alias="from", max_length=7, pattern="^$|^[0-9]{4}-[0-9]{2}$",
                                    description="first month YYYY-MM (of the claim's submission)")]
    date_to: Annotated[str, Field("", alias="to", max_length=7, pattern="^$|^[0-9]{4}-[0-9]{2}$",
                                  description="last month YYYY-MM")]


class Verification(Answer):
    result: str = Field(description="verify's result for the invoice (authentic, partly_red_lettered …)")
    label: str
    detail: str
    checks: list[dict] = Field(description="each check made at submission: check, ok, detail")


class ClaimOut(Answer):
    id: int
    status: Literal[STATUSES]
    status_label: str
    employee: str
    company_tax_id: str
    invoice: dict = Field(description="number, issue_date, gross, amount (what is reimbursed: the open amount), seller")
    category: str
    category_label: str
    purpose: str
    source: str = Field(description="elements, document or pdf: how the invoice was submitted")
    verification: Verification
    submitted_at: str
    decided_by: str | None
    decided_at: str | None
    reject_reason: str | None
    claim_tx: str | None = Field(description="the markClaimed transaction")
    payment_list: dict | None
    actions: list[str] = Field(description="what the caller may do now: approve, reject")


class ClaimList(Answer):
    claims: list[ClaimOut]


class PaymentListOut(Answer):
    id: int
    list_hash: str
    total: int
    claim_count: int
    status: Literal["registered", "paid"]
    status_label: str
    created_by: str
    created_at: str
    register_tx: str | None
    payment_ref: str | None
    paid_at: str | None
    pay_tx: str | None
    document: dict = Field(description="the list whose keccak-256 of its canonical JSON is list_hash")
    on_chain: dict | None = Field(description="the contract's record: payer, total, claimCount, registeredAt, paidAt")


class PaymentListList(Answer):
    payment_lists: list[PaymentListOut]


class ReportRow(Answer):
    key: str
    label: str
    claims: int
    amount: int


class Report(Answer):
    group: str
    rows: list[ReportRow]
    total_claims: int
    total_amount: int
