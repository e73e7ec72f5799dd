/* CNPG-i OperatorLifecycle (bc-plugin operator): the sidecar goes into
 * instance Pods (CREATE and EVALUATE alike, so the operator's comparison of
 * the Pod it wants with the one it has sees no drift) and into recovery
 * Jobs (CREATE). The answer is an RFC 6902 patch; a Cluster that does not
 * use this plugin, or an object that needs nothing, gets an empty one.
 *
 * Which Pods, as upstream:
 *   - the Cluster archives or backs up here (plugins[].barmanObjectName),
 *     or replicates from a store of this plugin (replica.source);
 *   - or it bootstraps by recovery from such a store and has no primary
 *     yet: CloudNativePG 1.31 runs that recovery in the instance Pod (an
 *     init container calling RestoreJobHooks on the sidecar), not a Job.
 * Which Jobs: full-recovery and snapshot-recovery ones of a Cluster whose
 * bootstrap.recovery.source uses this plugin (the role is the value of the
 * first template label ending in "/jobRole"; the main container is named
 * after it). */
#include <stdio.h>
#include <string.h>

#include "identity.pb-c.h"
#include "operator_lifecycle.pb-c.h"
#include "plugin/plugin_internal.h"
#include "plugin/sidecar.h"
#include "util/jsonpatch.h"
#include "util/log.h"

typedef Cnpgi__OperatorLifecycle__V1__OperatorLifecycleCapabilities lc_caps;
typedef Cnpgi__OperatorLifecycle__V1__OperatorOperationType lc_op;

static void get_capabilities(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    (void)ctx;
    if (!bc_plugin_empty_request(
            call, &cnpgi__operator_lifecycle__v1__operator_lifecycle_capabilities_request__descriptor,
            req, len))
        return;
    lc_op create = CNPGI__OPERATOR_LIFECYCLE__V1__OPERATOR_OPERATION_TYPE__INIT;
    lc_op evaluate = CNPGI__OPERATOR_LIFECYCLE__V1__OPERATOR_OPERATION_TYPE__INIT;
    create.type = CNPGI__OPERATOR_LIFECYCLE__V1__OPERATOR_OPERATION_TYPE__TYPE__TYPE_CREATE;
    evaluate.type = CNPGI__OPERATOR_LIFECYCLE__V1__OPERATOR_OPERATION_TYPE__TYPE__TYPE_EVALUATE;
    lc_op *pod_ops[] = {&create, &evaluate}, *job_ops[] = {&create};
    lc_caps pod = CNPGI__OPERATOR_LIFECYCLE__V1__OPERATOR_LIFECYCLE_CAPABILITIES__INIT;
    lc_caps job = CNPGI__OPERATOR_LIFECYCLE__V1__OPERATOR_LIFECYCLE_CAPABILITIES__INIT;
    pod.group = "";
    pod.kind = "Pod";
    pod.n_operation_types = 2;
    pod.operation_types = pod_ops;
    job.group = "batch";
    job.kind = "Job";
    job.n_operation_types = 1;
    job.operation_types = job_ops;
    lc_caps *list[] = {&pod, &job};
    Cnpgi__OperatorLifecycle__V1__OperatorLifecycleCapabilitiesResponse out =
        CNPGI__OPERATOR_LIFECYCLE__V1__OPERATOR_LIFECYCLE_CAPABILITIES_RESPONSE__INIT;
    out.n_lifecycle_capabilities = 2;
    out.lifecycle_capabilities = list;
    bc_plugin_reply(call, &out.base);
}

/* The ObjectStores a Cluster refers to, each once, by role. */
typedef struct stores {
    json_t *own, *recovery, *replica; /* borrowed from the kube cache; NULL when unnamed */
} stores;

static bc_status load_stores(bc_plugin *p, const bc_cluster_config *cfg, stores *s)
{
    *s = (stores){0};
    const char *names[3] = {cfg->listed_object, cfg->recovery_object, cfg->replica_object};
    json_t **slots[3] = {&s->own, &s->recovery, &s->replica};
    for (int i = 0; i < 3; i++) {
        if (!names[i] || !*names[i])
            continue;
        /* a store named twice is read once: a second read of the same path
         * could replace (and free) the cached object the first returned */
        for (int j = 0; j < i && !*slots[i]; j++)
            if (names[j] && strcmp(names[j], names[i]) == 0)
                *slots[i] = *slots[j];
        if (*slots[i])
            continue;
        bc_status st = bc_plugin_object_store(p, cfg->namespace, names[i], slots[i]);
        if (st != BC_OK)
            return bc_error_context(st, "ObjectStore %s/%s", cfg->namespace, names[i]);
    }
    return BC_OK;
}

