#!/usr/bin/env python3
"""Turns the raw results of bench/run (JSON lines) into the Markdown table and the PNG chart.

Usage: report.py --meta META.json --results RESULTS.jsonl --md OUT.md --png OUT.png
"""

import argparse
import json
import statistics
import sys

SERVER_ORDER = ["hafen", "nginx", "apache", "dufs", "rclone"]
SERVER_NAMES = {
    "hafen": "Hafen",
    "nginx": "nginx-dav",
    "apache": "Apache mod_dav",
    "dufs": "dufs",
    "rclone": "rclone serve",
    "nginx-static": "nginx static",
    "ref": "physical",
}
PEERS = ["nginx", "apache", "dufs", "rclone"]


def human_size(n):
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("GB", 10**9), ("MB", 10**6), ("KiB", 1 << 10)):
        if n >= div and n % div == 0:
            return f"{n // div} {unit}"
    return f"{n} B"


def rows(meta):
    z = meta["sizes"]
    big = human_size(z["big"])
    # key, label, workload, field, unit, better, scale, reference source, goal
    return [
        ("W1", f"W1 PUT {big}, one request", "W1", "mbps", "MB/s", "up", 1, ("ref", "dd conv=fsync"),
         ("nginx", 1.0, "≥ 1.0× nginx-dav")),
        ("W2", f"W2 GET {big}", "W2", "mbps", "MB/s", "up", 1, ("ref", "page-cache read"),
         ("best", 0.9, "≥ 0.9× best peer")),
        ("W3", f"W3 PUT {z['w3']} × 4 KiB, {z['w3_conc']} conns", "W3", "files_per_s", "files/s", "up", 1,
         ("ref", "create + one sync"), ("best", 2.0, "≥ 2× best peer")),
        ("W4", f"W4 PROPFIND Depth 1, {z['w4']} files", "W4", "ms", "ms", "down", 1,
         ("ref", "readdir + stat"), ("nginx", 1.0, "≤ nginx-dav")),
        ("W4b", "W4 response size", "W4", "bytes", "KB", "info", 1e-3, None, None),
        ("W5", f"W5 GET 4 KiB, {z['w5_conc']} conns, {z['w5_secs']} s", "W5", "rps", "req/s", "up", 1,
         ("nginx-static", "nginx static"), ("nginx", 1.0, "≥ 1.0× nginx-dav")),
        ("W5p50", "W5 latency p50", "W5", "p50_ms", "ms", "down", 1, ("nginx-static", "nginx static"), None),
        ("W5p99", "W5 latency p99", "W5", "p99_ms", "ms", "down", 1, ("nginx-static", "nginx static"), None),
        ("W6", f"W6 chunked upload {human_size(z['w6'])} (Hafen only)", "W6", "mbps", "MB/s", "up", 1,
         ("refW1", "dd conv=fsync"), None),
        ("W6m", "W6 final MOVE", "W6", "move_secs", "s", "down", 1, None, ("abs", 1.0, "< 1 s")),
        ("mem_idle", "RSS idle after start", "mem_idle", "rss_kb", "MB", "down", 1 / 1024, None,
         ("abs", 20.0, "≤ 20 MB")),
        ("mem_peak_w1_w4", "peak RSS, start to end of W4", "mem_peak_w1_w4", "rss_kb", "MB", "down", 1 / 1024,
         None, None),
        ("mem_peak_w5", "peak RSS during W5", "mem_peak_w5", "rss_kb", "MB", "down", 1 / 1024, None,
         ("abs", 100.0, "≤ 100 MB")),
    ]


