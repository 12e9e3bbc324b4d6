"""The circular-invoicing rule: cycles of merchants invoicing each other, found by networkx."""
import bisect
import itertools
from collections import defaultdict

import networkx as nx

from ...core.canonical import yuan
from .base import VOIDED, Finding, _china, _fingerprint, _hm, _numbers, _utc, explained
from .base import Phrase as _l  # a message of an explanation, translated when stored (extracted as `_l`)

MAX_CYCLES_PER_WINDOW = 5000  # simple cycles looked at in one window's graph (a guard, not a limit met in practice)

def circular_invoicing(rows, s, merchants, touching=None):
    """Cycles of sellers and buyers (A→B→C→A: A invoices B, B invoices C, C invoices A, the
    buyers being merchants' tax IDs) whose every edge has an invoice within
    circular_window_days, of circular_min_length to circular_max_length merchants, the
    smallest edge total at least circular_similarity_percent % of the largest (the same money
    going round: the classic pattern of fictitious invoicing, 虚开).

    The graph of each stretch of two windows (a new one every window, so an instance is
    inside one of them) goes to networkx's ``simple_cycles`` with a length bound; each cycle
    found is then placed in time over all its edges' invoices (its first instance: the
    earliest window holding an invoice of every edge), which names the alert. ``touching``:
    only cycles through one of these merchants (an incremental run)."""
    window = int(s["circular_window_days"]) * 86400
    lo, hi = int(s["circular_min_length"]), int(s["circular_max_length"])
    if lo > hi:
        return []
    edges = defaultdict(list)  # (seller, buyer) -> rows, by time
    for r in rows:
        if not r.is_red_letter and r.buyer and r.buyer in merchants and r.buyer != r.seller and \
                r.status not in VOIDED:
            edges[(r.seller, r.buyer)].append(r)
    if not edges:
        return []
    for group in edges.values():
        group.sort(key=lambda r: (r.issued_at, r.number))
    first = min(group[0].issued_at for group in edges.values())
    stamps = {pair: [r.issued_at for r in group] for pair, group in edges.items()}
    # windows [first + k·W, first + (k+2)·W]: any instance (all its edges within W) lies inside one
    ks = sorted({k for ts in stamps.values() for t in ts for k in ((t - first) // window - 1, (t - first) // window)
                 if k >= 0} | {0})
    found, seen_cycles = {}, set()
    for k in ks:
        start, end = first + k * window, first + (k + 2) * window
        graph = nx.DiGraph()
        for pair, ts in stamps.items():
            i = bisect.bisect_left(ts, start)
            if i < len(ts) and ts[i] <= end:
                graph.add_edge(*pair)
        if graph.number_of_edges() < lo:
            continue
        for cycle in itertools.islice(nx.simple_cycles(graph, length_bound=hi), MAX_CYCLES_PER_WINDOW):
            if len(cycle) < lo:
                continue
            key = _canonical_cycle(cycle)
            if key in seen_cycles or (touching and not set(key) & touching):
                continue
            seen_cycles.add(key)
            for f in _cycle_instances(key, edges, window, s):
                found[f.fingerprint] = f
    return list(found.values())


def _canonical_cycle(cycle):
    i = cycle.index(min(cycle))
    return tuple(cycle[i:] + cycle[:i])


def _cycle_instances(cycle, edges, window, s):
    pairs = [(cycle[i], cycle[(i + 1) % len(cycle)]) for i in range(len(cycle))]
    merged = sorted(((r.issued_at, r.number, k, r) for k, p in enumerate(pairs) for r in edges[p]))
    out = []
    i, n = 0, len(merged)
    while i < n:
        t0 = merged[i][0]
        inside = [m for m in merged[i:] if m[0] <= t0 + window]
        if len({m[2] for m in inside}) == len(pairs):
            per_edge = defaultdict(list)
            for _, _, k, r in inside:
                per_edge[k].append(r)
            totals = [sum(r.gross for r in per_edge[k]) for k in range(len(pairs))]
            if min(totals) * 100 >= int(s["circular_similarity_percent"]) * max(totals):
                out.append(_cycle_finding(cycle, pairs, per_edge, totals, t0, s))
            while i < n and merged[i][0] <= t0 + window:  # the next instance starts after this window
                i += 1
            continue
        i += 1
    return out


def _cycle_finding(cycle, pairs, per_edge, totals, t0, s):
    names = {a: per_edge[k][0].seller_name or a for k, (a, _) in enumerate(pairs)}  # each merchant's own name
    invoices = [r for k in range(len(pairs)) for r in per_edge[k]]
    last = max(r.issued_at for r in invoices)
    day = _china(t0).date().isoformat()
    path = [_l("%(name)s (%(tax_id)s)", name=names[m], tax_id=m) for m in [*cycle, cycle[0]]]
    legs = [{"seller": a, "buyer": b, "invoices": [r.number for r in per_edge[k]], "gross": totals[k]}
            for k, (a, b) in enumerate(pairs)]
    days = max(1, -(-(last - t0) // 86400))
    return Finding(
        "circular_invoicing", "high", _fingerprint("circular_invoicing", ">".join(cycle), day), list(cycle),
        _numbers(invoices),
        {"cycle": list(cycle), "length": len(cycle), "legs": legs, "first_at": _hm(t0), "last_at": _hm(last),
         "window_days": int(s["circular_window_days"]), "smallest_leg_gross": min(totals),
         "largest_leg_gross": max(totals)},
        explained(_l("%(count)s merchants invoiced each other in a cycle within %(span)s (%(first)s to %(last)s China "
                  "time): %(path)s; each leg %(smallest)s–%(largest)s. Invoices going round back to where they "
                  "started are the classic pattern of fictitious invoicing.",
                  count=len(cycle), span=_l("1 day") if days == 1 else _l("%(days)s days", days=days),
                  first=_hm(t0), last=_hm(last), path=path, smallest=yuan(min(totals)), largest=yuan(max(totals)))),
        _utc(t0), _utc(last))


