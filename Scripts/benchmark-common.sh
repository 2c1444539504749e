# Helpers the benchmark scripts share (they run from the repository root): `source Scripts/benchmark-common.sh`.
# now: the time in seconds; seconds START END: END − START, 2 decimals; rate COUNT SECONDS: COUNT / SECONDS,
# rounded; median X…: the median of its arguments.
now() { date +%s.%N; }
seconds() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }
rate() { python3 -c "import sys; print(round(float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
median() { python3 -c "import sys, statistics; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
# result TARGET WHAT FIGURE BASELINE GOAL VERDICT: one line of the report (Scripts/benchmark-report.sh collects
# every line that starts with RESULT), e.g. result 3 "verify" "1.65 s" "–" "< 2 s" met
result() { printf 'RESULT %s | %s | %s | %s | %s | %s\n' "$@"; }
# verdict COMMAND: "met" when the python expression COMMAND is true, else "missed".
verdict() { python3 -c "import sys; print('met' if ($1) else 'missed')"; }
