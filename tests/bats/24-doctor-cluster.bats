#!/usr/bin/env bats
# bc-doctor cluster against the kube-apiserver stand-in
# (tests/helpers/kube_standin.py), serving CloudNativePG-shaped Clusters,
# ObjectStores, Secrets, Pods and Backups: each mistake of the
# troubleshooting guide is one Cluster here (a plugin name typo, a missing
# ObjectStore, a Secret without the key, a failed Backup with its error,
# a Pod without the sidecar, a wrong secret key, no plugin Service), and
# the failing check, its detail and fix asserted. The store checks run as
# the sidecar would, against s3rver behind the SigV4 gate with the
# ObjectStore's own Secret, into an archive a real PostgreSQL wrote; a
# healthy Cluster passes with exit 0. No Secret value is ever shown.

load helpers

# pod FILE CLUSTER NAME SIDECAR(1|0): an instance Pod, with the sidecar as
# CloudNativePG 1.26 injects it (a restartable init container), ready.
pod() {
    local init='[]' statuses='[]'
    if [ "$4" = 1 ]; then
        init='[{"name": "plugin-barman-cloud", "image": "bc", "restartPolicy": "Always"}]'
        statuses='[{"name": "plugin-barman-cloud", "ready": true}]'
    fi
    cat >"$1" <<JSON
{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"namespace": "default", "name": "$3", "labels": {"cnpg.io/cluster": "$2"}},
 "spec": {"initContainers": $init, "containers": [{"name": "postgres", "image": "pg"}]},
 "status": {"initContainerStatuses": $statuses, "containerStatuses": [{"name": "postgres", "ready": true}]}}
JSON
}

backup() { # FILE CLUSTER NAME PHASE [ERROR]
    cat >"$1" <<JSON
{"apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup",
 "metadata": {"namespace": "default", "name": "$3", "creationTimestamp": "2026-12-01T10:00:00Z"},
 "spec": {"cluster": {"name": "$2"}, "method": "plugin",
          "pluginConfiguration": {"name": "barman-cloud.cloudnative-pg.io"}},
 "status": {"phase": "$4", "error": "${5:-}", "instanceID": {"podName": "$2-1"}}}
JSON
}

rbac() { # FILE CLUSTER STORE: the Role and RoleBinding the operator side writes
    cat >"$1" <<JSON
[{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
  "metadata": {"namespace": "default", "name": "$2-barman-cloud"},
  "rules": [{"apiGroups": ["barmancloud.cnpg.io"], "resources": ["objectstores"],
             "verbs": ["get", "watch", "list"], "resourceNames": ["$3"]}]},
 {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
  "metadata": {"namespace": "default", "name": "$2-barman-cloud"},
  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "$2-barman-cloud"},
  "subjects": [{"kind": "ServiceAccount", "name": "$2", "namespace": "default"}]}]
JSON
}

# plugin_service FILE [ANNOTATIONS_JSON]: the plugin's Service in the
# operator's namespace, as deploy/ makes it, and its two TLS Secrets.
plugin_service() {
    local ann=${2:-'{"cnpg.io/pluginPort": "9090", "cnpg.io/pluginServerSecret": "barman-cloud-server-tls", "cnpg.io/pluginClientSecret": "barman-cloud-client-tls"}'}
    local pem
    pem=$(printf 'not a real certificate' | base64)
    cat >"$1" <<JSON
[{"apiVersion": "v1", "kind": "Service",
  "metadata": {"namespace": "cnpg-system", "name": "barman-cloud",
               "labels": {"app": "barman-cloud", "cnpg.io/pluginName": "barman-cloud.cloudnative-pg.io"},
               "annotations": $ann},
  "spec": {"selector": {"app": "barman-cloud"}, "ports": [{"port": 9090, "targetPort": 9090}]}},
 {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
  "metadata": {"namespace": "cnpg-system", "name": "barman-cloud-server-tls"},
  "data": {"tls.crt": "$pem", "tls.key": "$pem", "ca.crt": "$pem"}},
 {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
  "metadata": {"namespace": "cnpg-system", "name": "barman-cloud-client-tls"},
  "data": {"tls.crt": "$pem", "tls.key": "$pem"}}]
JSON
}

