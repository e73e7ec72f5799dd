/* CNPG-i RestoreJobHooks (bc-plugin restore, in the recovery Job), as
 * upstream does it, each step a tool run from the loop:
 *   1. when the new Cluster has a store of its own and the check is asked
 *      for: bc-ls check-empty there (a new cluster must not write into
 *      another's archive);
 *   2. bc-ls backups on the recovery store, and the backup chosen by
 *      bootstrap.recovery.recoveryTarget (backupID, else the latest
 *      completed one ending before targetTime / targetLSN, else the latest);
 *   3. bc-wal-restore of that backup's first WAL, so a restore that could
 *      never replay fails before copying terabytes;
 *   4. bc-restore into PGDATA, then pg_wal moved to the WAL volume when the
 *      Cluster has walStorage.
 * The answer is the recovery configuration: restore_command through the
 * instance manager, which calls this plugin's WAL service. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.pb-c.h"
#include "plugin/plugin_internal.h"
#include "restore_job.pb-c.h"
#include "util/log.h"
#include "util/timefmt.h"

#define RESTORE_COMMAND "/controller/manager wal-restore --log-destination " \
                        "/controller/log/postgres.json %f %p"
#define WAL_VOLUME "/var/lib/postgresql/wal/pg_wal"

typedef struct restore_job {
    bc_plugin *p;
    bc_cluster_config cfg;
    json_t *recovery_os;     /* the recovery ObjectStore (a reference) */
    char id[64], begin_wal[32];
} restore_job;

static void job_free(restore_job *j)
{
    bc_cluster_config_free(&j->cfg);
    json_decref(j->recovery_os);
    free(j);
}

static void fail_job(restore_job *j, bc_grpc_call *call, int code, const char *what,
                     const bc_child_result *r)
{
    bc_grpc_call_fail(call, code, "%s: %s", what,
                      r && *r->last_error ? r->last_error : "failed");
    job_free(j);
}

static void get_capabilities(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    (void)ctx;
    if (!bc_plugin_empty_request(
            call, &cnpgi__wal__v1__restore_job_hooks_capabilities_request__descriptor, req, len))
        return;
    Cnpgi__Wal__V1__RestoreJobHooksCapability cap = CNPGI__WAL__V1__RESTORE_JOB_HOOKS_CAPABILITY__INIT, *list = &cap;
    cap.kind = CNPGI__WAL__V1__RESTORE_JOB_HOOKS_CAPABILITY__KIND__KIND_RESTORE;
    Cnpgi__Wal__V1__RestoreJobHooksCapabilitiesResult out = CNPGI__WAL__V1__RESTORE_JOB_HOOKS_CAPABILITIES_RESULT__INIT;
    out.n_capabilities = 1;
    out.capabilities = &list;
    bc_plugin_reply(call, &out.base);
}

/* pg_wal onto the WAL volume (Cluster.spec.walStorage), as the instance
 * expects: its content moved, then a symlink in its place. */
static bc_status move_wal_dir(const char *pgdata)
{
    char pg_wal[PATH_MAX], link[PATH_MAX];
    snprintf(pg_wal, sizeof pg_wal, "%s/pg_wal", pgdata);
    ssize_t n = readlink(pg_wal, link, sizeof link - 1);
    if (n > 0 && (size_t)n == strlen(WAL_VOLUME) && memcmp(link, WAL_VOLUME, (size_t)n) == 0)
        return BC_OK;
    if (mkdir(WAL_VOLUME, 0700) != 0 && errno != EEXIST)
        return bc_error(BC_ERR_IO, "cannot create %s: %s", WAL_VOLUME, strerror(errno));
    DIR *d = opendir(pg_wal);
    struct dirent *e;
    char from[PATH_MAX + 256], to[PATH_MAX + 256];
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(from, sizeof from, "%s/%s", pg_wal, e->d_name);
        snprintf(to, sizeof to, WAL_VOLUME "/%s", e->d_name);
        if (rename(from, to) != 0) {
            closedir(d);
            return bc_error(BC_ERR_IO, "cannot move %s to %s: %s", from, to, strerror(errno));
        }
    }
    if (d)
        closedir(d);
    if ((rmdir(pg_wal) != 0 && errno != ENOENT) || symlink(WAL_VOLUME, pg_wal) != 0)
        return bc_error(BC_ERR_IO, "cannot link %s to %s: %s", pg_wal, WAL_VOLUME, strerror(errno));
    return BC_OK;
}

