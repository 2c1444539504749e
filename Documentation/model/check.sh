#!/usr/bin/env bash
# Model-checks Documentation/model/lockfile.pml with SPIN. Installs nothing: needs `spin` (Debian package
# `spin`) and a C compiler. Prints one row per run (states, memory, time); a failing run also prints its
# counterexample as a short story.
#
#   ./check.sh            every run below: the exhaustive N=3 set, the bitstate runs (the age configurations,
#                         N=4, two crashes; each capped at $CAP seconds, default 1500), every mutant (two to
#                         three hours on 2 free cores; at most ~2.5 GB of memory per run)
#   ./check.sh --quick    the exhaustive set and the mutants (about 25 minutes)
#   ./check.sh --ci       what .ci/run runs within its time: n3-nocrash-all (every property, N=3, no crash) and
#                         every mutant (about 2 minutes)
#   ONLY=REGEX ./check.sh only the runs whose name matches (grep -E), e.g. ONLY='^age-' ./check.sh
#
# Exit status: 0 when every run on the real model holds and every mutant is caught; 1 otherwise.
# Exhaustive runs: pan -DSAFETY -DCOLLAPSE, -m3000000 -w26. Bitstate runs (too large to store every state in the
# memory and time allowed here): pan -DSAFETY -DBITSTATE -k3 -w33 (a 1 GB bit array), stopped with SIGINT after
# $CAP seconds (pan then prints what it explored); the row shows pan's hash factor, and "partial" when the cap
# stopped it. A bitstate run that holds is a partial search either way: it proves nothing about the states it
# did not reach (README.md, "Results"). Hash-compact runs (age-n3-release): pan -DSAFETY -DHC4 (each state kept as
# a 32-bit signature, 40 bytes with overhead) up to $HCMEM MB (default 18000), -w29; "partial" when the memory or
# the time cap stopped it: the age configurations at N=3 have more than 360 million states.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
quick=0
ci=0
[ "${1:-}" = "--quick" ] && quick=1
[ "${1:-}" = "--ci" ] && quick=1 && ci=1
for tool in spin "${CC:-gcc}"; do
  command -v "$tool" >/dev/null || { echo "check.sh: '$tool' not found (apt-get install spin gcc)" >&2; exit 2; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
cap=${CAP:-1500}
only=${ONLY:-}

# run NAME EXPECT(holds|mutant) MODE(full|bitstate) -Ddefs...
run() {
  local name=$1 expect=$2 mode=$3; shift 3
  if [ -n "$only" ] && ! printf '%s\n' "$name" | grep -qE "$only"; then return; fi
  if [ "$quick" = 1 ] && { [ "$mode" = bitstate ] || [ "$mode" = hc ]; }; then printf '%-26s skipped (--quick)\n' "$name"; return; fi
  if [ "$ci" = 1 ] && [ "$expect" = holds ] && [ "$name" != n3-nocrash-all ]; then
    printf '%-26s skipped (--ci)\n' "$name"; return
  fi
  local d="$work/$name"; mkdir -p "$d"; cp "$here/lockfile.pml" "$d/"
  ( cd "$d" || exit 2
    spin -a "$@" lockfile.pml >spin.out 2>&1 || { cat spin.out; exit 2; }
    if [ "$mode" = bitstate ]; then
      "${CC:-gcc}" -O2 -w -DSAFETY -DBITSTATE -o pan pan.c || exit 2
      flags="-k3 -w33"
    elif [ "$mode" = hc ]; then
      # Hash compaction: every state reached is stored as a 32-bit compressed signature (40 bytes with overhead),
      # so a search completes within $HCMEM MB where a full state store (172-byte vectors) would not; two states
      # may share a signature (then one is not explored), far less often than bitstate's collisions.
      "${CC:-gcc}" -O2 -w -DSAFETY -DHC4 -DMEMLIM="${HCMEM:-18000}" -o pan pan.c || exit 2
      flags="-m3000000 -w29"
    else
      "${CC:-gcc}" -O2 -w -DSAFETY -DCOLLAPSE -o pan pan.c || exit 2
      flags="-m3000000 -w26"
    fi
    start=$(date +%s.%N)
    if [ "$mode" = bitstate ] || [ "$mode" = hc ]; then
      # shellcheck disable=SC2086
      timeout -s INT "$cap" ./pan $flags >pan.out 2>&1
      [ $? = 124 ] && touch capped
    else
      # shellcheck disable=SC2086
      ./pan $flags >pan.out 2>&1
    fi
    end=$(date +%s.%N)
    echo "$start $end" >time.out
  ) || { echo "$name: could not build the verifier"; status=1; return; }
  local errors states mem secs verdict ok hf depth extra=""
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$d/pan.out" | head -1)
  states=$(sed -n 's/^ *\([0-9e+.]*\) states, stored.*/\1/p' "$d/pan.out" | head -1)
  mem=$(sed -n 's/^ *\([0-9.]*\)\ttotal actual memory usage.*/\1/p' "$d/pan.out" | head -1)
  secs=$(awk '{printf "%.1f", $2 - $1}' "$d/time.out")
  hf=$(sed -n 's/.*hash factor: \([0-9.e+]*\).*/\1/p' "$d/pan.out" | head -1)
  depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$d/pan.out" | head -1)
  [ -n "$hf" ] && extra=" hashfactor=$hf depth=${depth:-?}"
  if [ "${errors:-1}" = 0 ] && [ -f "$d/capped" ]; then verdict="partial"  # stopped by the cap, nothing found
  elif [ "${errors:-1}" = 0 ] && grep -q "reached -DMEMLIM bound" "$d/pan.out"; then verdict="partial"  # hc: memory full
  elif grep -q "Search not completed" "$d/pan.out" && [ "${errors:-1}" = 0 ]; then verdict="incomplete"
  elif [ "${errors:-1}" = 0 ]; then verdict="holds"; else verdict="VIOLATED"; fi
  case "$expect" in
    holds)   case "$verdict" in
               holds) ok="ok";;
               partial) ok="ok (no violation in what was searched before the time or memory cap; not complete)";;
               incomplete) ok="FAIL (search not completed: memory or depth limit)";;
               *) ok="FAIL (property violated on the real model)";;
             esac;;
    mutant)  [ "$verdict" = VIOLATED ] && ok="ok (mutant caught)" || ok="FAIL (mutant not caught)";;
  esac
  printf '%-26s %-9s states=%-10s mem=%-8sMB time=%-7ss%s %s   [%s]\n' "$name" "$verdict" "${states:-?}" "${mem:-?}" "$secs" "$extra" "$ok" "$*"
  case "$ok" in ok*) ;; *) status=1;; esac
  if [ "$verdict" = VIOLATED ]; then
    grep -E "assertion violated|invalid end state" "$d/pan.out" | head -1 | sed 's/^/      /'
    if [ -f "$d/lockfile.pml.trail" ]; then
      ( cd "$d" && spin -t "$@" lockfile.pml 2>&1 | grep 'MSC:' | sed 's/^ *MSC: /      /' )
    fi
  fi
}

