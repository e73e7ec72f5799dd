#!/bin/bash
# Compares, for each tool, the long options its --help shows, those its man
# page's OPTIONS section documents, and those the option table
# (lib/cli/options.c) gives it, as the test program LISTER prints them
# (tests/unit/test_options.c, built by `make unit`): every option --help
# shows must be documented, every option the man page documents must be in
# the table, and every option of the table but an alias must be documented.
# Prints each disagreement; exit 1 if any.
#   options_check.sh TOP BIN [LISTER]   (default TOP/bin/../tests/test_options)
top=$1 bin=$2 lister=${3:-$1/bin/../tests/test_options}
if [ ! -x "$lister" ]; then
    echo "options_check.sh: no $lister: build the unit tests first (make unit)"
    exit 2
fi
bad=0
for dir in "$top"/cmd/*/; do
    tool=$(basename "$dir")
    help=$("$bin/$tool" --help 2>&1)
    if [ "$tool" = bc-ls ]; then
        for sub in backups show wals check-empty; do help+=$'\n'$("$bin/$tool" "$sub" --help 2>&1); done
    fi
    shown=$(grep -oP -- '--[a-z][a-z0-9-]*[a-z0-9](?![-*a-z0-9])' <<<"$help" | sort -u)
    documented=$(sed -n '/^\.Sh OPTIONS/,/^\.Sh /p' "$top/man/$tool.1" |
        grep -o 'Fl -[a-z][a-z0-9-]*[a-z0-9]' | sed 's/^Fl /-/' | sort -u)
    table=$("$lister" "$tool") || { echo "$tool: not in the option table"; bad=1; continue; }
    accepted=$(cut -d' ' -f1 <<<"$table" | sort -u)
    required=$(grep -v ' alias$' <<<"$table" | sort -u)
    for o in $(comm -23 <(echo "$shown") <(echo "$documented")); do
        echo "$tool: --help shows $o, which the OPTIONS section of $tool(1) does not document"
        bad=1
    done
    for o in $(comm -23 <(echo "$documented") <(echo "$accepted")); do
        echo "$tool: $tool(1) documents $o, which $tool does not accept"
        bad=1
    done
    for o in $(comm -23 <(echo "$required") <(echo "$documented")); do
        echo "$tool: the option table gives $tool $o, which the OPTIONS section of $tool(1) does not document"
        bad=1
    done
done
exit $bad
