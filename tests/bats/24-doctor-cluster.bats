#!/usr/bin/env bats
# bc-doctor cluster against the kube-apiserver stand-in
# (tests/helpers/kube_standin.py), serving CloudNativePG-shaped Clusters,
# ObjectStores, Secrets, Pods and Backups: each mistake of the
# troubleshooting guide is one Cluster here (a plugin name typo, a missing
# ObjectStore, a Secret without the key, a failed Backup with its error,
# a Pod without the sidecar), and the failing check, its detail and fix
# asserted; a healthy Cluster passes with exit 0. No Secret value is ever
# shown.

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

setup_file() {
    export K=$(scratch_dir)
    mkdir -p "$K/objects"
    export S3_ENDPOINT=http://127.0.0.1:9
    cnpg_objects "$K" store s3://test/pg
    # an ObjectStore whose Secret lacks the key it names
    sed -e 's/"name": "store"/"name": "badkey"/' -e 's/ACCESS_SECRET_KEY"}}/SECRET_KEY_TYPO"}}/' \
        "$K/objects/store.json" >"$K/objects/badkey.json"
    sed -i 's/"name": "store-creds"/"name": "badkey-creds"/g' "$K/objects/badkey.json"
    # an ObjectStore with a retention policy the plugin cannot read
    sed -e 's/"name": "store"/"name": "badret"/' -e 's/"retentionPolicy": "30d"/"retentionPolicy": "30 days"/' \
        "$K/objects/store.json" >"$K/objects/badret.json"
    sed -i 's/"name": "store-creds"/"name": "badret-creds"/g' "$K/objects/badret.json"
    for c in pg typo nostore badkey failed nosidecar norole badret; do
        store=store
        [ "$c" = nostore ] && store=no-such-store
        [ "$c" = badkey ] && store=badkey
        [ "$c" = badret ] && store=badret
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

teardown_file() { kill "$(cat "$K/standin.pid")" 2>/dev/null || true; }

check_line() { grep -q "^$2 *$1: " <<<"$output"; }

# fails CLUSTER CHECK: bc-doctor cluster CLUSTER exits 1 with CHECK failed.
fails() {
    run bc-doctor cluster "$1"
    echo "$output"
    [ "$status" -eq 1 ]
    check_line "$2" fail
}

@test "a healthy Cluster passes every check with exit 0" {
    run bc-doctor cluster -n default pg
    echo "$output"
    [ "$status" -eq 0 ]
    for c in kubernetes cluster "plugin entry" "wal archiver" parameters objectstore \
        "retention policy" role rolebinding sidecars backups; do
        check_line "$c" ok
    done
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
