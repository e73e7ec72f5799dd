#!/usr/bin/env bats
# bc-plugin's Kubernetes client (lib/kube: HTTP/1.1 over OpenSSL) against
# tests/helpers/kube_standin.py, configured each way a pod or a person
# would: token or client-certificate kubeconfig, in-cluster service
# account, a server behind a path prefix that answers chunked and 503 while
# restarting, and servers that must be refused: those tests start a plugin
# and ask Metrics.Collect, which reads the ObjectStore from the API. The
# writes the operator side makes (create, replace, update with a retry on
# conflict, lists by label, the cache after a write) are driven through
# the client itself by tests/unit/test_kube_client.c with arguments; and
# kubectl checks the stand-in's writes against a real client.

load helpers

# objects DIR: an ObjectStore whose status a backup has written.
objects() {
    mkdir -p "$1/objects"
    cat >"$1/objects/store.json" <<'JSON'
{"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
 "metadata": {"namespace": "default", "name": "store", "resourceVersion": "1"},
 "spec": {"configuration": {"destinationPath": "file:///nonexistent"}},
 "status": {"serverRecoveryWindow": {"pg": {"lastSuccessfulBackupTime": "2026-01-03T00:00:00Z"}}}}
JSON
}

ROLES=/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles

setup_file() {
    export K=$(scratch_dir) R=$(scratch_dir) N=$(scratch_dir) W=$(scratch_dir)
    objects "$K"
    objects "$R"
    objects "$N"
    objects "$W"
    # W: the writes; another writer changes the Role "raced" before its
    # first PUT, "contended" before each of its first five
    local c=$ROLES/contended
    start_kube "$W" --conflict-once "$ROLES/raced" --conflict-once "$c" --conflict-once "$c" \
        --conflict-once "$c" --conflict-once "$c" --conflict-once "$c"
    start_kube "$R" --chunked --unavailable 2 --prefix /k8s/clusters/c-1
    start_kube "$N" --server-name kube.example
    start_kube "$K"
    # the driver of the build bin/ points at (build/ or build-san/)
    local build
    build=$(cd -P "$BC_TOP/bin/.." && pwd)
    make -s -C "$BC_TOP" "${build##*/}/tests/test_kube_client" \
        $([ "${build##*/}" = build-san ] && echo SANITIZE=1)
    export KC="$build/tests/test_kube_client"
}

teardown_file() {
    kill "$(cat "$K/standin.pid")" "$(cat "$R/standin.pid")" "$(cat "$N/standin.pid")" \
        "$(cat "$W/standin.pid")" 2>/dev/null || true
}

teardown() {
    [ -z "${P:-}" ] || stop_plugin "$P"
}

# collect KUBECONFIG [VAR=VALUE...]: starts a plugin reading the API as
# told and prints what Metrics.Collect answers: the last-backup gauge, or
# the gRPC error.
collect() {
    local kubeconfig=$1
    shift
    P=$(scratch_dir)
    cnpg_cluster "$P/cluster.json" pg store
    # no CLUSTER_NAME: no retention run, so the journal holds only the calls
    KUBECONFIG=$kubeconfig start_plugin instance "$P" "$@" >/dev/null
    PYTHONPATH="$P/stubs" /usr/bin/python3 -c "
import grpc, metrics_pb2 as M, metrics_pb2_grpc as MG
stub = MG.MetricsStub(grpc.insecure_channel('unix://$P/sock/barman-cloud.cloudnative-pg.io'))
try:
    got = stub.Collect(M.CollectMetricsRequest(cluster_definition=open('$P/cluster.json', 'rb').read()), timeout=20)
    print(int({m.fq_name: m.value for m in got.metrics}['barman_cloud_cloudnative_pg_io_last_available_backup_timestamp']))
except grpc.RpcError as e:
    print(e.code().name, e.details())"
    # `run collect` is a subshell: its P never reaches teardown, so the
    # plugin stops here
    stop_plugin "$P"
}

# last_request DIR FIELD: FIELD of the stand-in's last journaled request.
last_request() {
    tail -n 1 "$1/journal" | python3 -c "import json, sys; print(json.load(sys.stdin)['$2'])"
}

