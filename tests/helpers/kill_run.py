#!/usr/bin/env python3
"""Test helper: runs a command and kills it with SIGKILL at a chosen point.

usage: kill_run.py --stdout FILE --stderr FILE WHEN [--delay-ms D] -- COMMAND...

WHEN is one of
  --at-line REGEX          a line of the command's stderr matches REGEX
  --at-bytes N --under DIR the regular files below DIR, hidden ones
                           included, have grown by N bytes or more since
                           the start
  --at-ms N                N milliseconds have passed since the start
The condition is polled every millisecond; once it holds, the helper waits
--delay-ms more (a fault injection delay the caller draws from its seed,
not a synchronisation) and sends SIGKILL. It prints "killed" if the
command died of that signal, else "exited RC": the command ended before
the kill point, or in the moment between. Exit status 0 either way, 2 on
a usage error or when the command cannot be started.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--stdout", required=True)
parser.add_argument("--stderr", required=True)
when = parser.add_mutually_exclusive_group(required=True)
when.add_argument("--at-line")
when.add_argument("--at-bytes", type=int)
when.add_argument("--at-ms", type=int)
parser.add_argument("--under")
parser.add_argument("--delay-ms", type=int, default=0)
parser.add_argument("command", nargs=argparse.REMAINDER)
args = parser.parse_args()
command = args.command[1:] if args.command[:1] == ["--"] else args.command
if not command or (args.at_bytes is not None and not args.under):
    parser.error("give a command after --, and --under with --at-bytes")


def tree_bytes(top):
    total = 0
    for root, _, files in os.walk(top):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass  # renamed or deleted while walking
    return total


baseline = tree_bytes(args.under) if args.at_bytes is not None else 0
start = time.monotonic()
with open(args.stdout, "wb") as out, open(args.stderr, "wb") as err:
    try:
        proc = subprocess.Popen(command, stdout=out, stderr=err)
    except OSError as e:
        print("cannot start %s: %s" % (command[0], e), file=sys.stderr)
        sys.exit(2)
pattern = re.compile(args.at_line) if args.at_line else None
seen = 0
text = ""
reached = False
while proc.poll() is None and not reached:
    if pattern:
        with open(args.stderr, "rb") as f:
            f.seek(seen)
            chunk = f.read()
        seen += len(chunk)
        text += chunk.decode("utf-8", "replace")
        reached = any(pattern.search(line) for line in text.split("\n"))
        text = text[text.rfind("\n") + 1:]
    elif args.at_bytes is not None:
        reached = tree_bytes(args.under) - baseline >= args.at_bytes
    else:
        reached = (time.monotonic() - start) * 1000 >= args.at_ms
    if not reached:
        time.sleep(0.001)
if reached and proc.poll() is None:
    time.sleep(args.delay_ms / 1000)
    try:
        proc.send_signal(signal.SIGKILL)
    except ProcessLookupError:
        pass
rc = proc.wait()
print("killed" if rc == -signal.SIGKILL else "exited %d" % rc)
