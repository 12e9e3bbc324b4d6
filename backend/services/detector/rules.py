"""The per-merchant rules: pure functions of one merchant's rows (``base.Row``) and the
thresholds, each returning the ``Finding``s it makes (synthetic rows in the unit tests)."""
import math
import statistics
from collections import defaultdict
from datetime import date, timedelta

from ...core.canonical import yuan
from .base import (MAX_EVIDENCE_INVOICES, Finding, _china, _day_start, _fingerprint, _hm, _numbers, _originals,
                   _pct, _utc, explained)
from .base import Phrase as _l  # a message of an explanation, translated when stored (extracted as `_l`)


def split_invoicing(rows, s, cap):
    """Several invoices (≥ split_min_count) to one buyer within split_window_minutes, each
    between split_cap_percent % and 100 % of the merchant's per-invoice cap (拆分开票): a
    sale cut into pieces to stay under the cap. Overlapping windows make one alert, named
    after its first invoice."""
    if not cap or cap <= 0 or not rows:
        return []
    low = cap * int(s["split_cap_percent"]) / 100
    window = int(s["split_window_minutes"]) * 60
    need = int(s["split_min_count"])
    by_buyer = defaultdict(list)
    for r in rows:
        if not r.is_red_letter and low <= r.gross <= cap and r.buyer:
            by_buyer[r.buyer].append(r)
    out = []
    for buyer, group in by_buyer.items():
        if len(group) < need:
            continue
        group.sort(key=lambda r: (r.issued_at, r.number))
        marked = [False] * len(group)
        j = 0
        for i in range(len(group)):
            j = max(j, i)
            while j + 1 < len(group) and group[j + 1].issued_at - group[i].issued_at <= window:
                j += 1
            if j - i + 1 >= need:
                for k in range(i, j + 1):
                    marked[k] = True
        clusters, current = [], []
        for k, r in enumerate(group):
            if marked[k] and current and r.issued_at - current[-1].issued_at > window:
                clusters.append(current)
                current = []
            if marked[k]:
                current.append(r)
            elif current:
                clusters.append(current)
                current = []
        if current:
            clusters.append(current)
        for c in clusters:
            first, last = c[0], c[-1]
            total = sum(r.gross for r in c)
            minutes = max(1, round((last.issued_at - first.issued_at) / 60))
            m = first.seller
            out.append(Finding(
                "split_invoicing", "high", _fingerprint("split_invoicing", m, buyer, first.number), [m],
                _numbers(c),
                {"buyer_tax_id": buyer, "buyer_name": first.buyer_name, "count": len(c), "total_gross": total,
                 "invoice_cap": cap, "cap_percent": int(s["split_cap_percent"]),
                 "smallest_gross": min(r.gross for r in c), "largest_gross": max(r.gross for r in c),
                 "first_at": _hm(first.issued_at), "last_at": _hm(last.issued_at), "span_minutes": minutes,
                 "window_minutes": int(s["split_window_minutes"])},
                explained(_l(
                    "%(seller)s (%(tax_id)s) issued %(count)s invoices to the same buyer %(buyer)s (%(buyer_tax_id)s) "
                    "within about %(span)s (%(first)s to %(last)s China time), each %(smallest)s–"
                    "%(largest)s, at least %(percent)s%% of its per-invoice cap %(cap)s, %(total)s in all: one sale "
                    "possibly split to stay under the cap.",
                    seller=first.seller_name or m, tax_id=m, count=len(c), buyer=first.buyer_name or buyer,
                    span=_l("1 minute") if minutes == 1 else _l("%(minutes)s minutes", minutes=minutes),
                    buyer_tax_id=buyer, first=_hm(first.issued_at), last=_hm(last.issued_at),
                    smallest=yuan(min(r.gross for r in c)), largest=yuan(max(r.gross for r in c)),
                    percent=s["split_cap_percent"], cap=yuan(cap), total=yuan(total))),
                _utc(first.issued_at), _utc(last.issued_at)))
    return out


# ------------------------------------------------------------------ rule: volume spike
def _daily(rows):
    days = defaultdict(lambda: [0, 0, []])
    for r in rows:
        if r.is_red_letter or not r.day:
            continue
        d = days[r.day]
        d[0] += 1
        d[1] += r.gross
        d[2].append(r)
    return days


def _mad(values, center):
    return statistics.median([abs(v - center) for v in values])


