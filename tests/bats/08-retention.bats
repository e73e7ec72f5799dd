#!/usr/bin/env bats
# bc-retention: policies as barman applies them, keep annotations shared
# with barman-cloud-backup-keep, crash-safe deletes, the report, and a real
# PostgreSQL recovered from what a policy left.
#
# Backups whose end times lie days or weeks back are synthetic
# (tests/helpers/fake_store.py): retention reads only backup.info, object
# names and annotations, so the times are testable without waiting.

load helpers

setup_file() {
    start_s3rver
    export W=$(scratch_dir)
}

teardown_file() {
    for d in "$W"/*/; do [ -f "$d/PG_VERSION" ] && stop_pg "$d"; done
    stop_s3rver
}

E() { echo --endpoint-url "$S3_ENDPOINT"; }

# A store with eight backups over two timelines: plain, kept (full and
# standalone) and failed ones, end times from 50 days to 36 hours ago.
mixed_spec() {
    local now day=86400 half=43200
    now=$(date +%s)
    cat <<EOF
{"backups": [
 {"id": "20261001T000000", "tli": 1, "begin": 2, "end": 3, "end_time": $((now - 50 * day))},
 {"id": "20261010T000000", "tli": 1, "begin": 5, "end": 6, "end_time": $((now - 40 * day - half)), "keep": "standalone"},
 {"id": "20261020T000000", "tli": 1, "begin": 8, "end": 9, "end_time": $((now - 30 * day - half))},
 {"id": "20261025T000000", "tli": 1, "begin": 11, "end": 11, "end_time": $((now - 25 * day - half)), "status": "FAILED"},
 {"id": "20261101T000000", "tli": 1, "begin": 13, "end": 14, "end_time": $((now - 20 * day - half)), "keep": "full"},
 {"id": "20261110T000000", "tli": 2, "begin": 22, "end": 23, "end_time": $((now - 11 * day - half))},
 {"id": "20261115T000000", "tli": 2, "begin": 25, "end": 26, "end_time": $((now - 6 * day - half))},
 {"id": "20261120T000000", "tli": 2, "begin": 28, "end": 28, "end_time": $((now - 1 * day - half))}],
 "wals": [{"tli": 1, "from": 1, "to": 21}, {"tli": 2, "from": 20, "to": 30}],
 "history": [2]}
EOF
}

# Backup ids and WAL keys a dry run would delete, from either tool's output
# (barman prints Python lists of keys, we print one key per line).
deleted_set() { # FILE
    python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
keys = set(re.findall(r"[\w/.-]*/(?:base|wals)/[\w.-]+(?:/[\w.-]+)*", text))
ids = sorted({m.group(1) for k in keys for m in [re.search(r"/base/(\w+)/backup\.info$", k)] if m})
wals = sorted(k for k in keys if "/wals/" in k)
print("backups:", " ".join(ids))
print("wals:", " ".join(w.rsplit("/", 1)[1] for w in wals))
PY
}

@test "bad policies and option mixes are refused with exit 3" {
    for p in "REDUNDANCY 0" "REDUNDANCY" "RECOVERY WINDOW OF 3 YEARS" "30x" "d30" "REDUNDANCY 2 please"; do
        run bc-retention -r "$p" "file://$W/none" srv
        [ "$status" -eq 3 ]
        [[ "$output" == *"retention policy"* ]]
    done
    run bc-retention "file://$W/none" srv
    [ "$status" -eq 3 ]
    [[ "$output" == *"nothing to do"* ]]
    run bc-retention -r 7d -b latest "file://$W/none" srv
    [ "$status" -eq 3 ]
    run bc-retention --keep full "file://$W/none" srv
    [ "$status" -eq 3 ]
    run bc-retention --keep forever -b latest "file://$W/none" srv
    [ "$status" -eq 3 ]
    run bc-retention --batch-size 1001 -r 7d "file://$W/none" srv
    [ "$status" -eq 3 ]
}

