/* CNPG-i Operator service (bc-plugin operator): checks CloudNativePG makes
 * in its validating webhook before it accepts a Cluster. Upstream's plugin
 * does not serve it; these are the mistakes its troubleshooting guide
 * lists, caught at `kubectl apply` instead of as a stuck Cluster:
 *   - an entry of this plugin in spec.plugins without parameters;
 *   - a barmanObjectName (in spec.plugins or in an external cluster's
 *     plugin) that names no ObjectStore in the Cluster's namespace, or an
 *     external cluster of this plugin without one;
 *   - an ObjectStore that sets spec.configuration.serverName (the plugin
 *     takes the server name from the Cluster's plugin parameters).
 * On a change, a missing ObjectStore is reported only for a name the
 * change introduces, so that deleting a store never blocks other edits of
 * the Cluster. When the Kubernetes API cannot be read, the store checks
 * are skipped (logged): a webhook must not turn an API hiccup into a
 * refused Cluster. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.pb-c.h"
#include "operator.pb-c.h"
#include "plugin/plugin_internal.h"
#include "util/log.h"

typedef Cnpgi__Operator__V1__ValidationError validation_error;

/* Collected errors: the protobuf messages point into `strings`. */
typedef struct findings {
    json_t *list; /* [{"path": [...], "value": "", "message": ""}] */
} findings;