setup_file() {
    export K=$(scratch_dir)
    mkdir -p "$K/objects"
    # the healthy Cluster's archive, written by a real PostgreSQL
    start_s3rver
    export PORT=$(free_port)
    init_pg "$K/pg" "$PORT" "archive_mode = on" \
        "archive_command = '$BC_BIN/bc-wal-archive --endpoint-url $S3_ENDPOINT s3://test/pg pg %p'"
    start_pg "$K/pg"
    psql_at "$PORT" "create table t as select generate_series(1, 1000) v" >/dev/null
    archive_current_wal "$PORT"
    timeout 300 bc-backup --endpoint-url "$S3_ENDPOINT" --immediate-checkpoint -h 127.0.0.1 \
        -p "$PORT" -U postgres s3://test/pg pg >/dev/null
    archive_current_wal "$PORT"
    cnpg_objects "$K" store s3://test/pg
    # the status the sidecar writes after a backup
    python3 - "$K/objects/store.json" <<'PY'
import json, sys
objs = json.load(open(sys.argv[1]))
objs[1]["status"] = {"serverRecoveryWindow": {"pg": {
    "firstRecoverabilityPoint": "2026-12-01T09:00:00Z",
    "lastSuccessfulBackupTime": "2026-12-01T10:00:00Z"}}}
json.dump(objs, open(sys.argv[1], "w"))
PY
    # an ObjectStore whose Secret holds a wrong secret access key
    sed -e 's/"name": "store"/"name": "wrongkey"/' -e 's/"name": "store-creds"/"name": "wrongkey-creds"/g' \
        -e "s/\"ACCESS_SECRET_KEY\": \"[^\"]*\"/\"ACCESS_SECRET_KEY\": \"$(printf not-the-key | base64)\"/" \
        "$K/objects/store.json" >"$K/objects/wrongkey.json"
    plugin_service "$K/objects/plugin-service.json"
    # an ObjectStore whose Secret lacks the key it names
    sed -e 's/"name": "store"/"name": "badkey"/' -e 's/ACCESS_SECRET_KEY"}}/SECRET_KEY_TYPO"}}/' \
        "$K/objects/store.json" >"$K/objects/badkey.json"
    sed -i 's/"name": "store-creds"/"name": "badkey-creds"/g' "$K/objects/badkey.json"
    # an ObjectStore with a retention policy the plugin cannot read
    sed -e 's/"name": "store"/"name": "badret"/' -e 's/"retentionPolicy": "30d"/"retentionPolicy": "30 days"/' \
        "$K/objects/store.json" >"$K/objects/badret.json"
    sed -i 's/"name": "store-creds"/"name": "badret-creds"/g' "$K/objects/badret.json"
    for c in pg typo nostore badkey failed nosidecar norole badret wrongkey; do
        store=store
        [ "$c" = nostore ] && store=no-such-store
        case $c in badkey | badret | wrongkey) store=$c ;; esac
        [ "$c" = norole ] || rbac "$K/objects/rbac-$c.json" "$c" "$store"
        cnpg_cluster "$K/objects/cluster-$c.json" "$c" "$store"
        pod "$K/objects/pod-$c.json" "$c" "$c-1" "$([ "$c" = nosidecar ] && echo 0 || echo 1)"
        backup "$K/objects/backup-$c.json" "$c" "$c-backup-1" completed
    done
    sed -i 's/barman-cloud.cloudnative-pg.io"/barman-cloud.cnpg.io"/' "$K/objects/cluster-typo.json"
    backup "$K/objects/backup-failed.json" failed failed-backup-1 failed \
        "can't upload: AccessDenied: Access Denied"
    start_kube "$K"
}

teardown_file() {
    kill "$(cat "$K/standin.pid")" 2>/dev/null || true
    stop_pg "$K/pg"
    stop_s3rver
}

check_line() { grep -q "^$2 *$1: " <<<"$output"; }

# fails CLUSTER CHECK: bc-doctor cluster CLUSTER exits 1 with CHECK failed.
fails() {
    run bc-doctor cluster "$1"
    echo "$output"
    [ "$status" -eq 1 ]
    check_line "$2" fail
}