@test "a kubeconfig with a bearer token, and one with a client certificate" {
    run collect "$K/kubeconfig"
    [ "$output" = 1767398400 ]
    [ "$(last_request "$K" token_ok)" = True ]
    stop_plugin "$P"
    run collect "$K/kubeconfig-cert"
    [ "$output" = 1767398400 ]
    [ "$(last_request "$K" token_ok)" = False ]
    [ "$(last_request "$K" client_cert)" = True ]
}

@test "in a pod: the service-account token, CA and namespace" {
    run collect "" KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$(cat "$K/port")" \
        BC_KUBE_SA_DIR="$K/serviceaccount"
    [ "$output" = 1767398400 ]
    [ "$(last_request "$K" token_ok)" = True ]
    [ "$(last_request "$K" path)" = /apis/barmancloud.cnpg.io/v1/namespaces/default/objectstores/store ]
}

@test "behind a path prefix, chunked replies and 503s while the apiserver restarts" {
    run collect "$R/kubeconfig"
    [ "$output" = 1767398400 ]
    # the first two attempts got 503 and were tried again
    [ "$(python3 -c "import json; print([json.loads(l)['status'] for l in open('$R/journal')])")" = "[503, 503, 200]" ]
    [ "$(last_request "$R" path)" = /k8s/clusters/c-1/apis/barmancloud.cnpg.io/v1/namespaces/default/objectstores/store ]
}

@test "a server certificate for another name or from another CA is refused" {
    local port
    # N's certificate names kube.example only: neither its IP address ...
    port=$(cat "$N/port")
    run collect "$N/kubeconfig"
    [[ "$output" == "UNAVAILABLE "*"TLS certificate verification failed for 127.0.0.1:$port"* ]]
    stop_plugin "$P"
    # ... nor another name for it will do
    sed "s|https://127.0.0.1:$port|https://localhost:$port|" "$N/kubeconfig" >"$BATS_TEST_TMPDIR/other-name"
    run collect "$BATS_TEST_TMPDIR/other-name"
    [[ "$output" == "UNAVAILABLE "*"TLS certificate verification failed for localhost:$port"* ]]
    stop_plugin "$P"
    # K's server and token, R's CA
    local ca_k ca_r
    port=$(cat "$K/port")
    ca_k=$(awk '/certificate-authority-data/ {print $2}' "$K/kubeconfig")
    ca_r=$(awk '/certificate-authority-data/ {print $2}' "$R/kubeconfig")
    sed "s|$ca_k|$ca_r|" "$K/kubeconfig" >"$BATS_TEST_TMPDIR/other-ca"
    run collect "$BATS_TEST_TMPDIR/other-ca"
    [[ "$output" == *"TLS certificate verification failed for 127.0.0.1:$port"* ]]
    # nothing reached the API servers
    [ ! -e "$N/journal" ]
}

@test "a wrong token is a one-line 401 that does not show the token" {
    sed 's/token: .*/token: not-the-token-0123456789/' "$K/kubeconfig" >"$BATS_TEST_TMPDIR/bad-token"
    run collect "$BATS_TEST_TMPDIR/bad-token"
    [[ "$output" == *"kube-apiserver: GET /apis/barmancloud.cnpg.io/v1/namespaces/default/objectstores/store: 401 Unauthorized"* ]]
    [ "${#lines[@]}" -eq 1 ]
    ! grep -q not-the-token "$P/plugin.log"
}

@test "an API server that is not listening is named" {
    cat >"$BATS_TEST_TMPDIR/closed" <<'YAML'
apiVersion: v1
kind: Config
current-context: c
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:9
contexts:
- name: c
  context: {cluster: c, user: u, namespace: default}
users:
- name: u
  user: {token: abc}
YAML
    run collect "$BATS_TEST_TMPDIR/closed"
    [[ "$output" == "UNAVAILABLE "*"cannot connect to 127.0.0.1:9: Connection refused"* ]]
}

# kc STEP...: the steps (see tests/unit/test_kube_client.c) on one client
# of W, one line each: the reply as JSON or "error: STATUS: message".
kc() {
    KUBECONFIG="$W/kubeconfig" "$KC" "$@"
}

# js EXPR: EXPR in Python of o, the JSON on stdin (a, b: a tuple).
js() {
    python3 -c "import json, sys; o = json.load(sys.stdin); print(($1))"
}

# role NAME [LABEL_VALUE [RULES]]: a Role, labelled barmancloud.cnpg.io/cluster=LABEL_VALUE.
role() {
    printf '{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "%s"%s}, "rules": %s}' \
        "$1" "${2:+, \"labels\": {\"barmancloud.cnpg.io/cluster\": \"$2\"\}}" "${3:-[]}"
}

