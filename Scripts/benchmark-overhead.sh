#!/usr/bin/env bash
# Per-item overhead of durable-extract next to the tools a user would pick instead (issue 18, target 1): the same
# 2,000 inputs and a trivial command that prints one JSON object, `--jobs 8` against `xargs -P8` (no durability
# at all) and GNU parallel `--joblog --resume`, interleaved in rounds; medians of wall and CPU time, and ratios.
#
#   Scripts/benchmark-overhead.sh [WORKDIR]      ROUNDS=5 ITEMS=2000 JOBS=8
#
# Needs a release build of durable-extract (built here if missing), GNU parallel, /usr/bin/time. Prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-$(mktemp -d /tmp/durable-overhead.XXXXXX)}
ROUNDS=${ROUNDS:-5} ITEMS=${ITEMS:-2000} JOBS=${JOBS:-8}
swift build -c release --product durable-extract >/dev/null
BIN=$(swift build -c release --show-bin-path)/durable-extract
command -v parallel >/dev/null || { echo "GNU parallel is missing: apt-get install parallel" >&2; exit 1; }
mkdir -p "$WORK/in"
for i in $(seq -w 1 "$ITEMS"); do : > "$WORK/in/f$i.txt"; done
find "$WORK/in" -type f | sort > "$WORK/list"
echo "per-item overhead · $(nproc) cores · $(date -u +%FT%TZ) · $ITEMS items, $JOBS jobs, $ROUNDS rounds · load $(cut -d' ' -f1-3 /proc/loadavg)"

# timed NAME COMMAND...: appends "wall user+sys" of one whole-process run to $WORK/NAME.times
timed() {
    local name=$1; shift
    /usr/bin/time -f "%e %U %S" -o "$WORK/time" "$@" > /dev/null
    awk '{printf "%s %.3f\n", $1, $2 + $3}' "$WORK/time" >> "$WORK/$name.times"
}
rm -f "$WORK"/*.times
for round in $(seq 1 "$ROUNDS"); do
    rm -f "$WORK"/out.jsonl*
    timed durable "$BIN" run --input-list "$WORK/list" --output "$WORK/out.jsonl" --jobs "$JOBS" --quiet \
        --command 'printf "{\"n\":1}"'
    test "$(wc -l < "$WORK/out.jsonl")" -eq "$ITEMS"
    timed xargs sh -c "xargs -P$JOBS -n1 sh -c 'printf \"{\\\"key\\\":\\\"%s\\\",\\\"n\\\":1}\\n\" \"\$1\"' _ < '$WORK/list' > '$WORK/xargs.jsonl'"
    test "$(wc -l < "$WORK/xargs.jsonl")" -eq "$ITEMS"
    rm -f "$WORK/joblog"
    timed parallel sh -c "parallel -j$JOBS --joblog '$WORK/joblog' --resume 'printf \"{\\\"key\\\":\\\"%s\\\",\\\"n\\\":1}\\n\" {}' :::: '$WORK/list' > '$WORK/parallel.jsonl'"
    test "$(wc -l < "$WORK/parallel.jsonl")" -eq "$ITEMS"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for name in durable xargs parallel; do
    wall=$(cut -d' ' -f1 "$WORK/$name.times" | median); cpu=$(cut -d' ' -f2 "$WORK/$name.times" | median)
    printf '%-9s wall %6.2f s  cpu %6.2f s   (rounds: %s)\n' "$name" "$wall" "$cpu" "$(cut -d' ' -f1 "$WORK/$name.times" | tr '\n' ' ')"
    eval "${name}_wall=$wall ${name}_cpu=$cpu"
done
python3 - "$durable_wall" "$xargs_wall" "$parallel_wall" "$durable_cpu" "$xargs_cpu" "$ITEMS" "$JOBS" <<'PY'
import sys
d, x, p, dc, xc, n = map(float, sys.argv[1:7])
print(f"durable-extract / xargs -P: wall {d / x:.2f}x (target <= 1.15x), cpu {dc / xc:.2f}x; "
      f"parallel / durable-extract: {p / d:.2f}x (target >= 3x); overhead over xargs {(d - x) / n * 1e3:.3f} ms per item")
print(f"RESULT 1 | durable-extract --jobs {sys.argv[7]}, {int(n)} trivial items, wall | {d:.2f} s | xargs -P {x:.2f} s ({d / x:.2f}x) | <= 1.15x xargs | {'met' if d / x <= 1.15 else 'missed'}")
print(f"RESULT 1 | GNU parallel --joblog / durable-extract, wall | {p / d:.2f}x | parallel {p:.2f} s | >= 3x | {'met' if p / d >= 3 else 'missed'}")
PY
