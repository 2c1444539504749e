#!/usr/bin/env bash
# Ten million items (issue 18, targets 4 and 7): durable-resume ingest of a 10,000,000-item source, CSV and JSONL,
# into SQLite and PostgreSQL — wall time, items/s and peak resident memory — then resume planning with 6,000,000 of
# them done, on SQLite and on PostgreSQL: the time from launch to the first item started, the session's peak memory
# and items/s; on PostgreSQL also the claim query's latency over the half-done run, before and after VACUUM.
#
#   Scripts/benchmark-ten-million.sh [WORKDIR]      (default: a temporary directory on the disk under test)
#
# Environment: COUNT (default 10,000,000) items, DONE (default 6,000,000) done before the resume, INGEST=no to reuse
# the stores a previous run left (the planning figures alone), ROUNDS (default 3) ingests per PostgreSQL figure (the
# median is printed), SQLITE_FORMATS and PG_FORMATS (default "csv jsonl"; SQLITE_FORMATS=" " reuses the SQLite
# store WORKDIR holds), PLANNING (default "sqlite postgres": the stores whose resume planning is measured), SESSION_SECONDS (default 20) each resume runs, PG_TIMEOUT (default 120) the store URL's timeout, DURABLE_BENCH_POSTGRES_URL a PostgreSQL
# database (a server with fsync=on; skipped without it): each round ingests into a schema of its own, tenm_FORMAT_N,
# dropped after it (5 GB each) except the last CSV one, which the planning uses. Needs a release build of
# durable-resume (built here), /usr/bin/time, sqlite3 and psql (the 6,000,000 results are written with them, as a
# killed run would have left them).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-$(mktemp -d /tmp/durable-tenmillion.XXXXXX)}
COUNT=${COUNT:-10000000}
DONE=${DONE:-6000000}
ROUNDS=${ROUNDS:-3}
swift build -c release --product durable-resume >/dev/null
BIN=$(swift build -c release --show-bin-path)/durable-resume

source Scripts/benchmark-common.sh
export PGOPTIONS="-c client_min_messages=warning"   # no NOTICE per table a DROP SCHEMA … CASCADE drops
# pg_store SCHEMA: DURABLE_BENCH_POSTGRES_URL (a URL psql takes too) with ?schema=SCHEMA and the store's
# timeout=PG_TIMEOUT added: 120 s, the allowance Documentation/PostgreSQL.md advises for a bulk ingest.
pg_store() {
    case $DURABLE_BENCH_POSTGRES_URL in
        *\?*) echo "$DURABLE_BENCH_POSTGRES_URL&schema=$1&timeout=${PG_TIMEOUT:-120}" ;;
        *) echo "$DURABLE_BENCH_POSTGRES_URL?schema=$1&timeout=${PG_TIMEOUT:-120}" ;;
    esac
}
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
    for format in ${SQLITE_FORMATS:-csv jsonl}; do
        rm -f "$WORK/$format.sqlite" "$WORK/$format.sqlite-"*
        timed "ingest $format into SQLite" "$BIN" ingest --db "$WORK/$format.sqlite" --source "$WORK/items.$format" --id id
        result 4 "ingest $COUNT $format items into SQLite, peak RSS ($(rate "$COUNT" "$TOOK") items/s)" "$RSS MB" "–" "< 256 MB" "$(verdict "$RSS < 256")"
    done
    if [ -n "${DURABLE_BENCH_POSTGRES_URL:-}" ]; then
        for format in ${PG_FORMATS:-csv jsonl}; do
            took=() rss=()
            for round in $(seq 1 "$ROUNDS"); do
                psql "$DURABLE_BENCH_POSTGRES_URL" -qc "DROP SCHEMA IF EXISTS tenm_${format}_$round CASCADE"
                timed "ingest $format into PostgreSQL, round $round" "$BIN" ingest --store "$(pg_store "tenm_${format}_$round")" \
                    --source "$WORK/items.$format" --id id
                took+=("$TOOK") rss+=("$RSS")
                # 5 GB a round: only the last CSV round's schema is kept, for the resume planning below.
                [ "$format-$round" = "csv-$ROUNDS" ] || psql "$DURABLE_BENCH_POSTGRES_URL" -qc "DROP SCHEMA tenm_${format}_$round CASCADE"
            done
            t=$(median "${took[@]}")
            echo "ingest $format into PostgreSQL, median of $ROUNDS: $t s, $(rate "$COUNT" "$t") items/s, peak RSS $(median "${rss[@]}") MB (target < 256 MB)"
            m=$(median "${rss[@]}")
            result 4 "ingest $COUNT $format items into PostgreSQL (COPY), median of $ROUNDS, peak RSS ($(rate "$COUNT" "$t") items/s)" "$m MB" "–" "< 256 MB" "$(verdict "$m < 256")"
        done
    else
        echo "PostgreSQL: skipped (set DURABLE_BENCH_POSTGRES_URL)"
    fi
