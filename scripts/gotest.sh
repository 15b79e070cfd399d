#!/usr/bin/env bash
# gotest.sh runs `go test -v` with the given arguments, shows its output, keeps a copy in
# test-output/go-test.log and ends with one summary line, "tests: N passed, N failed, N skipped"
# (subtests included). It exits with go test's status; without -short among its arguments, a skipped
# test fails the run too (listed with its reason): make test runs every test for real, so a skip there
# means something the suite needs is missing, never a pass.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p test-output
log=test-output/go-test.log

go test -v "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

count() { grep -cE "^[[:space:]]*--- $1: " "$log" || true; }
passed=$(count PASS)
failed=$(count FAIL)
skipped=$(count SKIP)

# Failures are easy to miss in verbose output: list them again at the end.
if ((failed > 0)) || ((status != 0)); then
	echo
	echo "failures:"
	grep -E "^[[:space:]]*--- FAIL: |^FAIL[[:space:]]|^panic: |\[build failed\]|\[setup failed\]" "$log" || true
fi
short=0
for a in "$@"; do
	case $a in -short | -short=true | -test.short | -test.short=true) short=1 ;; esac
done
if ((skipped > 0)) && ((short == 0)); then
	echo
	echo "skipped without -short (each must run for real; the reason follows its name):"
	grep -E -A1 "^[[:space:]]*--- SKIP: " "$log" | grep -vE "^--$" || true
	if ((status == 0)); then
		status=1
	fi
fi
echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
