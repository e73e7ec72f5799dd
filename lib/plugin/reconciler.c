/* CNPG-i ReconcilerHooks (bc-plugin operator) and the ObjectStore re-sync.
 *
 * Pre, for a Cluster: every ObjectStore it names must exist (REQUEUE
 * while one is missing: the user may be creating it), then its Role and
 * RoleBinding are made or brought up to date (rbac.h). Pre for a Backup
 * and Post: CONTINUE.
 *
 * The re-sync keeps those Roles right when an ObjectStore changes (a new
 * credentials Secret) or goes, without waiting for the Cluster's next
 * reconciliation: upstream watches ObjectStores; this lists them every
 * 30 s (BC_ROLE_SYNC_SECONDS) and acts on those whose metadata.generation moved.
 * A list rather than a watch because the Kubernetes client makes one
 * blocking request per connection from the server's single loop: a watch
 * would need a connection held open and a second thread, and a change is
 * seen within the interval either way. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "identity.pb-c.h"
#include "plugin/plugin_internal.h"
#include "plugin/rbac.h"
#include "reconciler.pb-c.h"
#include "util/log.h"

typedef Cnpgi__Reconciler__V1__ReconcilerHooksResult hooks_result;

static void get_capabilities(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    (void)ctx;
    if (!bc_plugin_empty_request(
            call, &cnpgi__reconciler__v1__reconciler_hooks_capabilities_request__descriptor, req, len))
        return;
    Cnpgi__Reconciler__V1__ReconcilerHooksCapability cluster =
        CNPGI__RECONCILER__V1__RECONCILER_HOOKS_CAPABILITY__INIT;
    Cnpgi__Reconciler__V1__ReconcilerHooksCapability backup =
        CNPGI__RECONCILER__V1__RECONCILER_HOOKS_CAPABILITY__INIT;
    cluster.kind = CNPGI__RECONCILER__V1__RECONCILER_HOOKS_CAPABILITY__KIND__KIND_CLUSTER;
    backup.kind = CNPGI__RECONCILER__V1__RECONCILER_HOOKS_CAPABILITY__KIND__KIND_BACKUP;
    Cnpgi__Reconciler__V1__ReconcilerHooksCapability *list[] = {&cluster, &backup};
    Cnpgi__Reconciler__V1__ReconcilerHooksCapabilitiesResult out =
        CNPGI__RECONCILER__V1__RECONCILER_HOOKS_CAPABILITIES_RESULT__INIT;
    out.n_reconciler_capabilities = 2;
    out.reconciler_capabilities = list;
    bc_plugin_reply(call, &out.base);
}

static void reply_behavior(bc_grpc_call *call, int behavior)
{
    hooks_result out = CNPGI__RECONCILER__V1__RECONCILER_HOOKS_RESULT__INIT;
    out.behavior = behavior;
    bc_plugin_reply(call, &out.base);
}

/* The stores the Cluster names (own, recovery, replica source), each once,
 * into stores (new references); BC_ERR_NOTFOUND naming the first missing. */
static bc_status referred_stores(bc_plugin *p, const bc_cluster_config *cfg, json_t *stores)
{
    const char *names[3] = {cfg->listed_object, cfg->recovery_object, cfg->replica_object};
    for (int i = 0; i < 3; i++) {
        int seen = !names[i] || !*names[i];
        for (int j = 0; j < i && !seen; j++)
            seen = names[j] && strcmp(names[j], names[i]) == 0;
        if (seen)
            continue;
        json_t *os;
        bc_status st = bc_plugin_object_store(p, cfg->namespace, names[i], &os);
        if (st != BC_OK)
            return bc_error_context(st, "ObjectStore %s/%s", cfg->namespace, names[i]);
        json_array_append(stores, os);
    }
    return BC_OK;
}

