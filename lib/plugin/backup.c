/* CNPG-i Backup service. Three steps, each a tool run from the loop:
 *   1. bc-backup --name backup-YYYYMMDDhhmmss (prints the backup id);
 *   2. bc-ls show --format json: what the Backup status needs (times, WAL,
 *      LSN, label, tablespaces, timeline);
 *   3. bc-retention --report: the recovery window, merged into the
 *      ObjectStore status (a failure there is logged, as upstream does).
 * With the Backup parameter verify: "true", bc-verify reads the new backup
 * back between steps 1 and 2; a problem fails the Backup.
 * A failed backup records lastFailedBackupTime in the status instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup.pb-c.h"
#include "identity.pb-c.h"
#include "plugin/plugin_internal.h"
#include "util/buffer.h"
#include "util/log.h"
#include "util/pyjson.h"
#include "util/timefmt.h"

typedef struct backup_job {
    bc_plugin *p;
    bc_cluster_config cfg;
    json_t *os;             /* the ObjectStore (a reference) */
    char name[64];          /* backup-YYYYMMDDhhmmss */
    char id[64];            /* from bc-backup */
    int verify;             /* parameter verify: "true" */
    json_t *info;           /* bc-ls show's backup object */
} backup_job;

static void job_free(backup_job *j)
{
    bc_cluster_config_free(&j->cfg);
    json_decref(j->os);
    json_decref(j->info);
    free(j);
}

static void get_capabilities(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    static const int rpcs[] = {CNPGI__BACKUP__V1__BACKUP_CAPABILITY__RPC__TYPE__TYPE_BACKUP};
    (void)ctx;
    bc_plugin_reply_capabilities(call, &cnpgi__backup__v1__backup_capabilities_request__descriptor,
                                 req, len, &cnpgi__backup__v1__backup_capabilities_result__descriptor,
                                 "rpc", rpcs, 1);
}

/* A tool against the job's store and server: options, words, URL, server, last. */
static bc_status run(backup_job *j, bc_grpc_call *call, bc_tool kind, const char *const *words,
                     const char *last, bc_plugin_tool_done done)
{
    const char *const tail[] = {last, NULL};
    return bc_plugin_run_tool(j->p, call, j->os, kind, words, j->cfg.server_name, tail, done, j);
}

static void record_failure(backup_job *j)
{
    char now[32];
    bc_time_to_rfc3339(time(NULL), now, sizeof now);
    json_t *fields = json_pack("{s:s}", "lastFailedBackupTime", now);
    if (bc_plugin_update_recovery_window(j->p, j->cfg.namespace, j->cfg.object_name,
                                         j->cfg.server_name, fields) != BC_OK)
        bc_log_warning("cannot record the failed backup in ObjectStore %s: %s",
                       j->cfg.object_name, bc_error_msg());
    json_decref(fields);
}

static const char *info_str(const backup_job *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j->info, key));
    return s ? s : "";
}

/* tablespace_map's text from barman's [[name, oid, location], ...] */
static char *tablespace_map(const json_t *list)
{
    bc_buffer text = {0};
    size_t i;
    const json_t *t;
    json_array_foreach(list, i, t)
        bc_buffer_addf(&text, "%lld %s\n", (long long)json_integer_value(json_array_get(t, 1)),
                       json_string_value(json_array_get(t, 2)));
    return bc_buffer_take(&text);
}