def load(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    print(f"report.py: skipping bad line: {line[:200]}", file=sys.stderr)
    return out


class Stats:
    def __init__(self, values, status=None):
        self.values = values
        self.status = status  # None (values present), "n/a" or "failed"

    @property
    def median(self):
        return statistics.median(self.values) if self.values else None


def collect(results, server, workload, field, scale):
    recs = [r for r in results if r["server"] == server and r["w"] == workload]
    if not recs:
        return None
    values = []
    for r in recs:
        d = r.get("data") or {}
        if d.get("supported") is False:
            return Stats([], "n/a")
        if d.get("ok") and d.get(field) is not None:
            values.append(float(d[field]) * scale)
    return Stats(values) if values else Stats([], "failed")


def fmt(v):
    if v is None:
        return "—"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def cell(st):
    if st is None:
        return ""
    if st.status:
        return st.status
    if len(st.values) == 1 or fmt(min(st.values)) == fmt(max(st.values)):
        return fmt(st.values[0])
    return f"{fmt(st.median)} ({fmt(min(st.values))}–{fmt(max(st.values))})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--png", required=True)
    args = ap.parse_args()

    with open(args.meta) as f:
        meta = json.load(f)
    results = load(args.results)
    servers = [s for s in SERVER_ORDER if any(r["server"] == s for r in results)]
    peers = [s for s in servers if s in PEERS]

    table = []  # (row spec, {server: Stats}, ref Stats, best peer name, ratio best, ratio ref, goal text)
    for spec in rows(meta):
        key, label, w, field, unit, better, scale, ref, goal = spec
        per = {s: collect(results, s, w, field, scale) for s in servers}
        static = collect(results, "nginx-static", w, field, scale)
        ref_st = None
        if ref:
            src = ref[0]
            if src == "ref":
                ref_st = collect(results, "ref", w, field, scale)
            elif src == "refW1":
                ref_st = collect(results, "ref", "W1", field, scale)
            elif src == "nginx-static":
                ref_st = static
        hafen = per.get("hafen")
        hv = hafen.median if hafen and not hafen.status else None
        best_name, best_v = None, None
        for p in peers:
            st = per.get(p)
            if st is None or st.status:
                continue
            m = st.median
            if best_v is None or (m > best_v if better == "up" else m < best_v):
                best_name, best_v = p, m
        ratio_best = hv / best_v if (hv is not None and best_v and better != "info") else None
        rv = ref_st.median if ref_st and not ref_st.status else None
        ratio_ref = hv / rv if (hv is not None and rv) else None
        goal_txt = ""
        if goal:
            against, threshold, text = goal
            verdict = None
            if hv is not None:
                if against == "abs":
                    verdict = hv <= threshold if key.startswith("mem") else hv < threshold
                else:
                    base = best_v if against == "best" else (
                        per["nginx"].median if per.get("nginx") and not per["nginx"].status else None)
                    if base:
                        r = hv / base
                        verdict = r >= threshold if better == "up" else r <= threshold
            mark = "" if verdict is None else (" ✅" if verdict else " ❌")
            goal_txt = text + mark
        table.append((spec, per, static, ref_st, best_name, ratio_best, ratio_ref, goal_txt))

    # --- Markdown -------------------------------------------------------------------------------
    z = meta["sizes"]
    v = meta.get("versions", {})
    lines = []
    title = "Hafen benchmark — quick run (smoke test, sizes reduced)" if meta.get("quick") else "Hafen benchmark"
    lines.append(f"# {title}\n")
    lines.append(
        f"Run {meta['date']} on commit `{meta['commit']}`{' (with uncommitted changes in crates/)' if meta.get('dirty') else ''}; "
        f"{meta['cores']} cores ({meta['cpu']}), kernel {meta['kernel']}, data on {meta['fs']}. "
        f"{meta['reps']} repetition(s) after a warm-up; cells are median (min–max). "
        f"Peers: nginx {v.get('nginx', '?')} with dav-ext"
        + (f", Apache {v['apache']}" if "apache" in v else "")
        + (f", dufs {v['dufs']}" if "dufs" in v else "")
        + (f", rclone {v['rclone']}" if "rclone" in v else "")
        + ". Hafen asks the Nextcloud client's properties in W4, the peers `allprop`. "
        "Ratios are Hafen's median divided by the other median (for ms, s and MB rows lower is better). "
        "Method: [bench/NOTES.md](../NOTES.md).\n"
    )
    head = ["workload", "unit"] + [SERVER_NAMES[s] for s in servers] + [
        "nginx static", "physical", "Hafen ÷ best peer", "Hafen ÷ reference", "goal"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] * 2 + ["--:"] * (len(head) - 3) + ["---"]) + "|")
    for spec, per, static, ref_st, best_name, ratio_best, ratio_ref, goal_txt in table:
        key, label, w, field, unit, better, scale, ref, goal = spec
        arrow = {"up": " ↑", "down": " ↓", "info": ""}[better]
        phys = cell(ref_st) if ref and ref[0] in ("ref", "refW1") else ""
        rb = f"{ratio_best:.2f}× ({SERVER_NAMES[best_name]})" if ratio_best is not None else "—"
        rr = f"{ratio_ref:.2f}× ({ref[1]})" if ratio_ref is not None else "—"
        cells = [label, unit + arrow] + [cell(per.get(s)) for s in servers] + [
            cell(static), phys, rb, rr, goal_txt]
        lines.append("| " + " | ".join(cells) + " |")

    # CPU use: evidence that the load client is not the bottleneck.
    lines.append("\n## CPU use during W3 and W5 (load client vs server)\n")
    lines.append(
        f"Median CPU time per wall-clock second (100 % = one core; the machine has {meta['cores']}). "
        "The server figure sums the server's process tree. When server + client reach the number of cores, "
        "the machine is saturated; a client share well below the server's shows the client is not the limit.\n"
    )
    cols = [s for s in servers] + (["nginx-static"] if any(r["server"] == "nginx-static" for r in results) else [])
    lines.append("| workload | " + " | ".join(f"{SERVER_NAMES[s]} server / client" for s in cols) + " |")
    lines.append("|---|" + "|".join(["--:"] * len(cols)) + "|")
    for w in ("W3", "W5"):
        cells = []
        for s in cols:
            recs = [r for r in results if r["server"] == s and r["w"] == w and (r.get("data") or {}).get("ok")]
            if not recs:
                cells.append("")
                continue
            srv = statistics.median(r["server_cpu_s"] / r["wall_s"] for r in recs)
            cli = statistics.median(r["data"].get("client_cpu_s", 0) / r["wall_s"] for r in recs)
            cells.append(f"{srv * 100:.0f} % / {cli * 100:.0f} %")
        lines.append(f"| {w} | " + " | ".join(cells) + " |")

    lines.append("\n![chart](" + args.png.rsplit("/", 1)[-1] + ")\n")
    with open(args.md, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))

    # --- chart ----------------------------------------------------------------------------------
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report.py: matplotlib missing, no chart", file=sys.stderr)
        return
    chart_rows = [t for t in table if t[0][0] in ("W1", "W2", "W3", "W4", "W5", "W5p99")]
    series = servers + ["nginx-static", "ref"]
    colors = {"hafen": "#d62728", "nginx": "#1f77b4", "apache": "#9467bd", "dufs": "#2ca02c",
              "rclone": "#ff7f0e", "nginx-static": "#7f7f7f", "ref": "#c7c7c7"}
    fig, ax = plt.subplots(figsize=(12, 1.1 + 0.9 * len(chart_rows)))
    height = 0.8 / len(series)
    ylabels = []
    rels = []
    for i, (spec, per, static, ref_st, best_name, *_rest) in enumerate(chart_rows):
        key, label, w, field, unit, better, *_ = spec
        ylabels.append(label)
        best = per[best_name].median if best_name else None
        for j, s in enumerate(series):
            if s == "nginx-static":
                st = static
            elif s == "ref":
                st = ref_st if spec[7] and spec[7][0] in ("ref", "refW1") else None
            else:
                st = per.get(s)
            if st is None or st.status or not best:
                continue
            rel = st.median / best if better == "up" else best / st.median
            y = i + (j - (len(series) - 1) / 2) * height
            ax.barh(y, rel, height=height * 0.95, color=colors[s])
            rels.append(rel)
            ax.text(rel, y, f" {fmt(st.median)}", va="center", fontsize=6)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[s]) for s in series]
    ax.legend(handles, [SERVER_NAMES[s] for s in series], fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_yticks(range(len(chart_rows)))
    ax.set_yticklabels(ylabels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    if rels:
        ax.set_xlim(min(min(rels), 1.0) / 1.5, max(max(rels), 1.0) * 2.5)  # room for the value labels
    ax.axvline(1.0, color="black", linewidth=0.6)
    ax.set_xlabel("speed relative to the best peer (log scale; > 1 is faster; labels: medians in the table's units)")
    ax.set_title(f"{title} — {meta['date']} ({meta['commit']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.png, dpi=110)


if __name__ == "__main__":
    main()
