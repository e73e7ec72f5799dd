#!/usr/bin/env bats
# bc-plugin with a real PostgreSQL: archive_command goes through WAL.Archive
# (tests/helpers/cnpgi_wal.py stands in for the instance manager),
# Backup.Backup takes a base backup, retention runs on the current primary
# and writes the ObjectStore status, and `bc-plugin restore` bootstraps a
# new PGDATA that replays WAL fetched through WAL.Restore.

load helpers

setup_file() {
    start_s3rver
    # R: the recovery Job's directory (teardown_file sees only what setup_file exports)
    export K=$(scratch_dir) P=$(scratch_dir) R=$(scratch_dir) DATA=$(scratch_dir)/pg PORT=$(free_port)
    cnpg_objects "$K" store "s3://test/pgplugin"
    cnpg_objects "$K" dead "s3://test/dead"
    sed -i "s|$S3_ENDPOINT|http://127.0.0.1:9|" "$K/objects/dead.json"
    cnpg_cluster "$K/objects/cluster.json" pg store pg-1
    cp "$K/objects/cluster.json" "$P/cluster.json"
    cnpg_cluster "$P/dead-cluster.json" pg dead pg-1
    start_kube "$K"
    start_plugin instance "$P" CLUSTER_NAME=pg POD_NAME=pg-1 PGDATA="$DATA" \
        SPOOL_DIRECTORY="$P/spool" PGHOST=127.0.0.1 PGPORT="$PORT" PGUSER=postgres
    init_pg "$DATA" "$PORT" "archive_mode = on" "archive_timeout = 0" \
        "archive_command = '/usr/bin/python3 $BC_TOP/tests/helpers/cnpgi_wal.py --socket $P/sock/barman-cloud.cloudnative-pg.io --stubs $P/stubs --cluster $P/cluster.json archive %p'"
    start_pg "$DATA"
    "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -i -s 2 -q postgres >/dev/null 2>&1
    psql_at "$PORT" "create table marks(n int); insert into marks select generate_series(1, 100)"
}

teardown_file() {
    stop_pg "$DATA"
    stop_pg "$R/pgdata"
    stop_plugin "$P"
    stop_plugin "$R"
    kill "$(cat "$K/standin.pid")" "$(cat "$S3RVER_DIR/pid")" "$(cat "$S3RVER_DIR/gate.pid")" 2>/dev/null || true
}

client() { # DIR PYTHON
    PYTHONPATH="$1/stubs:$BC_TOP/tests/helpers" /usr/bin/python3 -c "
import grpc, json
import backup_pb2 as B, backup_pb2_grpc as BG
import metrics_pb2 as M, metrics_pb2_grpc as MG
import restore_job_pb2 as R, restore_job_pb2_grpc as RG
channel = grpc.insecure_channel('unix://$1/sock/barman-cloud.cloudnative-pg.io')
CLUSTER = open('$P/cluster.json', 'rb').read()
from rpc_outcome import code_of
$2"
}

@test "archive_command through WAL.Archive; Backup.Backup returns the backup barman-cloud lists" {
    archive_current_wal "$PORT"
    run client "$P" '
r = BG.BackupStub(channel).Backup(B.BackupRequest(cluster_definition=CLUSTER), timeout=600)
print(r.backup_id, r.backup_name, r.begin_wal, r.end_wal, r.begin_lsn, r.end_lsn)
print(r.online, r.instance_id, r.metadata["clusterUID"], r.metadata["pluginName"], r.metadata["timeline"])
print(0 < r.started_at <= r.stopped_at, r.backup_label_file.startswith(b"START WAL LOCATION: " + r.begin_lsn.encode()))'
    [ "$status" -eq 0 ]
    read -r id name begin_wal end_wal begin_lsn end_lsn <<<"${lines[0]}"
    [[ "$name" == backup-2* ]]
    [ "${lines[1]}" = "True pg-1 uid-pg barman-cloud.cloudnative-pg.io 1" ]
    [ "${lines[2]}" = "True True" ]
    echo "$id" >"$P/backup_id"
    # the same backup, as barman-cloud reads it from the store
    run barman-cloud-backup-list --endpoint-url "$S3_ENDPOINT" --format json s3://test/pgplugin pg
    [[ "$output" == *"\"backup_id\": \"$id\""* ]]
    [[ "$output" == *"\"begin_wal\": \"$begin_wal\""* ]]
    [[ "$output" == *"\"end_xlog\": \"$end_lsn\""* ]]
    # the recovery window in the ObjectStore status, and in the metrics
    run kube_get /apis/barmancloud.cnpg.io/v1/namespaces/default/objectstores/store
    window=$(echo "$output" | python3 -c 'import json,sys; w=json.load(sys.stdin)["status"]["serverRecoveryWindow"]["pg"]; print(w["lastSuccessfulBackupTime"], w["firstRecoverabilityPoint"])')
    [[ "$window" == 2*Z\ 2*Z ]]
    run client "$P" '
got = {m.fq_name: m.value for m in MG.MetricsStub(channel).Collect(M.CollectMetricsRequest(cluster_definition=CLUSTER), timeout=5).metrics}
print(got["barman_cloud_cloudnative_pg_io_last_available_backup_timestamp"] > 0)'
    [ "$output" = True ]
    # rows written after the backup, in archived WAL
    psql_at "$PORT" "insert into marks select generate_series(101, 150)"
    archive_current_wal "$PORT"
}

