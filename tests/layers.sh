#!/bin/sh
# make layers: every #include in lib/ and cmd/ points down the stack, or
# within its own module. Ranks, bottom first:
#   0 util
#   1 codec, tar, layout, pg, grpc, kube   (each uses util only)
#   2 store                                (store/http below the providers,
#                                           each provider in its own folder)
#   3 wal, backup, retention
#   4 cli, plugin, doctor
#   5 cmd
# A module may include a module of its own rank only where listed in
# SIDEWAYS (an edge, not a cycle). Prints each upward include; exit 1 if any.
#   tests/layers.sh [TREE]   (default: this checkout)
cd "${1:-$(dirname "$0")/..}" || exit 2
rank() {
    case $1 in
    util) echo 0 ;;
    codec | tar | layout | pg | grpc | kube) echo 1 ;;
    store) echo 2 ;;
    wal | backup | retention) echo 3 ;;
    cli | plugin | doctor) echo 4 ;;
    cmd) echo 5 ;;
    *) echo -1 ;;
    esac
}
SIDEWAYS="layout>codec backup>wal retention>backup retention>wal plugin>cli doctor>plugin doctor>cli"
bad=0
for f in $(find lib cmd -name '*.[ch]' | sort); do
    from=$(echo "$f" | cut -d/ -f2)
    [ "${f%%/*}" = cmd ] && from=cmd
    for to in $(sed -n 's|^#include "\([a-z_]*\)/.*|\1|p' "$f" | sort -u); do
        [ "$to" = "$from" ] && continue
        rf=$(rank "$from") rt=$(rank "$to")
        if [ "$rt" -lt 0 ] || [ "$rf" -lt 0 ]; then
            echo "$f: includes $to/: module not in the layer table (tests/layers.sh)"; bad=1
        elif [ "$rt" -gt "$rf" ]; then
            echo "$f: $from (layer $rf) includes $to/ (layer $rt): points up the stack"; bad=1
        elif [ "$rt" -eq "$rf" ] && ! echo " $SIDEWAYS " | grep -q " $from>$to "; then
            echo "$f: $from includes $to/, a module of its own layer $rf: not an allowed edge"; bad=1
        fi
    done
done
# Inside store: store.h is the interface every provider implements;
# store/http (requests, URLs, XML, listing pages) serves every provider and
# knows none; a provider's folder is its own.
for f in $(find lib/store -mindepth 2 -name '*.[ch]' | sort); do
    own=$(echo "$f" | cut -d/ -f3)
    for sub in $(sed -n 's|^#include "store/\([a-z0-9_]*\)/.*|\1|p' "$f" | sort -u); do
        if [ "$own" = http ] && [ "$sub" != http ]; then
            echo "$f: store/http includes store/$sub/: the HTTP layer knows no provider"; bad=1
        elif [ "$sub" != "$own" ] && [ "$sub" != http ]; then
            echo "$f: store/$own includes store/$sub/: providers use store/http only"; bad=1
        fi
    done
done
[ $bad -eq 0 ] && echo "layers: every include points down"
exit $bad