fi

# Resume planning: a run over the CSV source with a trivial command (it notes when the first item starts), killed
# once it has announced its run, then DONE results written as its sessions would have left them (in source order),
# then a resume of the rest: the time from launch to the first item started, the session's peak memory and items/s.
FIRST=$WORK/first-item
COMMAND="test -e '$FIRST' || date +%s.%N > '$FIRST'; cat"

# start_and_kill STORE-OPTIONS...: starts a run over the CSV source, kills it with SIGKILL once it prints its
# run ID, and sets RUNID.
start_and_kill() {
    "$BIN" start "$@" --source "$WORK/items.csv" --id id --command "$COMMAND" --jobs 4 > "$WORK/start.out" 2>&1 &
    local starter=$!
    until grep -q '^run ' "$WORK/start.out" 2>/dev/null; do
        kill -0 "$starter" 2>/dev/null || { cat "$WORK/start.out"; exit 1; }
        sleep 0.05
    done
    kill -9 "$starter"; wait "$starter" 2>/dev/null || true
    RUNID=$(awk '/^run /{print $2; exit}' "$WORK/start.out")
}

# resume_until_first_item TARGET LABEL DONE-NOW STORE-OPTIONS...: resumes RUNID for 20 s (then SIGTERM) and prints
# the time from launch to the first item started, the peak RSS and the items/s of the session; sets LAUNCH.
resume_until_first_item() {
    local target=$1 label=$2 done_now=$3; shift 3
    rm -f "$FIRST"
    local start resumer first ended
    start=$(now)
    set +e
    /usr/bin/time -f "%M" -o "$WORK/rss" "$BIN" resume "$@" --run-id "$RUNID" --jobs 4 > "$WORK/resume.out" 2>&1 &
    resumer=$!
    until [ -s "$FIRST" ]; do sleep 0.01; done
    first=$(cat "$FIRST")
    sleep "${SESSION_SECONDS:-20}"
    kill -TERM "$(pgrep -P "$resumer" -f "$BIN resume" || echo "$resumer")" 2>/dev/null || true
    wait "$resumer"
    set -e
    ended=$(now)
    RSS=$(( $(tail -1 "$WORK/rss") / 1024 ))
    LAUNCH=$(seconds "$start" "$first")
    local session
    session=$(grep -o '[0-9]* of [0-9]* items succeeded' "$WORK/resume.out" | tail -1 | cut -d' ' -f1)
    session=$(( ${session:-$done_now} - done_now ))
    echo "$label resume with $done_now of $COUNT done: first item started $LAUNCH s after launch (target < 2 s); peak RSS $RSS MB; $session items in $(seconds "$first" "$ended") s: $(rate "$session" "$(seconds "$first" "$ended")") items/s at --jobs 4"
    result "$target" "$label resume with $done_now of $COUNT done: launch to the first item" "$LAUNCH s" "–" "< 2 s" "$(verdict "$LAUNCH < 2")"
    result "$target" "$label: that resume's peak RSS, items/s at --jobs 4" "$RSS MB, $(rate "$session" "$(seconds "$first" "$ended")")/s" "–" "bounded" "–"
    tail -3 "$WORK/resume.out"
}

