"""Anomaly detection over the indexed invoices: rules, settings, incremental runs, the full scan (docs/alerts.md)."""
from .base import KIND_LABELS, KINDS, SEVERITIES, SEVERITY_LABELS, STATUS_LABELS, STATUSES, Finding, Row
from .cycles import circular_invoicing
from .rules import (buyer_concentration, dormant_burst, high_void_ratio, round_amounts, split_invoicing,
                    unusual_hours, volume_spike)
from .run import (after_change, alert_dict, caps_of, detect_sellers, forget_caps, full_scan, on_indexed, run_rules,
                  scan, store, users_of)
from .settings import DEFAULTS, SETTINGS, load_settings, save_settings

__all__ = ["KINDS", "KIND_LABELS", "SEVERITIES", "SEVERITY_LABELS", "STATUSES", "STATUS_LABELS", "Finding", "Row",
           "circular_invoicing", "buyer_concentration", "dormant_burst", "high_void_ratio", "round_amounts",
           "split_invoicing", "unusual_hours", "volume_spike", "after_change", "alert_dict", "caps_of",
           "detect_sellers", "forget_caps", "full_scan", "on_indexed", "run_rules", "scan", "store", "users_of",
           "DEFAULTS", "SETTINGS", "load_settings", "save_settings"]
