"""The detector's thresholds: settings the authority changes (page and API), one row each in
the ``settings`` table under ``detector.<name>`` (a JSON value); a name not stored has its
default here. ``SETTINGS`` says each one's default, bounds, type and words."""
import json
import logging

from sqlalchemy import select

from ...core.models import Setting, utcnow

log = logging.getLogger(__name__)
SETTING_PREFIX = "detector."

# name: (default, minimum, maximum, kind, words). The authority changes them (page and API);
# a name not stored in the settings table has its default.
SETTINGS = {
    "disabled_rules": ([], None, None, "kinds", "停用的规则 Rules switched off"),
    "incremental_days": (120, 30, 3660, int, "增量检测读取的天数 Days of invoices an incremental run reads"),
    "split_min_count": (3, 2, 1000, int, "拆分开票：最少张数 Split invoicing: at least this many invoices"),
    "split_window_minutes": (60, 1, 10080, int, "拆分开票：时间窗口（分钟）Split invoicing: within minutes"),
    "split_cap_percent": (90, 50, 100, int, "拆分开票：每张不低于单张限额的百分比 Split invoicing: each at least "
                                           "this % of the per-invoice cap"),
    "volume_baseline_days": (28, 7, 365, int, "开票量激增：基线天数 Volume spike: baseline days"),
    "volume_min_history_days": (14, 1, 365, int, "开票量激增：最少历史天数 Volume spike: days of history needed"),
    "volume_z": (6.0, 1.0, 100.0, float, "开票量激增：稳健 z 值 Volume spike: robust z (median/MAD)"),
    "volume_ratio": (5.0, 1.0, 1000.0, float, "开票量激增：相对中位数的倍数 Volume spike: times the median"),
    "volume_min_invoices": (10, 1, 100000, int, "开票量激增：当日最少张数 Volume spike: invoices that day at "
                                                "least"),
    "circular_window_days": (7, 1, 365, int, "循环开票：时间窗口（天）Circular invoicing: within days"),
    "circular_max_length": (5, 2, 10, int, "循环开票：最长环 Circular invoicing: longest cycle"),
    "circular_min_length": (3, 2, 10, int, "循环开票：最短环 Circular invoicing: shortest cycle"),
    "circular_similarity_percent": (50, 0, 100, int, "循环开票：最小边金额不低于最大边的百分比 Circular invoicing: "
                                                     "smallest edge total at least this % of the largest"),
    "void_ratio_percent": (30, 1, 100, int, "作废红冲比例：百分比 Void/red-letter ratio: percent"),
    "void_min_invoices": (10, 1, 100000, int, "作废红冲比例：当月最少张数 Void ratio: invoices in the month at "
                                              "least"),
    "dormant_days": (60, 7, 3650, int, "休眠后突增：休眠天数 Dormant burst: days without invoices"),
    "dormant_burst_days": (3, 1, 60, int, "休眠后突增：突增窗口（天）Dormant burst: burst window in days"),
    "dormant_burst_invoices": (10, 1, 100000, int, "休眠后突增：最少张数 Dormant burst: invoices at least"),
    "round_unit_fen": (100000, 100, 10**12, int, "整数金额：整数单位（分）Round amounts: the round unit in fen"),
    "round_share_percent": (50, 1, 100, int, "整数金额：占比 Round amounts: share percent"),
    "round_min_invoices": (10, 1, 100000, int, "整数金额：当月最少张数 Round amounts: invoices in the month at "
                                               "least"),
    "night_start_hour": (0, 0, 23, int, "非常规时段：开始（北京时间，时）Unusual hours: from (China time)"),
    "night_end_hour": (5, 1, 24, int, "非常规时段：结束（不含）Unusual hours: until (exclusive)"),
    "night_share_percent": (30, 1, 100, int, "非常规时段：占比 Unusual hours: share percent"),
    "night_min_invoices": (5, 1, 100000, int, "非常规时段：当月最少张数 Unusual hours: night invoices at least"),
    "concentration_share_percent": (90, 50, 100, int, "购买方集中：最大购买方金额占比 Buyer concentration: top "
                                                      "buyer's share of gross"),
    "concentration_min_invoices": (20, 2, 100000, int, "购买方集中：当月最少张数 Buyer concentration: invoices in "
                                                       "the month at least"),
    "alert_mail_to": ([], None, None, "emails", "预警邮件收件人（空：用 ALERT_MAIL_TO）Alert e-mail recipients "
                                                "(empty: ALERT_MAIL_TO)"),
}
DEFAULTS = {name: spec[0] for name, spec in SETTINGS.items()}


def load_settings(session):
    """The thresholds in force: stored values over the defaults."""
    values = dict(DEFAULTS)
    for row in session.execute(select(Setting).where(Setting.key.like(SETTING_PREFIX + "%"))).scalars():
        name = row.key[len(SETTING_PREFIX):]
        if name in values:
            try:
                values[name] = json.loads(row.value)
            except ValueError:
                log.warning("setting %s: not JSON, default used", row.key)
    return values


def save_settings(session, user, changes):
    """Store ``changes`` (validated names and values); returns the settings in force."""
    for name, value in changes.items():
        key = SETTING_PREFIX + name
        row = session.get(Setting, key)
        if row is None:
            row = Setting(key=key)
            session.add(row)
        row.value = json.dumps(value, ensure_ascii=False)
        row.updated_by = user.id if user is not None else None
        row.updated_at = utcnow()
    session.commit()
    return load_settings(session)


