/* bc-doctor cluster: the Kubernetes side of the troubleshooting guide for
 * one CloudNativePG Cluster, read through the API server (kubeconfig or
 * in-cluster; see doctor.h). Secrets are looked at for their keys only:
 * no value is decoded or shown. */
#include "doctor/doctor.h"
#include "doctor/doctor_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "kube/kube.h"
#include "plugin/plugin.h"
#include "plugin/sidecar.h"
#include "plugin/rbac.h"
#include "util/json.h"



/* Whether the string at path is value. */
static int is(const json_t *o, const char *path, const char *value)
{
    const char *v = bc_json_at(o, path);
    return v && strcmp(v, value) == 0;
}

/* Levenshtein distance, for "did you mean": names are short. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[128];
    if (la >= 127 || lb >= 127)
        return 128;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t best = prev + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

/* The Cluster's entry for the plugin, or NULL (with the check recorded). */
static const json_t *plugin_entry(bc_doctor_report *r, const json_t *cluster)
{
    const json_t *plugins = json_object_get(json_object_get(cluster, "spec"), "plugins");
    size_t i;
    const json_t *p, *near = NULL;
    json_array_foreach(plugins, i, p) {
        const char *name = bc_json_at(p, "name");
        if (!name)
            continue;
        if (strcmp(name, BC_PLUGIN_NAME) == 0) {
            if (json_is_false(json_object_get(p, "enabled"))) {
                bc_doctor_add(r, "plugin entry", BC_CHECK_FAIL, "set enabled: true, or remove "
                              "the field", "spec.plugins names " BC_PLUGIN_NAME " but disables it");
                return NULL;
            }
            bc_doctor_add(r, "plugin entry", BC_CHECK_OK, NULL, "spec.plugins has " BC_PLUGIN_NAME);
            return p;
        }
        if (distance(name, BC_PLUGIN_NAME) <= 6 || strstr(name, "barman"))
            near = p;
    }
    if (near)
        bc_doctor_add(r, "plugin entry", BC_CHECK_FAIL, "set name: " BC_PLUGIN_NAME " in the "
                      "Cluster's spec.plugins (\"requested plugin is not available\" in the "
                      "Cluster's status means this)", "spec.plugins names '%s': did you mean "
                      "'" BC_PLUGIN_NAME "'?", bc_json_at(near, "name"));
    else
        bc_doctor_add(r, "plugin entry", BC_CHECK_FAIL, "add to spec.plugins: {name: "
                      BC_PLUGIN_NAME ", isWALArchiver: true, parameters: {barmanObjectName: "
                      "STORE}}", "the Cluster does not use the plugin (no spec.plugins entry "
                      "for " BC_PLUGIN_NAME ")");
    return NULL;
}

/* Every {name, key} Secret reference under the ObjectStore's credentials. */
static void secret_refs(bc_doctor_report *r, bc_kube *k, const char *ns, const json_t *v,
                        const char *where, int *n)
{
    if (json_is_object(v)) {
        const char *name = bc_json_at(v, "name"), *key = bc_json_at(v, "key");
        if (name && key && json_object_size(v) == 2) {
            char path[512], check[256];
            snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", ns, name);
            snprintf(check, sizeof check, "secret %s", where);
            json_t *secret = NULL;
            bc_status st = bc_kube_get(k, path, &secret);
            (*n)++;
            if (st == BC_ERR_NOTFOUND)
                bc_doctor_add(r, check, BC_CHECK_FAIL, "create the Secret in the Cluster's "
                              "namespace, or correct the name", "%s names Secret '%s', which "
                              "does not exist in %s", where, name, ns);
            else if (st != BC_OK)
                bc_doctor_add(r, check, BC_CHECK_FAIL, "see the message", "%s", bc_error_msg());
            else if (!json_object_get(json_object_get(secret, "data"), key) &&
                     !json_object_get(json_object_get(secret, "stringData"), key))
                bc_doctor_add(r, check, BC_CHECK_FAIL, "add the key to the Secret, or correct "
                              "the key name in the ObjectStore", "Secret '%s' has no key '%s' "
                              "(%s)", name, key, where);
            else
                bc_doctor_add(r, check, BC_CHECK_OK, NULL, "Secret '%s' has key '%s'", name,
                              key);
            json_decref(secret);
            return;
        }
        const char *field;
        json_t *child;
        json_object_foreach((json_t *)v, field, child) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.%s", where, field);
            secret_refs(r, k, ns, child, sub, n);
        }
    }
}

