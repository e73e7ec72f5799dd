#!/bin/bash
# Runs the whole suite: the C unit tests given as arguments, then every
# bats file against real servers (PostgreSQL, s3rver, barman-cloud).
# The tools are installed with `make install` into a scratch prefix that
# the postgres user can reach, and found there through BC_BIN.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

scratch=$(mktemp -d /tmp/bc-suite.XXXXXX)
chmod 755 "$scratch"
trap 'rm -rf "$scratch"' EXIT
make -s install PREFIX="$scratch/prefix" >/dev/null || exit 1
export BC_BIN="$scratch/prefix/bin"
export BC_SUITE_TMP="$scratch"

passed=0 failed=0 skipped=0
for t in "$@"; do
    echo "== unit: $t"
    if out=$("$t" 2>&1); then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
    printf '%s\n' "$out" | tail -n 3
done

tap="$scratch/bats.tap"
bats --tap tests/bats ${BATS_FILTER:+--filter "$BATS_FILTER"} | tee "$tap"
passed=$((passed + $(grep -c '^ok .*' "$tap" | head -1) - $(grep -c '^ok .*# skip' "$tap")))
skipped=$((skipped + $(grep -c '^ok .*# skip' "$tap")))
failed=$((failed + $(grep -c '^not ok' "$tap")))
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | head -1)
ran=$(grep -c '^\(not \)\?ok' "$tap")
if [ -n "$planned" ] && [ "$ran" -lt "$planned" ]; then
    echo "bats stopped early: ran $ran of $planned tests"
    failed=$((failed + planned - ran))
fi

echo
echo "suite: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