# journal_from N: W's requests from line N on, one "METHOD PATH STATUS" each.
journal_from() {
    tail -n +"$1" "$W/journal" | python3 -c "
import json, sys
for e in map(json.loads, sys.stdin):
    print(e['method'], e['path'], e['status'])"
}

journal_length() {
    wc -l <"$W/journal"
}

@test "create: the object as created, then AlreadyExists as a conflict" {
    run kc create "$ROLES" "$(role made)" create "$ROLES" "$(role made)"
    [ "$status" -eq 0 ]
    [ "$(js 'o["metadata"]["namespace"], o["metadata"]["generation"], len(o["metadata"]["uid"]) == 36, o["metadata"]["creationTimestamp"][-1]' <<<"${lines[0]}")" = "('default', 1, True, 'Z')" ]
    [ "${lines[1]}" = "error: conflict: kube-apiserver: POST $ROLES: 409 AlreadyExists: roles.rbac.authorization.k8s.io \"made\" already exists" ]
    # the POST's body is journaled
    [ "$(tail -n 1 "$W/journal" | js 'o["content_type"], o["body"]["metadata"]["name"], o["status"]')" = "('application/json', 'made', 409)" ]
    # a name the path's namespace contradicts is refused, not created elsewhere
    run kc create "$ROLES" '{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "x", "namespace": "other"}}'
    [[ "$output" == "error: usage error: kube-apiserver: POST $ROLES: 400 BadRequest: the namespace of the provided object does not match"* ]]
}

@test "replace: a stale resourceVersion is a conflict; generation follows the rules, not the labels" {
    local rv
    run kc create "$ROLES" "$(role replaced)"
    rv=$(js 'o["metadata"]["resourceVersion"]' <<<"$output")
    run kc replace "$ROLES/replaced" "$(role replaced "" '[{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]' | sed "s/\"name\": \"replaced\"/&, \"resourceVersion\": \"$rv\"/")" \
        replace "$ROLES/replaced" "$(role replaced | sed "s/\"name\": \"replaced\"/&, \"resourceVersion\": \"$rv\"/")"
    [ "$(js 'o["metadata"]["generation"], o["rules"][0]["verbs"]' <<<"${lines[0]}")" = "(2, ['get'])" ]
    [[ "${lines[1]}" == "error: conflict: kube-apiserver: PUT $ROLES/replaced: 409 Conflict: Operation cannot be fulfilled on roles.rbac.authorization.k8s.io \"replaced\": the object has been modified"* ]]
    # labels alone leave generation; a merge patch of the rules bumps it
    run kc replace "$ROLES/replaced" "$(role replaced pg '[{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]')" \
        patch "$ROLES/replaced" '{"rules": []}'
    [ "$(js 'o["metadata"]["generation"], o["metadata"]["labels"]' <<<"${lines[0]}")" = "(2, {'barmancloud.cnpg.io/cluster': 'pg'})" ]
    [ "$(js 'o["metadata"]["generation"], o["rules"]' <<<"${lines[1]}")" = "(3, [])" ]
}