/* The ObjectStore's status as the sidecar writes it: the server's
 * recovery window, its last successful and last failed backup. */
static void objectstore_status(bc_doctor_report *r, const json_t *os, const char *server)
{
    const json_t *w = json_object_get(json_object_get(json_object_get(os, "status"),
                                                      "serverRecoveryWindow"), server);
    if (!w) {
        bc_doctor_add(r, "objectstore status", BC_CHECK_WARN, "the sidecar of the primary "
                      "writes it after a backup: take one, and read the sidecar's log if it "
                      "stays empty", "status.serverRecoveryWindow has no entry for server %s",
                      server);
        return;
    }
    const char *ok = bc_json_at(w, "lastSuccessfulBackupTime");
    const char *failed = bc_json_at(w, "lastFailedBackupTime");
    const char *first = bc_json_at(w, "firstRecoverabilityPoint");
    /* RFC 3339 times of one zone compare as strings */
    int failing = failed && (!ok || strcmp(failed, ok) > 0);
    bc_doctor_add(r, "objectstore status", failing ? BC_CHECK_WARN : BC_CHECK_OK,
                  "the newest backup failed: see the backups check and the sidecar's log",
                  "server %s: recoverable from %s, last backup %s%s%s", server,
                  first ? first : "(none)", ok ? ok : "(none)", failed ? ", last failed " : "",
                  failed ? failed : "");
}

static json_t *objectstore_checks(bc_doctor_report *r, bc_kube *k, const char *ns,
                                  const char *store_name)
{
    char path[512];
    snprintf(path, sizeof path, "/apis/barmancloud.cnpg.io/v1/namespaces/%s/objectstores/%s",
             ns, store_name);
    json_t *os = NULL;
    bc_status st = bc_kube_get(k, path, &os);
    if (st != BC_OK) {
        bc_doctor_add(r, "objectstore", BC_CHECK_FAIL, st == BC_ERR_NOTFOUND
                      ? "create the ObjectStore in the Cluster's namespace, or correct "
                        "barmanObjectName" : "see the message",
                      st == BC_ERR_NOTFOUND ? "ObjectStore '%s' does not exist in %s"
                                            : "reading ObjectStore '%s' in %s failed",
                      store_name, ns);
        bc_doctor_needs(r, "credentials", "objectstore");
        return NULL;
    }
    const json_t *conf = json_object_get(json_object_get(os, "spec"), "configuration");
    const char *dest = bc_json_at(conf, "destinationPath");
    bc_doctor_add(r, "objectstore", dest ? BC_CHECK_OK : BC_CHECK_FAIL,
                  "set spec.configuration.destinationPath", "ObjectStore '%s': %s", store_name,
                  dest ? dest : "no destinationPath");
    if (bc_json_at(conf, "serverName"))
        bc_doctor_add(r, "objectstore serverName", BC_CHECK_WARN, "remove "
                      "spec.configuration.serverName; name the server with the Cluster's "
                      "plugin parameter serverName", "spec.configuration.serverName is '%s': "
                      "the plugin takes the server name from the Cluster's parameters",
                      bc_json_at(conf, "serverName"));
    const char *retention = bc_json_at(os, "spec.retentionPolicy");
    if (retention) {
        size_t digits = strspn(retention, "0123456789");
        int valid = digits > 0 && retention[0] != '0' && strchr("dwm", retention[digits]) &&
                    retention[digits] && !retention[digits + 1];
        bc_doctor_add(r, "retention policy", valid ? BC_CHECK_OK : BC_CHECK_FAIL, "write it as "
                      "a number and a unit: 30d, 4w or 6m", "'%s'%s", retention,
                      valid ? "" : " is not a recovery window the plugin understands");
    }
    int n = 0;
    secret_refs(r, k, ns, conf, "configuration", &n);
    if (!n)
        bc_doctor_add(r, "credentials", BC_CHECK_OK, NULL, "no Secret referenced (workload "
                      "identity or inheritFromIAMRole)");
    return os;
}