static const json_t *sidecar_config(const json_t *os)
{
    return json_object_get(json_object_get(os, "spec"), "instanceSidecarConfiguration");
}

/* The first store set of own > recovery > replica. */
static const json_t *first_store(const stores *s)
{
    return s->own ? s->own : s->recovery ? s->recovery : s->replica;
}

/* One secret projection per referred store with an endpointCA, in the
 * order of the stores' names (each name once). */
static json_t *certificates(const bc_cluster_config *cfg, const stores *s)
{
    const char *names[3] = {cfg->listed_object, cfg->recovery_object, cfg->replica_object};
    json_t *objs[3] = {s->own, s->recovery, s->replica};
    int order[3] = {0, 1, 2};
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++) {
            const char *a = names[order[i]] ? names[order[i]] : "";
            const char *b = names[order[j]] ? names[order[j]] : "";
            if (strcmp(a, b) > 0) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
    json_t *out = json_array();
    const char *last = NULL;
    for (int k = 0; k < 3; k++) {
        int i = order[k];
        if (!names[i] || !*names[i] || (last && strcmp(last, names[i]) == 0))
            continue;
        last = names[i];
        const json_t *ca = json_object_get(
            json_object_get(json_object_get(objs[i], "spec"), "configuration"), "endpointCA");
        const char *secret = json_string_value(json_object_get(ca, "name"));
        const char *key = json_string_value(json_object_get(ca, "key"));
        if (!secret || !key)
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", names[i], BC_SIDECAR_CA_FILE);
        json_array_append_new(out, json_pack("{s:{s:s,s:[{s:s,s:s}]}}", "secret", "name", secret,
                                             "items", "key", key, "path", path));
    }
    return out;
}

/* instanceSidecarConfiguration.env of own, recovery, replica (in order). */
static json_t *store_env(const stores *s)
{
    json_t *env = json_array();
    const json_t *objs[3] = {s->own, s->recovery, s->replica};
    for (int i = 0; i < 3; i++)
        json_array_extend(env, json_object_get(sidecar_config(objs[i]), "env"));
    return env;
}

/* additionalContainerArgs then --log-level=LEVEL, of the first store. */
static json_t *instance_args(const stores *s)
{
    const json_t *cfg = sidecar_config(first_store(s));
    json_t *args = json_array();
    json_array_extend(args, json_object_get(cfg, "additionalContainerArgs"));
    const char *level = json_string_value(json_object_get(cfg, "logLevel"));
    if (level && *level) {
        char arg[64];
        snprintf(arg, sizeof arg, "--log-level=%s", level);
        json_array_append_new(args, json_string(arg));
    }
    return args;
}

/* The value of the first label ending in "/jobRole", or NULL. */
static const char *job_role(const json_t *job)
{
    const json_t *labels = json_object_get(
        json_object_get(json_object_get(json_object_get(job, "spec"), "template"), "metadata"),
        "labels");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)labels, key, v) {
        size_t n = strlen(key);
        if (n >= 8 && strcmp(key + n - 8, "/jobRole") == 0)
            return json_string_value(v);
    }
    return NULL;
}

static int has_type(const json_t *obj, const char *api_version, const char *kind)
{
    const char *a = json_string_value(json_object_get(obj, "apiVersion"));
    const char *k = json_string_value(json_object_get(obj, "kind"));
    return a && k && strcmp(a, api_version) == 0 && strcmp(k, kind) == 0;
}

/* Whether an instance Pod of this Cluster gets the sidecar. */
static int pod_needs_sidecar(const bc_cluster_config *cfg)
{
    if ((cfg->listed_object && *cfg->listed_object) || (cfg->replica_object && *cfg->replica_object))
        return 1;
    return cfg->recovery_object && *cfg->recovery_object && !*cfg->current_primary;
}

