#!/bin/sh
# make coding: the rules of CODING.md that a grep can check. Prints each
# breach as FILE:LINE: rule; exit 1 if any.   tests/coding.sh [TREE]
cd "${1:-$(dirname "$0")/..}" || exit 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
breach() { # RULE, lines "file:line:text" on stdin
    while IFS= read -r hit; do
        echo "${hit%%:*}:$(echo "$hit" | cut -d: -f2): $1"
    done >>"$out"
}
# 1. Library code reports, it does not exit (the CLI layer too: a usage
#    error, --help and --version return the code main returns).
grep -rn '\bexit(' lib --include='*.c' | grep -v '_exit(' |
    breach "exit() in library code: return a bc_status instead" 
# 2. A status is assigned on its own line, then tested: no assignment
#    inside an if or while condition.
grep -rnE '\b(if|while) \(.*\(?\b(st|status) = [^=]' lib cmd --include='*.c' |
    grep -vE '\b(if|while) \([^()]*\) (st|status) = ' |
    breach "status assigned inside a condition: assign, then test"
# 3. One way to say out of memory.
grep -rn 'bc_error(BC_ERR_INTERNAL, "out of memory")' lib cmd --include='*.[ch]' |
    grep -v '^lib/util/status\.[ch]:' | breach "use bc_oom()"
# 4. One growable buffer (util/buffer.h): no private string builders.
grep -rn 'open_memstream\|typedef struct strbuf\|typedef struct text\b' lib cmd --include='*.[ch]' |
    breach "use bc_buffer (util/buffer.h)"
if [ -s "$out" ]; then
    cat "$out"
    exit 1
fi
echo "coding: every checked rule holds"
