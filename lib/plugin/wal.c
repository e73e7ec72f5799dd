/* CNPG-i WAL service: Archive through bc-wal-archive, Restore through
 * bc-wal-restore, Status through bc-ls wals, SetFirstRequired noted.
 * Which store a restore reads is upstream's rule: the replica source for a
 * designated primary, the recovery source while there is no primary yet,
 * otherwise the Cluster's own store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/options.h"
#include "layout/wal.h"
#include "plugin/plugin_internal.h"
#include "util/log.h"
#include "identity.pb-c.h"
#include "wal.pb-c.h"

/* Marker file in PGDATA: the instance manager creates it when a new
 * cluster must start with an empty WAL archive. */
#define CHECK_EMPTY_MARKER ".check-empty-wal-archive"

typedef struct wal_job {
    bc_plugin *p;
    char wal[PATH_MAX];      /* the file to archive, absolute */
    char marker[PATH_MAX];   /* the empty-archive marker, when it is to be checked */
    bc_strv argv, env;       /* the archive command, kept while the check runs */
} wal_job;

static void job_free(wal_job *j)
{
    bc_strv_free(&j->argv);
    bc_strv_free(&j->env);
    free(j);
}

static void get_capabilities(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    /* As upstream: Status and SetFirstRequired are served, not announced. */
    static const int rpcs[] = {CNPGI__WAL__V1__WALCAPABILITY__RPC__TYPE__TYPE_ARCHIVE_WAL,
                               CNPGI__WAL__V1__WALCAPABILITY__RPC__TYPE__TYPE_RESTORE_WAL};
    (void)ctx;
    bc_plugin_reply_capabilities(call, &cnpgi__wal__v1__walcapabilities_request__descriptor, req,
                                 len, &cnpgi__wal__v1__walcapabilities_result__descriptor, "rpc",
                                 rpcs, 2);
}

/* Exit status of a WAL tool -> gRPC status, as upstream classifies
 * barman-cloud's: 1 not found (restore) or a different file already
 * archived; 2 and 4 worth retrying; 3 a bad name. */
static void reply_tool(bc_grpc_call *call, const bc_child_result *r, const char *what,
                       int on_one)
{
    if (r->exit_code == 0) {
        bc_grpc_reply empty = {0}; /* WALArchiveResult and WALRestoreResult: no fields */
        bc_grpc_call_reply(call, &empty);
        return;
    }
    int code = r->exit_code == 1 ? on_one
             : r->exit_code == 2 || r->exit_code == 4 ? BC_GRPC_UNAVAILABLE
             : r->exit_code == 3 ? BC_GRPC_INVALID_ARGUMENT
             : BC_GRPC_INTERNAL;
    if (r->exit_code < 0)
        bc_grpc_call_fail(call, code, "%s: killed by signal %d", what, r->signal);
    else
        bc_grpc_call_fail(call, code, "%s: %s", what,
                          *r->last_error ? r->last_error : "failed (exit status)");
}

/* Decodes a request and lets start() begin the job; fails the call when
 * it cannot. */
typedef bc_status (*job_starter)(bc_plugin *p, bc_grpc_call *call, const void *request,
                                 wal_job *j);

static void start_job(bc_plugin *p, bc_grpc_call *call, const ProtobufCMessageDescriptor *type,
                      const uint8_t *req, size_t len, job_starter start)
{
    ProtobufCMessage *in = bc_plugin_decode(call, type, req, len);
    if (!in)
        return;
    wal_job *j = calloc(1, sizeof *j);
    bc_status st = j ? start(p, call, in, j) : bc_oom();
    if (st != BC_OK) {
        bc_plugin_fail(call, st);
        if (j)
            job_free(j);
    }
    protobuf_c_message_free_unpacked(in, NULL);
}

/* ---- Archive --------------------------------------------------------------- */

