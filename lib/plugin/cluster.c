/* The Cluster's configuration of this plugin, as upstream reads it:
 * spec.plugins[] for our own store and server name; the external cluster
 * named by spec.bootstrap.recovery.source (recovery) or spec.replica.source
 * (replica) for the store to restore WAL from, and whether this is a replica
 * cluster. */
#include <stdio.h>
#include <string.h>

#include "plugin/plugin_internal.h"
#include "util/json.h"


/* the external cluster named `source`, or NULL */
static const json_t *external_cluster(const json_t *cluster, const char *source)
{
    if (!source || !*source)
        return NULL;
    size_t i;
    const json_t *ext;
    json_array_foreach(json_object_get(json_object_get(cluster, "spec"), "externalClusters"), i,
                       ext) {
        const char *name = bc_json_at(ext, "name");
        if (name && strcmp(name, source) == 0)
            return ext;
    }
    return NULL;
}

/* parameters of the external cluster named `source`, when its plugin is ours */
static const json_t *source_parameters(const json_t *cluster, const char *source)
{
    const json_t *ext = external_cluster(cluster, source);
    const char *plugin = bc_json_at(ext, "plugin.name");
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
    const char *self = bc_json_at(replica, "self"), *primary = bc_json_at(replica, "primary");
    return strcmp(self && *self ? self : name, primary ? primary : "") != 0;
}

bc_status bc_cluster_config_from(json_t *cluster, bc_cluster_config *cfg)
{
    *cfg = (bc_cluster_config){0};
    if (!json_is_object(cluster))
        return bc_error(BC_ERR_USAGE, "the cluster definition is not a JSON object");
    cfg->cluster = json_incref(cluster);
    cfg->name = bc_json_at(cluster, "metadata.name");
    cfg->namespace = bc_json_at(cluster, "metadata.namespace");
    cfg->uid = bc_json_at(cluster, "metadata.uid");
    cfg->current_primary = bc_json_at(cluster, "status.currentPrimary");
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
        const char *name = bc_json_at(plugin, "name");
        const json_t *enabled = json_object_get(plugin, "enabled");
        if (!name || strcmp(name, BC_PLUGIN_NAME) != 0)
            continue;
        cfg->listed = 1;
        cfg->listed_object = bc_json_at(plugin, "parameters.barmanObjectName");
        cfg->listed_params = json_object_get(plugin, "parameters");
        if (json_is_false(enabled))
            continue;
        cfg->enabled = 1;
        cfg->object_name = bc_json_at(plugin, "parameters.barmanObjectName");
        const char *server = bc_json_at(plugin, "parameters.serverName");
        if (server && *server)
            cfg->server_name = server;
    }
    const char *recovery = bc_json_at(cluster, "spec.bootstrap.recovery.source");
    const char *recovery_plugin = bc_json_at(external_cluster(cluster, recovery), "plugin.name");
    cfg->recovery_ours = recovery_plugin && strcmp(recovery_plugin, BC_PLUGIN_NAME) == 0;
    const json_t *params = source_parameters(cluster, recovery);
    if (params) {
        cfg->recovery_object = bc_json_at(params, "barmanObjectName");
        cfg->recovery_server = bc_json_at(params, "serverName");
        if (!cfg->recovery_server || !*cfg->recovery_server)
            cfg->recovery_server = cfg->name;
    }
    const char *source = bc_json_at(cluster, "spec.replica.source");
    const char *token = bc_json_at(cluster, "spec.replica.promotionToken");
    const char *last = bc_json_at(cluster, "status.lastPromotionToken");
    cfg->is_replica = is_replica(cluster, cfg->name);
    cfg->promoting = token && *token && strcmp(token, last ? last : "") != 0;
    cfg->source_streams = json_is_object(json_object_get(external_cluster(cluster, source),
                                                         "connectionParameters"));
    params = source_parameters(cluster, source);
    if (params) {
        cfg->replica_object = bc_json_at(params, "barmanObjectName");
        cfg->replica_server = bc_json_at(params, "serverName");
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