static void pre(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    bc_plugin *p = ctx;
    Cnpgi__Reconciler__V1__ReconcilerHooksRequest *in = (void *)bc_plugin_decode(
        call, &cnpgi__reconciler__v1__reconciler_hooks_request__descriptor, req, len);
    if (!in)
        return;
    json_t *resource = json_loadb((const char *)in->resource_definition.data,
                                  in->resource_definition.len, 0, NULL);
    const char *kind = json_string_value(json_object_get(resource, "kind"));
    bc_cluster_config cfg = {0};
    json_t *stores = json_array();
    bc_status st = BC_OK;
    if (!kind || strcmp(kind, "Cluster") != 0) {
        reply_behavior(call, CNPGI__RECONCILER__V1__RECONCILER_HOOKS_RESULT__BEHAVIOR__BEHAVIOR_CONTINUE);
        goto out;
    }
    st = bc_cluster_config_parse(in->cluster_definition.data, in->cluster_definition.len, &cfg);
    if (st == BC_OK)
        st = referred_stores(p, &cfg, stores);
    if (st == BC_ERR_NOTFOUND) {
        bc_log_info("Pre %s/%s: %s: asking to requeue", cfg.namespace, cfg.name, bc_error_msg());
        reply_behavior(call, CNPGI__RECONCILER__V1__RECONCILER_HOOKS_RESULT__BEHAVIOR__BEHAVIOR_REQUEUE);
        goto out;
    }
    if (st == BC_OK)
        st = bc_rbac_ensure(p->kube, cfg.cluster, stores);
    if (st != BC_OK) {
        bc_log_warning("Pre %s/%s: %s", cfg.namespace ? cfg.namespace : "?",
                       cfg.name ? cfg.name : "?", bc_error_msg());
        bc_plugin_fail(call, st);
    } else {
        reply_behavior(call, CNPGI__RECONCILER__V1__RECONCILER_HOOKS_RESULT__BEHAVIOR__BEHAVIOR_CONTINUE);
    }
out:
    json_decref(stores);
    json_decref(resource);
    bc_cluster_config_free(&cfg);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

static void post(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    (void)ctx;
    if (!bc_plugin_empty_request(call, &cnpgi__reconciler__v1__reconciler_hooks_request__descriptor,
                                 req, len))
        return;
    reply_behavior(call, CNPGI__RECONCILER__V1__RECONCILER_HOOKS_RESULT__BEHAVIOR__BEHAVIOR_CONTINUE);
}

bc_status bc_plugin_add_reconciler(bc_plugin *p, bc_grpc_server *s)
{
    static const bc_plugin_method methods[] = {
        {"GetCapabilities", get_capabilities}, {"Pre", pre}, {"Post", post}, {NULL, NULL}};
    return bc_plugin_register(p, s, "cnpgi.reconciler.v1.ReconcilerHooks", methods,
                              CNPGI__IDENTITY__V1__PLUGIN_CAPABILITY__SERVICE__TYPE__TYPE_RECONCILER_HOOKS);
}

/* ---- ObjectStore re-sync ------------------------------------------------- */

static const char *meta_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

/* Every Role of namespace ns made for a Cluster and naming one of the
 * stores in `changed` gets the rules of the stores it names that exist;
 * 0, or -1 when something could not be done (logged). */
static int resync_namespace(bc_plugin *p, const char *ns, const json_t *changed,
                             const json_t *all)
{
    char path[600];
    snprintf(path, sizeof path, "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles"
             "?labelSelector=barmancloud.cnpg.io%%2Fcluster", ns);
    json_t *roles = NULL;
    if (bc_kube_get(p->kube, path, &roles) != BC_OK) {
        bc_log_warning("ObjectStore re-sync: %s", bc_error_msg());
        return -1;
    }
    int failed = 0;
    size_t i, j;
    json_t *role, *name;
    json_array_foreach(json_object_get(roles, "items"), i, role) {
        json_t *names = bc_rbac_role_store_names(role);
        int affected = 0;
        json_array_foreach(names, j, name)
            affected |= json_object_get(changed, json_string_value(name)) != NULL;
        if (affected) {
            json_t *stores = json_array();
            json_array_foreach(names, j, name) {
                json_t *os = json_object_get(all, json_string_value(name));
                if (os)
                    json_array_append(stores, os);
            }
            snprintf(path, sizeof path, "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles/%s",
                     ns, meta_str(role, "name"));
            if (bc_rbac_set_rules(p->kube, path, stores) != BC_OK) {
                bc_log_warning("ObjectStore re-sync: Role %s/%s: %s", ns, meta_str(role, "name"),
                               bc_error_msg());
                failed = -1;
            } else
                bc_log_debug("ObjectStore re-sync: Role %s/%s checked", ns, meta_str(role, "name"));
            json_decref(stores);
        }
        json_decref(names);
    }
    json_decref(roles);
    return failed;
}

void bc_plugin_sync_roles(bc_plugin *p)
{
    time_t now = time(NULL);
    if (now < p->next_store_sync)
        return;
    p->next_store_sync = now + p->role_sync_seconds;
    json_t *list = NULL;
    if (bc_kube_get(p->kube, "/apis/barmancloud.cnpg.io/v1/objectstores", &list) != BC_OK) {
        bc_log_warning("ObjectStore re-sync: %s", bc_error_msg());
        return;
    }
    /* by namespace: name -> ObjectStore (all), name -> true (changed) */
    json_t *all = json_object(), *changed = json_object(), *seen = json_object();
    json_t *old = p->store_generations ? p->store_generations : json_object();
    size_t i;
    json_t *os;
    json_array_foreach(json_object_get(list, "items"), i, os) {
        const char *ns = meta_str(os, "namespace"), *name = meta_str(os, "name");
        if (!ns || !name)
            continue;
        char key[600];
        snprintf(key, sizeof key, "%s/%s", ns, name);
        json_t *gen = json_object_get(json_object_get(os, "metadata"), "generation");
        json_object_set_new(seen, key, gen ? json_copy(gen) : json_null());
        if (!json_object_get(all, ns))
            json_object_set_new(all, ns, json_object());
        json_object_set(json_object_get(all, ns), name, os);
        if (!json_equal(json_object_get(old, key), gen ? gen : json_null())) {
            if (!json_object_get(changed, ns))
                json_object_set_new(changed, ns, json_object());
            json_object_set_new(json_object_get(changed, ns), name, json_true());
        }
    }
    /* stores gone since: their names leave the Roles */
    const char *key;
    json_t *v;
    json_object_foreach(old, key, v) {
        if (json_object_get(seen, key))
            continue;
        char ns[300];
        const char *slash = strchr(key, '/');
        if (!slash || (size_t)(slash - key) >= sizeof ns)
            continue;
        snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
        if (!json_object_get(changed, ns))
            json_object_set_new(changed, ns, json_object());
        json_object_set_new(json_object_get(changed, ns), slash + 1, json_true());
    }
    json_t *names;
    json_object_foreach(changed, key, names) {
        json_t *none = json_object();
        json_t *in_ns = json_object_get(all, key);
        if (resync_namespace(p, key, names, in_ns ? in_ns : none) != 0) {
            /* a mark no generation equals: the next turn sees these stores
             * as changed (or, for those gone, as gone) and tries again */
            const char *name;
            json_t *ignored;
            json_object_foreach(names, name, ignored) {
                char seen_key[600];
                snprintf(seen_key, sizeof seen_key, "%s/%s", key, name);
                json_object_set_new(seen, seen_key, json_string("retry"));
            }
        }
        json_decref(none);
    }
    json_decref(old);
    p->store_generations = seen;
    json_decref(all);
    json_decref(changed);
    json_decref(list);
}