@test "a failed backup is an error and records lastFailedBackupTime" {
    run client "$P" '
dead = open("'"$P"'/dead-cluster.json", "rb").read()
print(code_of(lambda: BG.BackupStub(channel).Backup(B.BackupRequest(cluster_definition=dead), timeout=600)))'
    [[ "$output" == "UNAVAILABLE backup backup-2"*" failed: "* ]]
    run kube_get /apis/barmancloud.cnpg.io/v1/namespaces/default/objectstores/dead
    echo "$output" | python3 -c 'import json,sys; assert json.load(sys.stdin)["status"]["serverRecoveryWindow"]["pg"]["lastFailedBackupTime"].endswith("Z")'
}

@test "retention runs on the current primary and patches the status subresource" {
    wait_for 60 grep -q 'retention: applying 30d to server pg' "$P/plugin.log"
    wait_for 60 grep -q 'recovery window of server pg: from 2' "$P/plugin.log"
    grep -q '"method": "PATCH", "path": "/apis/barmancloud.cnpg.io/v1/namespaces/default/objectstores/store/status", "content_type": "application/merge-patch+json", "token_ok": true' "$K/journal"
    # Backup resources whose backup left the store are deleted, upstream's
    # way: only completed plugin backups of this very Cluster, and only
    # while the Cluster has a backup section
    local kept lists
    kept=$(cat "$P/backup_id")
    lists=$(grep -c '"path": "/apis/postgresql.cnpg.io/v1/namespaces/default/backups"' "$K/journal" || true)
    python3 - "$K/objects/backups.json" "$kept" <<'PY'
import json, sys
def backup(name, backup_id, cluster="pg", phase="completed", uid="uid-pg"):
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup",
            "metadata": {"namespace": "default", "name": name},
            "spec": {"cluster": {"name": cluster}, "method": "plugin"},
            "status": {"phase": phase, "method": "plugin", "backupId": backup_id,
                       "pluginMetadata": {"clusterUID": uid,
                                          "pluginName": "barman-cloud.cloudnative-pg.io"}}}
json.dump([backup("in-store", sys.argv[2]), backup("gone", "20200101T000000"),
           backup("running", "20200101T000001", phase="running"),
           backup("other-cluster", "20200101T000002", cluster="other"),
           backup("other-uid", "20200101T000003", uid="uid-other")], open(sys.argv[1], "w"))
PY
    # two listings later, with no backup section in the Cluster yet, nothing
    # was deleted
    wait_for 60 sh -c "[ \$(grep -c '\"path\": \"/apis/postgresql.cnpg.io/v1/namespaces/default/backups\"' '$K/journal') -ge $((lists + 2)) ]"
    ! grep -q '"method": "DELETE"' "$K/journal" || false
    cnpg_cluster "$K/objects/cluster.json" pg store pg-1 '"backup": {}'
    wait_for 60 grep -q 'retention: deleted Backup gone: its backup 20200101T000000 is no longer in the store' "$P/plugin.log"
    grep -q '"method": "DELETE", "path": "/apis/postgresql.cnpg.io/v1/namespaces/default/backups/gone"' "$K/journal"
    [ "$(grep -c '"method": "DELETE"' "$K/journal")" -eq 1 ]
    for b in in-store running other-cluster other-uid; do
        kube_get "/apis/postgresql.cnpg.io/v1/namespaces/default/backups/$b" >/dev/null
    done
    # nothing secret in what the plugin logged
    ! grep -q S3RVER "$P/plugin.log" || false
}