def volume_spike(rows, s, evaluate_from=None):
    """A day whose invoice count or gross is far above the merchant's own baseline: the
    ``volume_baseline_days`` calendar days before it (quiet days count as 0), once the merchant
    has ``volume_min_history_days`` of history. Far above = robust z ≥ volume_z, where z is
    (value − median) / (1.4826 · MAD), and ≥ volume_ratio times the median (or the mean, when
    larger), with at least volume_min_invoices invoices that day. Floors keep a small MAD from
    making an ordinary busy day a spike: √median for counts (the spread of counts that arrive
    at random), half the mean for gross; and a gross spike needs the count's z at half the
    threshold too (one large sale is the per-invoice cap's business, not a volume spike)."""
    daily = _daily(rows)
    if not daily:
        return []
    first_day = date.fromisoformat(min(daily))
    base_days = int(s["volume_baseline_days"])
    min_history = int(s["volume_min_history_days"])
    z_need, ratio, min_invoices = float(s["volume_z"]), float(s["volume_ratio"]), int(s["volume_min_invoices"])
    out = []
    for day_text, (count, gross, day_rows) in daily.items():
        if count < min_invoices or (evaluate_from and day_text < evaluate_from):
            continue
        day = date.fromisoformat(day_text)
        if (day - first_day).days < min_history:
            continue
        start = max(first_day, day - timedelta(days=base_days))
        span = [(start + timedelta(days=i)).isoformat() for i in range((day - start).days)]
        counts = [daily[d][0] if d in daily else 0 for d in span]
        grosses = [daily[d][1] if d in daily else 0 for d in span]
        med_c, med_g = statistics.median(counts), statistics.median(grosses)
        mean_c, mean_g = statistics.fmean(counts), statistics.fmean(grosses)
        mad_c, mad_g = _mad(counts, med_c), _mad(grosses, med_g)
        scale_c = max(1.4826 * mad_c, math.sqrt(max(med_c, mean_c)), 1.0)
        scale_g = max(1.4826 * mad_g, 0.5 * mean_g, 100.0)
        z_c, z_g = (count - med_c) / scale_c, (gross - med_g) / scale_g
        hit_c = z_c >= z_need and count >= ratio * max(med_c, mean_c, 1.0)
        # the gross only counts with the count up too: one large sale is the cap's business, not a spike
        hit_g = z_g >= z_need and gross >= ratio * max(med_g, mean_g, 1.0) and z_c >= z_need / 2
        if not (hit_c or hit_g):
            continue
        first = day_rows[0]
        m = first.seller
        severity = "high" if max(z_c if hit_c else 0, z_g if hit_g else 0) >= 2 * z_need else "medium"
        what = _l("invoice count and gross") if hit_c and hit_g else _l("invoice count") if hit_c else \
            _l("invoice gross")
        out.append(Finding(
            "volume_spike", severity, _fingerprint("volume_spike", m, day_text), [m], _numbers(day_rows),
            {"day": day_text, "count": count, "gross": gross, "baseline_days": len(span),
             "median_count": med_c, "mad_count": mad_c, "median_gross": med_g, "mad_gross": mad_g,
             "mean_count": round(mean_c, 2), "mean_gross": round(mean_g), "z_count": round(z_c, 1),
             "z_gross": round(z_g, 1), "spike_in": [x for x, hit in (("count", hit_c), ("gross", hit_g)) if hit],
             "invoices_listed": min(count, MAX_EVIDENCE_INVOICES)},
            explained(_l("%(seller)s (%(tax_id)s) issued %(count)s invoices, %(gross)s, on %(day)s: far above its "
                      "baseline of the %(days)s days before (daily median %(median_count)s invoices, "
                      "%(median_gross)s; robust z: count %(z_count)s, gross %(z_gross)s). A spike in %(what)s.",
                      seller=first.seller_name or m, tax_id=m, count=count, gross=yuan(gross), day=day_text,
                      days=len(span), median_count=f"{med_c:g}", median_gross=yuan(round(med_g)),
                      z_count=f"{z_c:.1f}", z_gross=f"{z_g:.1f}", what=what)),
            _day_start(day_text), _day_start(day_text) + timedelta(days=1)))
    return out