C3="-DN=3 -DROUNDS=1 -DMAXATT=2"
M3="-DN=3 -DROUNDS=1 -DMAXATT=3"
echo "== real model: reclaim on proof of death (crashes at any step)"
run n2-r2-all        holds full     -DN=2 -DROUNDS=2 -DMAXATT=3 -DMAXCRASH=1 -DP_ME -DP_RELDEL -DP_RECDEL -DP_WEDGE -DP_NOFALSE -DP_CLEAN -DP_DETECT
run n3-nocrash-all   holds full     $C3 -DMAXCRASH=0 -DP_ME -DP_RELDEL -DP_RECDEL -DP_WEDGE -DP_NOFALSE -DP_CLEAN -DP_DETECT
run n3-crash-safety  holds full     $C3 -DMAXCRASH=1 -DP_ME -DP_RELDEL -DP_RECDEL -DP_DETECT
run n3-crash-wedge   holds full     $C3 -DMAXCRASH=1 -DP_WEDGE -DP_NOFALSE
echo "== age configuration: lock files (AGE=1), and guards too (AGE=2), judged stale by age at any time; no crash"
run age-n2-release   holds full     -DN=2 -DROUNDS=1 -DMAXATT=2 -DMAXCRASH=0 -DAGE=1 -DP_RELDEL -DP_RECDEL -DP_DETECT
run age-n2-detect    holds full     -DN=2 -DROUNDS=1 -DMAXATT=2 -DMAXCRASH=0 -DAGE=2 -DMAXK=2 -DP_RECDEL -DP_DETECT
run age-n3-detect    holds bitstate $C3 -DMAXCRASH=0 -DAGE=2 -DMAXK=2 -DP_DETECT
run age-n3-release   holds hc       $C3 -DMAXCRASH=0 -DAGE=1 -DP_RELDEL -DP_DETECT
run age-n3-recdel    holds bitstate $C3 -DMAXCRASH=0 -DAGE=2 -DMAXK=2 -DP_RECDEL
echo "== N=4 and two crashes: bitstate (too many states to store each one in the memory allowed)"
run n4-crash-me      holds bitstate -DN=4 -DROUNDS=1 -DMAXATT=2 -DMAXCRASH=1 -DP_ME -DP_RECDEL
run n4-crash-silent  holds bitstate -DN=4 -DROUNDS=1 -DMAXATT=2 -DMAXCRASH=1 -DEMPTYAGE=0 -DP_DETECT -DP_NOFALSE
run n3-crash2-me     holds bitstate $C3 -DMAXCRASH=2 -DP_ME -DP_RECDEL
echo "== mutants: each safety step removed in turn (must be caught)"
run m1-no-guard         mutant full $M3 -DMAXCRASH=1 -DMUTANT=1 -DP_ME
run m2-no-reinspect     mutant full $M3 -DMAXCRASH=1 -DMUTANT=2 -DP_ME
run m3-inode-only       mutant full $M3 -DMAXCRASH=1 -DMUTANT=3 -DP_ME
run m4-no-mtime         mutant full $M3 -DMAXCRASH=1 -DMUTANT=4 -DP_ME
run m5-guard-no-proof   mutant full $M3 -DMAXCRASH=1 -DMUTANT=5 -DP_ME
run m6-release-no-guard mutant full $M3 -DMAXCRASH=0 -DAGE=1 -DMUTANT=6 -DP_RELDEL
run m7-put-back         mutant full $M3 -DMAXCRASH=0 -DAGE=2 -DMAXK=2 -DMUTANT=7 -DP_DETECT
run m8-unlink-other     mutant full $M3 -DMAXCRASH=0 -DAGE=2 -DMAXK=2 -DMUTANT=8 -DP_RECDEL
run m9-guard-early      mutant full $M3 -DMAXCRASH=1 -DMUTANT=9 -DP_ME
run m10-guard-reuse     mutant full -DN=4 -DROUNDS=1 -DMAXATT=2 -DMAXCRASH=2 -DMUTANT=10 -DP_ME
run m11-key-has-content mutant full -DN=2 -DROUNDS=1 -DMAXATT=2 -DMAXCRASH=0 -DAGE=1 -DMUTANT=11 -DP_RELDEL
run m12-release-no-wait mutant full $C3 -DMAXCRASH=1 -DMUTANT=12 -DP_NOFALSE

exit $status
