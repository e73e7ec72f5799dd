/* Retention, as upstream's catalog maintenance: on the pod that is the
 * Cluster's current primary, every retentionPolicyIntervalSeconds of the
 * ObjectStore (default 1800; 300 while the Cluster cannot be read), run
 * bc-retention with the ObjectStore's retentionPolicy and --report, merge
 * the recovery window it reports into the ObjectStore status, and delete
 * the Cluster's Backup resources whose backup has left the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin_internal.h"
#include "util/log.h"

#define DEFAULT_INTERVAL 1800
#define RETRY_INTERVAL 300

typedef struct cycle {
    bc_plugin *p;
    bc_grpc_server *server;
    bc_cluster_config cfg;
    char object[256];
} cycle;

static void cycle_end(cycle *c)
{
    c->p->maintenance_running = 0;
    bc_grpc_server_hold(c->server, -1);
    bc_cluster_config_free(&c->cfg);
    free(c);
}

/* 1 if the JSON array of strings holds s. */
static int holds(const json_t *list, const char *s)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) {
        const char *t = json_string_value(v);
        if (t && strcmp(t, s) == 0)
            return 1;
    }
    return 0;
}

/* Upstream's rule: a completed Backup of this Cluster, taken by this
 * plugin for this very Cluster (its uid), while the Cluster has a backup
 * section, and whose backup id is no longer in the store. */
static int is_stale(const cycle *c, const json_t *backup, const json_t *in_store)
{
    const json_t *spec = json_object_get(backup, "spec");
    const json_t *status = json_object_get(backup, "status");
    const json_t *meta = json_object_get(status, "pluginMetadata");
    const char *cluster = json_string_value(json_object_get(json_object_get(spec, "cluster"), "name"));
    const char *phase = json_string_value(json_object_get(status, "phase"));
    const char *method = json_string_value(json_object_get(status, "method"));
    const char *uid = json_string_value(json_object_get(meta, "clusterUID"));
    const char *plugin = json_string_value(json_object_get(meta, "pluginName"));
    const char *id = json_string_value(json_object_get(status, "backupId"));
    return cluster && strcmp(cluster, c->cfg.name) == 0 && phase &&
           strcmp(phase, "completed") == 0 &&
           json_is_object(json_object_get(json_object_get(c->cfg.cluster, "spec"), "backup")) &&
           method && strcmp(method, "plugin") == 0 && uid && c->cfg.uid &&
           strcmp(uid, c->cfg.uid) == 0 && plugin && strcmp(plugin, BC_PLUGIN_NAME) == 0 &&
           id && !holds(in_store, id);
}

static void delete_stale_backups(cycle *c, const json_t *in_store)
{
    const bc_plugin_settings *set = &c->p->settings;
    char path[1024];
    snprintf(path, sizeof path, "/apis/%s/%s/namespaces/%s/backups", set->cnpg_group,
             set->cnpg_version, c->cfg.namespace);
    json_t *list = NULL;
    if (bc_kube_get(c->p->kube, path, &list) != BC_OK) {
        bc_log_error("retention: cannot list the Backup resources: %s", bc_error_msg());
        return;
    }
    size_t i;
    const json_t *b;
    json_array_foreach(json_object_get(list, "items"), i, b) {
        const char *name = json_string_value(json_object_get(json_object_get(b, "metadata"), "name"));
        if (!name || !is_stale(c, b, in_store))
            continue;
        char one[1400];
        snprintf(one, sizeof one, "%s/%s", path, name);
        bc_status st = bc_kube_delete(c->p->kube, one);
        if (st == BC_OK)
            bc_log_info("retention: deleted Backup %s: its backup %s is no longer in the store",
                        name, json_string_value(json_object_get(json_object_get(b, "status"), "backupId")));
        else if (st != BC_ERR_NOTFOUND)
            bc_log_error("retention: cannot delete Backup %s: %s", name, bc_error_msg());
    }
    json_decref(list);
}

static void retention_done(void *ctx, const bc_child_result *r)
{
    cycle *c = ctx;
    json_t *report = r->out_len ? json_loadb(r->out, r->out_len, 0, NULL) : NULL;
    if (r->exit_code != 0)
        bc_log_error("retention of server %s failed: %s", c->cfg.server_name,
                     *r->last_error ? r->last_error : "bc-retention failed");
    /* exit 1 still reports (backups it had to leave alone) */
    if (json_is_object(report)) {
        json_t *fields = json_object();
        const char *frp = json_string_value(json_object_get(report, "first_recoverability_point"));
        const char *last = json_string_value(json_object_get(report, "last_successful_backup_time"));
        json_object_set_new(fields, "firstRecoverabilityPoint", frp ? json_string(frp) : json_null());
        json_object_set_new(fields, "lastSuccessfulBackupTime", last ? json_string(last) : json_null());
        if (bc_plugin_update_recovery_window(c->p, c->cfg.namespace, c->object,
                                             c->cfg.server_name, fields) != BC_OK)
            bc_log_error("cannot update the status of ObjectStore %s: %s", c->object,
                         bc_error_msg());
        else
            bc_log_info("recovery window of server %s: from %s", c->cfg.server_name,
                        frp ? frp : "(no backup)");
        json_decref(fields);
        /* only a run that read the store says what left it */
        const json_t *in_store = json_object_get(report, "backups_in_store");
        if ((r->exit_code == 0 || r->exit_code == 1) && json_is_array(in_store))
            delete_stale_backups(c, in_store);
    }
    json_decref(report);
    cycle_end(c);
}

