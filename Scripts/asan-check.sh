#!/usr/bin/env bash
# The AddressSanitizer check .ci/run runs: the test helper, built with --sanitize=address, lists a nested tree of
# 22 folders x 1,000 files with long and odd names (non-UTF-8 bytes, NFC/NFD twins, leading dashes, newlines, the
# longest name the file system takes) through the seam, and appends to a key ledger. Any ASan report fails it.
#   Scripts/asan-check.sh PATH-TO-ASAN-durable-test-helper
set -euo pipefail
helper=$1
tree=$(mktemp -d /tmp/durable-asan.XXXXXX)
trap 'rm -rf "$tree"' EXIT
python3 - "$tree" <<'PY'
import os, sys
root = os.fsencode(sys.argv[1])
odd = [b"x\xff.txt", "x\ufffd.txt".encode(), "caf\u00e9".encode(), "cafe\u0301".encode(), b"-n", b"--help",
       b"line\nbreak", b"a" * 255, b"\xc3\x28", b" lead space"]
count = 0
for d in range(22):
    folder = os.path.join(root, b"folder-%02d-" % d + b"n" * (d * 11))
    os.mkdir(folder)
    for i in range(1000):
        name = b"clip_%06d_" % i + b"z" * (i % 200) + b".mp4"
        open(os.path.join(folder, name), "wb").close()
        count += 1
    for name in odd:
        open(os.path.join(folder, name), "wb").close()
        count += 1
print(count, "files made")
PY
out=$("$helper" walk "$tree" 2>&1) || { echo "$out"; echo "asan-check: walk failed" >&2; exit 1; }
echo "$out"
case "$out" in *"22220 files in 22 folders"*) ;; *) echo "asan-check: expected 22220 files in 22 folders" >&2; exit 1;; esac
set +e
timeout -s TERM 3 "$helper" append --path "$tree/keys.done" > "$tree/append.out" 2>&1
set -e
if grep -q "AddressSanitizer" "$tree/append.out"; then cat "$tree/append.out"; exit 1; fi
grep -q "acked 0" "$tree/append.out" || { cat "$tree/append.out"; echo "asan-check: the ledger acked nothing" >&2; exit 1; }
echo "asan-check: $(grep -c acked "$tree/append.out") durable ledger appends, no AddressSanitizer report"