static void archive_done(void *ctx, bc_grpc_call *call, const bc_child_result *r)
{
    wal_job *j = ctx;
    if (r->exit_code == 0 && *j->marker && unlink(j->marker) == 0)
        bc_log_info("the WAL archive was empty: %s removed", j->marker);
    reply_tool(call, r, bc_wal_basename(j->wal), BC_GRPC_ALREADY_EXISTS);
    job_free(j);
}

static void check_done(void *ctx, bc_grpc_call *call, const bc_child_result *r)
{
    wal_job *j = ctx;
    if (r->exit_code != 0) {
        /* 1: the archive holds WAL already, a new cluster must not mix in */
        int code = r->exit_code == 1 ? BC_GRPC_FAILED_PRECONDITION : BC_GRPC_UNAVAILABLE;
        bc_grpc_call_fail(call, code, "empty WAL archive check: %s",
                          *r->last_error ? r->last_error : "failed");
        job_free(j);
        return;
    }
    bc_status st = bc_plugin_run(call, &j->argv, &j->env, archive_done, j);
    if (st != BC_OK) {
        bc_plugin_fail(call, st);
        job_free(j);
    }
}

/* Whether this archive call must first check the archive is empty: the
 * request says so, or else the Cluster does not skip the check and the
 * instance manager left its marker. */
static int must_check_empty(const Cnpgi__Wal__V1__WALArchiveRequest *in,
                            const bc_cluster_config *cfg, const char *marker)
{
    if (in->_check_empty_wal_archive_case ==
        CNPGI__WAL__V1__WALARCHIVE_REQUEST___CHECK_EMPTY_WAL_ARCHIVE_CHECK_EMPTY_WAL_ARCHIVE)
        return in->check_empty_wal_archive;
    return !cfg->skip_empty_check && access(marker, F_OK) == 0;
}

static bc_status start_archive(bc_plugin *p, bc_grpc_call *call, const void *request,
                               wal_job *j)
{
    const Cnpgi__Wal__V1__WALArchiveRequest *in = request;
    bc_cluster_config cfg;
    json_t *os;
    bc_status st = bc_plugin_cluster_store(p, in->cluster_definition, &cfg, &os);
    if (st != BC_OK)
        return st;
    const char *name = in->source_file_name;
    if (!name || !*name)
        st = bc_error(BC_ERR_USAGE, "WAL.Archive: no source_file_name");
    if (st == BC_OK) {
        /* PostgreSQL gives %p relative to PGDATA, our cwd is elsewhere */
        snprintf(j->wal, sizeof j->wal, "%s%s%s", name[0] == '/' ? "" : p->settings.pgdata,
                 name[0] == '/' ? "" : "/", name);
        st = bc_plugin_tool_command(p, os, BC_TOOL_WAL_ARCHIVE, "archive", &j->argv, &j->env);
    }
    const char *url = bc_objectstore_destination(
        json_object_get(json_object_get(os, "spec"), "configuration"));
    if (st == BC_OK && (bc_strv_add(&j->argv, url) != BC_OK ||
                        bc_strv_add(&j->argv, cfg.server_name) != BC_OK ||
                        bc_strv_add(&j->argv, j->wal) != BC_OK))
        st = BC_ERR_INTERNAL;
    char marker[PATH_MAX];
    snprintf(marker, sizeof marker, "%s/" CHECK_EMPTY_MARKER, p->settings.pgdata);
    int check = st == BC_OK && must_check_empty(in, &cfg, marker);
    if (check) {
        snprintf(j->marker, sizeof j->marker, "%s", marker);
        static const char *const words[] = {"check-empty", NULL};
        st = bc_plugin_run_tool(p, call, os, BC_TOOL_LS, words, cfg.server_name, NULL,
                                check_done, j);
    } else if (st == BC_OK) {
        st = bc_plugin_run(call, &j->argv, &j->env, archive_done, j);
    }
    bc_cluster_config_free(&cfg);
    return st;
}