/* One cycle; returns the seconds until the next. */
static long start_cycle(bc_plugin *p, bc_grpc_server *s)
{
    const bc_plugin_settings *set = &p->settings;
    char path[1024];
    snprintf(path, sizeof path, "/apis/%s/%s/namespaces/%s/clusters/%s", set->cnpg_group,
             set->cnpg_version, set->namespace, set->cluster_name);
    json_t *cluster = NULL, *os = NULL;
    cycle *c = calloc(1, sizeof *c);
    if (!c)
        return RETRY_INTERVAL;
    c->p = p;
    c->server = s;
    bc_status st = bc_kube_get_cached(p->kube, path, &cluster);
    if (st == BC_OK)
        st = bc_cluster_config_from(cluster, &c->cfg);
    if (st != BC_OK) {
        bc_log_error("retention: cannot read Cluster %s: %s", set->cluster_name, bc_error_msg());
        free(c);
        return RETRY_INTERVAL;
    }
    if (!c->cfg.enabled || !c->cfg.object_name) {
        bc_log_debug("retention: the plugin is not enabled for backups of %s", set->cluster_name);
        bc_cluster_config_free(&c->cfg);
        free(c);
        return RETRY_INTERVAL;
    }
    snprintf(c->object, sizeof c->object, "%s", c->cfg.object_name);
    st = bc_plugin_object_store(p, c->cfg.namespace, c->object, &os);
    if (st != BC_OK) {
        bc_log_error("retention: %s", bc_error_msg());
        bc_cluster_config_free(&c->cfg);
        free(c);
        return RETRY_INTERVAL;
    }
    const json_t *spec = json_object_get(os, "spec");
    json_int_t interval = json_integer_value(json_object_get(
        json_object_get(spec, "instanceSidecarConfiguration"), "retentionPolicyIntervalSeconds"));
    if (interval <= 0)
        interval = DEFAULT_INTERVAL;
    if (strcmp(c->cfg.current_primary, set->pod_name) != 0) {
        bc_log_debug("retention: skipped, %s is not the current primary (%s)", set->pod_name,
                     c->cfg.current_primary);
        bc_cluster_config_free(&c->cfg);
        free(c);
        return (long)interval;
    }
    const char *policy = json_string_value(json_object_get(spec, "retentionPolicy"));
    bc_strv argv = {0}, env = {0};
    st = bc_plugin_tool_command(p, os, BC_TOOL_RETENTION, NULL, &argv, &env);
    if (st == BC_OK && policy && *policy)
        st = bc_strv_addf(&argv, "--retention-policy=%s", policy);
    if (st == BC_OK && (bc_strv_add(&argv, "--report") != BC_OK ||
                        bc_strv_add(&argv, bc_objectstore_destination(
                                               json_object_get(spec, "configuration"))) != BC_OK ||
                        bc_strv_add(&argv, c->cfg.server_name) != BC_OK))
        st = BC_ERR_INTERNAL;
    if (st == BC_OK) {
        bc_log_info("retention: applying %s to server %s", policy && *policy ? policy : "no policy (report only)",
                    c->cfg.server_name);
        st = bc_child_start("bc-retention", &argv, &env, retention_done, c, NULL);
    }
    bc_strv_free(&argv);
    bc_strv_free(&env);
    if (st != BC_OK) {
        bc_log_error("retention: %s", bc_error_msg());
        bc_cluster_config_free(&c->cfg);
        free(c);
        return RETRY_INTERVAL;
    }
    p->maintenance_running = 1;
    bc_grpc_server_hold(s, 1);
    return (long)interval;
}

typedef struct tick_ctx {
    bc_plugin *p;
    bc_grpc_server *s;
} tick_ctx;

static tick_ctx ticker;

static void on_tick(void *arg)
{
    tick_ctx *t = arg;
    time_t now = time(NULL);
    if (t->p->maintenance_running || now < t->p->next_maintenance ||
        bc_grpc_server_draining(t->s))
        return;
    t->p->next_maintenance = now + start_cycle(t->p, t->s);
}

void bc_plugin_schedule_maintenance(bc_plugin *p, bc_grpc_server *s)
{
    const bc_plugin_settings *set = &p->settings;
    if (!set->namespace || !set->cluster_name || !set->pod_name) {
        bc_log_warning("retention is off: NAMESPACE, CLUSTER_NAME and POD_NAME must all be set");
        return;
    }
    ticker = (tick_ctx){p, s};
    p->next_maintenance = 0;
    bc_grpc_server_on_tick(s, on_tick, &ticker);
}
