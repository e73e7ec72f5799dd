/* Building the sidecar container and fitting it into a PodSpec (see
 * sidecar.h). Pure JSON work: the ObjectStores were read by the caller. */
#include "plugin/sidecar.h"

#include <string.h>

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static json_t *by_name(const json_t *list, const char *name)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        const char *n = str(item, "name");
        if (n && strcmp(n, name) == 0)
            return item;
    }
    return NULL;
}

/* The array member key of obj, created empty when missing. */
static json_t *array_member(json_t *obj, const char *key)
{
    json_t *a = json_object_get(obj, key);
    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(obj, key, a);
    }
    return a;
}

/* Appends a copy of item, or replaces the element of the same name. */
static void ensure_named(json_t *list, const json_t *item)
{
    const char *name = str(item, "name");
    size_t i;
    json_t *cur;
    json_array_foreach(list, i, cur) {
        const char *n = str(cur, "name");
        if (n && name && strcmp(n, name) == 0) {
            json_array_set_new(list, i, json_deep_copy(item));
            return;
        }
    }
    json_array_append_new(list, json_deep_copy(item));
}

static void remove_named(json_t *obj, const char *key, const char *name)
{
    json_t *list = json_object_get(obj, key);
    for (size_t i = json_array_size(list); i-- > 0;) {
        const char *n = str(json_array_get(list, i), "name");
        if (n && strcmp(n, name) == 0)
            json_array_remove(list, i);
    }
    /* Go leaves out an emptied list (omitempty): do the same */
    if (list && json_array_size(list) == 0)
        json_object_del(obj, key);
}

/* Appends the variables of `from` whose names `env` does not have yet. */
static void merge_env(json_t *env, const json_t *from)
{
    size_t i;
    json_t *var;
    json_array_foreach(from, i, var) {
        const char *name = str(var, "name");
        if (name && !by_name(env, name))
            json_array_append(env, var);
    }
}

static json_t *build_env(const json_t *main, const bc_sidecar_spec *s)
{
    const json_t *meta = json_object_get(s->cluster, "metadata");
    const char *api = str(s->cluster, "apiVersion");
    const char *slash = api ? strrchr(api, '/') : NULL;
    char group[256] = "";
    if (slash && (size_t)(slash - api) < sizeof group)
        memcpy(group, api, (size_t)(slash - api));
    const char *version = slash ? slash + 1 : api ? api : "";
    json_t *env = json_array();
    merge_env(env, json_object_get(main, "env"));
    json_t *defaults = json_pack("[{s:s,s:s?},{s:s,s:s?},{s:s,s:s},{s:s,s:s},{s:s,s:s}]",
                                 "name", "NAMESPACE", "value", str(meta, "namespace"),
                                 "name", "CLUSTER_NAME", "value", str(meta, "name"),
                                 "name", "SPOOL_DIRECTORY", "value",
                                 "/controller/wal-restore-spool",
                                 "name", "CUSTOM_CNPG_GROUP", "value", group,
                                 "name", "CUSTOM_CNPG_VERSION", "value", version);
    merge_env(env, defaults);
    json_decref(defaults);
    merge_env(env, s->env);
    return env;
}

static json_t *build_container(const json_t *main, const bc_sidecar_spec *s)
{
    json_t *args = json_pack("[s]", s->mode);
    size_t i;
    json_t *a;
    json_array_foreach(s->extra_args, i, a)
        json_array_append(args, a);
    json_t *c = json_pack("{s:s,s:s?,s:o}", "name", BC_SIDECAR_NAME, "image", s->image, "args", args);
    json_t *env = build_env(main, s);
    if (json_array_size(env))
        json_object_set_new(c, "env", env);
    else
        json_decref(env);
    json_object_set_new(c, "resources",
                        json_is_object(s->resources) ? json_deep_copy(s->resources) : json_object());
    json_object_set_new(c, "restartPolicy", json_string("Always"));
    json_t *mounts = json_array();
    if (json_array_size(s->certificates))
        json_array_append_new(mounts, json_pack("{s:s,s:s}", "name", BC_SIDECAR_CERTS_VOLUME,
                                                "mountPath", BC_SIDECAR_CERTS_PATH));
    json_array_foreach(json_object_get(main, "volumeMounts"), i, a)
        ensure_named(mounts, a);
    if (json_array_size(mounts))
        json_object_set_new(c, "volumeMounts", mounts);
    else
        json_decref(mounts);
    json_object_set_new(c, "startupProbe",
                        json_pack("{s:{s:[sss]},s:i,s:i,s:i}", "exec", "command", "/manager",
                                  "healthcheck", "unix", "timeoutSeconds", 5, "periodSeconds", 1,
                                  "failureThreshold", 30));
    const char *pull = str(json_object_get(s->cluster, "spec"), "imagePullPolicy");
    if (pull && *pull)
        json_object_set_new(c, "imagePullPolicy", json_string(pull));
    json_object_set_new(c, "securityContext",
                        json_pack("{s:{s:[s]},s:b,s:b,s:b,s:b,s:{s:s}}", "capabilities",
                                  "drop", "ALL", "privileged", 0, "runAsNonRoot", 1,
                                  "readOnlyRootFilesystem", 1, "allowPrivilegeEscalation", 0,
                                  "seccompProfile", "type", "RuntimeDefault"));
    return c;
}

bc_status bc_sidecar_inject(json_t *spec, const bc_sidecar_spec *s)
{
    json_t *containers = json_object_get(spec, "containers");
    json_t *main = by_name(containers, s->main_container);
    if (!main)
        return bc_error(BC_ERR_USAGE, "main container not found: the pod has no container "
                                      "named \"%s\"", s->main_container);
    if (json_array_size(s->certificates)) {
        json_t *vol = json_pack("{s:s,s:{s:O}}", "name", BC_SIDECAR_CERTS_VOLUME, "projected",
                                "sources", s->certificates);
        ensure_named(array_member(spec, "volumes"), vol);
        json_decref(vol);
    } else {
        remove_named(spec, "volumes", BC_SIDECAR_CERTS_VOLUME);
    }
    /* CloudNativePG normally has the plugins volume; a Pod without one
     * gets it, mounted on the main container first so the sidecar copies
     * that mount too. */
    if (!by_name(json_object_get(spec, "volumes"), "plugins")) {
        json_t *vol = json_pack("{s:s,s:{}}", "name", "plugins", "emptyDir");
        json_t *mount = json_pack("{s:s,s:s}", "name", "plugins", "mountPath", "/plugins");
        ensure_named(array_member(spec, "volumes"), vol);
        ensure_named(array_member(main, "volumeMounts"), mount);
        json_decref(vol);
        json_decref(mount);
    }
    json_t *sidecar = build_container(main, s);
    if (!sidecar)
        return bc_oom();
    ensure_named(array_member(spec, "initContainers"), sidecar);
    json_decref(sidecar);
    return BC_OK;
}
