#!/usr/bin/env bash
# durable-extract at a million inputs (issue 18, target 3): peak resident memory, the restart checks, status, and a
# kill -9 at half way followed by a resume that must lose nothing.
#
#   Scripts/benchmark-million.sh [WORKDIR]      (default: a temporary directory on the disk under test)
#
# Needs a release build of durable-extract (built here if missing) and /usr/bin/time. The files are tiny (one to
# five short lines each) in 1,000 folders, listed in an --input-list; the item is the built-in extractor
# (`--builtin file-stats`). Environment: COUNT (default 1,000,000) inputs; JOBS1 (default 100,000) inputs for the
# --jobs 1 figure (a million at --jobs 1 is a quarter of an hour of one fsync pair per item). Prints figures and
# checks the accounting; a lost or doubled row fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-$(mktemp -d /tmp/durable-million.XXXXXX)}
COUNT=${COUNT:-1000000}
JOBS1=${JOBS1:-100000}

swift build -c release --product durable-extract >/dev/null
BIN=$(swift build -c release --show-bin-path)/durable-extract

source Scripts/benchmark-common.sh
# timed NAME CMD...: runs CMD under /usr/bin/time; sets TOOK (seconds), RSS (MB) and RC.
timed() {
    local start end
    start=$(now)
    set +e
    /usr/bin/time -f "%M" -o "$WORK/rss" "${@:2}"
    RC=$?
    set -e
    end=$(now)
    TOOK=$(seconds "$start" "$end")
    RSS=$(( $(tail -1 "$WORK/rss") / 1024 ))
    echo "$1: ${TOOK} s, peak RSS ${RSS} MB, exit ${RC}"
}

echo "durable-extract at $COUNT inputs · $(nproc) cores · $(date -u +%FT%TZ) · work dir $WORK"
mkdir -p "$WORK"
if [ ! -s "$WORK/list" ] || [ "$(wc -l < "$WORK/list")" -ne "$COUNT" ]; then
    start=$(now)
    python3 - "$WORK/files" "$COUNT" "$WORK/list" <<'PY'
import os, sys
root, count, listing = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(listing, "w") as out:
    for i in range(count):
        d = os.path.join(root, "d%03d" % (i % 1000))
        if i < 1000:
            os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "f%07d.txt" % i)
        with open(path, "w") as f:
            f.write("line %d\n" % i * (i % 5 + 1))
        out.write(path + "\n")
PY
    echo "made $COUNT files in $(seconds "$start" "$(now)") s"
fi
OUT=$WORK/features.jsonl
# run LIST ARGS...: the command line of one run, in RUN (an array, so /usr/bin/time and kill see the binary itself).
run() { RUN=("$BIN" run --input-list "$1" --output "$OUT" --builtin file-stats --quiet "${@:2}"); }

# 1. --jobs 1 over the first JOBS1 inputs (its own output).
head -n "$JOBS1" "$WORK/list" > "$WORK/list.jobs1"
rm -f "$OUT"*
run "$WORK/list.jobs1" --jobs 1
timed "--jobs 1, $JOBS1 inputs" "${RUN[@]}"
echo "  $(rate "$JOBS1" "$TOOK") items/s"
result 3 "items/s at --jobs 1 ($JOBS1 inputs)" "$(rate "$JOBS1" "$TOOK")/s" "–" "report" "–"
rm -f "$OUT"*

# 2. --jobs 8 over all of them, killed with SIGKILL once half the ledger is written, then resumed.
start=$(now)
run "$WORK/list" --jobs 8
"${RUN[@]}" &
pid=$!
half=$(( COUNT / 2 ))
while kill -0 "$pid" 2>/dev/null; do
    if [ -f "$OUT.done" ] && [ "$(wc -l < "$OUT.done")" -ge "$half" ]; then kill -9 "$pid"; break; fi
    sleep 0.2
done
wait "$pid" 2>/dev/null || true
killed_at=$(now)
done_at_kill=$(wc -l < "$OUT.done")
echo "--jobs 8: kill -9 after $(seconds "$start" "$killed_at") s with $done_at_kill keys in the ledger ($(rate "$done_at_kill" "$(seconds "$start" "$killed_at")") items/s)"
timed "status after the kill" "$BIN" status --output "$OUT" --input-list "$WORK/list"
result 3 "status after the kill -9 at $done_at_kill of $COUNT" "$TOOK s" "–" "< 2 s" "$(verdict "$TOOK < 2")"
timed "resume, --jobs 8" "${RUN[@]}"
result 3 "resume after the kill, peak RSS" "$RSS MB" "–" "< 200 MB" "$(verdict "$RSS < 200")"
resumed=$(( COUNT - done_at_kill ))
echo "  $(rate "$resumed" "$TOOK") items/s over the $resumed the kill left (peak RSS is the target's: < 200 MB)"
rows=$(wc -l < "$OUT")
unique=$(python3 -c "
import json, sys
keys = [json.loads(line)['key'] for line in open(sys.argv[1], 'rb')]
print(len(set(keys)), len(keys))" "$OUT")
echo "output: $rows rows; unique keys / rows: $unique (expected $COUNT $COUNT)"
[ "$unique" = "$COUNT $COUNT" ] || { echo "LOST OR DOUBLED ROWS" >&2; result 3 "rows after kill -9 and resume" "$unique" "$COUNT" "none lost" missed; exit 1; }
result 3 "rows after kill -9 and resume (unique keys, rows)" "$unique" "$COUNT $COUNT" "none lost or doubled" met
result 3 "items/s at --jobs 8 (the resume)" "$(rate "$resumed" "$TOOK")/s" "–" "report" "–"

# 3. The restart checks on the finished run: verify, a rerun with nothing pending, status.
timed "verify" "$BIN" verify --output "$OUT"
result 3 "verify of the finished run" "$TOOK s" "–" "< 2 s" "$(verdict "$TOOK < 2")"
timed "rerun with nothing pending" "${RUN[@]}"
result 3 "rerun with nothing pending" "$TOOK s" "–" "< 2 s" "$(verdict "$TOOK < 2")"
timed "status --input-list" "$BIN" status --output "$OUT" --input-list "$WORK/list"
result 3 "status of the finished run" "$TOOK s" "–" "< 2 s" "$(verdict "$TOOK < 2")"
echo "targets: peak RSS < 200 MB, verify < 2 s, rerun with nothing pending < 2 s, status < 2 s"
