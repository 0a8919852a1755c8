#!/usr/bin/python3
"""The PromQL of the Grafana dashboards (deploy/grafana) and the alert rules
(deploy/prometheus/alerts.yml), and the metric contract it must keep to.

Used by promql_offline.sh and prometheus_live.sh (run with /usr/bin/python3:
it needs Debian's python3-yaml for alerts.yml):

  promql_exprs.py rules OUT.yml DASHBOARD.json...
      every dashboard expression (targets[].expr, PromQL template variable
      queries) with the Grafana variables substituted, as recording rules
      for `promtool check rules`
  promql_exprs.py contract [--alerts ALERTS.yml] DASHBOARD.json...
      every metric name (and the label matchers on it) must be in CONTRACT;
      prints the problems and exits 1
  promql_exprs.py live [--alerts ALERTS.yml] URL DASHBOARD.json...
      evaluates every dashboard and alert expression on the Prometheus at
      URL (dashboard variables -> ".+", so they must be used with =~);
      comparisons get `bool`, so that an alert condition or a `> 0` filter
      returns samples whenever its metrics exist; reports which return data
      and exits 1 when one whose metrics all exist there returns nothing
"""
import json
import os
import re
import sys

# The contract: every metric the dashboards and alerts may use, its type
# and its labels (besides job and instance, which Prometheus adds).
# <service> metrics exist for signaling, routing and media.
SERVICE_METRICS = {
    "trunkline_{s}_topology_last_reload_success": ("gauge", []),
    "trunkline_{s}_topology_reloads_total": ("counter", ["result"]),
    "trunkline_{s}_topology_info": ("gauge", ["version"]),
    "trunkline_{s}_admin_denied_total": ("counter", []),
}
CONTRACT = {
    "up": ("gauge", []),
    "trunkline_routing_decisions_total": ("counter", ["result"]),
    "trunkline_routing_decision_duration_seconds": ("histogram", []),
    "trunkline_signaling_calls_received_total": ("counter", ["direction"]),
    "trunkline_signaling_grpc_client_duration_seconds": ("histogram", ["method"]),
    "trunkline_signaling_calls_attempted_total": ("counter", ["trunk", "direction"]),
    "trunkline_signaling_calls_answered_total": ("counter", ["trunk", "direction"]),
    "trunkline_signaling_calls_failed_total": ("counter", ["trunk", "direction", "sip_class"]),
    "trunkline_signaling_active_calls": ("gauge", ["trunk", "direction"]),
    "trunkline_signaling_max_concurrent_calls": ("gauge", ["trunk"]),
    "trunkline_signaling_failovers_total": ("counter", ["trunk", "reason"]),
    "trunkline_signaling_post_dial_delay_seconds": ("histogram", ["trunk"]),
    "trunkline_signaling_trunk_media_mos": ("histogram", ["trunk"]),
    "trunkline_signaling_trunk_media_loss_ratio": ("histogram", ["trunk"]),
    "trunkline_signaling_trunk_media_jitter_milliseconds": ("histogram", ["trunk"]),
    "trunkline_signaling_gateway_up": ("gauge", ["trunk", "gateway"]),
    "trunkline_signaling_tls_certificate_expiry_timestamp_seconds": (
        "gauge", ["socket"]),
    "trunkline_signaling_tls_certificate_renewed": ("gauge", ["socket"]),
    "trunkline_signaling_gateway_fqdn_addresses": ("gauge", ["name"]),
    "trunkline_signaling_gateway_fqdn_resolving": ("gauge", ["name"]),
    "trunkline_signaling_options_rtt_seconds": ("gauge", ["trunk", "gateway"]),
    "trunkline_signaling_routing_answering": ("gauge", []),
    "trunkline_signaling_untrusted_requests_total": ("counter", ["method"]),
    "trunkline_media_sessions": ("gauge", []),
    "trunkline_media_streams": ("gauge", []),
    "trunkline_media_relayed_packets_total": ("counter", ["direction", "crypto"]),
    "trunkline_media_relayed_bytes_total": ("counter", ["direction", "crypto"]),
    "trunkline_media_dropped_packets_total": ("counter", ["reason"]),
    "trunkline_media_events_total": ("counter", ["kind"]),
    "trunkline_media_orphaned_sessions_deleted_total": ("counter", ["reason"]),
    "trunkline_media_port_pairs": ("gauge", ["state"]),
    "trunkline_media_stream_jitter_milliseconds": ("histogram", []),
    "trunkline_media_stream_loss_ratio": ("histogram", []),
    "trunkline_media_stream_mos": ("histogram", []),
}
for _s in ("signaling", "routing", "media"):
    for _name, _v in SERVICE_METRICS.items():
        CONTRACT[_name.format(s=_s)] = _v
TARGET_LABELS = ["job", "instance"]


def series_names():
    """Every series name the contract allows (histograms: _bucket, _sum, _count)
    with the labels each may carry."""
    out = {}
    for name, (kind, labels) in CONTRACT.items():
        labels = labels + TARGET_LABELS
        if kind == "histogram":
            out[name + "_bucket"] = labels + ["le"]
            out[name + "_sum"] = labels
            out[name + "_count"] = labels
        else:
            out[name] = labels
    return out


