#!/usr/bin/env bats
# deploy/: the kustomize tree renders to deploy/manifest.yaml, the manifest
# holds the objects CloudNativePG and upstream's users expect (names, the
# Service's discovery label and annotations, RBAC, certificates), the
# ObjectStore CRD accepts and refuses what the API server would (schema
# with python3-jsonschema, CEL rules with tests/helpers/crd_check.py), and
# deploy/Dockerfile builds as the suite does and installs every library the
# built tools link. No cluster and no container engine are needed.

load helpers

CHECK="$BC_TOP/tests/helpers/crd_check.py"
M="$BC_TOP/deploy/manifest.yaml"
DOCKERFILE="$BC_TOP/deploy/Dockerfile"
IMAGE=ghcr.io/bc-project/bc:0.1.0

check() { /usr/bin/python3 "$CHECK" "$@"; }

# expect KIND NAME PATH JSON: the manifest's value at PATH is JSON.
expect() {
    local got want
    got=$(check get "$M" "$1" "$2" "$3") || return 1
    want=$(printf '%s' "$4" | /usr/bin/python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))')
    if [ "$got" != "$want" ]; then
        printf '%s/%s %s\n  got:  %s\n  want: %s\n' "$1" "$2" "$3" "$got" "$want"
        return 1
    fi
}

# validate [--strict]: checks the ObjectStores on stdin against the CRD.
validate() {
    local strict=
    [ "${1:-}" != --strict ] || { strict=--strict && shift; }
    check validate $strict "$M" "$@"
}

@test "kubectl kustomize deploy renders, and deploy/manifest.yaml is that rendering (make manifest)" {
    command -v kubectl
    T=$(scratch_dir)
    kubectl kustomize "$BC_TOP/deploy" >"$T/rendered.yaml"
    [ -s "$T/rendered.yaml" ]
    # Other kustomize versions than the generating v5 (Debian 12's
    # kubectl 1.20 has v2) name the generated Secret with another hash.
    any_hash=--any-hash
    kubectl version --client 2>/dev/null | grep -q '^Kustomize Version: v5' && any_hash=
    run check compare "$T/rendered.yaml" "$M" $any_hash
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "the manifest holds exactly the plugin's objects, namespaced in cnpg-system" {
    run /usr/bin/python3 -c '
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    m = d["metadata"]
    name = "plugin-barman-cloud-HASH" if d["kind"] == "Secret" else m["name"]
    print(d["apiVersion"], d["kind"], name, m.get("namespace", "-"))' "$M"
    [ "$status" -eq 0 ]
    [ "$(printf '%s\n' "$output" | sort)" = "$(sort <<'EOF'
apiextensions.k8s.io/v1 CustomResourceDefinition objectstores.barmancloud.cnpg.io -
v1 ServiceAccount plugin-barman-cloud cnpg-system
rbac.authorization.k8s.io/v1 ClusterRole plugin-barman-cloud -
rbac.authorization.k8s.io/v1 ClusterRoleBinding plugin-barman-cloud-binding -
rbac.authorization.k8s.io/v1 Role barman-plugin-leader-election-role cnpg-system
rbac.authorization.k8s.io/v1 RoleBinding barman-plugin-leader-election-rolebinding cnpg-system
rbac.authorization.k8s.io/v1 ClusterRole barman-plugin-objectstore-editor-role -
rbac.authorization.k8s.io/v1 ClusterRole barman-plugin-objectstore-viewer-role -
cert-manager.io/v1 Issuer selfsigned-issuer cnpg-system
cert-manager.io/v1 Certificate barman-cloud-server cnpg-system
cert-manager.io/v1 Certificate barman-cloud-client cnpg-system
v1 Secret plugin-barman-cloud-HASH cnpg-system
v1 Service barman-cloud cnpg-system
apps/v1 Deployment barman-cloud cnpg-system
EOF
)" ]
}

@test "Service barman-cloud: the label and annotations CloudNativePG discovers the plugin by" {
    expect Service barman-cloud metadata.labels \
        '{"app": "barman-cloud", "cnpg.io/pluginName": "barman-cloud.cloudnative-pg.io"}'
    expect Service barman-cloud metadata.annotations \
        '{"cnpg.io/pluginClientSecret": "barman-cloud-client-tls",
          "cnpg.io/pluginServerSecret": "barman-cloud-server-tls", "cnpg.io/pluginPort": "9090"}'
    expect Service barman-cloud spec \
        '{"ports": [{"port": 9090, "protocol": "TCP", "targetPort": 9090}], "selector": {"app": "barman-cloud"}}'
}

