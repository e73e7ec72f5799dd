/* Role and RoleBinding for a Cluster (see rbac.h). */
#include "plugin/rbac.h"

#include <stdio.h>
#include <string.h>

#define RBAC_API "/apis/rbac.authorization.k8s.io/v1/namespaces/"

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static const json_t *member(const json_t *obj, const char *a, const char *b)
{
    return json_object_get(json_object_get(obj, a), b);
}

/* Adds name to a sorted array of unique strings. */
static void add_sorted(json_t *set, const char *name)
{
    if (!name || !*name)
        return;
    size_t i = 0, n = json_array_size(set);
    for (; i < n; i++) {
        int c = strcmp(json_string_value(json_array_get(set, i)), name);
        if (c == 0)
            return;
        if (c > 0)
            break;
    }
    json_array_insert_new(set, i, json_string(name));
}

/* The Secrets a store's credentials name, as upstream collects them. */
static void credential_secrets(const json_t *os, json_t *set)
{
    const json_t *cfg = member(os, "spec", "configuration");
    static const char *const s3[] = {"accessKeyId", "secretAccessKey", "region", "sessionToken", NULL};
    static const char *const azure[] = {"connectionString", "storageAccount", "storageKey",
                                        "storageSasToken", NULL};
    static const char *const google[] = {"applicationCredentials", NULL};
    const json_t *c = json_object_get(cfg, "s3Credentials");
    for (const char *const *k = s3; c && *k; k++)
        add_sorted(set, str(json_object_get(c, *k), "name"));
    c = json_object_get(cfg, "azureCredentials");
    if (c && !json_is_true(json_object_get(c, "useDefaultAzureCredentials")) &&
        !json_is_true(json_object_get(c, "inheritFromAzureAD")))
        for (const char *const *k = azure; *k; k++)
            add_sorted(set, str(json_object_get(c, *k), "name"));
    c = json_object_get(cfg, "googleCredentials");
    for (const char *const *k = google; c && *k; k++)
        add_sorted(set, str(json_object_get(c, *k), "name"));
}

json_t *bc_rbac_role_rules(const json_t *stores)
{
    json_t *names = json_array(), *secrets = json_array(), *rules = json_array();
    size_t i;
    const json_t *os;
    json_array_foreach(stores, i, os) {
        add_sorted(names, str(json_object_get(os, "metadata"), "name"));
        credential_secrets(os, secrets);
    }
    if (json_array_size(names)) {
        json_array_append_new(rules, json_pack("{s:[s],s:[sss],s:[s],s:O}", "apiGroups",
                                               "barmancloud.cnpg.io", "verbs", "get", "watch",
                                               "list", "resources", "objectstores",
                                               "resourceNames", names));
        json_array_append_new(rules, json_pack("{s:[s],s:[s],s:[s],s:O}", "apiGroups",
                                               "barmancloud.cnpg.io", "verbs", "update",
                                               "resources", "objectstores/status",
                                               "resourceNames", names));
    }
    if (json_array_size(secrets))
        json_array_append_new(rules, json_pack("{s:[s],s:[s],s:[sss],s:O}", "apiGroups", "",
                                               "resources", "secrets", "verbs", "get", "watch",
                                               "list", "resourceNames", secrets));
    json_decref(names);
    json_decref(secrets);
    return rules;
}

json_t *bc_rbac_role_store_names(const json_t *role)
{
    size_t i;
    const json_t *rule;
    json_array_foreach(json_object_get(role, "rules"), i, rule) {
        const json_t *groups = json_object_get(rule, "apiGroups");
        const json_t *res = json_object_get(rule, "resources");
        if (json_array_size(groups) == 1 && json_array_size(res) == 1 &&
            strcmp(or_empty(json_string_value(json_array_get(groups, 0))), "barmancloud.cnpg.io") == 0 &&
            strcmp(or_empty(json_string_value(json_array_get(res, 0))), "objectstores") == 0) {
            const json_t *names = json_object_get(rule, "resourceNames");
            return json_is_array(names) ? json_deep_copy(names) : json_array();
        }
    }
    return json_array();
}

static json_t *labels(const char *cluster)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", BC_RBAC_CLUSTER_LABEL, cluster,
                     "app.kubernetes.io/name", "barman-cloud-plugin",
                     "app.kubernetes.io/instance", cluster, "app.kubernetes.io/version", BC_VERSION,
                     "app.kubernetes.io/component", "database",
                     "app.kubernetes.io/managed-by", "plugin-barman-cloud");
}

/* The controller reference to the Cluster, with its own apiVersion/kind
 * (a custom CloudNativePG group keeps working). */
static json_t *owner(const json_t *cluster)
{
    const json_t *meta = json_object_get(cluster, "metadata");
    return json_pack("[{s:s?,s:s?,s:s?,s:s?,s:b,s:b}]", "apiVersion", str(cluster, "apiVersion"),
                     "kind", str(cluster, "kind"), "name", str(meta, "name"), "uid",
                     str(meta, "uid"), "controller", 1, "blockOwnerDeletion", 1);
}

/* Our labels over the object's; *changed when one was missing or other. */
static void merge_labels(json_t *obj, const json_t *want, int *changed)
{
    json_t *meta = json_object_get(obj, "metadata");
    json_t *have = json_object_get(meta, "labels");
    if (!json_is_object(have)) {
        have = json_object();
        json_object_set_new(meta, "labels", have);
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)want, key, v) {
        if (!json_equal(json_object_get(have, key), v)) {
            json_object_set(have, key, v);
            *changed = 1;
        }
    }
}