# ------------------------------------------------------------------ rule: dormant, then a burst
def dormant_burst(rows, s, evaluate_from=None):
    """A merchant that issued nothing for ``dormant_days`` (after having issued before)
    and then ``dormant_burst_invoices`` or more within ``dormant_burst_days``."""
    originals = sorted(_originals(rows), key=lambda r: (r.issued_at, r.number))
    gap, burst_s, need = int(s["dormant_days"]) * 86400, int(s["dormant_burst_days"]) * 86400, \
        int(s["dormant_burst_invoices"])
    out = []
    for i in range(1, len(originals)):
        prev, cur = originals[i - 1], originals[i]
        if cur.issued_at - prev.issued_at < gap or (evaluate_from and cur.day < evaluate_from):
            continue
        burst = [r for r in originals[i:] if r.issued_at - cur.issued_at < burst_s]
        if len(burst) < need:
            continue
        m = cur.seller
        quiet = (cur.issued_at - prev.issued_at) // 86400
        total = sum(r.gross for r in burst)
        out.append(Finding(
            "dormant_burst", "medium", _fingerprint("dormant_burst", m, cur.day), [m], _numbers(burst),
            {"quiet_days": quiet, "last_before": prev.day, "last_before_number": prev.number, "burst_from": cur.day,
             "burst_days": int(s["dormant_burst_days"]), "count": len(burst), "gross": total},
            explained(_l("%(seller)s (%(tax_id)s) issued nothing for %(quiet)s days (since %(last_day)s), then "
                      "%(count)s invoices, %(gross)s, within %(burst)s from %(day)s: a dormant account "
                      "suddenly busy.",
                      seller=cur.seller_name or m, tax_id=m, quiet=quiet, last_day=prev.day, count=len(burst),
                      gross=yuan(total), day=cur.day,
                      burst=_l("1 day") if int(s["dormant_burst_days"]) == 1
                      else _l("%(days)s days", days=s["dormant_burst_days"]))),
            _utc(cur.issued_at), _utc(burst[-1].issued_at)))
    return out


# ------------------------------------------------------------------ monthly rules
def _months(rows, evaluate_from=None):
    by_month = defaultdict(list)
    for r in rows:
        if r.day and not (evaluate_from and r.day[:7] < evaluate_from[:7]):
            by_month[r.day[:7]].append(r)
    return by_month


def _month_window(month):
    start = _day_start(month + "-01")
    y, mo = int(month[:4]), int(month[5:7])
    end = _day_start(f"{y + (mo == 12)}-{1 if mo == 12 else mo + 1:02d}-01")
    return start, end


def _monthly(kind, rows, evaluate_from, assess):
    """A monthly rule: ``assess(month, originals, group)`` of each month's invoices (China
    time) → None, or (severity, the invoices named, evidence, explanation) of a finding."""
    out = []
    for month, group in _months(rows, evaluate_from).items():
        originals = _originals(group)
        found = assess(month, originals, group) if originals else None
        if found:
            severity, named, evidence, explanation = found
            m = originals[0].seller
            out.append(Finding(kind, severity, _fingerprint(kind, m, month), [m], _numbers(named),
                               {"month": month, **evidence}, explanation, *_month_window(month)))
    return out


def _who(originals):
    """(tax ID, name) of the merchant whose month it is."""
    return originals[0].seller, originals[0].seller_name or originals[0].seller


def high_void_ratio(rows, s, evaluate_from=None):
    """Of the invoices a merchant issued in a month (China time), void_ratio_percent % or
    more were voided or red-lettered (at least void_min_invoices invoices that month)."""
    threshold = int(s["void_ratio_percent"])

    def assess(month, originals, group):
        if len(originals) < int(s["void_min_invoices"]):
            return None
        voided = [r for r in originals if r.status == "Voided"]
        lettered = [r for r in originals if r.status in ("RedLettered", "PartlyRedLettered")]
        ratio = (len(voided) + len(lettered)) / len(originals)
        if ratio * 100 < threshold:
            return None
        m, name = _who(originals)
        return ("high" if ratio * 100 >= 2 * threshold else "medium", voided + lettered,
                {"invoices": len(originals), "voided": len(voided), "red_lettered": len(lettered),
                 "red_letter_notes": sum(1 for r in group if r.is_red_letter), "ratio": round(ratio, 4),
                 "threshold_percent": threshold},
                explained(_l("Of the %(count)s invoices %(seller)s (%(tax_id)s) issued in %(month)s, %(voided)s were "
                          "voided and %(lettered)s red-lettered: %(share)s (threshold %(threshold)s%%).",
                          count=len(originals), seller=name, tax_id=m, month=month, voided=len(voided),
                          lettered=len(lettered), share=_pct(ratio), threshold=threshold)))

    return _monthly("high_void_ratio", rows, evaluate_from, assess)


