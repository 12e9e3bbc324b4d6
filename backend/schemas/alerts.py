"""Alerts of the anomaly detector and its thresholds: the list's filters, resolve (a note) and
assign (an auditor), the alert as the API answers it, the detector settings (each one's
default, bounds and words: ``SETTINGS``; an update names only what it changes)."""
from typing import Annotated, Literal

from flask_babel import lazy_gettext as _l
from pydantic import Field, StrictFloat, create_model

from .common import PAGE_MAX, QUERY_TEXT, Answer, Model, Query, integer, text

KINDS = ("split_invoicing", "volume_spike", "circular_invoicing", "high_void_ratio", "dormant_burst",
         "round_amounts", "unusual_hours", "buyer_concentration")
SEVERITIES = ("low", "medium", "high")
STATUSES = ("open", "acknowledged", "resolved")
EMAIL = "^[^@\\s\\x00-\\x1f<>,;]+@[^@\\s\\x00-\\x1f<>,;]+\\.[^@\\s\\x00-\\x1f<>,;]+$"
NOTE_MAX = 2000

# name: (default, minimum, maximum, type, words (lazy: the page's language)). "kinds": a list of
# rule kinds; "emails": a list of e-mail addresses. docs/alerts.md explains each one.
SETTINGS = {
    "disabled_rules": ([], None, None, "kinds", _l("Rules switched off")),
    "incremental_days": (120, 30, 3660, int, _l("Days of invoices an incremental run reads")),
    "split_min_count": (3, 2, 1000, int, _l("Split invoicing: at least this many invoices")),
    "split_window_minutes": (60, 1, 10080, int, _l("Split invoicing: within minutes")),
    "split_cap_percent": (90, 50, 100, int, _l("Split invoicing: each at least this percentage of "
                                                "the per-invoice cap")),
    "volume_baseline_days": (28, 7, 365, int, _l("Volume spike: baseline days")),
    "volume_min_history_days": (14, 1, 365, int, _l("Volume spike: days of history needed")),
    "volume_z": (8.0, 1.0, 100.0, float, _l("Volume spike: robust z (median/MAD)")),
    "volume_ratio": (5.0, 1.0, 1000.0, float, _l("Volume spike: times the baseline")),
    "volume_min_invoices": (10, 1, 100000, int, _l("Volume spike: invoices that day at least")),
    "circular_window_days": (7, 1, 365, int, _l("Circular invoicing: within days")),
    "circular_min_length": (3, 2, 10, int, _l("Circular invoicing: shortest cycle")),
    "circular_max_length": (5, 2, 10, int, _l("Circular invoicing: longest cycle")),
    "circular_similarity_percent": (50, 0, 100, int, _l("Circular invoicing: smallest leg at "
                                                                   "least this percentage of the largest")),
    "void_ratio_percent": (30, 1, 100, int, _l("Void/red-letter ratio: percent")),
    "void_min_invoices": (10, 1, 100000, int, _l("Void ratio: invoices in the month at least")),
    "dormant_days": (60, 7, 3650, int, _l("Dormant burst: days without invoices")),
    "dormant_burst_days": (3, 1, 60, int, _l("Dormant burst: burst window in days")),
    "dormant_burst_invoices": (10, 1, 100000, int, _l("Dormant burst: invoices at least")),
    "round_unit_fen": (100000, 100, 10**12, int, _l("Round amounts: the round unit in fen")),
    "round_share_percent": (50, 1, 100, int, _l("Round amounts: share percent")),
    "round_min_invoices": (10, 1, 100000, int, _l("Round amounts: invoices in the month at least")),
    "night_start_hour": (0, 0, 23, int, _l("Unusual hours: from (China time, hour)")),
    "night_end_hour": (5, 1, 24, int, _l("Unusual hours: until (exclusive)")),
    "night_share_percent": (30, 1, 100, int, _l("Unusual hours: share percent")),
    "night_min_invoices": (5, 1, 100000, int, _l("Unusual hours: night invoices at least")),
    "concentration_share_percent": (90, 50, 100, int, _l("Buyer concentration: top buyer's share of gross")),
    "concentration_min_invoices": (20, 2, 100000, int, _l("Buyer concentration: invoices in the month at least")),
    "alert_mail_to": ([], None, None, "emails", _l("Alert e-mail recipients (empty: the server's "
                                                               "configured addresses)")),
}


def _field(spec):
    default, lo, hi, kind, words = spec
    if kind == "kinds":
        return Annotated[list[Literal[KINDS]] | None, Field(None, max_length=len(KINDS), description=str(words))]
    if kind == "emails":
        return Annotated[list[Annotated[str, Field(min_length=3, max_length=254, pattern=EMAIL)]] | None,
                         Field(None, max_length=20, description=str(words))]
    base = integer(lo, hi) if kind is int else Annotated[StrictFloat, Field(ge=lo, le=hi)]
    return Annotated[base | None, Field(None, description=f"{words} (default {default})")]


DetectorSettingsUpdate = create_model(
    "DetectorSettingsUpdate", __base__=Model,
    __doc__="Thresholds to change (role: authority); only the names sent change, the others keep their value.",
    **{name: _field(spec) for name, spec in SETTINGS.items()})


class DetectorSettings(Answer):
    settings: dict = Field(description="every threshold in force, by name")
    defaults: dict = Field(description="the default of each")
    descriptions: dict = Field(description="what each one is, in the request's language")


class AlertQuery(Query):
    kind: Annotated[str | None, Field(None, pattern="^(" + "|".join(KINDS) + ")?$")]
    status: Annotated[str | None, Field(None, pattern="^(" + "|".join(STATUSES) + ")?$")]
    severity: Annotated[str | None, Field(None, pattern="^(" + "|".join(SEVERITIES) + ")?$")]
    merchant: Annotated[str | None, Field(None, max_length=42, pattern=QUERY_TEXT,
                                          description="a merchant's tax ID: its alerts")]
    assignee: Annotated[str | None, Field(None, max_length=64, pattern=QUERY_TEXT,
                                          description="an auditor's username: the alerts assigned to it")]
    page: Annotated[int, Field(1, ge=1, le=PAGE_MAX)]
    per_page: Annotated[int, Field(50, ge=1, le=200)]


class ResolveRequest(Model):
    note: text(NOTE_MAX, description="what was found and done (required)")


class AssignRequest(Model):
    auditor: text(64, description="the username of an auditor")


class AlertOut(Answer):
    id: int
    kind: str
    kind_label: str
    severity: str
    status: str
    merchants: list[str] = Field(description="tax IDs of the merchants concerned")
    invoices: list[str] = Field(description="numbers of the invoices that are its evidence")
    evidence: dict = Field(description="the figures")
    explanation: str = Field(description="plain language, Chinese then English (one line each); amounts in yuan")
    fingerprint: str
    window_start: str | None
    window_end: str | None
    created_at: str
    updated_at: str
    assignee: str | None
    acknowledged_by: str | None
    acknowledged_at: str | None
    resolved_by: str | None
    resolved_at: str | None
    resolution_note: str | None
    webhook_status: str | None


class AlertList(Answer):
    alerts: list[AlertOut]
    total: int
    page: int
    per_page: int