static void finish(backup_job *j, bc_grpc_call *call)
{
    Cnpgi__Backup__V1__BackupResult out = CNPGI__BACKUP__V1__BACKUP_RESULT__INIT;
    out.backup_id = j->id;
    out.backup_name = j->name;
    out.started_at = bc_time_from_ctime(info_str(j, "begin_time"));
    out.stopped_at = bc_time_from_ctime(info_str(j, "end_time"));
    out.begin_wal = (char *)info_str(j, "begin_wal");
    out.end_wal = (char *)info_str(j, "end_wal");
    out.begin_lsn = (char *)info_str(j, "begin_xlog");
    out.end_lsn = (char *)info_str(j, "end_xlog");
    /* backup_label is kept as Python's repr() of the file */
    json_t *label = bc_pyjson_from_literal(info_str(j, "backup_label"));
    if (json_is_string(label)) {
        out.backup_label_file.data = (uint8_t *)json_string_value(label);
        out.backup_label_file.len = json_string_length(label);
    }
    char *map = tablespace_map(json_object_get(j->info, "tablespaces"));
    if (map) {
        out.tablespace_map_file.data = (uint8_t *)map;
        out.tablespace_map_file.len = strlen(map);
    }
    out.instance_id = (char *)(j->p->settings.pod_name ? j->p->settings.pod_name : "");
    out.online = 1;
    char timeline[24];
    snprintf(timeline, sizeof timeline, "%lld",
             (long long)json_integer_value(json_object_get(j->info, "timeline")));
    Cnpgi__Backup__V1__BackupResult__MetadataEntry meta[6], *metap[6];
    const char *kv[6][2] = {
        {"timeline", timeline}, {"version", BC_VERSION}, {"name", BC_PLUGIN_NAME},
        {"displayName", "Barman Cloud (bc)"}, {"clusterUID", j->cfg.uid ? j->cfg.uid : ""},
        {"pluginName", BC_PLUGIN_NAME},
    };
    for (int i = 0; i < 6; i++) {
        meta[i] = (Cnpgi__Backup__V1__BackupResult__MetadataEntry)
            CNPGI__BACKUP__V1__BACKUP_RESULT__METADATA_ENTRY__INIT;
        meta[i].key = (char *)kv[i][0];
        meta[i].value = (char *)kv[i][1];
        metap[i] = &meta[i];
    }
    out.n_metadata = 6;
    out.metadata = metap;
    bc_log_info("backup %s (%s) of server %s completed", j->id, j->name, j->cfg.server_name);
    bc_plugin_reply(call, &out.base);
    json_decref(label);
    free(map);
    job_free(j);
}

static void report_done(void *ctx, bc_grpc_call *call, const bc_child_result *r)
{
    backup_job *j = ctx;
    json_t *report = r->exit_code == 0 ? json_loadb(r->out, r->out_len, 0, NULL) : NULL;
    json_t *fields = json_object();
    static const char *const keys[][2] = {
        {"first_recoverability_point", "firstRecoverabilityPoint"},
        {"last_successful_backup_time", "lastSuccessfulBackupTime"},
    };
    for (size_t i = 0; report && i < 2; i++) {
        json_t *v = json_object_get(report, keys[i][0]);
        if (json_is_string(v))
            json_object_set(fields, keys[i][1], v);
    }
    if (!report)
        bc_log_warning("recovery window of %s not updated: %s", j->cfg.server_name,
                       *r->last_error ? r->last_error : "bc-retention --report failed");
    else if (bc_plugin_update_recovery_window(j->p, j->cfg.namespace, j->cfg.object_name,
                                              j->cfg.server_name, fields) != BC_OK)
        bc_log_warning("recovery window of %s not updated: %s", j->cfg.server_name,
                       bc_error_msg());
    json_decref(fields);
    json_decref(report);
    finish(j, call);
}

static void fail_job(backup_job *j, bc_grpc_call *call, bc_status st)
{
    bc_plugin_fail(call, st);
    job_free(j);
}

static void show_done(void *ctx, bc_grpc_call *call, const bc_child_result *r)
{
    backup_job *j = ctx;
    json_t *doc = r->exit_code == 0 ? json_loadb(r->out, r->out_len, 0, NULL) : NULL;
    /* {server_name: backup} */
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
        j->info = json_incref(v);
    json_decref(doc);
    if (!json_is_object(j->info)) {
        bc_grpc_call_fail(call, BC_GRPC_INTERNAL, "backup %s taken, but bc-ls show failed: %s",
                          j->id, *r->last_error ? r->last_error : "no JSON");
        job_free(j);
        return;
    }
    static const char *const words[] = {"--report", NULL};
    bc_status st = run(j, call, BC_TOOL_RETENTION, words, NULL, report_done);
    if (st != BC_OK) {
        bc_log_warning("recovery window not updated: %s", bc_error_msg());
        finish(j, call);
    }
}

static void show(backup_job *j, bc_grpc_call *call)
{
    static const char *const words[] = {"show", "--format=json", NULL};
    bc_status st = run(j, call, BC_TOOL_LS, words, j->id, show_done);
    if (st != BC_OK)
        fail_job(j, call, st);
}