def round_amounts(rows, s, evaluate_from=None):
    """In a month, round_share_percent % or more of a merchant's invoices have a gross that
    is a whole multiple of round_unit_fen (¥1,000 by default): with tax on top, real sales
    rarely come out round (at least round_min_invoices invoices that month)."""
    unit = int(s["round_unit_fen"])

    def assess(month, originals, group):
        if len(originals) < int(s["round_min_invoices"]):
            return None
        rounded = [r for r in originals if r.gross > 0 and r.gross % unit == 0]
        share = len(rounded) / len(originals)
        if share * 100 < int(s["round_share_percent"]):
            return None
        m, name = _who(originals)
        return ("low", rounded,
                {"invoices": len(originals), "round": len(rounded), "share": round(share, 4), "unit_fen": unit,
                 "threshold_percent": int(s["round_share_percent"])},
                explained(_l("%(round)s of the %(count)s invoices %(seller)s (%(tax_id)s) issued in %(month)s "
                          "(%(share)s) have a gross that is a whole multiple of %(unit)s: round amounts cluster.",
                          round=len(rounded), count=len(originals), seller=name, tax_id=m, month=month,
                          share=_pct(share), unit=yuan(unit))))

    return _monthly("round_amounts", rows, evaluate_from, assess)


def _night(hour, s):
    a, b = int(s["night_start_hour"]), int(s["night_end_hour"])
    return a <= hour < b if a < b else (hour >= a or hour < b)


def unusual_hours(rows, s, evaluate_from=None):
    """In a month, night_min_invoices or more invoices issued between night_start_hour and
    night_end_hour China time, and night_share_percent % or more of the month's invoices."""
    a, b = int(s["night_start_hour"]), int(s["night_end_hour"])

    def assess(month, originals, group):
        night = [r for r in originals if r.issued_at and _night(_china(r.issued_at).hour, s)]
        if len(night) < int(s["night_min_invoices"]):
            return None
        share = len(night) / len(originals)
        if share * 100 < int(s["night_share_percent"]):
            return None
        m, name = _who(originals)
        return ("low", night,
                {"invoices": len(originals), "at_night": len(night), "share": round(share, 4),
                 "hours": f"{a:02d}:00–{b:02d}:00", "times": [_hm(r.issued_at) for r in night[:20]]},
                explained(_l("%(seller)s (%(tax_id)s) issued %(night)s invoices (%(share)s of its month) in %(month)s "
                          "between %(start)s and %(end)s China time: issuance at unusual hours.",
                          seller=name, tax_id=m, night=len(night), share=_pct(share), month=month,
                          start=f"{a:02d}:00", end=f"{b:02d}:00")))

    return _monthly("unusual_hours", rows, evaluate_from, assess)


def buyer_concentration(rows, s, evaluate_from=None):
    """In a month with at least concentration_min_invoices invoices, one buyer takes
    concentration_share_percent % or more of the merchant's gross."""

    def assess(month, originals, group):
        originals = [r for r in originals if r.buyer]
        if len(originals) < int(s["concentration_min_invoices"]):
            return None
        total = sum(r.gross for r in originals)
        if total <= 0:
            return None
        by_buyer = defaultdict(list)
        for r in originals:
            by_buyer[r.buyer].append(r)
        buyer, top = max(by_buyer.items(), key=lambda kv: (sum(r.gross for r in kv[1]), kv[0]))
        top_gross = sum(r.gross for r in top)
        share = top_gross / total
        if share * 100 < int(s["concentration_share_percent"]):
            return None
        m, name = _who(originals)
        top_name = top[0].buyer_name or buyer
        return ("low", top,
                {"invoices": len(originals), "buyers": len(by_buyer), "top_buyer": buyer,
                 "top_buyer_name": top[0].buyer_name, "top_buyer_invoices": len(top), "top_buyer_gross": top_gross,
                 "gross": total, "share": round(share, 4)},
                explained(_l("%(share)s of %(seller)s (%(tax_id)s)'s gross in %(month)s (%(top_gross)s of %(gross)s, "
                          "%(top_count)s of %(count)s invoices) went to one buyer, %(buyer)s (%(buyer_tax_id)s).",
                          share=_pct(share), seller=name, tax_id=m, month=month, top_gross=yuan(top_gross),
                          gross=yuan(total), top_count=len(top), count=len(originals), buyer=top_name,
                          buyer_tax_id=buyer)))

    return _monthly("buyer_concentration", rows, evaluate_from, assess)


MERCHANT_RULES = {"volume_spike": volume_spike, "dormant_burst": dormant_burst, "high_void_ratio": high_void_ratio,
                  "round_amounts": round_amounts, "unusual_hours": unusual_hours,
                  "buyer_concentration": buyer_concentration}