@test "barman-cloud-backup-delete --dry-run and ours delete the same backups and WAL" {
    mixed_spec | python3 "$BC_TOP/tests/helpers/fake_store.py" s3:test/cmp srv
    # the same without keep annotations, where WAL goes across timelines
    mixed_spec | python3 -c 'import json, sys; s = json.load(sys.stdin)
for b in s["backups"]: b.pop("keep", None)
print(json.dumps(s))' | python3 "$BC_TOP/tests/helpers/fake_store.py" s3:test/cmp-nokeep srv
    s3_keys cmp >"$W/cmp.before"
    for store in cmp cmp-nokeep; do
        for p in "REDUNDANCY 1" "REDUNDANCY 2" "REDUNDANCY 3" "REDUNDANCY 6" \
                 "RECOVERY WINDOW OF 3 DAYS" "RECOVERY WINDOW OF 10 DAYS" \
                 "RECOVERY WINDOW OF 2 WEEKS" "RECOVERY WINDOW OF 1 MONTHS" \
                 "RECOVERY WINDOW OF 60 DAYS"; do
            barman-cloud-backup-delete $(E) --dry-run -r "$p" "s3://test/$store" srv >"$W/barman.out"
            bc-retention $(E) --dry-run -r "$p" "s3://test/$store" srv >"$W/ours.out"
            deleted_set "$W/barman.out" >"$W/barman.set"
            deleted_set "$W/ours.out" >"$W/ours.set"
            echo "== $store: $p"; cat "$W/ours.set"
            diff "$W/barman.set" "$W/ours.set"
        done
    done
    # the comparison has teeth: REDUNDANCY 2 deletes backups and WAL
    bc-retention $(E) --dry-run -r "REDUNDANCY 2" s3://test/cmp srv >"$W/r2.out"
    deleted_set "$W/r2.out" | grep -qx "backups: 20261001T000000 20261020T000000 20261110T000000"
    deleted_set "$W/r2.out" | grep -q "^wals: 000000010000000000000001 "
    # WAL of timeline 2 goes when nothing older is kept
    bc-retention $(E) --dry-run -r "REDUNDANCY 1" s3://test/cmp-nokeep srv >"$W/r1.out"
    deleted_set "$W/r1.out" | grep -q "^wals: .* 000000020000000000000014 .*000000020000000000000018"
    # and a dry run deletes nothing
    s3_keys cmp | diff "$W/cmp.before" -
}