static void archive(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    start_job(ctx, call, &cnpgi__wal__v1__walarchive_request__descriptor, req, len,
              start_archive);
}

/* ---- Restore --------------------------------------------------------------- */

static void restore_done(void *ctx, bc_grpc_call *call, const bc_child_result *r)
{
    wal_job *j = ctx;
    char what[PATH_MAX + 16];
    snprintf(what, sizeof what, "wal \"%s\"", j->wal);
    reply_tool(call, r, what, BC_GRPC_NOT_FOUND);
    job_free(j);
}

static bc_status start_restore(bc_plugin *p, bc_grpc_call *call, const void *request,
                               wal_job *j)
{
    const Cnpgi__Wal__V1__WALRestoreRequest *in = request;
    bc_cluster_config cfg;
    bc_status st = bc_cluster_config_parse(in->cluster_definition.data,
                                           in->cluster_definition.len, &cfg);
    if (st != BC_OK)
        return st;
    /* Upstream's choice of store: the replica source while a promotion
     * token is pending or on a replica cluster's designated primary; the
     * recovery source while there is no primary yet; else our own. */
    const char *object = cfg.object_name, *server = cfg.server_name;
    const char *pod = p->settings.pod_name ? p->settings.pod_name : "";
    int designated = cfg.is_replica && strcmp(cfg.current_primary, pod) == 0;
    if ((cfg.promoting || designated) && cfg.replica_object && *cfg.replica_object) {
        object = cfg.replica_object;
        server = cfg.replica_server;
    } else if (!*cfg.current_primary) {
        object = cfg.recovery_object;
        server = cfg.recovery_server;
    }
    /* A standby that can stream may stop asking the store once a prefetch
     * has seen where the archive ends. Not during a recovery (no primary
     * yet): there "not found" ends the recovery. */
    int can_stream = *cfg.current_primary &&
                     (strcmp(cfg.current_primary, pod) != 0 || (designated && cfg.source_streams));
    json_t *os = NULL;
    st = bc_plugin_object_store(p, cfg.namespace, object, &os);
    const char *wal = in->source_wal_name, *dest = in->destination_file_name;
    if (st == BC_OK && (!wal || !*wal || !dest || !*dest))
        st = bc_error(BC_ERR_USAGE, "WAL.Restore: source_wal_name and destination_file_name "
                                    "are required");
    if (st == BC_OK) {
        snprintf(j->wal, sizeof j->wal, "%s", wal);
        /* pg_rewind asks for one file at a time: no prefetch then */
        int rewind = in->mode == CNPGI__WAL__V1__WALRESTORE_REQUEST__MODE__MODE_REWIND;
        st = bc_plugin_tool_command(p, os, BC_TOOL_WAL_RESTORE, rewind ? NULL : "restore",
                                    &j->argv, &j->env);
        if (st == BC_OK && can_stream && bc_strv_find(&j->argv, bc_cli_flag(BC_OPT_PREFETCH)) >= 0)
            st = bc_cli_option_words(&j->argv, BC_OPT_END_OF_WAL_FLAG, 0, NULL);
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", dest && dest[0] == '/' ? "" : p->settings.pgdata,
             dest && dest[0] == '/' ? "" : "/", dest ? dest : "");
    const char *url = bc_objectstore_destination(
        json_object_get(json_object_get(os, "spec"), "configuration"));
    if (st == BC_OK && (bc_strv_add(&j->argv, url) != BC_OK ||
                        bc_strv_add(&j->argv, server) != BC_OK ||
                        bc_strv_add(&j->argv, wal) != BC_OK ||
                        bc_strv_add(&j->argv, path) != BC_OK))
        st = BC_ERR_INTERNAL;
    if (st == BC_OK) {
        bc_log_info("restoring WAL %s from ObjectStore %s, server %s", wal, object, server);
        st = bc_plugin_run(call, &j->argv, &j->env, restore_done, j);
    }
    bc_cluster_config_free(&cfg);
    return st;
}

