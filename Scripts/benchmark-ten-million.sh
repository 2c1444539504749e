#!/usr/bin/env bash
# Ten million items (issue 18, targets 4 and 7): durable-resume ingest of a 10,000,000-item source, CSV and JSONL,
# into SQLite and PostgreSQL — wall time, items/s and peak resident memory — then resume planning on SQLite with
# 6,000,000 of them done: the time from launch to the first item started, the session's peak memory and items/s.
#
#   Scripts/benchmark-ten-million.sh [WORKDIR]      (default: a temporary directory on the disk under test)
#
# Environment: COUNT (default 10,000,000) items, DONE (default 6,000,000) done before the resume, INGEST=no to reuse
# the SQLite store a previous run left in WORKDIR (the planning figure alone), ROUNDS (default 3)
# ingests per PostgreSQL figure (the median is printed), DURABLE_BENCH_POSTGRES_URL a PostgreSQL database to ingest
# into (skipped without it; each round stores a new source name). Needs a release build of durable-resume (built
# here), /usr/bin/time and sqlite3 (the 6,000,000 results are written with it, as a killed run would have left them).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-$(mktemp -d /tmp/durable-tenmillion.XXXXXX)}
COUNT=${COUNT:-10000000}
DONE=${DONE:-6000000}
ROUNDS=${ROUNDS:-3}
swift build -c release --product durable-resume >/dev/null
BIN=$(swift build -c release --show-bin-path)/durable-resume

source Scripts/benchmark-common.sh
# timed NAME CMD...: runs CMD under /usr/bin/time; sets TOOK (seconds), RSS (MB) and RC.
timed() {
    local start end
    start=$(now)
    set +e
    /usr/bin/time -f "%M" -o "$WORK/rss" "${@:2}" > "$WORK/out" 2>&1
    RC=$?
    set -e
    end=$(now)
    TOOK=$(seconds "$start" "$end")
    RSS=$(( $(tail -1 "$WORK/rss") / 1024 ))
    echo "$1: ${TOOK} s, $(rate "$COUNT" "$TOOK") items/s, peak RSS ${RSS} MB, exit ${RC}"
    [ "$RC" -eq 0 ] || { cat "$WORK/out"; exit 1; }
}

echo "durable-resume at $COUNT items · $(nproc) cores · $(date -u +%FT%TZ) · work dir $WORK"
mkdir -p "$WORK"
if [ ! -s "$WORK/items.jsonl" ] || [ "$(wc -l < "$WORK/items.jsonl")" -ne "$COUNT" ]; then
    python3 - "$WORK" "$COUNT" <<'PY'
import sys
work, count = sys.argv[1], int(sys.argv[2])
with open(work + "/items.csv", "w") as f:
    f.write("id,text\n")
    for i in range(count):
        f.write(f'item-{i:08d},"narrative {i}, short"\n')
with open(work + "/items.jsonl", "w") as f:
    for i in range(count):
        f.write(f'{{"id":"item-{i:08d}","text":"narrative {i}, short"}}\n')
PY
fi
echo "source: $(du -m "$WORK/items.csv" | cut -f1) MB CSV, $(du -m "$WORK/items.jsonl" | cut -f1) MB JSONL"

if [ "${INGEST:-yes}" = no ] && [ -s "$WORK/csv.sqlite" ]; then
    echo "ingest into SQLite and PostgreSQL: skipped (INGEST=no: the planning figure alone, on $WORK/csv.sqlite)"
else
    for format in csv jsonl; do
        rm -f "$WORK/$format.sqlite" "$WORK/$format.sqlite-"*
        timed "ingest $format into SQLite" "$BIN" ingest --db "$WORK/$format.sqlite" --source "$WORK/items.$format" --id id
    done
    if [ -n "${DURABLE_BENCH_POSTGRES_URL:-}" ]; then
        for format in csv jsonl; do
            took=() rss=()
            for round in $(seq 1 "$ROUNDS"); do
                timed "ingest $format into PostgreSQL, round $round" "$BIN" ingest --store "$DURABLE_BENCH_POSTGRES_URL" \
                    --source "$WORK/items.$format" --id id --name "items-$format-$(date +%s%N)"
                took+=("$TOOK") rss+=("$RSS")
            done
            t=$(median "${took[@]}")
            echo "ingest $format into PostgreSQL, median of $ROUNDS: $t s, $(rate "$COUNT" "$t") items/s, peak RSS $(median "${rss[@]}") MB (target < 256 MB)"
        done
    else
        echo "PostgreSQL: skipped (set DURABLE_BENCH_POSTGRES_URL)"
    fi
fi

# Resume planning: a run over the CSV source with a trivial command (it notes when the first item starts), killed
# at once, then DONE results written as its sessions would have left them (in source order, with the run's frontier
# after the last), then a resume of the rest.
DB=$WORK/csv.sqlite
FIRST=$WORK/first-item
COMMAND="test -e '$FIRST' || date +%s.%N > '$FIRST'; cat"
"$BIN" start --db "$DB" --source "$WORK/items.csv" --id id --command "$COMMAND" --jobs 4 > "$WORK/start.out" 2>&1 &
starter=$!
until grep -q '^run ' "$WORK/start.out" 2>/dev/null; do sleep 0.05; done
kill -9 "$starter"; wait "$starter" 2>/dev/null || true
RUNID=$(awk '/^run /{print $2; exit}' "$WORK/start.out")
start=$(now)
sqlite3 "$DB" <<SQL
.timeout 10000
BEGIN;
INSERT OR IGNORE INTO results (run_id, item_id, output, error_occurred, attempt_count, last_attempt_at, created_at)
SELECT '$RUNID', id, '{}', 0, 1, '2026-12-03T00:00:00Z', '2026-12-03T00:00:00Z'
FROM source_items WHERE source_id = (SELECT source_id FROM runs WHERE id = '$RUNID') AND position < $DONE;
UPDATE runs SET completed_count = (SELECT count(*) FROM results WHERE run_id = '$RUNID' AND error_occurred = 0),
                results_complete_below = $DONE WHERE id = '$RUNID';
COMMIT;
SQL
echo "wrote $DONE results of run $RUNID in $(seconds "$start" "$(now)") s"
DONE=$(sqlite3 "$DB" "SELECT completed_count FROM runs WHERE id = '$RUNID'")
rm -f "$FIRST"
start=$(now)
set +e
/usr/bin/time -f "%M" -o "$WORK/rss" "$BIN" resume --db "$DB" --run-id "$RUNID" --jobs 4 \
    > "$WORK/resume.out" 2>&1 &
resumer=$!
until [ -s "$FIRST" ]; do sleep 0.01; done
first=$(cat "$FIRST")
sleep 20
kill -TERM "$(pgrep -P "$resumer" -f "$BIN resume" || echo "$resumer")" 2>/dev/null || true
wait "$resumer"
set -e
ended=$(now)
RSS=$(( $(tail -1 "$WORK/rss") / 1024 ))
session=$(sqlite3 "$DB" "SELECT completed_count - $DONE FROM runs WHERE id = '$RUNID'")
echo "resume with $DONE of $COUNT done: first item started $(seconds "$start" "$first") s after launch (target < 2 s); peak RSS $RSS MB; $session items in $(seconds "$first" "$ended") s: $(rate "$session" "$(seconds "$first" "$ended")") items/s at --jobs 4"
tail -3 "$WORK/resume.out"