@test "Deployment barman-cloud: image, arguments, environment, probes, security" {
    D=spec.template.spec
    C=$D.containers.name=barman-cloud
    expect Deployment barman-cloud spec.replicas 1
    expect Deployment barman-cloud spec.strategy '{"type": "Recreate"}'
    expect Deployment barman-cloud spec.selector '{"matchLabels": {"app": "barman-cloud"}}'
    expect Deployment barman-cloud spec.template.metadata.labels '{"app": "barman-cloud"}'
    expect Deployment barman-cloud $D.serviceAccountName '"plugin-barman-cloud"'
    expect Deployment barman-cloud $D.securityContext \
        '{"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}'
    expect Deployment barman-cloud $C.image "\"$IMAGE\""
    expect Deployment barman-cloud $C.args '["operator", "--server-cert=/server/tls.crt",
        "--server-key=/server/tls.key", "--client-cert=/client/tls.crt", "--server-address=:9090",
        "--leader-elect", "--log-level=info", "--health-probe-bind-address=:8081"]'
    secret=$(check get "$M" Deployment barman-cloud $C.env.name=SIDECAR_IMAGE.valueFrom.secretKeyRef.name | tr -d '"')
    [[ $secret =~ ^plugin-barman-cloud-[a-z0-9]{10}$ ]]
    expect Deployment barman-cloud $C.env "[
        {\"name\": \"SIDECAR_IMAGE\", \"valueFrom\": {\"secretKeyRef\": {\"name\": \"$secret\", \"key\": \"SIDECAR_IMAGE\"}}},
        {\"name\": \"NAMESPACE\", \"valueFrom\": {\"fieldRef\": {\"fieldPath\": \"metadata.namespace\"}}},
        {\"name\": \"POD_NAME\", \"valueFrom\": {\"fieldRef\": {\"fieldPath\": \"metadata.name\"}}}]"
    # the sidecar is the same image
    [ "$(check get "$M" Secret "$secret" data.SIDECAR_IMAGE | tr -d '"' | base64 -d)" = "$IMAGE" ]
    expect Deployment barman-cloud $C.readinessProbe.tcpSocket '{"port": 9090}'
    expect Deployment barman-cloud $C.livenessProbe.httpGet '{"path": "/healthz", "port": 8081}'
    expect Deployment barman-cloud $C.resources.requests.cpu '"10m"'
    expect Deployment barman-cloud $C.securityContext '{"allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": true, "runAsUser": 10001,
        "runAsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}}'
    expect Deployment barman-cloud $C.volumeMounts '[
        {"name": "server", "mountPath": "/server", "readOnly": true},
        {"name": "client", "mountPath": "/client", "readOnly": true},
        {"name": "tmp", "mountPath": "/tmp"}]'
    expect Deployment barman-cloud $D.volumes '[
        {"name": "server", "secret": {"secretName": "barman-cloud-server-tls"}},
        {"name": "client", "secret": {"secretName": "barman-cloud-client-tls"}},
        {"name": "tmp", "emptyDir": {}}]'
}

@test "RBAC: the ClusterRole has exactly the operator's rules, bound to its service account" {
    expect ClusterRole plugin-barman-cloud rules '[
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["barmancloud.cnpg.io"], "resources": ["objectstores"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["barmancloud.cnpg.io"], "resources": ["objectstores/status"], "verbs": ["update"]},
        {"apiGroups": ["postgresql.cnpg.io"], "resources": ["clusters/finalizers"], "verbs": ["update"]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
         "verbs": ["create", "get", "list", "update"]}]'
    sa='[{"kind": "ServiceAccount", "name": "plugin-barman-cloud", "namespace": "cnpg-system"}]'
    expect ClusterRoleBinding plugin-barman-cloud-binding roleRef \
        '{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "plugin-barman-cloud"}'
    expect ClusterRoleBinding plugin-barman-cloud-binding subjects "$sa"
    expect Role barman-plugin-leader-election-role rules \
        '[{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]}]'
    expect RoleBinding barman-plugin-leader-election-rolebinding roleRef \
        '{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "barman-plugin-leader-election-role"}'
    expect RoleBinding barman-plugin-leader-election-rolebinding subjects "$sa"
    # the user-facing roles grant nothing beyond ObjectStores
    expect ClusterRole barman-plugin-objectstore-viewer-role rules.0 \
        '{"apiGroups": ["barmancloud.cnpg.io"], "resources": ["objectstores"], "verbs": ["get", "list", "watch"]}'
    run /usr/bin/python3 -c '
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d["kind"] == "ClusterRole" and d["metadata"]["name"].startswith("barman-plugin-objectstore-"):
        for r in d["rules"]:
            assert r["apiGroups"] == ["barmancloud.cnpg.io"], r' "$M"
    [ "$status" -eq 0 ]
}

