#!/bin/bash
# Compares, for each tool, the long options its --help shows, those its man
# page's OPTIONS section documents, and those its getopt tables accept:
# every option --help shows must be documented, and every option the man
# page documents must be accepted. Prints each disagreement; exit 1 if any.
#   options_check.sh TOP BIN
top=$1 bin=$2
bad=0
accepted_by() { # TOOL: long names in its getopt tables (its main.c, the common ones)
    grep -ohE '\{"[a-z][a-z0-9-]*", *(no|required|optional)_argument' \
        "$top/cmd/$1/main.c" "$top/lib/cli/cli.c" "$top/lib/cli/cli.h" |
        sed -E 's/\{"([^"]*)".*/--\1/' | sort -u
}
for dir in "$top"/cmd/*/; do
    tool=$(basename "$dir")
    [ "$tool" = bc-plugin ] && continue
    help=$("$bin/$tool" --help 2>&1)
    if [ "$tool" = bc-ls ]; then
        for sub in backups show wals check-empty; do help+=$'\n'$("$bin/$tool" "$sub" --help 2>&1); done
    fi
    shown=$(grep -oP -- '--[a-z][a-z0-9-]*[a-z0-9](?![-*a-z0-9])' <<<"$help" | sort -u)
    documented=$(sed -n '/^\.Sh OPTIONS/,/^\.Sh /p' "$top/man/$tool.1" |
        grep -o 'Fl -[a-z][a-z0-9-]*[a-z0-9]' | sed 's/^Fl /-/' | sort -u)
    accepted=$(accepted_by "$tool")
    for o in $(comm -23 <(echo "$shown") <(echo "$documented")); do
        echo "$tool: --help shows $o, which the OPTIONS section of $tool(1) does not document"
        bad=1
    done
    for o in $(comm -23 <(echo "$documented") <(echo "$accepted")); do
        echo "$tool: $tool(1) documents $o, which $tool does not accept"
        bad=1
    done
done
exit $bad