@test "a healthy Cluster passes every check with exit 0" {
    # the store's credentials come from the ObjectStore's Secret only
    run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY bc-doctor cluster -n default pg
    echo "$output"
    [ "$status" -eq 0 ]
    for c in kubernetes cluster "plugin entry" "wal archiver" parameters objectstore \
        "retention policy" role rolebinding "plugin service" "plugin tls" sidecars backups \
        "objectstore status" "store settings" "store url" "store credentials" \
        "store authentication" "store bucket" "store prefix" "store wal" "store last backup" \
        "store recovery window"; do
        check_line "$c" ok
    done
    [[ "$output" == *"0 failed, 0 warnings, 0 skipped"* ]]
    [[ "$output" == *"Service cnpg-system/barman-cloud, port 9090"* ]]
    [[ "$output" == *"ObjectStore store: bc-doctor store "*"--endpoint-url $S3_ENDPOINT"*" s3://test/pg pg"* ]]
    # the private directory with the credential files is gone
    [ -z "$(ls -d /tmp/bc-doctor.* 2>/dev/null)" ]
    check_line "secret configuration.s3Credentials.accessKeyId" ok
    check_line "secret configuration.s3Credentials.secretAccessKey" ok
    [[ "$output" == *"barmanObjectName store, serverName pg"* ]]
    # keys are looked at, values never shown
    [[ "$output" != *S3RVER* && "$output" != *"$(printf S3RVER | base64)"* ]]
    bc-doctor cluster --format json pg >"$K/r.json"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["subject"] == "cluster" and d["failed"] == 0' "$K/r.json"
}

@test "a plugin name typo gets a did-you-mean, and what needs the entry is skipped" {
    fails typo "plugin entry"
    [[ "$output" == *"names 'barman-cloud.cnpg.io': did you mean 'barman-cloud.cloudnative-pg.io'?"* ]]
    [[ "$output" == *"requested plugin is not available"* ]]
    check_line parameters skipped
}

@test "a missing ObjectStore fails, naming it and the namespace" {
    fails nostore objectstore
    [[ "$output" == *"ObjectStore 'no-such-store' does not exist in default"* ]]
    [[ "$output" == *"fix: create the ObjectStore in the Cluster's namespace, or correct barmanObjectName"* ]]
}

@test "a Secret without the key the ObjectStore names fails, naming both" {
    fails badkey "secret configuration.s3Credentials.secretAccessKey"
    [[ "$output" == *"Secret 'badkey-creds' has no key 'SECRET_KEY_TYPO'"* ]]
    check_line "secret configuration.s3Credentials.accessKeyId" ok
}

@test "a failed Backup is named with its error and its Pod" {
    fails failed backups
    [[ "$output" == *"the latest Backup, failed-backup-1, failed on failed-1: can't upload: AccessDenied: Access Denied"* ]]
}

@test "a Pod without the sidecar fails, naming the Pod and what to do" {
    fails nosidecar sidecars
    [[ "$output" == *"1 of 1 Pods lack a ready plugin-barman-cloud container: nosidecar-1 (no sidecar)"* ]]
    [[ "$output" == *"then delete the Pod so that it is made again"* ]]
}

@test "no Role or RoleBinding for the Cluster: both fail, saying who writes them" {
    fails norole role
    [[ "$output" == *"Role norole-barman-cloud: does not exist"* ]]
    [[ "$output" == *"fix: the plugin's operator side writes it when it reconciles the Cluster"* ]]
    check_line rolebinding fail
}

@test "a Role that does not grant the Cluster's ObjectStore, and a bad retention policy, fail" {
    sed -i 's/"resourceNames": \["badret"\]/"resourceNames": ["store"]/' "$K/objects/rbac-badret.json"
    fails badret role
    [[ "$output" == *"Role badret-barman-cloud does not grant ObjectStore badret"* ]]
    check_line "retention policy" fail
    [[ "$output" == *"'30 days' is not a recovery window the plugin understands"* ]]
    [[ "$output" == *"fix: write it as a number and a unit: 30d, 4w or 6m"* ]]
    check_line rolebinding ok
}

@test "a wrong secret key in the ObjectStore's Secret fails the store's authentication" {
    fails wrongkey "store authentication"
    [[ "$output" == *"store authentication: the secret key does not match the access key"* ]]
    # what needs authentication is skipped, naming it
    check_line "store bucket" skipped
    [[ "$output" != *not-the-key* && "$output" != *"$(printf not-the-key | base64)"* ]]
}