@test "update: retried after a concurrent write, converging on both; no PUT when nothing changes" {
    local rv from
    rv=$(kc create "$ROLES" "$(role raced)" | js 'int(o["metadata"]["resourceVersion"])')
    from=$(($(journal_length) + 1))
    run kc update "$ROLES/raced" '{"rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get"]}]}'
    [ "$status" -eq 0 ]
    # the change was made twice, the second time on top of the other writer's
    [ "$(js 'o["calls"], o["object"]["metadata"]["annotations"], o["object"]["rules"][0]["resources"], o["object"]["metadata"]["generation"]' <<<"$output")" = "(2, {'kube-standin/concurrent-write': '1'}, ['leases'], 2)" ]
    [ "$(journal_from "$from")" = "GET $ROLES/raced 200
PUT $ROLES/raced 409
GET $ROLES/raced 200
PUT $ROLES/raced 200" ]
    # each PUT named the version its GET read: the created one, then the other writer's
    [ "$(tail -n +"$from" "$W/journal" | grep '"PUT"' | python3 -c "
import json, sys
print(*(json.loads(l)['body']['metadata']['resourceVersion'] for l in sys.stdin))")" = "$rv $((rv + 1))" ]
    from=$(($(journal_length) + 1))
    run kc update "$ROLES/raced" '{"rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get"]}]}'
    [ "$(js 'o["calls"], o["object"]["metadata"]["generation"]' <<<"$output")" = "(1, 2)" ]
    [ "$(journal_from "$from")" = "GET $ROLES/raced 200" ]
    run kc update "$ROLES/absent" '{"rules": []}'
    [ "$output" = "error: not found: kube-apiserver: GET $ROLES/absent: 404 NotFound: roles.rbac.authorization.k8s.io \"absent\" not found" ]
}

@test "update: five conflicts in a row, and it gives up" {
    kc create "$ROLES" "$(role contended)" >/dev/null
    local from=$(($(journal_length) + 1))
    run kc update "$ROLES/contended" '{"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}'
    [[ "$output" == "error: conflict: 5 attempts to update $ROLES/contended conflicted: kube-apiserver: PUT $ROLES/contended: 409 Conflict: "* ]]
    [ "$(journal_from "$from" | sort | uniq -c | awk '{print $1, $2, $4}')" = "5 GET 200
5 PUT 409" ]
    # the other writer's five changes stand, and ours is not among them
    [ "$(kc get "$ROLES/contended" | js 'o["metadata"]["annotations"]["kube-standin/concurrent-write"], o["rules"]')" = "('5', [])" ]
}

@test "lists: label selectors, in a namespace and across namespaces" {
    # namespaces of their own: the other tests' Roles are in default
    local here=/apis/rbac.authorization.k8s.io/v1/namespaces/lists/roles
    local there=/apis/rbac.authorization.k8s.io/v1/namespaces/lists-2/roles
    local names='" ".join(i["metadata"]["namespace"] + "/" + i["metadata"]["name"] for i in o["items"])'
    run kc create "$here" "$(role ls-a ls)" create "$here" "$(role ls-b ls-too)" create "$here" "$(role ls-c)" \
        create "$there" "$(role ls-d ls)"
    [ "$status" -eq 0 ]
    [[ "$output" != *error* ]]
    run kc get "$here?labelSelector=barmancloud.cnpg.io%2Fcluster%20in%20%28ls%29"
    [[ "$output" == "error: usage error: "*"400 BadRequest: unable to parse requirement"* ]]
    run kc get "$here?labelSelector=barmancloud.cnpg.io%2Fcluster" \
        get "$here?labelSelector=barmancloud.cnpg.io%2Fcluster%3Dls" \
        get "$here?labelSelector=barmancloud.cnpg.io%2Fcluster%2Cbarmancloud.cnpg.io%2Fcluster%21%3Dls" \
        get "$here?labelSelector=%21barmancloud.cnpg.io%2Fcluster" \
        get "/apis/rbac.authorization.k8s.io/v1/roles?labelSelector=barmancloud.cnpg.io%2Fcluster%3D%3Dls" \
        get "/apis/barmancloud.cnpg.io/v1/objectstores" \
        get "/apis/coordination.k8s.io/v1/namespaces/default/leases?labelSelector=barmancloud.cnpg.io%2Fcluster"
    [ "$(js "o['kind'], $names" <<<"${lines[0]}")" = "('RoleList', 'lists/ls-a lists/ls-b')" ]
    [ "$(js "$names" <<<"${lines[1]}")" = "lists/ls-a" ]
    [ "$(js "$names" <<<"${lines[2]}")" = "lists/ls-b" ]
    [ "$(js "$names" <<<"${lines[3]}")" = "lists/ls-c" ]
    [ "$(js "$names" <<<"${lines[4]}")" = "lists/ls-a lists-2/ls-d" ]
    [ "$(js "o['kind'], $names" <<<"${lines[5]}")" = "('ObjectStoreList', 'default/store')" ]
    [ "$(js "o['kind'], o['items']" <<<"${lines[6]}")" = "('LeaseList', [])" ]
}

@test "a write drops the cached object and the lists it is in" {
    local store=/apis/barmancloud.cnpg.io/v1/namespaces/default/objectstores/store
    local list="$ROLES?labelSelector=barmancloud.cnpg.io%2Fcluster%3Dcached"
    local wide="/apis/rbac.authorization.k8s.io/v1/roles?labelSelector=barmancloud.cnpg.io%2Fcluster%3Dcached"
    kc create "$ROLES" "$(role cached-a cached)" >/dev/null
    local from=$(($(journal_length) + 1))
    run kc cache 60 cached "$ROLES/cached-a" cached "$list" cached "$wide" cached "$store" \
        cached "$ROLES/cached-a" cached "$list" cached "$wide" cached "$store" \
        patch "$ROLES/cached-a" '{"metadata": {"annotations": {"seen": "yes"}}}' \
        create "$ROLES" "$(role cached-b cached)" \
        patch "$store/status" '{"status": {"written": true}}' \
        cached "$ROLES/cached-a" cached "$list" cached "$wide" cached "$store"
    [ "$status" -eq 0 ]
    # the second round came from memory
    [ "${lines[5]}" = "${lines[1]}" ]
    [ "$(js 'o["metadata"]["annotations"]' <<<"${lines[12]}")" = "{'seen': 'yes'}" ]
    [ "$(js '[i["metadata"]["name"] for i in o["items"]]' <<<"${lines[13]}")" = "['cached-a', 'cached-b']" ]
    [ "$(js '[i["metadata"]["name"] for i in o["items"]]' <<<"${lines[14]}")" = "['cached-a', 'cached-b']" ]
    [ "$(js 'o["status"]["written"]' <<<"${lines[15]}")" = True ]
    # each read once before the writes and once after
    [ "$(journal_from "$from" | grep -c '^GET ')" -eq 8 ]
}

@test "any kind at its plural: RoleBinding, Lease, Pod, Service, Cluster, ObjectStore" {
    local ns=namespaces/kinds kind path
    for kind in rbac.authorization.k8s.io/v1:RoleBinding:rolebindings coordination.k8s.io/v1:Lease:leases \
        v1:Pod:pods v1:Service:services postgresql.cnpg.io/v1:Cluster:clusters \
        barmancloud.cnpg.io/v1:ObjectStore:objectstores; do
        IFS=: read -r api k plural <<<"$kind"
        case $api in v1) path=/api/v1/$ns/$plural ;; *) path=/apis/$api/$ns/$plural ;; esac
        run kc create "$path" "{\"apiVersion\": \"$api\", \"kind\": \"$k\", \"metadata\": {\"name\": \"one\"}, \"spec\": {}}" \
            get "$path/one" get "$path"
        [ "$(js 'o["kind"], o["metadata"]["uid"] != ""' <<<"${lines[0]}")" = "('$k', True)" ]
        [ "${lines[1]}" = "${lines[0]}" ]
        [ "$(js 'o["kind"], len(o["items"])' <<<"${lines[2]}")" = "('${k}List', 1)" ]
    done
    # an object must be of its path's kind
    run kc create "/apis/rbac.authorization.k8s.io/v1/$ns/rolebindings" "$(role not-a-binding)"
    [[ "$output" == "error: usage error: "*"400 BadRequest: the object's apiVersion"* ]]
}