/* The "<cluster>-barman-cloud" Role and RoleBinding the plugin's operator
 * side keeps, without which the sidecars cannot read their ObjectStore. */
static void rbac_checks(bc_doctor_report *r, bc_kube *k, const char *ns, const char *cluster,
                        const char *store)
{
    static const char fix[] = "the plugin's operator side writes it when it reconciles the "
                              "Cluster: check that its Deployment runs and read its log";
    char name[300], path[600];
    snprintf(name, sizeof name, "%s-barman-cloud", cluster);
    snprintf(path, sizeof path, "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles/%s", ns,
             name);
    json_t *role = NULL;
    bc_status st = bc_kube_get(k, path, &role);
    if (st != BC_OK) {
        bc_doctor_add(r, "role", BC_CHECK_FAIL, fix, "Role %s: %s", name,
                      st == BC_ERR_NOTFOUND ? "does not exist" : bc_error_msg());
    } else {
        json_t *names = bc_rbac_role_store_names(role);
        size_t i;
        const json_t *v;
        int covered = 0;
        json_array_foreach(names, i, v)
            covered |= json_string_value(v) && strcmp(json_string_value(v), store) == 0;
        json_decref(names);
        bc_doctor_add(r, "role", covered ? BC_CHECK_OK : BC_CHECK_FAIL, fix, "Role %s %s "
                      "ObjectStore %s", name, covered ? "grants" : "does not grant", store);
    }
    json_decref(role);
    snprintf(path, sizeof path, "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings/%s",
             ns, name);
    json_t *rb = NULL;
    st = bc_kube_get(k, path, &rb);
    const char *ref = bc_json_at(rb, "roleRef.name");
    int bound = 0;
    size_t i;
    const json_t *sub;
    json_array_foreach(json_object_get(rb, "subjects"), i, sub)
        bound |= is(sub, "kind", "ServiceAccount") && is(sub, "name", cluster);
    if (st != BC_OK)
        bc_doctor_add(r, "rolebinding", BC_CHECK_FAIL, fix, "RoleBinding %s: %s", name,
                      st == BC_ERR_NOTFOUND ? "does not exist" : bc_error_msg());
    else if (!ref || strcmp(ref, name) != 0 || !bound)
        bc_doctor_add(r, "rolebinding", BC_CHECK_FAIL, "delete the RoleBinding: the operator "
                      "side makes it again", "RoleBinding %s does not bind Role %s to the "
                      "Cluster's service account %s", name, name, cluster);
    else
        bc_doctor_add(r, "rolebinding", BC_CHECK_OK, NULL, "RoleBinding %s binds it to "
                      "service account %s", name, cluster);
    json_decref(rb);
}

/* The Secret ns/name exists and holds every key of keys (names only). */
static int tls_secret_ok(bc_doctor_report *r, bc_kube *k, const char *ns, const char *name,
                         const char *const *keys, const char *annotation)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", ns, name);
    json_t *secret = NULL;
    bc_status st = bc_kube_get(k, path, &secret);
    const char *missing = NULL;
    for (size_t i = 0; st == BC_OK && keys[i] && !missing; i++)
        if (!json_object_get(json_object_get(secret, "data"), keys[i]))
            missing = keys[i];
    json_decref(secret);
    if (st == BC_OK && !missing)
        return 1;
    if (st == BC_ERR_NOTFOUND || missing)
        bc_doctor_add(r, "plugin tls", BC_CHECK_FAIL, "the plugin's manifest has cert-manager "
                      "make it (deploy/); a Secret of your own must be kubernetes.io/tls",
                      "Secret %s/%s (annotation %s) %s%s", ns, name, annotation,
                      missing ? "has no key " : "does not exist", missing ? missing : "");
    else
        bc_doctor_add(r, "plugin tls", BC_CHECK_FAIL, "bc-doctor needs to get Secrets in the "
                      "operator's namespace for this check", "Secret %s/%s: %s", ns, name,
                      bc_error_msg());
    return 0;
}