@test "the ObjectStore's Secret missing a key: the store checks are not run" {
    fails badkey "store settings"
    [[ "$output" == *"ObjectStore badkey: spec.configuration.s3Credentials.secretAccessKey"* ]]
    check_line "store" skipped
}

@test "no plugin Service, or one without its annotations, fails saying what CloudNativePG needs" {
    mv "$K/objects/plugin-service.json" "$K/service.saved"
    fails pg "plugin service"
    [[ "$output" == *"no Service in any namespace has the label cnpg.io/pluginName=barman-cloud.cloudnative-pg.io"* ]]
    check_line "plugin tls" skipped
    plugin_service "$K/objects/plugin-service.json" '{"cnpg.io/pluginPort": "9090", "cnpg.io/pluginServerSecret": "barman-cloud-server-tls"}'
    fails pg "plugin service"
    [[ "$output" == *"Service cnpg-system/barman-cloud: annotation cnpg.io/pluginClientSecret is missing"* ]]
    plugin_service "$K/objects/plugin-service.json"
    # the client certificate's Secret lacks its key
    sed -i 's/, "tls.key": "[^"]*"}}]$/}}]/' "$K/objects/plugin-service.json"
    fails pg "plugin tls"
    [[ "$output" == *"Secret cnpg-system/barman-cloud-client-tls (annotation cnpg.io/pluginClientSecret) has no key tls.key"* ]]
    mv "$K/service.saved" "$K/objects/plugin-service.json"
}

@test "no such Cluster, no API server, bad usage" {
    run bc-doctor cluster -n default missing
    [ "$status" -eq 1 ]
    check_line cluster fail
    check_line "plugin entry" skipped
    KUBECONFIG=/nonexistent run bc-doctor cluster pg
    [ "$status" -eq 1 ]
    check_line kubernetes fail
    run bc-doctor cluster
    [ "$status" -eq 3 ]
    [[ "$output" == *"expected the Cluster's NAME"* ]]
}

