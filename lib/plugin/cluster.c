/* The Cluster's configuration of this plugin, as upstream reads it:
 * spec.plugins[] for our own store and server name; the external cluster
 * named by spec.bootstrap.recovery.source (recovery) or spec.replica.source
 * (replica) for the store to restore WAL from, and whether this is a replica
 * cluster. */
#include <stdio.h>
#include <string.h>

#include "plugin/plugin_internal.h"

static const char *str(const json_t *obj, const char *path)
{
    /* path: dot-separated keys */
    char key[128];
    const json_t *v = obj;
    while (v && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        v = json_object_get(v, key);
        path += n + (path[n] == '.');
    }
    return json_string_value(v);
}

/* the external cluster named `source`, or NULL */
static const json_t *external_cluster(const json_t *cluster, const char *source)
{
    if (!source || !*source)
        return NULL;
    size_t i;
    const json_t *ext;
    json_array_foreach(json_object_get(json_object_get(cluster, "spec"), "externalClusters"), i,
                       ext) {
        const char *name = str(ext, "name");
        if (name && strcmp(name, source) == 0)
            return ext;
    }
    return NULL;
}

/* parameters of the external cluster named `source`, when its plugin is ours */
static const json_t *source_parameters(const json_t *cluster, const char *source)
{
    const json_t *ext = external_cluster(cluster, source);
    const char *plugin = str(ext, "plugin.name");
    if (!plugin || strcmp(plugin, BC_PLUGIN_NAME) != 0)
        return NULL;
    return json_object_get(json_object_get(ext, "plugin"), "parameters");
}

/* CloudNativePG's rule: replica.enabled when given, else this cluster
 * ("self", default its name) is not the one replica.primary names. */
static int is_replica(const json_t *cluster, const char *name)
{
    const json_t *replica = json_object_get(json_object_get(cluster, "spec"), "replica");
    if (!json_is_object(replica))
        return 0;
    const json_t *enabled = json_object_get(replica, "enabled");
    if (json_is_boolean(enabled))
        return json_is_true(enabled);
    const char *self = str(replica, "self"), *primary = str(replica, "primary");
    return strcmp(self && *self ? self : name, primary ? primary : "") != 0;
}

bc_status bc_cluster_config_from(json_t *cluster, bc_cluster_config *cfg)
{
    *cfg = (bc_cluster_config){0};
    if (!json_is_object(cluster))
        return bc_error(BC_ERR_USAGE, "the cluster definition is not a JSON object");
    cfg->cluster = json_incref(cluster);
    cfg->name = str(cluster, "metadata.name");
    cfg->namespace = str(cluster, "metadata.namespace");
    cfg->uid = str(cluster, "metadata.uid");
    cfg->current_primary = str(cluster, "status.currentPrimary");
    if (!cfg->current_primary)
        cfg->current_primary = "";
    if (!cfg->name || !cfg->namespace) {
        bc_cluster_config_free(cfg);
        return bc_error(BC_ERR_USAGE, "the cluster definition has no metadata.name/namespace");
    }
    cfg->server_name = cfg->name;
    const char *skip = json_string_value(json_object_get(
        json_object_get(json_object_get(cluster, "metadata"), "annotations"),
        "cnpg.io/skipEmptyWalArchiveCheck"));
    cfg->skip_empty_check = skip && strcmp(skip, "enabled") == 0;

    size_t i;
    const json_t *plugin;
    json_array_foreach(json_object_get(json_object_get(cluster, "spec"), "plugins"), i, plugin) {
        const char *name = str(plugin, "name");
        const json_t *enabled = json_object_get(plugin, "enabled");
        if (!name || strcmp(name, BC_PLUGIN_NAME) != 0)
            continue;
        cfg->listed = 1;
        cfg->listed_object = str(plugin, "parameters.barmanObjectName");
        cfg->listed_params = json_object_get(plugin, "parameters");
        if (json_is_false(enabled))
            continue;
        cfg->enabled = 1;
        cfg->object_name = str(plugin, "parameters.barmanObjectName");
        const char *server = str(plugin, "parameters.serverName");
        if (server && *server)
            cfg->server_name = server;
    }
    const char *recovery = str(cluster, "spec.bootstrap.recovery.source");
    const char *recovery_plugin = str(external_cluster(cluster, recovery), "plugin.name");
    cfg->recovery_ours = recovery_plugin && strcmp(recovery_plugin, BC_PLUGIN_NAME) == 0;
    const json_t *params = source_parameters(cluster, recovery);
    if (params) {
        cfg->recovery_object = str(params, "barmanObjectName");
        cfg->recovery_server = str(params, "serverName");
        if (!cfg->recovery_server || !*cfg->recovery_server)
            cfg->recovery_server = cfg->name;
    }
    const char *source = str(cluster, "spec.replica.source");
    const char *token = str(cluster, "spec.replica.promotionToken");
    const char *last = str(cluster, "status.lastPromotionToken");
    cfg->is_replica = is_replica(cluster, cfg->name);
    cfg->promoting = token && *token && strcmp(token, last ? last : "") != 0;
    cfg->source_streams = json_is_object(json_object_get(external_cluster(cluster, source),
                                                         "connectionParameters"));
    params = source_parameters(cluster, source);
    if (params) {
        cfg->replica_object = str(params, "barmanObjectName");
        cfg->replica_server = str(params, "serverName");
        if (!cfg->replica_server || !*cfg->replica_server)
            cfg->replica_server = cfg->name;
    }
    return BC_OK;
}

bc_status bc_cluster_config_parse(const void *json, size_t len, bc_cluster_config *cfg)
{
    json_error_t err;
    json_t *cluster = json_loadb(json, len, 0, &err);
    if (!cluster)
        return bc_error(BC_ERR_USAGE, "the cluster definition is not JSON: %s", err.text);
    bc_status st = bc_cluster_config_from(cluster, cfg);
    json_decref(cluster);
    return st;
}

void bc_cluster_config_free(bc_cluster_config *cfg)
{
    json_decref(cfg->cluster);
    *cfg = (bc_cluster_config){0};
}