/* The plugin's Service, which CloudNativePG finds by its label in its own
 * namespace, with the annotations naming the port and the TLS Secrets. */
static void service_checks(bc_doctor_report *r, bc_kube *k)
{
    static const char fix[] = "apply the plugin's manifest (deploy/) in the CloudNativePG "
                              "operator's namespace";
    json_t *list = NULL;
    bc_status st = bc_kube_get(k, "/api/v1/services?labelSelector=cnpg.io%2FpluginName%3D"
                               BC_PLUGIN_NAME, &list);
    if (st != BC_OK) {
        bc_doctor_add(r, "plugin service", BC_CHECK_WARN, "allow listing Services in all "
                      "namespaces to check the plugin's Service", "%s", bc_error_msg());
        json_decref(list);
        return;
    }
    const json_t *items = json_object_get(list, "items"), *svc = json_array_get(items, 0);
    if (!svc) {
        bc_doctor_add(r, "plugin service", BC_CHECK_FAIL, fix, "no Service in any namespace "
                      "has the label cnpg.io/pluginName=" BC_PLUGIN_NAME ": CloudNativePG cannot "
                      "find the plugin (\"requested plugin is not available\")");
        bc_doctor_needs(r, "plugin tls", "plugin service");
        json_decref(list);
        return;
    }
    const char *ns = bc_json_at(svc, "metadata.namespace"), *name = bc_json_at(svc,
                                                                                "metadata.name");
    /* annotation names hold dots: not a bc_json_at path */
    const json_t *ann = json_object_get(json_object_get(svc, "metadata"), "annotations");
    const char *port = json_string_value(json_object_get(ann, "cnpg.io/pluginPort"));
    const char *server_secret = json_string_value(json_object_get(ann, "cnpg.io/pluginServerSecret"));
    const char *client_secret = json_string_value(json_object_get(ann, "cnpg.io/pluginClientSecret"));
    const char *absent = !port ? "cnpg.io/pluginPort" : !server_secret
                         ? "cnpg.io/pluginServerSecret" : !client_secret
                         ? "cnpg.io/pluginClientSecret" : NULL;
    if (absent || strspn(port, "0123456789") != strlen(port) || !*port) {
        bc_doctor_add(r, "plugin service", BC_CHECK_FAIL, fix, "Service %s/%s: annotation %s %s",
                      ns, name, absent ? absent : "cnpg.io/pluginPort", absent ? "is missing"
                      : "is not a port number");
        bc_doctor_needs(r, "plugin tls", "plugin service");
        json_decref(list);
        return;
    }
    bc_doctor_add(r, "plugin service", json_array_size(items) > 1 ? BC_CHECK_WARN : BC_CHECK_OK,
                  "keep one: CloudNativePG reads the one in its own namespace",
                  "Service %s/%s, port %s%s", ns, name, port, json_array_size(items) > 1
                  ? ", and more Services with the same label" : "");
    static const char *const server_keys[] = {"tls.crt", NULL};
    static const char *const client_keys[] = {"tls.crt", "tls.key", NULL};
    if (tls_secret_ok(r, k, ns, server_secret, server_keys, "cnpg.io/pluginServerSecret") &&
        tls_secret_ok(r, k, ns, client_secret, client_keys, "cnpg.io/pluginClientSecret"))
        bc_doctor_add(r, "plugin tls", BC_CHECK_OK, NULL, "Secrets %s and %s hold the "
                      "certificates", server_secret, client_secret);
    json_decref(list);
}

static int container_ready(const json_t *pod, const char *list, const char *name)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), list), i, c)
        if (is(c, "name", name))
            return json_is_true(json_object_get(c, "ready")) ? 1 : 0;
    return 0;
}

