#!/usr/bin/env bash
# durable-extract throughput, memory and restart-check figures, against GNU parallel --joblog --resume.
#
#   Scripts/benchmark-extract.sh [WORKDIR]      (default: a temporary directory on the disk under test)
#
# Needs: a release build of durable-extract (built here if missing), GNU parallel (apt-get install parallel),
# /usr/bin/time. Prints figures; nothing is asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-$(mktemp -d /tmp/durable-extract-bench.XXXXXX)}
TINY=${TINY:-100000}        # files for the built-in extractor and the memory figure
COMMANDED=${COMMANDED:-20000}  # files for the external-command comparison (a shell per item)
VERIFY_KEYS=152265
ROUNDS=${ROUNDS:-3}

swift build -c release --product durable-extract >/dev/null
BIN=$(swift build -c release --show-bin-path)/durable-extract
command -v parallel >/dev/null || { echo "GNU parallel is missing: apt-get install parallel" >&2; exit 1; }

make_files() {  # make_files DIR COUNT: tiny files in 100 subdirectories
    python3 - "$1" "$2" <<'PY'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    d = os.path.join(root, "d%02d" % (i % 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d.txt" % i), "w") as f:
        f.write("line %d\n" % i * (i % 5 + 1))
PY
}

seconds() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }
now() { date +%s.%N; }
median() { python3 -c "import statistics,sys; print('%.2f' % statistics.median(map(float, sys.argv[1:])))" "$@"; }

echo "durable-extract benchmark · $(nproc) cores · $(date -u +%FT%TZ) · work dir $WORK"
mkdir -p "$WORK"

# 1. Built-in extractor on TINY tiny files, --jobs 1 and 8; peak resident memory from /usr/bin/time.
make_files "$WORK/tiny" "$TINY"
for jobs in 1 8; do
    rm -f "$WORK"/tiny.jsonl*
    /usr/bin/time -f "%M" -o "$WORK/rss" "$BIN" run --inputs "$WORK/tiny" --output "$WORK/tiny.jsonl" \
        --builtin file-stats --jobs "$jobs" --quiet
    start=$(now); rm -f "$WORK"/tiny.jsonl*
    /usr/bin/time -f "%M" -o "$WORK/rss" "$BIN" run --inputs "$WORK/tiny" --output "$WORK/tiny.jsonl" \
        --builtin file-stats --jobs "$jobs" --quiet
    end=$(now)
    took=$(seconds "$start" "$end")
    echo "builtin file-stats, $TINY files, --jobs $jobs: ${took} s, $(python3 -c "print(round($TINY/$took))") items/s, peak RSS $(( $(cat "$WORK/rss") / 1024 )) MB"
done

# 2. An external command per item: durable-extract --command vs GNU parallel --joblog --resume, interleaved rounds.
make_files "$WORK/cmd" "$COMMANDED"
find "$WORK/cmd" -type f | sort > "$WORK/list"
durable_cmd=$'printf \'{"sha256":"%s"}\' "$(sha256sum {} | cut -d\' \' -f1)"'
parallel_cmd=$'printf \'{"key":"%s","sha256":"%s"}\\n\' {} "$(sha256sum {} | cut -d\' \' -f1)"'
d_times=(); p_times=()
for round in $(seq 1 "$ROUNDS"); do
    rm -f "$WORK"/cmd.jsonl* "$WORK/joblog" "$WORK/parallel.jsonl"
    start=$(now)
    "$BIN" run --input-list "$WORK/list" --output "$WORK/cmd.jsonl" --jobs 8 --command "$durable_cmd" --quiet
    end=$(now); d_times+=("$(seconds "$start" "$end")")
    start=$(now)
    parallel -j8 --joblog "$WORK/joblog" --resume "$parallel_cmd" :::: "$WORK/list" > "$WORK/parallel.jsonl"
    end=$(now); p_times+=("$(seconds "$start" "$end")")
    echo "  round $round: durable-extract ${d_times[-1]} s, parallel ${p_times[-1]} s"
done
d=$(median "${d_times[@]}"); p=$(median "${p_times[@]}")
echo "external command (sha256sum), $COMMANDED files, --jobs 8 / -j8, median of $ROUNDS:"
echo "  durable-extract --command: $d s ($(python3 -c "print(round($COMMANDED/$d))") items/s)"
echo "  GNU parallel --joblog --resume: $p s ($(python3 -c "print(round($COMMANDED/$p))") items/s)"
echo "  ratio durable-extract / parallel: $(python3 -c "print('%.2f' % ($d/$p))")x"
test "$(wc -l < "$WORK/cmd.jsonl")" -eq "$COMMANDED"
test "$(wc -l < "$WORK/parallel.jsonl")" -eq "$COMMANDED"

# 3. The restart check alone, as a whole process: a 152,265-key ledger and a 152,265-row output.
python3 - "$WORK/verify.jsonl" "$VERIFY_KEYS" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as out, open(path + ".done", "w") as done:
    for i in range(n):
        out.write('{"key":"clip_%06d","frames":%d,"sha256":"%064x"}\n' % (i, i % 900, i))
        done.write('{"key":"clip_%06d"}\n' % i)
PY
v_times=()
for round in $(seq 1 5); do
    start=$(now); "$BIN" verify --output "$WORK/verify.jsonl" >/dev/null; end=$(now)
    v_times+=("$(seconds "$start" "$end")")
done
echo "verify, $VERIFY_KEYS-key ledger + $VERIFY_KEYS-row output, whole process: median $(median "${v_times[@]}") s (runs: ${v_times[*]})"
[ -z "${1:-}" ] && rm -rf "$WORK"