typedef struct role_want {
    json_t *rules, *labels; /* labels NULL: rules only (the store re-sync) */
} role_want;

static bc_status mutate_role(void *ctx, json_t *role, int *changed)
{
    role_want *w = ctx;
    if (!json_equal(json_object_get(role, "rules"), w->rules)) {
        json_object_set(role, "rules", w->rules);
        *changed = 1;
    }
    if (w->labels)
        merge_labels(role, w->labels, changed);
    return BC_OK;
}

typedef struct binding_want {
    json_t *subject, *role_ref, *labels;
} binding_want;

static bc_status mutate_binding(void *ctx, json_t *rb, int *changed)
{
    binding_want *w = ctx;
    const json_t *meta = json_object_get(rb, "metadata");
    if (!json_equal(json_object_get(rb, "roleRef"), w->role_ref))
        return bc_error(BC_ERR_CONFLICT, "RoleBinding %s/%s refers to another role than %s: its "
                        "roleRef cannot change; delete the RoleBinding to let it be made again",
                        str(meta, "namespace"), str(meta, "name"), str(w->role_ref, "name"));
    json_t *subjects = json_object_get(rb, "subjects");
    if (!json_is_array(subjects)) {
        subjects = json_array();
        json_object_set_new(rb, "subjects", subjects);
    }
    size_t i;
    json_t *s;
    int found = 0;
    json_array_foreach(subjects, i, s)
        found |= json_equal(s, w->subject) ||
                 (strcmp(or_empty(str(s, "kind")), "ServiceAccount") == 0 &&
                  strcmp(or_empty(str(s, "name")), str(w->subject, "name")) == 0 &&
                  strcmp(or_empty(str(s, "namespace")), str(w->subject, "namespace")) == 0);
    if (!found) {
        json_array_append(subjects, w->subject);
        *changed = 1;
    }
    merge_labels(rb, w->labels, changed);
    return BC_OK;
}

/* Creates obj in collection unless path exists already. */
static bc_status create_missing(bc_kube *k, const char *path, const char *collection, json_t *obj)
{
    json_t *have = NULL;
    bc_status st = bc_kube_get(k, path, &have);
    json_decref(have);
    if (st != BC_ERR_NOTFOUND)
        return st;
    st = bc_kube_create(k, collection, obj, NULL);
    return st == BC_ERR_CONFLICT ? BC_OK : st; /* made meanwhile: update it below */
}

bc_status bc_rbac_ensure(bc_kube *k, const json_t *cluster, const json_t *stores)
{
    const json_t *meta = json_object_get(cluster, "metadata");
    const char *name = str(meta, "name"), *ns = str(meta, "namespace");
    if (!name || !ns)
        return bc_error(BC_ERR_USAGE, "the Cluster has no metadata.name/namespace");
    char rbac_name[300], collection[600], path[1000];
    snprintf(rbac_name, sizeof rbac_name, "%s-barman-cloud", name);

    role_want rw = {bc_rbac_role_rules(stores), labels(name)};
    json_t *role = json_pack("{s:s,s:s,s:{s:s,s:s,s:O,s:o},s:O}", "apiVersion",
                             "rbac.authorization.k8s.io/v1", "kind", "Role", "metadata", "name",
                             rbac_name, "namespace", ns, "labels", rw.labels, "ownerReferences",
                             owner(cluster), "rules", rw.rules);
    snprintf(collection, sizeof collection, RBAC_API "%s/roles", ns);
    snprintf(path, sizeof path, "%s/%s", collection, rbac_name);
    bc_status st = create_missing(k, path, collection, role);
    if (st == BC_OK)
        st = bc_kube_update(k, path, mutate_role, &rw, NULL);
    json_decref(role);

    binding_want bw = {
        json_pack("{s:s,s:s,s:s}", "kind", "ServiceAccount", "name", name, "namespace", ns),
        json_pack("{s:s,s:s,s:s}", "apiGroup", "rbac.authorization.k8s.io", "kind", "Role",
                  "name", rbac_name),
        rw.labels,
    };
    if (st == BC_OK) {
        json_t *rb = json_pack("{s:s,s:s,s:{s:s,s:s,s:O,s:o},s:[O],s:O}", "apiVersion",
                               "rbac.authorization.k8s.io/v1", "kind", "RoleBinding", "metadata",
                               "name", rbac_name, "namespace", ns, "labels", bw.labels,
                               "ownerReferences", owner(cluster), "subjects", bw.subject,
                               "roleRef", bw.role_ref);
        snprintf(collection, sizeof collection, RBAC_API "%s/rolebindings", ns);
        snprintf(path, sizeof path, "%s/%s", collection, rbac_name);
        st = create_missing(k, path, collection, rb);
        if (st == BC_OK)
            st = bc_kube_update(k, path, mutate_binding, &bw, NULL);
        json_decref(rb);
    }
    json_decref(bw.subject);
    json_decref(bw.role_ref);
    json_decref(rw.rules);
    json_decref(rw.labels);
    return st;
}

bc_status bc_rbac_set_rules(bc_kube *k, const char *role_path, const json_t *stores)
{
    role_want rw = {bc_rbac_role_rules(stores), NULL};
    bc_status st = bc_kube_update(k, role_path, mutate_role, &rw, NULL);
    json_decref(rw.rules);
    return st == BC_ERR_NOTFOUND ? BC_OK : st;
}
