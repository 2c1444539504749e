#!/usr/bin/env python3
"""Plot reader and writer latency over time during each backfill of `durable-benchmark backfill`.

Usage: python3 Scripts/plot_backfill_benchmark.py CSV_DIR OUTPUT.png
Reads CSV_DIR/latencies.csv and CSV_DIR/runs.csv (round 0 of each run); needs matplotlib.
"""
import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(directory, output):
    runs = {}
    with open(f"{directory}/runs.csv") as f:
        for row in csv.DictReader(f):
            if row["round"] == "0":
                runs[(row["mode"], row["variant"])] = float(row["total_seconds"])
    points = defaultdict(lambda: defaultdict(list))
    with open(f"{directory}/latencies.csv") as f:
        for row in csv.DictReader(f):
            if row["round"] != "0":
                continue
            points[(row["mode"], row["variant"])][(row["process"], row["result"])].append(
                (float(row["t"]), float(row["latency_ms"])))

    modes = [m for m in ("wal", "rollback") if any(k[0] == m for k in runs)]
    variants = []
    for _, variant in runs:
        if variant not in variants:
            variants.append(variant)
    variants.sort(key=lambda v: (v != "one-shot", v != "durable-backfill", v))
    fig, axes = plt.subplots(len(modes), len(variants), figsize=(6.5 * len(variants), 4.2 * len(modes)),
                             squeeze=False, sharey=True)
    colors = {"reader": "tab:blue", "writer": "tab:orange"}
    for i, mode in enumerate(modes):
        for j, variant in enumerate(variants):
            ax = axes[i][j]
            total = runs.get((mode, variant))
            if total is None:
                ax.set_visible(False)
                continue
            ax.axvspan(0, total, color="0.9", label=f"backfill running ({total:.1f} s)")
            for (process, result), values in sorted(points[(mode, variant)].items()):
                xs = [t for t, _ in values]
                ys = [max(ms, 0.05) for _, ms in values]
                # A call that waited long is drawn as a bar from its start to its end: nothing else of that
                # process ran meanwhile, and the gap in the dots is the outage.
                long = [(t, ms) for t, ms in values if ms >= 100]
                if long:
                    ax.hlines([ms for _, ms in long], [t for t, _ in long], [t + ms / 1000 for t, ms in long],
                              color=colors[process], linewidth=2)
                if result == "0":
                    ax.scatter(xs, ys, s=3, color=colors[process], alpha=0.5, label=f"{process}")
                else:
                    ax.scatter(xs, ys, s=30, marker="x", color="red" if process == "writer" else "purple",
                               label=f"{process}: SQLITE_BUSY" if result == "1" else f"{process}: error")
            ax.set_yscale("log")
            ax.axhline(50, color="tab:blue", linestyle=":", linewidth=1)
            ax.axhline(100, color="tab:orange", linestyle=":", linewidth=1)
            ax.set_title(f"{'WAL' if mode == 'wal' else 'rollback journal'} · {variant}")
            ax.set_xlabel("seconds since the backfill started (a call is drawn when it started; bars: its wait)")
            if j == 0:
                ax.set_ylabel("latency (ms, log scale)")
            ax.legend(loc="upper right", fontsize=8, markerscale=3)
    fig.suptitle("Reader and application-writer latency during the backfill "
                 "(dotted: targets 50 ms reader p99, 100 ms writer p99)")
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    print(f"wrote {output}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