/* The patch for obj (the caller's; changed on a copy), into *patch. */
static bc_status mutate(bc_plugin *p, const bc_cluster_config *cfg, const json_t *obj,
                        json_t **patch)
{
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    *patch = NULL;
    if (!kind)
        return bc_error(BC_ERR_USAGE, "the object definition has no kind");
    int pod = strcmp(kind, "Pod") == 0, job = strcmp(kind, "Job") == 0;
    if (!pod && !job)
        return bc_error(BC_ERR_USAGE, "unsupported kind: %s", kind);
    if (pod && !has_type(obj, "v1", "Pod"))
        return bc_error(BC_ERR_USAGE, "the object is not a v1 Pod");
    if (job && !has_type(obj, "batch/v1", "Job"))
        return bc_error(BC_ERR_USAGE, "the object is not a batch/v1 Job");
    const char *role = job ? job_role(obj) : NULL;
    if ((pod && !pod_needs_sidecar(cfg)) ||
        (job && (!cfg->recovery_ours || !role ||
                 (strcmp(role, "full-recovery") != 0 && strcmp(role, "snapshot-recovery") != 0))))
        return BC_OK;

    stores s;
    bc_status st = load_stores(p, cfg, &s);
    if (st != BC_OK)
        return st;
    json_t *env = store_env(&s), *certs = certificates(cfg, &s);
    json_t *args = pod ? instance_args(&s) : NULL;
    /* a Job takes its resources from the recovery store only */
    const json_t *res_store = pod ? first_store(&s) : s.recovery;
    bc_sidecar_spec spec = {
        .image = p->sidecar_image,
        .mode = pod ? "instance" : "restore",
        .main_container = pod ? "postgres" : role,
        .cluster = cfg->cluster,
        .env = env,
        .certificates = certs,
        .resources = json_object_get(sidecar_config(res_store), "resources"),
        .extra_args = args,
    };
    json_t *mutated = json_deep_copy(obj);
    json_t *pod_spec = pod ? json_object_get(mutated, "spec")
                           : json_object_get(json_object_get(json_object_get(mutated, "spec"),
                                                             "template"), "spec");
    if (!json_is_object(pod_spec))
        st = bc_error(BC_ERR_USAGE, "the %s has no pod spec", kind);
    else
        st = bc_sidecar_inject(pod_spec, &spec);
    if (st == BC_OK && !(*patch = json_array()))
        st = bc_oom();
    if (st == BC_OK)
        st = bc_json_patch_diff(obj, mutated, *patch);
    json_decref(mutated);
    json_decref(env);
    json_decref(certs);
    json_decref(args);
    return st;
}

static void lifecycle_hook(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    bc_plugin *p = ctx;
    Cnpgi__OperatorLifecycle__V1__OperatorLifecycleRequest *in =
        (void *)bc_plugin_decode(call, &cnpgi__operator_lifecycle__v1__operator_lifecycle_request__descriptor,
                                 req, len);
    if (!in)
        return;
    bc_cluster_config cfg = {0};
    json_t *obj = NULL, *patch = NULL;
    json_error_t err;
    bc_status st = BC_OK;
    if (!in->operation_type)
        st = bc_error(BC_ERR_USAGE, "no operation set");
    else if (!(obj = json_loadb((const char *)in->object_definition.data, in->object_definition.len,
                                0, &err)))
        st = bc_error(BC_ERR_USAGE, "the object definition is not JSON: %s", err.text);
    if (st == BC_OK)
        st = bc_cluster_config_parse(in->cluster_definition.data, in->cluster_definition.len, &cfg);
    /* a Cluster that names no store of this plugin: nothing to do, as upstream */
    int ours = st == BC_OK && ((cfg.listed_object && *cfg.listed_object) ||
                               (cfg.recovery_object && *cfg.recovery_object) ||
                               (cfg.replica_object && *cfg.replica_object));
    if (ours)
        st = mutate(p, &cfg, obj, &patch);
    if (st != BC_OK) {
        bc_log_warning("LifecycleHook: %s", bc_error_msg());
        bc_plugin_fail(call, st);
    } else {
        Cnpgi__OperatorLifecycle__V1__OperatorLifecycleResponse out =
            CNPGI__OPERATOR_LIFECYCLE__V1__OPERATOR_LIFECYCLE_RESPONSE__INIT;
        char *text = json_array_size(patch) ? json_dumps(patch, JSON_COMPACT) : NULL;
        if (text) {
            out.json_patch.data = (uint8_t *)text;
            out.json_patch.len = strlen(text);
        }
        bc_log_debug("LifecycleHook %s %s: %s",
                     json_string_value(json_object_get(obj, "kind")),
                     json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")),
                     text ? text : "no change");
        bc_plugin_reply(call, &out.base);
        free(text);
    }
    json_decref(patch);
    json_decref(obj);
    bc_cluster_config_free(&cfg);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

bc_status bc_plugin_add_lifecycle(bc_plugin *p, bc_grpc_server *s)
{
    static const bc_plugin_method methods[] = {
        {"GetCapabilities", get_capabilities}, {"LifecycleHook", lifecycle_hook}, {NULL, NULL}};
    return bc_plugin_register(p, s, "cnpgi.operator_lifecycle.v1.OperatorLifecycle", methods,
                              CNPGI__IDENTITY__V1__PLUGIN_CAPABILITY__SERVICE__TYPE__TYPE_LIFECYCLE_SERVICE);
}