@test "kubectl's raw create, get and replace against the stand-in" {
    local dir=$BATS_TEST_TMPDIR
    role by-kubectl kubectl '[{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]' >"$dir/role.json"
    # HOME: kubectl's cache goes to the test's directory
    HOME=$dir run kubectl --kubeconfig "$W/kubeconfig" create --raw "$ROLES" -f "$dir/role.json"
    [ "$status" -eq 0 ]
    [ "$(js 'o["metadata"]["generation"], o["metadata"]["namespace"]' <<<"$output")" = "(1, 'default')" ]
    HOME=$dir run kubectl --kubeconfig "$W/kubeconfig" create --raw "$ROLES" -f "$dir/role.json"
    [ "$status" -ne 0 ]
    [[ "$output" == *'Error from server (AlreadyExists): roles.rbac.authorization.k8s.io "by-kubectl" already exists'* ]]
    role by-kubectl kubectl '[]' >"$dir/role.json"
    HOME=$dir run kubectl --kubeconfig "$W/kubeconfig" replace --raw "$ROLES/by-kubectl" -f "$dir/role.json"
    [ "$status" -eq 0 ]
    HOME=$dir run kubectl --kubeconfig "$W/kubeconfig" get --raw "$ROLES?labelSelector=barmancloud.cnpg.io%2Fcluster%3Dkubectl"
    [ "$(js '[(i["metadata"]["name"], i["metadata"]["generation"], i["rules"]) for i in o["items"]]' <<<"$output")" = "[('by-kubectl', 2, [])]" ]
}