@test "cert-manager: the self-signed Issuer and the server and client Certificates" {
    expect Issuer selfsigned-issuer spec '{"selfSigned": {}}'
    issuer='{"group": "cert-manager.io", "kind": "Issuer", "name": "selfsigned-issuer"}'
    expect Certificate barman-cloud-server spec "{\"secretName\": \"barman-cloud-server-tls\",
        \"commonName\": \"barman-cloud\", \"dnsNames\": [\"barman-cloud\"], \"duration\": \"2160h\",
        \"renewBefore\": \"360h\", \"isCA\": false, \"usages\": [\"server auth\"], \"issuerRef\": $issuer}"
    expect Certificate barman-cloud-client spec "{\"secretName\": \"barman-cloud-client-tls\",
        \"commonName\": \"barman-cloud-client\", \"duration\": \"2160h\", \"renewBefore\": \"360h\",
        \"isCA\": false, \"usages\": [\"client auth\"], \"issuerRef\": $issuer}"
}

@test "CRD objectstores.barmancloud.cnpg.io: names, scope, one served storage version v1 with status" {
    crd="CustomResourceDefinition objectstores.barmancloud.cnpg.io"
    expect $crd spec.group '"barmancloud.cnpg.io"'
    expect $crd spec.names '{"kind": "ObjectStore", "listKind": "ObjectStoreList",
        "plural": "objectstores", "singular": "objectstore"}'
    expect $crd spec.scope '"Namespaced"'
    [ "$(check get "$M" $crd spec.versions | /usr/bin/python3 -c '
import json, sys
print([(v["name"], v["served"], v["storage"], v["subresources"]) for v in json.load(sys.stdin)])')" \
        = "[('v1', True, True, {'status': {}})]" ]
    S=spec.versions.0.schema.openAPIV3Schema.properties
    expect $crd $S.spec.required '["configuration"]'
    expect $crd $S.spec.properties.configuration.required '["destinationPath"]'
    expect $crd $S.spec.properties.configuration.properties.destinationPath '{"minLength": 1, "type": "string",
        "description": "URL of the archive: s3://bucket/prefix, https://account.blob.core.windows.net/container/prefix or gs://bucket/prefix."}'
    expect $crd $S.spec.properties.retentionPolicy.pattern '"^[1-9][0-9]*[dwm]$"'
    expect $crd $S.spec.properties.configuration.properties.wal.properties.compression.enum \
        '["bzip2", "gzip", "lz4", "snappy", "xz", "zstd"]'
    expect $crd $S.spec.properties.configuration.properties.data.properties.compression.enum \
        '["bzip2", "gzip", "lz4", "snappy"]'
    expect $crd $S.spec.properties.configuration.properties.data.properties.encryption.enum '["AES256", "aws:kms"]'
    I=$S.spec.properties.instanceSidecarConfiguration.properties
    expect $crd $I.logLevel '{"default": "info", "enum": ["error", "warning", "info", "debug", "trace"],
        "type": "string", "description": "Log level of the sidecar."}'
    expect $crd $I.retentionPolicyIntervalSeconds.default 1800
    expect $crd $I.env.items.required '["name"]'
    expect $crd $I.resources.properties.limits.additionalProperties.x-kubernetes-int-or-string true
    expect $crd $S.status.properties.serverRecoveryWindow.additionalProperties.properties.firstRecoverabilityPoint.format '"date-time"'
}