static void verify_done(void *ctx, bc_grpc_call *call, const bc_child_result *r)
{
    backup_job *j = ctx;
    if (r->exit_code != 0) {
        record_failure(j);
        bc_grpc_call_fail(call, r->exit_code == 2 ? BC_GRPC_UNAVAILABLE : BC_GRPC_DATA_LOSS,
                          "backup %s (%s) was taken, but its verification failed: %s", j->id,
                          j->name, *r->last_error ? r->last_error : "bc-verify failed");
        job_free(j);
        return;
    }
    bc_log_info("backup %s (%s) verified", j->id, j->name);
    show(j, call);
}

static void backup_done(void *ctx, bc_grpc_call *call, const bc_child_result *r)
{
    backup_job *j = ctx;
    size_t n = r->out_len;
    while (n && (r->out[n - 1] == '\n' || r->out[n - 1] == ' '))
        n--;
    if (r->exit_code != 0 || n == 0 || n >= sizeof j->id) {
        record_failure(j);
        int code = r->exit_code == 2 ? BC_GRPC_UNAVAILABLE
                 : r->exit_code == 3 ? BC_GRPC_INVALID_ARGUMENT : BC_GRPC_INTERNAL;
        bc_grpc_call_fail(call, code, "backup %s failed: %s", j->name,
                          *r->last_error ? r->last_error : "bc-backup printed no backup id");
        job_free(j);
        return;
    }
    memcpy(j->id, r->out, n);
    j->id[n] = '\0';
    if (!j->verify) {
        show(j, call);
        return;
    }
    static const char *const words[] = {"--no-progress", NULL};
    bc_status st = run(j, call, BC_TOOL_VERIFY, words, j->id, verify_done);
    if (st != BC_OK)
        fail_job(j, call, st);
}

/* The Backup's plugin parameters this plugin reads: verify. */
static bc_status read_parameters(backup_job *j, const Cnpgi__Backup__V1__BackupRequest *in)
{
    for (size_t i = 0; i < in->n_parameters; i++) {
        const char *key = in->parameters[i]->key, *value = in->parameters[i]->value;
        if (!key || strcmp(key, "verify") != 0)
            continue;
        if (value && !strcmp(value, "true"))
            j->verify = 1;
        else if (!value || strcmp(value, "false") != 0)
            return bc_error(BC_ERR_USAGE, "Backup parameter verify: '%s' is neither \"true\" "
                            "nor \"false\"", value ? value : "");
    }
    return BC_OK;
}

static void backup(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    bc_plugin *p = ctx;
    Cnpgi__Backup__V1__BackupRequest *in = (void *)bc_plugin_decode(
        call, &cnpgi__backup__v1__backup_request__descriptor, req, len);
    if (!in)
        return;
    backup_job *j = calloc(1, sizeof *j);
    json_t *os = NULL;
    bc_status st = j ? bc_plugin_cluster_store(p, in->cluster_definition, &j->cfg, &os)
                     : bc_oom();
    if (st == BC_OK)
        st = read_parameters(j, in);
    protobuf_c_message_free_unpacked(&in->base, NULL);
    if (!j) {
        bc_plugin_fail(call, st);
        return;
    }
    j->p = p;
    if (st == BC_OK) {
        j->os = json_incref(os);
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(j->name, sizeof j->name, "backup-%Y%m%d%H%M%S", &tm);
        const char *const words[] = {"--name", j->name, NULL};
        bc_log_info("starting backup %s of server %s", j->name, j->cfg.server_name);
        st = run(j, call, BC_TOOL_BACKUP, words, NULL, backup_done);
    }
    if (st != BC_OK)
        fail_job(j, call, st);
}

bc_status bc_plugin_add_backup(bc_plugin *p, bc_grpc_server *s)
{
    static const bc_plugin_method methods[] = {
        {"GetCapabilities", get_capabilities}, {"Backup", backup}, {NULL, NULL}};
    return bc_plugin_register(p, s, "cnpgi.backup.v1.Backup", methods,
                              CNPGI__IDENTITY__V1__PLUGIN_CAPABILITY__SERVICE__TYPE__TYPE_BACKUP_SERVICE);
}
