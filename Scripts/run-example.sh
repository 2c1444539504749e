#!/usr/bin/env bash
# Runs Examples/CheckpointedExtraction (the built binary, $1) on a small input and checks its output and exit codes:
# a fresh run, a rerun that resumes with nothing left to do, and a missing input directory. CI calls it (.ci/run).
set -euo pipefail
example=$1
work=$(mktemp -d /tmp/durable-example.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/texts"
for i in $(seq 1 20); do printf 'word %.0s' $(seq 1 "$i") >"$work/texts/t$i.txt"; done

expect() {  # expect CODE TEXT COMMAND...: runs COMMAND, checks its exit code and that its output holds TEXT
    local code=$1 text=$2 status=0 output
    shift 2
    output=$("$@" 2>&1) || status=$?
    if [ "$status" != "$code" ] || [[ "$output" != *"$text"* ]]; then
        echo "example: expected exit $code and \"$text\", got exit $status:" >&2
        echo "$output" >&2
        exit 1
    fi
}
expect 0 "complete: 20 rows verified (0 already done, 20 extracted, 0 failed)" "$example" "$work/texts" "$work/words.jsonl"
expect 0 "complete: 20 rows verified (20 already done, 0 extracted, 0 failed)" "$example" "$work/texts" "$work/words.jsonl"
expect 1 "error: " "$example" "$work/missing" "$work/other.jsonl"
expect 64 "usage: " "$example"
echo "example: CheckpointedExtraction ran and resumed (exit codes 0, 0, 1, 64)"