@test "CRD schema: realistic ObjectStores for S3, Azure, Google Cloud Storage and a private CA are accepted" {
    run validate --strict <<'EOF'
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: s3, namespace: prod}
spec:
  retentionPolicy: 30d
  configuration:
    destinationPath: s3://backups/pg
    endpointURL: https://s3.eu-west-1.amazonaws.com
    s3Credentials:
      accessKeyId: {name: aws, key: ACCESS_KEY_ID}
      secretAccessKey: {name: aws, key: ACCESS_SECRET_KEY}
      region: {name: aws, key: REGION}
    wal:
      compression: zstd
      encryption: AES256
      maxParallel: 8
      archiveAdditionalCommandArgs: [--min-chunk-size=5MB]
    data:
      compression: lz4
      immediateCheckpoint: true
      jobs: 2
      additionalCommandArgs: [--read-timeout=60]
    tags: {team: db}
    historyTags: {kind: history}
  instanceSidecarConfiguration:
    retentionPolicyIntervalSeconds: 3600
    logLevel: debug
    env:
    - {name: AWS_MAX_ATTEMPTS, value: "5"}
    - name: HOST_IP
      valueFrom: {fieldRef: {fieldPath: status.hostIP}}
    resources:
      requests: {cpu: 100m, memory: 128Mi}
      limits: {memory: 1Gi, cpu: 1}
    additionalContainerArgs: [--pprof-server=:6060]
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: azure}
spec:
  retentionPolicy: 4w
  configuration:
    destinationPath: https://account.blob.core.windows.net/backups/pg
    azureCredentials:
      connectionString: {name: azure, key: AZURE_CONNECTION_STRING}
    wal: {compression: gzip}
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: azure-identity}
spec:
  configuration:
    destinationPath: https://account.blob.core.windows.net/backups/pg
    azureCredentials: {useDefaultAzureCredentials: true}
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: gcs}
spec:
  retentionPolicy: 12m
  configuration:
    destinationPath: gs://backups/pg
    googleCredentials:
      applicationCredentials: {name: gcs, key: gcsCredentials}
    data: {compression: snappy}
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: minio}
spec:
  configuration:
    destinationPath: s3://backups/
    endpointURL: https://minio.storage.svc:9000
    endpointCA: {name: minio-ca, key: ca.crt}
    s3Credentials: {inheritFromIAMRole: true}
status:
  serverRecoveryWindow:
    pg:
      firstRecoverabilityPoint: "2026-11-01T00:00:00Z"
      lastSuccessfulBackupTime: "2026-11-22T03:00:05Z"
EOF
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'ok %s\n' s3 azure azure-identity gcs minio)" ]
}

@test "CRD schema: bad retention policies, a missing or empty destinationPath, bad enums are refused" {
    for policy in 30 0d 30y 07d d '30 d' 30D; do
        run validate <<EOF
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: bad}
spec:
  retentionPolicy: '$policy'
  configuration: {destinationPath: s3://backups/pg}
EOF
        echo "$policy: $output"
        [ "$status" -eq 1 ]
        [[ $output == "bad: spec.retentionPolicy: '$policy' does not match '^[1-9][0-9]*[dwm]\$'" ]]
    done
    run validate <<'EOF'
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: nopath}
spec:
  configuration:
    s3Credentials: {inheritFromIAMRole: true}
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: emptypath}
spec:
  configuration: {destinationPath: ""}
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: noconfig}
spec: {retentionPolicy: 30d}
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: enums}
spec:
  configuration:
    destinationPath: s3://b/p
    wal: {compression: brotli, maxParallel: 0}
    data: {compression: zstd, jobs: 0}
  instanceSidecarConfiguration: {logLevel: verbose}
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: secretref}
spec:
  configuration:
    destinationPath: s3://b/p
    s3Credentials:
      accessKeyId: {name: aws}
EOF
    echo "$output"
    [ "$status" -eq 1 ]
    [[ $output == *"nopath: spec.configuration: 'destinationPath' is a required property"* ]]
    [[ $output == *"emptypath: spec.configuration.destinationPath: '' is too short"* ]] ||
        [[ $output == *"emptypath: spec.configuration.destinationPath: '' should be non-empty"* ]]
    [[ $output == *"noconfig: spec: 'configuration' is a required property"* ]]
    [[ $output == *"enums: spec.configuration.wal.compression: 'brotli' is not one of"* ]]
    [[ $output == *"enums: spec.configuration.wal.maxParallel: 0 is less than the minimum of 1"* ]]
    [[ $output == *"enums: spec.configuration.data.compression: 'zstd' is not one of"* ]]
    [[ $output == *"enums: spec.configuration.data.jobs: 0 is less than the minimum of 1"* ]]
    [[ $output == *"enums: spec.instanceSidecarConfiguration.logLevel: 'verbose' is not one of"* ]]
    [[ $output == *"secretref: spec.configuration.s3Credentials.accessKeyId: 'key' is a required property"* ]]
    [[ $output != *ok* ]]
}