SERIES = series_names()

# ---------------------------------------------------------------- tokenizer
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or",
            "unless", "atan2", "inf", "nan", "start", "end",
            # aggregations, which may come before their `by (...)`
            "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
            "quantile", "limitk", "limit_ratio"}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
TOKEN = re.compile(r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>0x[0-9a-fA-F]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?(?:(?:ms|s|m|h|d|w|y)[0-9]*)*)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|==|!=|>=|<=|[-+*/%^<>=(){}\[\],@])
""", re.X)


def tokens(expr):
    pos = 0
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            raise ValueError(f"cannot tokenize at {expr[pos:pos + 20]!r}")
        pos = m.end()
        if m.lastgroup != "ws":
            yield m.lastgroup, m.group(), m.start()


def unquote(s):
    return json.loads(s) if s[0] == '"' else s[1:-1]


def selectors(expr):
    """The vector selectors of expr: [(metric name or None, [(label, op, value)])]."""
    toks = list(tokens(expr))
    out = []
    i = 0
    while i < len(toks):
        kind, text, _ = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        if kind == "ident" and text in LABEL_LIST_KEYWORDS and nxt == "(":
            i += 2  # skip the label list
            while i < len(toks) and toks[i][1] != ")":
                i += 1
            i += 1
            continue
        if kind == "ident" and (nxt == "(" or text in KEYWORDS):
            i += 1  # a function, an aggregation or a keyword
            continue
        if text == "[":
            while i < len(toks) and toks[i][1] != "]":
                i += 1
            i += 1
            continue
        if kind == "ident" or text == "{":
            name = text if kind == "ident" else None
            i += 1 if kind == "ident" else 0
            matchers = []
            if i < len(toks) and toks[i][1] == "{":
                i += 1
                while i < len(toks) and toks[i][1] != "}":
                    if toks[i][1] == ",":
                        i += 1
                        continue
                    label, op, value = toks[i][1], toks[i + 1][1], unquote(toks[i + 2][1])
                    matchers.append((label, op, value))
                    i += 3
                i += 1
            out.append((name, matchers))
            continue
        i += 1
    return out


def metrics_of(expr):
    """(names, regexes): the metric names expr selects, and the anchored
    __name__ regexes of selectors without a name."""
    names, regexes = set(), set()
    for name, matchers in selectors(expr):
        if name:
            names.add(name)
        for label, op, value in matchers:
            if label == "__name__" and op == "=":
                names.add(value)
            elif label == "__name__" and op == "=~":
                regexes.add(value)
    return names, regexes


def boolify(expr):
    """Adds `bool` to every comparison outside braces, so a filtering alert
    condition returns 0/1 samples instead of nothing."""
    out, depth, last = [], 0, 0
    for kind, text, start in tokens(expr):
        if text == "{":
            depth += 1
        elif text == "}":
            depth -= 1
        elif depth == 0 and text in ("==", "!=", ">=", "<=", ">", "<"):
            end = start + len(text)
            rest = expr[end:].lstrip()
            if not rest.startswith("bool"):
                out.append(expr[last:end] + " bool")
                last = end
    out.append(expr[last:])
    return "".join(out)


def contract_problems(where, expr):
    problems = []
    for name, matchers in selectors(expr):
        candidates = []
        if name:
            if name not in SERIES:
                problems.append(f"{where}: metric {name} is not in the contract")
                continue
            candidates = [name]
        for label, op, value in matchers:
            if label == "__name__" and op in ("=", "=~"):
                rx = re.compile(f"^(?:{value})$")
                matched = [s for s in SERIES if rx.match(s)]
                if not matched:
                    problems.append(f"{where}: __name__{op}{value!r} matches no metric of the contract")
                candidates = candidates + matched if not name else candidates
        for label, op, value in matchers:
            if label == "__name__":
                continue
            if candidates and not any(label in SERIES[c] for c in candidates):
                problems.append(f"{where}: label {label} is not a label of {', '.join(sorted(candidates))}")
    return problems


# ---------------------------------------------------------------- sources
BUILTIN_SUBSTITUTIONS = {
    "__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__auto": "1m",
    "__interval_ms": "60000", "__rate_interval_ms": "300000", "__range_s": "3600", "__range_ms": "3600000",
}
VAR = re.compile(r"\$\{([A-Za-z0-9_]+)(?:[.:][^}]*)?\}|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]|\$([A-Za-z0-9_]+)")


def substitute(expr, values):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in BUILTIN_SUBSTITUTIONS:
            return BUILTIN_SUBSTITUTIONS[name]
        if name in values:
            return values[name]
        raise ValueError(f"undefined Grafana variable ${name}")
    return VAR.sub(repl, expr)


def variable_query_expr(query):
    """The PromQL inside a Prometheus template variable query, or None."""
    q = query.strip()
    m = re.fullmatch(r"label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)", q, re.S)
    if m:
        return m.group(1)
    m = re.fullmatch(r"query_result\((.*)\)", q, re.S)
    if m:
        return m.group(1)
    return None  # label_values(label), label_names(), metrics(regex): no PromQL


def dashboard_exprs(path, sample_value):
    """[(where, raw expr, substituted expr)] of one dashboard file. Template
    variables other than Grafana's built-in ones become sample_value."""
    d = json.load(open(path))
    base = os.path.basename(path)
    variables = (d.get("templating") or {}).get("list") or []
    values = {v["name"]: sample_value for v in variables}
    out = []
    for v in variables:
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        e = variable_query_expr(q or "")
        if e:
            out.append((f"{base} variable {v['name']}", e))
    for a in (d.get("annotations") or {}).get("list") or []:
        if a.get("expr"):
            out.append((f"{base} annotation {a.get('name')}", a["expr"]))
    panels = []
    for p in d.get("panels") or []:
        panels.append(p)
        panels.extend(p.get("panels") or [])
    for p in panels:
        for t in p.get("targets") or []:
            if t.get("expr"):
                out.append((f"{base} panel {p.get('id')} \"{p.get('title')}\" {t.get('refId')}", t["expr"]))
    return [(w, e, substitute(e, values)) for w, e in out]