static void add(findings *f, json_t *path, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(findings *f, json_t *path, const char *value, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(f->list, json_pack("{s:o,s:s,s:s}", "path", path, "value",
                                             value ? value : "", "message", msg));
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Whether the older Cluster's entry at the same index of list already
 * named this store ("did the change introduce the name?"). */
static int named_before(const json_t *old, const char *list, size_t i, const char *name)
{
    const json_t *entry = json_array_get(json_object_get(json_object_get(old, "spec"), list), i);
    const json_t *params = json_object_get(strcmp(list, "plugins") == 0 ? entry
                                           : json_object_get(entry, "plugin"), "parameters");
    const char *was = str(params, "barmanObjectName");
    return old && was && strcmp(was, name) == 0;
}

/* Checks the ObjectStore `name` (path: where the Cluster names it). */
static void check_store(bc_plugin *p, findings *f, const char *ns, const char *name,
                        json_t *path, int report_missing)
{
    json_t *os = NULL;
    bc_status st = bc_plugin_object_store(p, ns, name, &os);
    if (st == BC_ERR_NOTFOUND) {
        if (report_missing)
            add(f, json_incref(path), name, "no ObjectStore \"%s\" in namespace %s: create it, "
                "or correct barmanObjectName", name, ns);
    } else if (st != BC_OK) {
        bc_log_warning("validation: cannot read ObjectStore %s/%s, not checking it: %s", ns, name,
                       bc_error_msg());
    } else if (json_object_get(json_object_get(json_object_get(os, "spec"), "configuration"),
                               "serverName")) {
        add(f, json_incref(path), name, "ObjectStore \"%s\" sets spec.configuration.serverName, "
            "which this plugin does not read: remove it and set the serverName plugin parameter "
            "in the Cluster", name);
    }
    json_decref(path);
}

static json_t *path_of(const char *a, size_t i, const char *b, const char *c, const char *d)
{
    char idx[32];
    snprintf(idx, sizeof idx, "%zu", i);
    json_t *path = json_pack("[s,s,s]", "spec", a, idx);
    const char *rest[] = {b, c, d};
    for (int k = 0; k < 3; k++)
        if (rest[k])
            json_array_append_new(path, json_string(rest[k]));
    return path;
}

static void validate(bc_plugin *p, const json_t *cluster, const json_t *old, findings *f)
{
    const char *ns = str(json_object_get(cluster, "metadata"), "namespace");
    if (!ns)
        ns = bc_kube_namespace(p->kube);
    const json_t *spec = json_object_get(cluster, "spec");
    size_t i;
    const json_t *entry;
    json_array_foreach(json_object_get(spec, "plugins"), i, entry) {
        const char *name = str(entry, "name");
        if (!name || strcmp(name, BC_PLUGIN_NAME) != 0)
            continue;
        const json_t *params = json_object_get(entry, "parameters");
        if (json_object_size(params) == 0) {
            add(f, path_of("plugins", i, "parameters", NULL, NULL), "",
                "the %s plugin needs parameters: set barmanObjectName to the ObjectStore to "
                "archive and back up to", BC_PLUGIN_NAME);
            continue;
        }
        const char *object = str(params, "barmanObjectName");
        if (!object || !*object) {
            add(f, path_of("plugins", i, "parameters", "barmanObjectName", NULL), "",
                "barmanObjectName is not set: name the ObjectStore to archive and back up to");
            continue;
        }
        if (ns)
            check_store(p, f, ns, object,
                        path_of("plugins", i, "parameters", "barmanObjectName", NULL),
                        !named_before(old, "plugins", i, object));
    }
    json_array_foreach(json_object_get(spec, "externalClusters"), i, entry) {
        const json_t *plugin = json_object_get(entry, "plugin");
        const char *name = str(plugin, "name");
        if (!name || strcmp(name, BC_PLUGIN_NAME) != 0)
            continue;
        const char *object = str(json_object_get(plugin, "parameters"), "barmanObjectName");
        if (!object || !*object) {
            add(f, path_of("externalClusters", i, "plugin", "parameters", "barmanObjectName"), "",
                "external cluster \"%s\" uses %s without a barmanObjectName: name the "
                "ObjectStore to recover or replicate from", str(entry, "name") ? str(entry, "name") : "",
                BC_PLUGIN_NAME);
            continue;
        }
        if (ns)
            check_store(p, f, ns, object,
                        path_of("externalClusters", i, "plugin", "parameters", "barmanObjectName"),
                        !named_before(old, "externalClusters", i, object));
    }
}

/* Replies with the findings as ValidationErrors; create: which result. */
static void reply(bc_grpc_call *call, findings *f, int create)
{
    size_t n = json_array_size(f->list);
    validation_error errs[n ? n : 1], *list[n ? n : 1];
    char **paths[n ? n : 1];
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(f->list, i);
        const json_t *path = json_object_get(e, "path");
        errs[i] = (validation_error)CNPGI__OPERATOR__V1__VALIDATION_ERROR__INIT;
        paths[i] = calloc(json_array_size(path) + 1, sizeof(char *));
        for (size_t k = 0; paths[i] && k < json_array_size(path); k++)
            paths[i][k] = (char *)json_string_value(json_array_get(path, k));
        errs[i].n_path_components = paths[i] ? json_array_size(path) : 0;
        errs[i].path_components = paths[i];
        errs[i].value = (char *)str(e, "value");
        errs[i].message = (char *)str(e, "message");
        list[i] = &errs[i];
        bc_log_info("validation: %s", errs[i].message);
    }
    if (create) {
        Cnpgi__Operator__V1__OperatorValidateClusterCreateResult out =
            CNPGI__OPERATOR__V1__OPERATOR_VALIDATE_CLUSTER_CREATE_RESULT__INIT;
        out.n_validation_errors = n;
        out.validation_errors = list;
        bc_plugin_reply(call, &out.base);
    } else {
        Cnpgi__Operator__V1__OperatorValidateClusterChangeResult out =
            CNPGI__OPERATOR__V1__OPERATOR_VALIDATE_CLUSTER_CHANGE_RESULT__INIT;
        out.n_validation_errors = n;
        out.validation_errors = list;
        bc_plugin_reply(call, &out.base);
    }
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
}

static json_t *load(bc_grpc_call *call, ProtobufCBinaryData def, const char *what)
{
    json_error_t err;
    json_t *j = json_loadb((const char *)def.data, def.len, 0, &err);
    if (!json_is_object(j)) {
        bc_grpc_call_fail(call, BC_GRPC_INVALID_ARGUMENT, "%s is not a JSON object: %s", what,
                          j ? "another JSON value" : err.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

static void validate_create(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    Cnpgi__Operator__V1__OperatorValidateClusterCreateRequest *in = (void *)bc_plugin_decode(
        call, &cnpgi__operator__v1__operator_validate_cluster_create_request__descriptor, req, len);
    if (!in)
        return;
    json_t *cluster = load(call, in->definition, "the cluster definition");
    if (cluster) {
        findings f = {json_array()};
        validate(ctx, cluster, NULL, &f);
        reply(call, &f, 1);
        json_decref(f.list);
    }
    json_decref(cluster);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

static void validate_change(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    Cnpgi__Operator__V1__OperatorValidateClusterChangeRequest *in = (void *)bc_plugin_decode(
        call, &cnpgi__operator__v1__operator_validate_cluster_change_request__descriptor, req, len);
    if (!in)
        return;
    json_t *old = load(call, in->old_cluster, "the old cluster definition");
    json_t *cluster = old ? load(call, in->new_cluster, "the new cluster definition") : NULL;
    if (cluster) {
        findings f = {json_array()};
        validate(ctx, cluster, old, &f);
        reply(call, &f, 0);
        json_decref(f.list);
    }
    json_decref(cluster);
    json_decref(old);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

static void get_capabilities(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    static const int rpcs[] = {
        CNPGI__OPERATOR__V1__OPERATOR_CAPABILITY__RPC__TYPE__TYPE_VALIDATE_CLUSTER_CREATE,
        CNPGI__OPERATOR__V1__OPERATOR_CAPABILITY__RPC__TYPE__TYPE_VALIDATE_CLUSTER_CHANGE};
    (void)ctx;
    bc_plugin_reply_capabilities(call, &cnpgi__operator__v1__operator_capabilities_request__descriptor,
                                 req, len, &cnpgi__operator__v1__operator_capabilities_result__descriptor,
                                 "rpc", rpcs, 2);
}

bc_status bc_plugin_add_validation(bc_plugin *p, bc_grpc_server *s)
{
    static const bc_plugin_method methods[] = {{"GetCapabilities", get_capabilities},
                                               {"ValidateClusterCreate", validate_create},
                                               {"ValidateClusterChange", validate_change},
                                               {NULL, NULL}};
    return bc_plugin_register(p, s, "cnpgi.operator.v1.Operator", methods,
                              CNPGI__IDENTITY__V1__PLUGIN_CAPABILITY__SERVICE__TYPE__TYPE_OPERATOR_SERVICE);
}

bc_status bc_plugin_add_sidecar_injection(bc_plugin *p, bc_grpc_server *s)
{
    static const bc_plugin_method none[] = {{NULL, NULL}};
    return bc_plugin_register(
        p, s, "", none,
        CNPGI__IDENTITY__V1__PLUGIN_CAPABILITY__SERVICE__TYPE__TYPE_INSTANCE_SIDECAR_INJECTION);
}