@test "a recovery window straddling the backups deletes exactly what it should, and reports" {
    mixed_spec | python3 "$BC_TOP/tests/helpers/fake_store.py" "dir:$W/win" srv
    bc-retention -r "RECOVERY WINDOW OF 10 DAYS" --report "file://$W/win" srv >"$W/win.json"
    # The window's base is 20261110T000000; of the older backups the plain
    # ones go, the kept ones and the failed one stay.
    run ls "$W/win/srv/base"
    [ "$output" = "$(printf '%s\n' 20261010T000000 20261025T000000 20261101T000000 20261110T000000 20261115T000000 20261120T000000)" ]
    [ -z "$(ls -A "$W/win/srv/base/20261010T000000/annotations" | grep -v keep)" ]
    # Timeline 1: the standalone backup keeps only its own range (5-6),
    # the keep:full backup everything from its begin WAL (0D) on.
    for n in 01 04 07 0C; do [ ! -e "$W/win/srv/wals/0000000100000000/0000000100000000000000$n" ]; done
    for n in 05 06 0D 15; do [ -e "$W/win/srv/wals/0000000100000000/0000000100000000000000$n" ]; done
    [ -e "$W/win/srv/wals/00000002.history" ]
    python3 - "$W/win.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["retention_policy"] == "RECOVERY WINDOW OF 10 DAYS", r
assert r["deleted_backups"] == ["20261001T000000", "20261020T000000"], r
assert r["backups"] == {"done": 5, "kept": 2, "failed": 1, "other": 0}, r
assert r["backups_in_store"] == ["20261010T000000", "20261025T000000", "20261101T000000",
                                 "20261110T000000", "20261115T000000", "20261120T000000"], r
for k in ("first_recoverability_point", "last_successful_backup_time", "last_failed_backup_time"):
    assert r[k].endswith("Z"), r
assert r["first_recoverability_point"] < r["last_failed_backup_time"] < r["last_successful_backup_time"], r
PY
    # running again finds nothing more to delete
    run bc-retention -r "RECOVERY WINDOW OF 10 DAYS" --dry-run "file://$W/win" srv
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "a corrupt backup.info and unknown objects are reported and left alone" {
    mixed_spec | python3 "$BC_TOP/tests/helpers/fake_store.py" "dir:$W/odd" srv
    printf 'status=DONE\nthis is not barman\n' >"$W/odd/srv/base/20261001T000000/backup.info"
    echo note >"$W/odd/srv/base/20261020T000000/notes.txt"
    run bc-retention -r "REDUNDANCY 1" "file://$W/odd" srv
    [ "$status" -eq 1 ]
    [[ "$output" == *"backup 20261001T000000: backup.info cannot be read"* ]]
    [[ "$output" == *"leaving alone srv/base/20261020T000000/notes.txt"* ]]
    [[ "$output" == *"backup 20261001T000000 (in progress, or with an unreadable backup.info) may need it"* ]]
    [ -e "$W/odd/srv/base/20261001T000000/backup.info" ]
    [ -e "$W/odd/srv/base/20261001T000000/data.tar" ]
    [ -e "$W/odd/srv/base/20261020T000000/notes.txt" ]
    [ ! -e "$W/odd/srv/base/20261020T000000/backup.info" ]
    [ ! -e "$W/odd/srv/base/20261020T000000/data.tar" ]
    # WAL the unreadable backup might need is kept
    [ -e "$W/odd/srv/wals/0000000100000000/000000010000000000000001" ]
    [ -e "$W/odd/srv/wals/0000000100000000/000000010000000000000007" ]
    # it can be deleted by id once looked at
    run bc-retention -b 20261001T000000 "file://$W/odd" srv
    [ "$status" -eq 0 ]
    [ ! -e "$W/odd/srv/base/20261001T000000/data.tar" ]
    [ ! -e "$W/odd/srv/base/20261001T000000/backup.info" ]
}

@test "keep annotations: ours and barman-cloud-backup-keep read and write each other's" {
    mixed_spec | python3 "$BC_TOP/tests/helpers/fake_store.py" s3:test/keep srv
    run barman-cloud-backup-keep $(E) --status s3://test/keep srv 20261010T000000
    [ "$output" = "Keep: standalone" ]
    run bc-retention $(E) --status -b 20261010T000000 s3://test/keep srv
    [ "$output" = "Keep: standalone" ]

    bc-retention $(E) --keep full -b 20261115T000000 s3://test/keep srv
    run barman-cloud-backup-keep $(E) --status s3://test/keep srv 20261115T000000
    [ "$output" = "Keep: full" ]
    barman-cloud-backup-keep $(E) --target standalone s3://test/keep srv 20261120T000000
    run bc-retention $(E) --status -b latest s3://test/keep srv
    [ "$output" = "Keep: standalone" ]

    # kept backups are refused by both deleters
    run bc-retention $(E) -b 20261115T000000 s3://test/keep srv
    [ "$status" -eq 1 ]
    [[ "$output" == *"is kept"* ]]
    run barman-cloud-backup-delete $(E) -b 20261120T000000 s3://test/keep srv
    [ "$status" -ne 0 ]
    s3_keys keep/srv/base/20261120T000000/ | grep -q backup.info

    # releases, each way
    barman-cloud-backup-keep $(E) --release s3://test/keep srv 20261115T000000
    run bc-retention $(E) --status -b 20261115T000000 s3://test/keep srv
    [ "$output" = "Keep: nokeep" ]
    bc-retention $(E) --release -b 20261120T000000 s3://test/keep srv
    run barman-cloud-backup-keep $(E) --status s3://test/keep srv 20261120T000000
    [ "$output" = "Keep: nokeep" ]

    # only DONE backups can be kept
    run bc-retention $(E) --keep full -b 20261025T000000 s3://test/keep srv
    [ "$status" -eq 1 ]
    [[ "$output" == *"only DONE backups can be kept"* ]]
}

@test "a delete that dies half-way never leaves a DONE backup, and the next run finishes it" {
    mixed_spec | python3 "$BC_TOP/tests/helpers/fake_store.py" s3:test/crash srv
    port=$(free_port)
    # the first DeleteObjects (the archives) passes, the WAL delete fails
    python3 "$BC_TOP/tests/helpers/flaky_proxy.py" --port "$port" --mode 503 --fail-deletes-after 1 \
        --upstream "${S3_ENDPOINT#http://}" --count-file "$W/count" &
    pid=$!
    wait_for 10 port_open "$port"
    run bc-retention --endpoint-url "http://127.0.0.1:$port" --max-retries 0 -r "REDUNDANCY 6" \
        s3://test/crash srv
    kill $pid
    [ "$status" -eq 2 ]
    [[ "$output" == *"run again to finish"* ]]
    # the archives are gone, backup.info stays and says FAILED to both tools
    ! s3_keys crash/srv/base/20261001T000000/ | grep -q data.tar || false
    barman-cloud-backup-list $(E) --format json s3://test/crash srv >"$W/crash.json"
    python3 - "$W/crash.json" <<'PY'
import json, sys
b = {x["backup_id"]: x for x in json.load(open(sys.argv[1]))["backups_list"]}
assert b["20261001T000000"]["status"] == "FAILED", b["20261001T000000"]
assert "under way" in b["20261001T000000"]["error"]
PY
    s3_keys crash/srv/wals/ | grep -q 000000010000000000000001
    # any later run finishes the job first
    run bc-retention $(E) --report s3://test/crash srv
    [ "$status" -eq 0 ]
    [[ "$output" == *'"deleted_backups": [
    "20261001T000000"
  ]'* ]]
    ! s3_keys crash/srv/base/20261001T000000/ | grep -q . || false
    ! s3_keys crash/srv/wals/ | grep -q 000000010000000000000001 || false
    s3_keys crash/srv/wals/ | grep -q 000000010000000000000005
}

@test "REDUNDANCY 2 on a real server: the oldest backup and its WAL go, PITR from the next works" {
    URL=s3://test/real
    PORT=$(free_port)
    start_primary "$W/primary" "$PORT" "$URL"
    psql_at "$PORT" "create table marks (v text)"
    ids=()
    for n in 1 2 3; do
        psql_at "$PORT" "insert into marks values ('before-$n')"
        archive_current_wal "$PORT"
        ids+=("$(bc-backup $(E) --immediate-checkpoint -h 127.0.0.1 -p "$PORT" -U postgres "$URL" srv)")
    done
    psql_at "$PORT" "insert into marks values ('after-3')"
    archive_current_wal "$PORT"
    s3_get "real/srv/base/${ids[1]}/backup.info" "$W/second.info"
    second_begin=$(sed -n 's/^begin_wal=//p' "$W/second.info")
    s3_keys real/srv/wals/ | sed 's|.*/||' | sort >"$W/wals.before"

    deletes_before=$(grep -c "^POST /test?delete" "$S3RVER_DIR/journal.log" || true)
    run bc-retention $(E) --batch-size 3 -r "REDUNDANCY 2" s3://test/real srv
    [ "$status" -eq 0 ]
    deletes=$(( $(grep -c "^POST /test?delete" "$S3RVER_DIR/journal.log") - deletes_before ))
    run bc-ls backups $(E) --format json "$URL" srv
    [[ "$output" != *"${ids[0]}"* ]]
    [[ "$output" == *"${ids[1]}"* && "$output" == *"${ids[2]}"* ]]
    ! s3_keys "real/srv/base/${ids[0]}/" | grep -q . || false
    s3_keys real/srv/wals/ | sed 's|.*/||' | sort >"$W/wals.after"
    # exactly the WAL files before the second backup's begin WAL went
    python3 - "$W/wals.before" "$W/wals.after" "$second_begin" <<'PY'
import sys
before = set(open(sys.argv[1]).read().split())
after = set(open(sys.argv[2]).read().split())
bound = sys.argv[3]
gone = before - after
assert gone, "nothing was deleted"
assert all(w < bound for w in gone), gone
assert all(w >= bound or w.endswith(".history") for w in after), sorted(after)
PY
    gone=$(python3 -c "print(len(set(open('$W/wals.before').read().split()) - set(open('$W/wals.after').read().split())))")
    # DeleteObjects requests: the archive, the WAL in batches of 3, backup.info
    [ "$deletes" -eq $(( 1 + (gone + 2) / 3 + 1 )) ]
    # PITR from the oldest remaining backup replays through the third
    bc-restore $(E) "$URL" srv "${ids[1]}" "$W/from-second" --write-recovery-conf
    port=$(free_port)
    start_restored "$W/from-second" "$port"
    [ "$(psql_at "$port" "select string_agg(v, ',' order by v) from marks")" = "after-3,before-1,before-2,before-3" ]
}