@test "CEL rules: every rule of the CRD is known, serverName and --log-level arguments are refused" {
    run check rules "$M"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '%s\t%s\n' \
        spec.configuration '!has(self.serverName)' \
        spec.instanceSidecarConfiguration.additionalContainerArgs "!self.exists(a, a.startsWith('--log-level'))")" ]
    # the messages users see are upstream's
    crd="CustomResourceDefinition objectstores.barmancloud.cnpg.io"
    expect $crd spec.versions.0.schema.openAPIV3Schema.properties.spec.properties.configuration.x-kubernetes-validations \
        '[{"fieldPath": ".serverName", "message": "use the '"'"'serverName'"'"' plugin parameter in the Cluster resource",
           "reason": "FieldValueForbidden", "rule": "!has(self.serverName)"}]'
    run validate <<'EOF'
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: servername}
spec:
  configuration: {destinationPath: s3://b/p, serverName: pg}
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: loglevel}
spec:
  configuration: {destinationPath: s3://b/p}
  instanceSidecarConfiguration:
    additionalContainerArgs: [--pprof-server=:6060, --log-level=debug]
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: loglevel-alone}
spec:
  configuration: {destinationPath: s3://b/p}
  instanceSidecarConfiguration:
    additionalContainerArgs: [--log-level, debug]
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata: {name: fine}
spec:
  configuration: {destinationPath: s3://b/p}
  instanceSidecarConfiguration:
    additionalContainerArgs: [--pprof-server=:6060, -v]
EOF
    echo "$output"
    [ "$status" -eq 1 ]
    [ "$output" = "servername: spec.configuration.serverName: Forbidden: use the 'serverName' plugin parameter in the Cluster resource
loglevel: spec.instanceSidecarConfiguration.additionalContainerArgs: Forbidden: do not set --log-level in additionalContainerArgs; use spec.instanceSidecarConfiguration.logLevel
loglevel-alone: spec.instanceSidecarConfiguration.additionalContainerArgs: Forbidden: do not set --log-level in additionalContainerArgs; use spec.instanceSidecarConfiguration.logLevel
ok fine" ]
}

@test "CEL rules: a rule of a shape the evaluator does not know is reported" {
    T=$(scratch_dir)
    sed 's/!has(self.serverName)/self.serverName.size() < 10/' "$M" >"$T/manifest.yaml"
    run check rules "$T/manifest.yaml"
    [ "$status" -eq 1 ]
    [[ $output == *"spec.configuration	self.serverName.size() < 10	UNKNOWN rule shape"* ]]
}

@test "README: its ObjectStore is valid and its Cluster and Backup use it through the plugin" {
    T=$(scratch_dir)
    awk '/^## Install on Kubernetes/ {on = 1} /^## Building/ {on = 0}
         on && /^```yaml/ {y = 1; next} y && /^```/ {y = 0; print "---"; next} y' \
        "$BC_TOP/README.md" >"$T/readme.yaml"
    run validate --strict "$T/readme.yaml"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "ok store" ]
    run /usr/bin/python3 -c '
import sys, yaml
docs = {d["kind"]: d for d in yaml.safe_load_all(open(sys.argv[1])) if d}
(p,) = docs["Cluster"]["spec"]["plugins"]
assert p == {"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": True,
             "parameters": {"barmanObjectName": docs["ObjectStore"]["metadata"]["name"]}}, p
b = docs["Backup"]["spec"]
assert b == {"cluster": {"name": docs["Cluster"]["metadata"]["name"]}, "method": "plugin",
             "pluginConfiguration": {"name": "barman-cloud.cloudnative-pg.io"}}, b' "$T/readme.yaml"
    echo "$output"
    [ "$status" -eq 0 ]
}

# The Dockerfile's apt-get packages of stage N, sorted, one a line.
docker_apt() { check apt "$DOCKERFILE" "$1" | sort -u; }

# The Debian package that owns PATH (trying /lib and /usr/lib: merged /usr).
owner() {
    local p=$1 alt
    case $p in /usr/lib/*) alt=${p#/usr} ;; /lib/*) alt=/usr$p ;; *) alt=$p ;; esac
    { dpkg -S "$p" 2>/dev/null || dpkg -S "$alt" 2>/dev/null; } | head -n 1 | sed 's/[:,].*//'
}

@test "Dockerfile: the build stage installs the suite's build packages and every library the Makefile links" {
    have=$(docker_apt 0)
    # tests/setup.sh's -dev packages and the tools the Makefile runs
    setup=$(sed -n '/^packages="/,/"$/p' "$BC_TOP/tests/setup.sh" | tr -d '"' | sed 's/packages=//' | tr ' ' '\n' |
        grep -E -e '-dev$' -e '^(build-essential|pkg-config|protobuf-c-compiler)$' | sort -u)
    [ -n "$setup" ]
    echo "setup.sh: $setup"
    echo "Dockerfile: $have"
    [ "$have" = "$setup" ]
    # each -l the Makefile links with comes from a listed package
    ldlibs=$(make -s --no-print-directory -C "$BC_TOP" --eval='bc-print-ldlibs: ; @echo $(LDLIBS)' bc-print-ldlibs)
    [[ $ldlibs == *-lprotobuf-c* ]]
    for l in $ldlibs; do
        [[ $l == -l* ]] || continue
        pkg=$(owner "$(realpath -s "$(gcc -print-file-name="lib${l#-l}.so")")")
        echo "$l: $pkg"
        [ -n "$pkg" ]
        grep -qx -- "$pkg" <<<"$have"
    done
    grep -qx "$(owner "$(command -v protoc-c)")" <<<"$have"
    # every package named exists in Debian 12 (it is installed here)
    for p in $have; do dpkg-query -W -f='${Status}\n' "$p" | grep -q 'install ok installed'; done
}

@test "Dockerfile: make, then make install into /out, as the Makefile installs; /manager, entrypoint, user" {
    [ "$(grep -c '^FROM debian:bookworm-slim\b' "$DOCKERFILE")" -eq 2 ]
    grep -qx 'FROM debian:bookworm-slim AS build' "$DOCKERFILE"
    [ "$(check run "$DOCKERFILE" 0)" = "make
make install PREFIX=/usr/local DESTDIR=/out" ]
    [ "$(check run "$DOCKERFILE" 1)" = "ln -s /usr/local/bin/bc-plugin /manager" ]
    grep -qx 'COPY --from=build /out/usr/local/ /usr/local/' "$DOCKERFILE"
    grep -qx 'ENTRYPOINT \["/usr/local/bin/bc-plugin"\]' "$DOCKERFILE"
    grep -qx 'USER 26:26' "$DOCKERFILE"
    # what that make install does (dry run): every tool into /out/usr/local/bin
    run make -n --no-print-directory -C "$BC_TOP" install PREFIX=/usr/local DESTDIR=/out
    [ "$status" -eq 0 ]
    line=$(grep '^install -m 0755 ' <<<"$output")
    [[ $line == *" /out/usr/local/bin/" ]]
    tools=$(ls "$BC_TOP/cmd")
    [[ $tools == *bc-plugin* ]]
    for t in $tools; do [[ $line == *"/bin/$t "* ]]; done
    # the build context leaves out build outputs and test servers
    for d in build build-san bin tests/node_modules; do grep -qx "$d" "$BC_TOP/.dockerignore"; done
}

@test "Dockerfile: the runtime stage installs exactly the packages of the libraries the built tools link" {
    have=$(docker_apt 1)
    grep -qx ca-certificates <<<"$have"
    ls "$BC_BIN"/bc-plugin "$BC_BIN"/bc-wal-archive
    T=$(scratch_dir)
    for b in "$BC_BIN"/bc-*; do
        readelf -d "$b" >"$T/dynamic"
        ldd "$b" >"$T/ldd"
        sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' "$T/dynamic" | while read -r soname; do
            # the sanitizer pass's runtimes are not part of the image
            case $soname in libasan.so* | libubsan.so* | liblsan.so* | libtsan.so*) continue ;; esac
            path=$(awk -v s="$soname" '$1 == s && $2 == "=>" {print $3}' "$T/ldd")
            echo "$(owner "$path") $soname"
        done >>"$T/needed"
    done
    needed=$(sort -u "$T/needed")
    echo "needed: $needed"
    echo "Dockerfile: $have"
    [[ $needed == *libcurl4\ libcurl.so.4* ]]
    [ "$(grep -c '^ ' <<<"$needed")" -eq 0 ] # every library has an owner
    want=$(awk '{print $1}' <<<"$needed" | grep -vxE 'libc6|libgcc-s1|libstdc\+\+6' | sort -u)
    [ "$want" = "$(grep -vx ca-certificates <<<"$have")" ]
    for p in $have; do dpkg-query -W -f='${Status}\n' "$p" | grep -q 'install ok installed'; done
}