def alert_exprs(path):
    import yaml
    doc = yaml.safe_load(open(path))
    out = []
    for g in doc.get("groups") or []:
        for r in g.get("rules") or []:
            name = r.get("alert") or r.get("record")
            out.append((f"{os.path.basename(path)} {name}", r["expr"], r["expr"]))
    return out


def live_exprs(files, alerts):
    exprs = [x for f in files for x in dashboard_exprs(f, ".+")]
    if alerts:
        exprs += alert_exprs(alerts)
    return [(where, raw, boolify(query)) for where, raw, query in exprs]


def evaluate(url, exprs):
    import urllib.parse
    import urllib.request

    def api(path, **params):
        data = urllib.parse.urlencode(params).encode() if params else None
        with urllib.request.urlopen(url + path, data=data, timeout=30) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise RuntimeError(body.get("error"))
        return body["data"]

    present = set(api("/api/v1/label/__name__/values"))
    counts = {"data": 0, "empty": 0, "skipped": 0, "failed": 0}
    for where, raw, query in exprs:
        names, regexes = metrics_of(query)
        missing = sorted(names - present)
        missing += [f"__name__=~{rx!r}" for rx in sorted(regexes)
                    if not any(re.match(f"^(?:{rx})$", n) for n in present)]
        try:
            result = api("/api/v1/query", query=query)["result"]
            error = None
        except Exception as e:  # a query Prometheus refuses fails whatever the metrics
            result, error = [], str(getattr(e, "read", lambda: b"")().decode() or e)
        if error:
            status = "FAILED"
            counts["failed"] += 1
        elif result:
            status = f"data ({len(result)} series)"
            counts["data"] += 1
        elif missing:
            status = "skipped"
            counts["skipped"] += 1
        else:
            status = "EMPTY"
            counts["empty"] += 1
        print(f"{status:<17} {where}" + (f"  (not scraped: {', '.join(missing)})" if status == "skipped" else ""))
        if error or (not result and not missing):
            print(f"    {query}", file=sys.stderr)
            if error:
                print(f"    {error}", file=sys.stderr)
    print(f"{len(exprs)} expressions: {counts['data']} return data, {counts['skipped']} use metrics not scraped, "
          f"{counts['empty']} empty although scraped, {counts['failed']} failed")
    return 1 if counts["empty"] or counts["failed"] else 0


def main(argv):
    cmd, args = argv[1], argv[2:]
    alerts = None
    if args[:1] == ["--alerts"]:
        alerts, args = args[1], args[2:]
    if cmd == "rules":
        out, files = args[0], args[1:]
        rules, n = [], 0
        for f in files:
            for where, _, expr in dashboard_exprs(f, "example"):
                n += 1
                rules.append({"record": f"trunkline_dashboard:expr_{n}", "expr": expr,
                              "labels": {"source": where}})
        with open(out, "w") as fh:
            json.dump({"groups": [{"name": "dashboards", "rules": rules}]}, fh, indent=1)  # JSON is YAML
        print(f"{n} expressions from {len(files)} dashboards")
        return 0
    if cmd == "contract":
        exprs = [x for f in args for x in dashboard_exprs(f, "example")]
        if alerts:
            exprs += alert_exprs(alerts)
        problems = []
        for where, _, expr in exprs:
            problems += contract_problems(where, expr)
        for p in problems:
            print(p, file=sys.stderr)
        used = set()
        for _, _, expr in exprs:
            names, regexes = metrics_of(expr)
            used |= names
            for rx in regexes:
                used |= {s for s in SERIES if re.match(f"^(?:{rx})$", s)}
        print(f"{len(exprs)} expressions use {len(used)} of the {len(SERIES)} series names of the contract")
        return 1 if problems else 0
    if cmd == "live":
        url, files = args[0], args[1:]
        return evaluate(url, live_exprs(files, alerts))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