int bc_doctor_pod_has_container(const json_t *pod, const char *list, const char *name)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), list), i, c)
        if (is(c, "name", name))
            return 1;
    return 0;
}

static void pod_checks(bc_doctor_report *r, bc_kube *k, const char *ns, const char *cluster)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?labelSelector=cnpg.io%%2Fcluster%%3D%s",
             ns, cluster);
    json_t *pods = NULL;
    if (bc_kube_get(k, path, &pods) != BC_OK) {
        bc_doctor_add(r, "sidecars", BC_CHECK_FAIL, "allow listing Pods", "%s", bc_error_msg());
        return;
    }
    size_t i, n = 0, bad = 0;
    const json_t *pod;
    char missing[512] = "";
    json_array_foreach(json_object_get(pods, "items"), i, pod) {
        n++;
        /* CloudNativePG 1.26 injects it as a restartable init container. */
        int in_init = bc_doctor_pod_has_container(pod, "initContainers", BC_SIDECAR_NAME);
        int present = in_init || bc_doctor_pod_has_container(pod, "containers", BC_SIDECAR_NAME);
        int ready = container_ready(pod, in_init ? "initContainerStatuses" : "containerStatuses",
                                    BC_SIDECAR_NAME);
        if (!present || !ready) {
            bad++;
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s (%s)",
                     bad > 1 ? ", " : "", bc_json_at(pod, "metadata.name"),
                     present ? "not ready" : "no sidecar");
        }
    }
    if (!n)
        bc_doctor_add(r, "sidecars", BC_CHECK_WARN, "is the Cluster running?", "no Pod of "
                      "Cluster %s in %s", cluster, ns);
    else if (bad)
        bc_doctor_add(r, "sidecars", BC_CHECK_FAIL, "the sidecar is injected when a Pod is "
                      "created: check the plugin's operator Deployment and Service and its log, "
                      "then delete the Pod so that it is made again", "%zu of %zu Pods lack a "
                      "ready " BC_SIDECAR_NAME " container: %s", bad, n, missing);
    else
        bc_doctor_add(r, "sidecars", BC_CHECK_OK, NULL, "%zu Pod%s, each with a ready "
                      BC_SIDECAR_NAME " container", n, n > 1 ? "s" : "");
    json_decref(pods);
}

static void backup_object_checks(bc_doctor_report *r, bc_kube *k, const char *ns,
                                 const char *cluster)
{
    char path[512];
    snprintf(path, sizeof path, "/apis/postgresql.cnpg.io/v1/namespaces/%s/backups", ns);
    json_t *list = NULL;
    if (bc_kube_get(k, path, &list) != BC_OK) {
        bc_doctor_add(r, "backups", BC_CHECK_FAIL, "allow listing Backups", "%s",
                      bc_error_msg());
        return;
    }
    const json_t *latest = NULL, *b;
    size_t i, n = 0;
    json_array_foreach(json_object_get(list, "items"), i, b) {
        const char *c = bc_json_at(b, "spec.cluster.name");
        if (!c || strcmp(c, cluster) != 0)
            continue;
        n++;
        const char *t = bc_json_at(b, "metadata.creationTimestamp");
        if (!latest || (t && bc_json_at(latest, "metadata.creationTimestamp") &&
                        strcmp(t, bc_json_at(latest, "metadata.creationTimestamp")) > 0))
            latest = b;
    }
    if (!latest) {
        bc_doctor_add(r, "backups", BC_CHECK_WARN, "create a Backup or a ScheduledBackup with "
                      "method: plugin", "no Backup of Cluster %s", cluster);
    } else {
        const char *phase = bc_json_at(latest, "status.phase");
        const char *pod = bc_json_at(latest, "status.instanceID.podName");
        const char *error = bc_json_at(latest, "status.error");
        if (phase && strcasecmp(phase, "failed") == 0)
            bc_doctor_add(r, "backups", BC_CHECK_FAIL, "read the error; the sidecar's log on "
                          "that Pod has the whole story; then bc-doctor store for the store",
                          "the latest Backup, %s, failed%s%s: %s",
                          bc_json_at(latest, "metadata.name"), pod ? " on " : "", pod ? pod : "",
                          error ? error : "no error recorded");
        else
            bc_doctor_add(r, "backups", BC_CHECK_OK, NULL, "the latest of %zu Backups, %s, is "
                          "%s", n, bc_json_at(latest, "metadata.name"), phase ? phase : "new");
    }
    json_decref(list);
}