static void restore_done(void *ctx, bc_grpc_call *call, const bc_child_result *r)
{
    restore_job *j = ctx;
    if (r->exit_code != 0) {
        fail_job(j, call, r->exit_code == 2 ? BC_GRPC_UNAVAILABLE : BC_GRPC_INTERNAL,
                 "bc-restore", r);
        return;
    }
    if (json_object_get(json_object_get(j->cfg.cluster, "spec"), "walStorage") &&
        move_wal_dir(j->p->settings.pgdata) != BC_OK) {
        bc_plugin_fail(call, BC_ERR_IO);
        job_free(j);
        return;
    }
    bc_log_info("backup %s restored into %s", j->id, j->p->settings.pgdata);
    Cnpgi__Wal__V1__RestoreResponse out = CNPGI__WAL__V1__RESTORE_RESPONSE__INIT;
    out.restore_config = "recovery_target_action = promote\n"
                         "restore_command = '" RESTORE_COMMAND "'\n";
    bc_plugin_reply(call, &out.base);
    job_free(j);
}

static void wal_check_done(void *ctx, bc_grpc_call *call, const bc_child_result *r)
{
    restore_job *j = ctx;
    char probe[PATH_MAX + 16];
    snprintf(probe, sizeof probe, "%s/first.wal", j->p->private_dir);
    unlink(probe);
    if (r->exit_code != 0) {
        char what[192];
        snprintf(what, sizeof what, "the archive lacks %s, the first WAL of backup %s",
                 j->begin_wal, j->id);
        fail_job(j, call, r->exit_code == 1 ? BC_GRPC_FAILED_PRECONDITION : BC_GRPC_UNAVAILABLE,
                 what, r);
        return;
    }
    const char *const tail[] = {j->id, j->p->settings.pgdata, NULL};
    bc_status st = bc_plugin_run_tool(j->p, call, j->recovery_os, BC_TOOL_RESTORE, NULL,
                                      j->cfg.recovery_server, tail, restore_done, j);
    if (st != BC_OK) {
        bc_plugin_fail(call, st);
        job_free(j);
    }
}

static uint64_t lsn_value(const char *s)
{
    unsigned hi = 0, lo = 0;
    return s && sscanf(s, "%X/%X", &hi, &lo) == 2 ? (uint64_t)hi << 32 | lo : 0;
}

const json_t *bc_plugin_choose_backup(const json_t *list, const json_t *target)
{
    const char *id = json_string_value(json_object_get(target, "backupID"));
    /* RFC 3339 or PostgreSQL's "YYYY-MM-DD hh:mm:ss[+hh]" */
    const char *when = json_string_value(json_object_get(target, "targetTime"));
    time_t until = when ? bc_time_from_iso8601(when) : 0;
    uint64_t lsn = lsn_value(json_string_value(json_object_get(target, "targetLSN")));
    const json_t *best = NULL, *b;
    size_t i;
    json_array_foreach(list, i, b) {
        const char *status = json_string_value(json_object_get(b, "status"));
        const char *bid = json_string_value(json_object_get(b, "backup_id"));
        if (!status || strcmp(status, "DONE") != 0 || !bid)
            continue;
        if (id) {
            if (strcmp(bid, id) == 0)
                return b;
            continue;
        }
        if (until && bc_time_from_ctime(json_string_value(json_object_get(b, "end_time"))) > until)
            continue;
        if (lsn && lsn_value(json_string_value(json_object_get(b, "end_xlog"))) > lsn)
            continue;
        best = b; /* the list is in backup id (time) order: the last that fits */
    }
    return best;
}