DB=$WORK/csv.sqlite
if [[ " ${PLANNING:-sqlite postgres} " == *" sqlite "* ]]; then
start_and_kill --db "$DB"
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
resume_until_first_item 7 SQLite "$(sqlite3 "$DB" "SELECT completed_count FROM runs WHERE id = '$RUNID'")" --db "$DB"
fi

# PostgreSQL, on the last CSV ingest's schema: the run's items are marked done in one statement, which leaves DONE
# dead entries in the claimable index until vacuum — the worst case Documentation/Scaling.md describes (in a real
# run each claim marks the few the previous ones left) — so the first claim's latency is in the first figure; the
# claim again after the first resume, and after VACUUM (the best case).
if [[ " ${PLANNING:-sqlite postgres} " != *" postgres "* ]]; then
    echo "PostgreSQL resume planning: skipped (PLANNING=${PLANNING:-})"
elif [ -n "${DURABLE_BENCH_POSTGRES_URL:-}" ] && [ "$(psql "$DURABLE_BENCH_POSTGRES_URL" -Atc "SELECT count(*) FROM pg_namespace WHERE nspname = 'tenm_csv_$ROUNDS'")" = 1 ]; then
    PG=$(pg_store "tenm_csv_$ROUNDS")
    start_and_kill --store "$PG"
    start=$(now)
    psql "$DURABLE_BENCH_POSTGRES_URL" -q -v ON_ERROR_STOP=1 <<SQL
SET search_path TO tenm_csv_$ROUNDS;
BEGIN;
INSERT INTO results (run_id, item_id, output, error_occurred, attempt_count, last_attempt_at, created_at)
SELECT run_id, item_id, '{}', 0, 1, now(), now() FROM run_items WHERE run_id = '$RUNID' AND position < $DONE
ON CONFLICT DO NOTHING;
UPDATE run_items SET done = true, lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL
WHERE run_id = '$RUNID' AND position < $DONE;
UPDATE runs SET completed_count = (SELECT count(*) FROM results WHERE run_id = '$RUNID' AND error_occurred = 0)
WHERE id = '$RUNID';
COMMIT;
SQL
    echo "wrote $DONE results of run $RUNID in PostgreSQL in $(seconds "$start" "$(now)") s"
    done_now=$(psql "$DURABLE_BENCH_POSTGRES_URL" -Atc "SELECT completed_count FROM tenm_csv_$ROUNDS.runs WHERE id = '$RUNID'")
    resume_until_first_item 7 "PostgreSQL (dead index entries)" "$done_now" --store "$PG"
    claim_ms() {
        psql "$DURABLE_BENCH_POSTGRES_URL" -Atc "EXPLAIN (ANALYZE, FORMAT JSON) SELECT item_id FROM tenm_csv_$ROUNDS.run_items
            WHERE run_id = '$RUNID' AND NOT done ORDER BY position LIMIT 10" | python3 -c "import json, sys; print('%.2f' % json.load(sys.stdin)[0]['Execution Time'])"
    }
    again=$(claim_ms)
    psql "$DURABLE_BENCH_POSTGRES_URL" -qc "VACUUM tenm_csv_$ROUNDS.run_items"
    vacuumed=$(claim_ms)
    result 4 "claim query on the half-done $COUNT-item run: after the first resume, after VACUUM" "$again ms, $vacuumed ms" "–" "report" "–"
    done_now=$(psql "$DURABLE_BENCH_POSTGRES_URL" -Atc "SELECT completed_count FROM tenm_csv_$ROUNDS.runs WHERE id = '$RUNID'")
    resume_until_first_item 7 "PostgreSQL (vacuumed)" "$done_now" --store "$PG"
else
    echo "PostgreSQL resume planning: skipped (needs DURABLE_BENCH_POSTGRES_URL and the ingest rounds' schema tenm_csv_$ROUNDS)"
fi