static void restore(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    start_job(ctx, call, &cnpgi__wal__v1__walrestore_request__descriptor, req, len,
              start_restore);
}

/* ---- Status and SetFirstRequired -------------------------------------------- */

static void status_done(void *ctx, bc_grpc_call *call, const bc_child_result *r)
{
    (void)ctx;
    /* bc-ls wals exits 1 when a timeline has gaps: the summary still stands */
    json_t *doc = r->exit_code <= 1 ? json_loadb(r->out, r->out_len, 0, NULL) : NULL;
    json_t *tls = json_object_get(doc, "timelines");
    if (!json_is_array(tls)) {
        bc_child_result failed = *r;
        if (failed.exit_code == 0 || failed.exit_code == 1)
            failed.exit_code = 4;
        reply_tool(call, &failed, "WAL.Status", BC_GRPC_INTERNAL);
        json_decref(doc);
        return;
    }
    Cnpgi__Wal__V1__WALStatusResult out = CNPGI__WAL__V1__WALSTATUS_RESULT__INIT;
    size_t n = json_array_size(tls);
    out.first_wal = (char *)(n ? json_string_value(json_object_get(json_array_get(tls, 0), "first")) : NULL);
    out.last_wal = (char *)(n ? json_string_value(json_object_get(json_array_get(tls, n - 1), "last")) : NULL);
    if (!out.first_wal)
        out.first_wal = "";
    if (!out.last_wal)
        out.last_wal = "";
    bc_plugin_reply(call, &out.base);
    json_decref(doc);
}

static void status(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    bc_plugin *p = ctx;
    Cnpgi__Wal__V1__WALStatusRequest *in = (void *)bc_plugin_decode(
        call, &cnpgi__wal__v1__walstatus_request__descriptor, req, len);
    if (!in)
        return;
    bc_cluster_config cfg;
    json_t *os;
    bc_status st = bc_plugin_cluster_store(p, in->cluster_definition, &cfg, &os);
    if (st == BC_OK) {
        static const char *const words[] = {"wals", "--format=json", NULL};
        st = bc_plugin_run_tool(p, call, os, BC_TOOL_LS, words, cfg.server_name, NULL,
                                status_done, NULL);
        bc_cluster_config_free(&cfg);
    }
    if (st != BC_OK)
        bc_plugin_fail(call, st);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* The instance manager tells which WAL recovery still needs. WAL retention
 * follows the backups (bc-retention), so this is only checked and logged. */
static void set_first_required(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    (void)ctx;
    Cnpgi__Wal__V1__SetFirstRequiredRequest *in = (void *)bc_plugin_decode(
        call, &cnpgi__wal__v1__set_first_required_request__descriptor, req, len);
    if (!in)
        return;
    if (bc_wal_classify(in->first_required_wal) != BC_WAL_SEGMENT) {
        bc_grpc_call_fail(call, BC_GRPC_INVALID_ARGUMENT,
                          "SetFirstRequired: \"%s\" is not a WAL segment name",
                          in->first_required_wal);
    } else {
        bc_log_info("first required WAL: %s", in->first_required_wal);
        Cnpgi__Wal__V1__SetFirstRequiredResult out =
            CNPGI__WAL__V1__SET_FIRST_REQUIRED_RESULT__INIT;
        bc_plugin_reply(call, &out.base);
    }
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

bc_status bc_plugin_add_wal(bc_plugin *p, bc_grpc_server *s)
{
    static const bc_plugin_method methods[] = {
        {"GetCapabilities", get_capabilities}, {"Archive", archive}, {"Restore", restore},
        {"Status", status}, {"SetFirstRequired", set_first_required}, {NULL, NULL}};
    return bc_plugin_register(p, s, "cnpgi.wal.v1.WAL", methods,
                              CNPGI__IDENTITY__V1__PLUGIN_CAPABILITY__SERVICE__TYPE__TYPE_WAL_SERVICE);
}