static void list_done(void *ctx, bc_grpc_call *call, const bc_child_result *r)
{
    restore_job *j = ctx;
    json_t *doc = r->exit_code == 0 ? json_loadb(r->out, r->out_len, 0, NULL) : NULL;
    if (!doc) {
        fail_job(j, call, BC_GRPC_UNAVAILABLE, "cannot list the backups", r);
        return;
    }
    const json_t *target = json_object_get(json_object_get(json_object_get(json_object_get(
        j->cfg.cluster, "spec"), "bootstrap"), "recovery"), "recoveryTarget");
    const json_t *b = bc_plugin_choose_backup(json_object_get(doc, "backups_list"), target);
    if (b) {
        snprintf(j->id, sizeof j->id, "%s", json_string_value(json_object_get(b, "backup_id")));
        const char *wal = json_string_value(json_object_get(b, "begin_wal"));
        snprintf(j->begin_wal, sizeof j->begin_wal, "%s", wal ? wal : "");
    }
    json_decref(doc);
    if (!*j->id || !*j->begin_wal) {
        bc_grpc_call_fail(call, BC_GRPC_NOT_FOUND, "no completed backup of server %s matches "
                          "the recovery target", j->cfg.recovery_server);
        job_free(j);
        return;
    }
    bc_log_info("restoring backup %s of server %s", j->id, j->cfg.recovery_server);
    char probe[PATH_MAX + 16];
    snprintf(probe, sizeof probe, "%s/first.wal", j->p->private_dir);
    const char *const tail[] = {j->begin_wal, probe, NULL};
    bc_status st = bc_plugin_run_tool(j->p, call, j->recovery_os, BC_TOOL_WAL_RESTORE, NULL,
                                      j->cfg.recovery_server, tail, wal_check_done, j);
    if (st != BC_OK) {
        bc_plugin_fail(call, st);
        job_free(j);
    }
}

static bc_status list_backups(restore_job *j, bc_grpc_call *call)
{
    const char *const words[] = {"backups", "--format=json", NULL};
    return bc_plugin_run_tool(j->p, call, j->recovery_os, BC_TOOL_LS, words,
                              j->cfg.recovery_server, NULL, list_done, j);
}

static void check_done(void *ctx, bc_grpc_call *call, const bc_child_result *r)
{
    restore_job *j = ctx;
    if (r->exit_code != 0) {
        fail_job(j, call, r->exit_code == 1 ? BC_GRPC_FAILED_PRECONDITION : BC_GRPC_UNAVAILABLE,
                 "the new cluster's WAL archive is not empty", r);
        return;
    }
    bc_status st = list_backups(j, call);
    if (st != BC_OK) {
        bc_plugin_fail(call, st);
        job_free(j);
    }
}

static bc_status start(restore_job *j, bc_grpc_call *call, const Cnpgi__Wal__V1__RestoreRequest *in)
{
    json_t *os = NULL, *own = NULL;
    bc_status st = bc_plugin_object_store(j->p, j->cfg.namespace, j->cfg.recovery_object, &os);
    if (st != BC_OK)
        return st;
    j->recovery_os = json_incref(os);
    int check = 0;
    if (j->cfg.object_name && *j->cfg.object_name) {
        if (in->_check_empty_wal_archive_case ==
            CNPGI__WAL__V1__RESTORE_REQUEST___CHECK_EMPTY_WAL_ARCHIVE_CHECK_EMPTY_WAL_ARCHIVE) {
            check = in->check_empty_wal_archive;
        } else {
            check = !j->cfg.skip_empty_check;
        }
    }
    if (!check)
        return list_backups(j, call);
    st = bc_plugin_object_store(j->p, j->cfg.namespace, j->cfg.object_name, &own);
    if (st != BC_OK)
        return st;
    const char *const words[] = {"check-empty", NULL};
    return bc_plugin_run_tool(j->p, call, own, BC_TOOL_LS, words, j->cfg.server_name, NULL,
                              check_done, j);
}

static void restore(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    Cnpgi__Wal__V1__RestoreRequest *in = (void *)bc_plugin_decode(
        call, &cnpgi__wal__v1__restore_request__descriptor, req, len);
    if (!in)
        return;
    restore_job *j = calloc(1, sizeof *j);
    bc_status st = j ? bc_cluster_config_parse(in->cluster_definition.data,
                                               in->cluster_definition.len, &j->cfg)
                     : bc_oom();
    if (j) {
        j->p = ctx;
        if (st == BC_OK && !j->cfg.recovery_object)
            st = bc_error(BC_ERR_USAGE, "bootstrap.recovery.source names no external cluster "
                                        "using " BC_PLUGIN_NAME " with a barmanObjectName");
        if (st == BC_OK)
            st = start(j, call, in);
    }
    if (st != BC_OK) {
        bc_plugin_fail(call, st);
        if (j)
            job_free(j);
    }
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

bc_status bc_plugin_add_restore_job(bc_plugin *p, bc_grpc_server *s)
{
    static const bc_plugin_method methods[] = {
        {"GetCapabilities", get_capabilities}, {"Restore", restore}, {NULL, NULL}};
    return bc_plugin_register(p, s, "cnpgi.wal.v1.RestoreJobHooks", methods,
                              CNPGI__IDENTITY__V1__PLUGIN_CAPABILITY__SERVICE__TYPE__TYPE_RESTORE_JOB);
}
