#!/usr/bin/env python3
"""Plot items/s against --jobs for each tool in a CSV of tool,jobs,items_per_second (Scripts/benchmark-report.sh).

Usage: python3 Scripts/plot_jobs.py JOBS.csv OUTPUT.png   (needs matplotlib)
"""
import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(path, output):
    series = defaultdict(list)
    with open(path) as f:
        for row in csv.DictReader(f):
            series[row["tool"]].append((int(row["jobs"]), float(row["items_per_second"])))
    fig, ax = plt.subplots(figsize=(7, 4))
    for tool, points in series.items():
        points.sort()
        ax.plot([j for j, _ in points], [r for _, r in points], marker="o", label=tool)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("--jobs (-P for xargs)")
    ax.set_ylabel("items per second")
    ax.set_title("2,000 trivial items on 2 cores: durable-extract (every row and key synced) beside xargs -P")
    ax.title.set_fontsize(9)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(output, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
