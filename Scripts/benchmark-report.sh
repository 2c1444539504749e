#!/usr/bin/env bash
# Every figure of issue 18's targets in one run, against its target and its baseline (measured in the same run),
# then one table of them all, and a plot of items/s against --jobs (durable-extract beside xargs -P).
#
#   Scripts/benchmark-report.sh [WORKDIR]      PARTS="overhead jobs core million tenmillion postgres backfill resume"
#
# Each part is one of the benchmark scripts or durable-benchmark subcommands; each prints its figures and RESULT
# lines (Scripts/benchmark-common.sh, Sources/durable-benchmark/Statistics.swift), which this script gathers into
# WORKDIR/report.md. The whole set takes about an hour and a half on 2 cores (the million inputs and the ten
# million items most of it); pick parts with PARTS. PostgreSQL figures need DURABLE_BENCH_POSTGRES_URL (a server
# with fsync=on). Needs a release build (made here), GNU parallel, /usr/bin/time, sqlite3, python3 with matplotlib
# for the plot.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-$(mktemp -d /tmp/durable-report.XXXXXX)}
PARTS=${PARTS:-overhead jobs core million tenmillion postgres backfill resume}
mkdir -p "$WORK/logs"
swift build -c release --product durable-extract >/dev/null
swift build -c release --product durable-benchmark >/dev/null
BIN=$(swift build -c release --show-bin-path)
source Scripts/benchmark-common.sh
echo "issue 18 report · $(nproc) cores · $(date -u +%FT%TZ) · load $(cut -d' ' -f1-3 /proc/loadavg) · $WORK"

# jobs: items/s of durable-extract and xargs -P at each --jobs, 2,000 trivial items, one run each, for the plot.
jobs_sweep() {
    local items=2000 in=$WORK/jobs-in
    mkdir -p "$in"
    for i in $(seq -w 1 "$items"); do : > "$in/f$i.txt"; done
    find "$in" -type f | sort > "$WORK/jobs-list"
    echo "tool,jobs,items_per_second" > "$WORK/jobs.csv"
    for jobs in 1 2 4 8 16 32; do
        rm -f "$WORK"/jobs-out.jsonl*
        local start end
        start=$(now)
        "$BIN/durable-extract" run --input-list "$WORK/jobs-list" --output "$WORK/jobs-out.jsonl" --jobs "$jobs" --quiet \
            --command 'printf "{\"n\":1}"'
        end=$(now)
        echo "durable-extract,$jobs,$(rate "$items" "$(seconds "$start" "$end")")" >> "$WORK/jobs.csv"
        start=$(now)
        xargs -P"$jobs" -n1 sh -c 'printf "{\"key\":\"%s\",\"n\":1}\n" "$1"' _ < "$WORK/jobs-list" > "$WORK/jobs-xargs.jsonl"
        end=$(now)
        echo "xargs -P,$jobs,$(rate "$items" "$(seconds "$start" "$end")")" >> "$WORK/jobs.csv"
    done
    cat "$WORK/jobs.csv"
    python3 Scripts/plot_jobs.py "$WORK/jobs.csv" "$WORK/items-per-second-by-jobs.png" \
        || echo "no plot (matplotlib missing? python3 -m pip install matplotlib)"
}

part() {
    local name=$1; shift
    echo; echo "=== $name: $*"
    local start
    start=$(now)
    if "$@" 2>&1 | tee "$WORK/logs/$name.log"; then
        echo "=== $name took $(seconds "$start" "$(now)") s"
    else
        echo "=== $name FAILED (log: $WORK/logs/$name.log)"
        result "-" "$name" "failed" "–" "–" missed >> "$WORK/logs/$name.log"
    fi
}
for name in $PARTS; do
    case $name in
        overhead) part overhead Scripts/benchmark-overhead.sh "$WORK/overhead" ;;
        jobs) part jobs jobs_sweep ;;
        core) part core "$BIN/durable-benchmark" all --dir "$WORK" ;;
        million) part million Scripts/benchmark-million.sh "${MILLION_DIR:-$WORK/million}" ;;
        tenmillion) part tenmillion Scripts/benchmark-ten-million.sh "${TEN_MILLION_DIR:-$WORK/ten-million}" ;;
        backfill) part backfill "$BIN/durable-benchmark" backfill --rounds 3 --dir "$WORK" --csv "$WORK/backfill-csv" ;;
        resume) part resume "$BIN/durable-benchmark" resume --dir "$WORK" ;;
        postgres)
            if [ -n "${DURABLE_BENCH_POSTGRES_URL:-}" ]; then
                # Target 4's claims run: 200,000 items, 4 workers, a trivial command, medians of 3.
                part postgres "$BIN/durable-benchmark" postgres --store "$DURABLE_BENCH_POSTGRES_URL" --workers 4 \
                    --items-per-worker 0 --ceiling-items 200000 --ceiling-command cat --rounds 3
            else
                echo; echo "=== postgres: skipped (set DURABLE_BENCH_POSTGRES_URL)"
            fi ;;
        *) echo "unknown part: $name (overhead jobs core million tenmillion postgres backfill resume)" >&2; exit 2 ;;
    esac
done

{
    echo "| target | what | figure | baseline (same run) | goal | |"
    echo "|---|---|---|---|---|---|"
    cat "$WORK"/logs/*.log | grep '^RESULT ' | sed 's/^RESULT /| /; s/$/ |/' | sort -t'|' -k2,2 -s
} > "$WORK/report.md"
echo; echo "## Issue 18: every target"; echo; cat "$WORK/report.md"
echo; echo "report: $WORK/report.md · logs: $WORK/logs/"