@test "the recovery Job: RestoreJobHooks.Restore bootstraps PGDATA, WAL.Restore feeds the replay" {
    origin='"externalClusters": [{"name": "origin", "plugin": {"name": "barman-cloud.cloudnative-pg.io", "parameters": {"barmanObjectName": "store", "serverName": "pg"}}}], "bootstrap": {"recovery": {"source": "origin"}}'
    cnpg_cluster "$R/cluster.json" pg2 store "" "$origin"
    # its own store and server name: those of the cluster it restores
    python3 - "$R/cluster.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["spec"]["plugins"][0]["parameters"]["serverName"] = "pg"
json.dump(c, open(sys.argv[1], "w"))
PY
    PLUGIN_USER=postgres start_plugin restore "$R" CLUSTER_NAME=pg2 POD_NAME=pg2-1 PGDATA="$R/pgdata" \
        SPOOL_DIRECTORY="$R/spool"
    # a new cluster whose own archive already holds WAL is refused
    run client "$R" '
c = open("'"$R"'/cluster.json", "rb").read()
print(code_of(lambda: RG.RestoreJobHooksStub(channel).Restore(R.RestoreRequest(cluster_definition=c), timeout=600)))'
    [[ "$output" == "FAILED_PRECONDITION the new cluster's WAL archive is not empty"* ]]
    [ ! -e "$R/pgdata/PG_VERSION" ]
    # without a store of its own, the latest backup is restored
    python3 - "$R/cluster.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); del c["spec"]["plugins"]
json.dump(c, open(sys.argv[1], "w"))
PY
    run client "$R" '
c = open("'"$R"'/cluster.json", "rb").read()
r = RG.RestoreJobHooksStub(channel).Restore(R.RestoreRequest(cluster_definition=c), timeout=600)
print(r.restore_config)'
    [ "$status" -eq 0 ]
    [[ "$output" == *"restore_command = '/controller/manager wal-restore"* ]]
    [[ "$output" == *"recovery_target_action = promote"* ]]
    grep -q "restoring backup $(cat "$P/backup_id") of server pg" "$R/plugin.log"
    [ -f "$R/pgdata/PG_VERSION" ]
    # PostgreSQL replays WAL asked for through the plugin, as the instance manager would
    echo "restore_command = '/usr/bin/python3 $BC_TOP/tests/helpers/cnpgi_wal.py --socket $R/sock/barman-cloud.cloudnative-pg.io --stubs $R/stubs --cluster $R/cluster.json restore %f %p'" >>"$R/pgdata/postgresql.conf"
    touch "$R/pgdata/recovery.signal"
    port=$(free_port)
    start_restored "$R/pgdata" "$port"
    [ "$(psql_at "$port" "select count(*) from marks")" = 150 ]
    grep -q '"logger":"bc-wal-restore"' "$R/plugin.log" || grep -q 'started bc-wal-restore' "$R/plugin.log"
}

@test "a Backup with parameter verify: \"true\" is read back by bc-verify before it completes" {
    run client "$P" '
r = BG.BackupStub(channel).Backup(B.BackupRequest(cluster_definition=CLUSTER, parameters={"verify": "true"}), timeout=600)
print(r.backup_id)
print(code_of(lambda: BG.BackupStub(channel).Backup(B.BackupRequest(cluster_definition=CLUSTER, parameters={"verify": "yes"}), timeout=60)))'
    [ "$status" -eq 0 ]
    id=${lines[0]}
    grep -q "backup $id (backup-2[0-9]*) verified" "$P/plugin.log"
    [[ "${lines[1]}" == "INVALID_ARGUMENT Backup parameter verify: 'yes' is neither \"true\" nor \"false\""* ]]
    # the backup verified is one bc-verify accepts from outside too
    bc-verify --endpoint-url "$S3_ENDPOINT" s3://test/pgplugin pg "$id"
}