@test "bundle: the Cluster's objects, logs and report, with no secret value plain or base64" {
    local sak=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY akid=AKIAIOSFODNN7EXAMPLE
    local sig=deadbeef0123456789abcdef0123456789abcdef0123456789abcdef01234567
    local azkey='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
    local jwt=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLXZhbHVl
    local pw=superSecretPassw0rd token=hunter2-Session-T0ken-value
    # credentials where a careless bundle would pick them up: a Pod's env,
    # an applied-configuration annotation, an event, the logs
    python3 - "$K/objects/pod-pg.json" "$K/objects/cluster-pg.json" "$sak" "$akid" "$pw" <<'PY'
import json, sys
pod = json.load(open(sys.argv[1]))
pod["spec"]["containers"][0]["env"] = [
    {"name": "AWS_SECRET_ACCESS_KEY", "value": sys.argv[3]},
    {"name": "AWS_ACCESS_KEY_ID", "value": sys.argv[4]},
    {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"}]
json.dump(pod, open(sys.argv[1], "w"))
c = json.load(open(sys.argv[2]))
c["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration":
    json.dumps({"spec": {"superuserPassword": sys.argv[5]}})}
json.dump(c, open(sys.argv[2], "w"))
PY
    cat >"$K/objects/bundle-extra.json" <<JSON
[{"apiVersion": "v1", "kind": "Event",
  "metadata": {"namespace": "default", "name": "pg.1"},
  "involvedObject": {"kind": "Cluster", "name": "pg"}, "reason": "Failed",
  "message": "cannot connect: DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=$azkey;"},
 {"apiVersion": "v1", "kind": "Event",
  "metadata": {"namespace": "default", "name": "other.1"},
  "involvedObject": {"kind": "Cluster", "name": "other"}, "message": "not about pg"},
 {"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"namespace": "cnpg-system", "name": "barman-cloud"},
  "spec": {"selector": {"matchLabels": {"app": "barman-cloud"}},
           "template": {"metadata": {"labels": {"app": "barman-cloud"}},
                        "spec": {"containers": [{"name": "barman-cloud", "image": "bc-plugin:test"}]}}}},
 {"apiVersion": "v1", "kind": "Pod",
  "metadata": {"namespace": "cnpg-system", "name": "barman-cloud-7d9", "labels": {"app": "barman-cloud"}},
  "spec": {"containers": [{"name": "barman-cloud", "image": "bc-plugin:test"}]}}]
JSON
    mkdir -p "$K/logs/default/pg-1" "$K/logs/cnpg-system/barman-cloud-7d9"
    {
        for i in $(seq 1 700); do echo "{\"level\":\"info\",\"msg\":\"archived WAL line $i\"}"; done
        echo "GET https://s3.example/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=$sig&X-Amz-Expires=60"
        echo "token: $(printf %s "$token" | base64)"
        echo "the last line: archived WAL 000000010000000000000003"
    } >"$K/logs/default/pg-1/plugin-barman-cloud.log"
    echo "request with Authorization: Bearer $jwt" >"$K/logs/cnpg-system/barman-cloud-7d9/barman-cloud.log"

    run bc-doctor bundle -n default -o "$K/b.tar.gz" --log-lines 100 pg
    echo "$output"
    [ "$status" -eq 0 ]
    check_line bundle ok
    [ ! -e "$K/b.tar.gz".bc-tmp.* ]
    mkdir "$K/x"
    tar -xzf "$K/b.tar.gz" -C "$K/x"
    local d=$K/x/bc-doctor-pg
    for f in objects/cluster.json objects/objectstores.json objects/backups.json \
        objects/scheduledbackups.json objects/pods.json objects/events.json \
        objects/plugin-services.json objects/plugin-deployments.json \
        logs/pg-1.plugin-barman-cloud.log logs/barman-cloud-7d9.barman-cloud.log \
        cluster-report.json versions.txt REDACTIONS.txt; do
        [ -s "$d/$f" ] || { echo "missing $f"; false; }
    done
    # what is there is useful: the report, the versions, a bounded log tail
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["subject"] == "cluster"' "$d/cluster-report.json"
    grep -q "kubernetes: v1.32.0-kube-standin" "$d/versions.txt"
    grep -q "deployment cnpg-system/barman-cloud: bc-plugin:test" "$d/versions.txt"
    grep -q "archived WAL 000000010000000000000003" "$d/logs/pg-1.plugin-barman-cloud.log"
    [ "$(wc -l <"$d/logs/pg-1.plugin-barman-cloud.log")" -le 100 ]
    [ "$(grep -c "archived WAL line 1\"" "$d/logs/pg-1.plugin-barman-cloud.log")" = 0 ]
    grep -q '"store"' "$d/objects/objectstores.json"
    [ "$(grep -c "not about pg" "$d/objects/events.json")" = 0 ]
    grep -q PGDATA "$d/objects/pods.json"
    # no Secret was fetched into it
    [ -z "$(grep -rl '"kind": "Secret"' "$d")" ]
    # and no secret value, plain or base64, anywhere
    local v
    for v in "$sak" "$akid" "$sig" "$azkey" "$jwt" "$pw" "$token" S3RVER not-the-key \
        "not a real certificate"; do
        for form in "$v" "$(printf %s "$v" | base64 -w0)"; do
            if grep -rqF -- "$form" "$d"; then echo "found: $form"; false; fi
        done
    done
    # each redaction is listed, with its place and never its value
    grep -q "objects/pods.json: " "$d/REDACTIONS.txt"
    grep -q "objects/events.json: " "$d/REDACTIONS.txt"
    grep -q "objects/cluster.json: " "$d/REDACTIONS.txt"
    grep -q "logs/pg-1.plugin-barman-cloud.log: line" "$d/REDACTIONS.txt"
    grep -q "logs/barman-cloud-7d9.barman-cloud.log: line" "$d/REDACTIONS.txt"
}

@test "bundle: no -o is a usage error; an unwritable FILE fails and leaves nothing" {
    run bc-doctor bundle pg
    [ "$status" -eq 3 ]
    [[ "$output" == *"bundle needs -o FILE.tar.gz"* ]]
    run bc-doctor bundle -o /nonexistent/dir/b.tar.gz pg
    echo "$output"
    [ "$status" -eq 1 ]
    check_line bundle fail
    [ ! -e /nonexistent/dir ]
}