bc_status bc_doctor_cluster(const bc_doctor_cluster_opts *o, bc_doctor_report *r)
{
    r->subject = "cluster";
    bc_kube *k = NULL;
    bc_status st = bc_kube_new(&k);
    if (st != BC_OK) {
        bc_doctor_add(r, "kubernetes", BC_CHECK_FAIL, "set KUBECONFIG, or run inside the "
                      "cluster with a service account", "%s", bc_error_msg());
        bc_doctor_needs(r, "cluster", "kubernetes");
        return BC_OK;
    }
    const char *ns = o->namespace_ ? o->namespace_ : bc_kube_namespace(k);
    if (!ns)
        ns = "default";
    bc_doctor_add(r, "kubernetes", BC_CHECK_OK, NULL, "API server reachable; namespace %s", ns);
    char path[512];
    snprintf(path, sizeof path, "/apis/postgresql.cnpg.io/v1/namespaces/%s/clusters/%s", ns,
             o->name);
    json_t *cluster = NULL;
    st = bc_kube_get(k, path, &cluster);
    if (st != BC_OK) {
        bc_doctor_add(r, "cluster", BC_CHECK_FAIL, st == BC_ERR_NOTFOUND
                      ? "check the name and -n NAMESPACE (kubectl get clusters -A)"
                      : "see the message", "%s", st == BC_ERR_NOTFOUND
                      ? "no such Cluster" : bc_error_msg());
        bc_doctor_needs(r, "plugin entry", "cluster");
        bc_kube_free(k);
        return BC_OK;
    }
    bc_doctor_add(r, "cluster", BC_CHECK_OK, NULL, "Cluster %s in %s", o->name, ns);
    const json_t *entry = plugin_entry(r, cluster);
    json_t *os = NULL;
    const char *server = o->name;
    if (entry) {
        bc_doctor_add(r, "wal archiver", json_is_true(json_object_get(entry, "isWALArchiver"))
                      ? BC_CHECK_OK : BC_CHECK_WARN, "set isWALArchiver: true on the plugin "
                      "entry unless another plugin archives", "%s",
                      json_is_true(json_object_get(entry, "isWALArchiver"))
                      ? "the plugin archives the WAL" : "the plugin does not archive the WAL");
        const char *store = bc_json_at(entry, "parameters.barmanObjectName");
        if (bc_json_at(entry, "parameters.serverName"))
            server = bc_json_at(entry, "parameters.serverName");
        if (!store) {
            bc_doctor_add(r, "parameters", BC_CHECK_FAIL, "set parameters.barmanObjectName "
                          "to the ObjectStore's name", "the plugin entry has no "
                          "barmanObjectName");
        } else {
            bc_doctor_add(r, "parameters", BC_CHECK_OK, NULL, "barmanObjectName %s, serverName "
                          "%s", store, server);
            os = objectstore_checks(r, k, ns, store);
            rbac_checks(r, k, ns, o->name, store);
        }
    } else {
        bc_doctor_needs(r, "parameters", "plugin entry");
    }
    service_checks(r, k);
    pod_checks(r, k, ns, o->name);
    backup_object_checks(r, k, ns, o->name);
    if (os) {
        objectstore_status(r, os, server);
        if (bc_doctor_needs(r, "store", "objectstore"))
            bc_doctor_sidecar_store(r, k, os, server);
    } else if (entry) {
        bc_doctor_needs(r, "store", bc_doctor_status(r, "parameters") == BC_CHECK_OK
                        ? "objectstore" : "parameters");
    }
    json_decref(os);
    json_decref(cluster);
    bc_kube_free(k);
    return BC_OK;
}
