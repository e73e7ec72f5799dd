/* What the plugin's services share: settings, the Kubernetes objects they
 * read (cached 10 s, as upstream), tool command lines, and the glue
 * between a gRPC call and the child process doing its work. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/plugin_internal.h"
#include "plugin/sidecar.h"
#include "util/log.h"

#define CACHE_SECONDS 10

extern char **environ;

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

bc_status bc_plugin_init(bc_plugin *p)
{
    bc_plugin_settings *s = &p->settings;
    s->namespace = env_or("NAMESPACE", NULL);
    s->cluster_name = env_or("CLUSTER_NAME", NULL);
    s->pod_name = env_or("POD_NAME", NULL);
    s->pgdata = env_or("PGDATA", "/var/lib/postgresql/data/pgdata");
    s->spool_dir = env_or("SPOOL_DIRECTORY", "/controller/wal-restore-spool");
    s->cnpg_group = env_or("CUSTOM_CNPG_GROUP", "postgresql.cnpg.io");
    s->cnpg_version = env_or("CUSTOM_CNPG_VERSION", "v1");
    p->certificates_dir = env_or("BC_CERTIFICATES_DIR", BC_SIDECAR_CERTS_PATH);
    /* Tools inherit the pod's environment (PG*, proxies, workload-identity
     * variables), as upstream's do; credentials are added per call. */
    for (char **e = environ; *e; e++)
        if (bc_strv_add(&p->base_env, *e) != BC_OK)
            return BC_ERR_INTERNAL;
    /* PostgreSQL as CloudNativePG runs it: socket in /controller/run */
    if (!getenv("PGHOST") && bc_strv_setenv(&p->base_env, "PGHOST", "/controller/run") != BC_OK)
        return BC_ERR_INTERNAL;
    if (!getenv("PGUSER") && bc_strv_setenv(&p->base_env, "PGUSER", "postgres") != BC_OK)
        return BC_ERR_INTERNAL;
    char spool[PATH_MAX];
    snprintf(spool, sizeof spool, "%s/archive", s->spool_dir);
    if ((mkdir(s->spool_dir, 0700) != 0 && errno != EEXIST) ||
        (mkdir(spool, 0700) != 0 && errno != EEXIST))
        bc_log_warning("cannot create the spool directory %s: %s", spool, strerror(errno));
    /* The injected sidecar has a read-only root filesystem and only the
     * main container's mounts: /tmp may not be writable, /controller (an
     * emptyDir CloudNativePG mounts) is. */
    const char *const dirs[] = {env_or("TMPDIR", "/tmp"), "/controller/tmp", "/controller"};
    int made = 0, err = 0;
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs && !made; i++) {
        snprintf(p->private_dir, sizeof p->private_dir, "%s/bc-plugin.XXXXXX", dirs[i]);
        made = mkdtemp(p->private_dir) != NULL;
        if (!made && i == 0)
            err = errno;
    }
    if (!made) {
        p->private_dir[0] = '\0';
        return bc_error(BC_ERR_IO, "cannot create a private directory in %s (nor in /controller): "
                        "%s; set TMPDIR to a writable directory", dirs[0], strerror(err));
    }
    bc_status st = bc_kube_new(&p->kube);
    if (st == BC_OK)
        bc_kube_set_cache(p->kube, CACHE_SECONDS);
    return st;
}

static void remove_tree(const char *dir)
{
    char path[PATH_MAX + 300];
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0)
            remove_tree(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

void bc_plugin_free(bc_plugin *p)
{
    if (*p->private_dir)
        remove_tree(p->private_dir);
    bc_kube_free(p->kube);
    bc_strv_free(&p->base_env);
}

/* ---- Kubernetes objects ---------------------------------------------------- */

static void object_store_path(const char *ns, const char *name, char *out, size_t len)
{
    snprintf(out, len, "/apis/barmancloud.cnpg.io/v1/namespaces/%s/objectstores/%s", ns, name);
}

bc_status bc_plugin_object_store(bc_plugin *p, const char *ns, const char *name, json_t **out)
{
    if (!name || !*name)
        return bc_error(BC_ERR_USAGE, "the Cluster names no ObjectStore: set the plugin "
                                      "parameter barmanObjectName");
    char path[1024];
    object_store_path(ns, name, path, sizeof path);
    return bc_kube_get_cached(p->kube, path, out);
}

bc_status bc_plugin_cluster_store(bc_plugin *p, ProtobufCBinaryData cluster,
                                  bc_cluster_config *cfg, json_t **os)
{
    *os = NULL;
    bc_status st = bc_cluster_config_parse(cluster.data, cluster.len, cfg);
    if (st == BC_OK) {
        st = bc_plugin_object_store(p, cfg->namespace, cfg->object_name, os);
        if (st != BC_OK)
            bc_cluster_config_free(cfg);
    }
    return st;
}

/* ---- tool command lines ---------------------------------------------------- */

bc_status bc_plugin_tool_command(bc_plugin *p, const json_t *os, bc_tool tool,
                                 const char *spool, bc_strv *argv, bc_strv *env)
{
    char spool_dir[PATH_MAX];
    snprintf(spool_dir, sizeof spool_dir, "%s/%s", p->settings.spool_dir, spool ? spool : "");
    const char *ns = json_string_value(json_object_get(json_object_get(os, "metadata"), "namespace"));
    const char *name = json_string_value(json_object_get(json_object_get(os, "metadata"), "name"));
    char dir[PATH_MAX + 300];
    /* one directory per ObjectStore: its CA bundle and credential files */
    snprintf(dir, sizeof dir, "%s/%s", p->private_dir, name ? name : "_");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return bc_error(BC_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    bc_kube_secrets sc = {p->kube, ns};
    char mounted_ca[PATH_MAX + 300];
    snprintf(mounted_ca, sizeof mounted_ca, "%s/%s/" BC_SIDECAR_CA_FILE, p->certificates_dir,
             name ? name : "_");
    bc_objectstore_env ose = {
        .mounted_ca = mounted_ca,
        .configuration = json_object_get(json_object_get(os, "spec"), "configuration"),
        .read_secret = bc_kube_secret_reader,
        .secret_ctx = &sc,
        .private_dir = dir,
        .spool_dir = spool ? spool_dir : NULL,
    };
    if (!ose.configuration)
        return bc_error(BC_ERR_USAGE, "ObjectStore %s has no spec.configuration", name);
    static const char *const names[] = {
        [BC_TOOL_WAL_ARCHIVE] = "bc-wal-archive", [BC_TOOL_WAL_RESTORE] = "bc-wal-restore",
        [BC_TOOL_BACKUP] = "bc-backup",           [BC_TOOL_RESTORE] = "bc-restore",
        [BC_TOOL_RETENTION] = "bc-retention",     [BC_TOOL_LS] = "bc-ls",
        [BC_TOOL_VERIFY] = "bc-verify",
    };
    for (size_t i = 0; i < p->base_env.n; i++)
        if (bc_strv_add(env, p->base_env.v[i]) != BC_OK)
            return BC_ERR_INTERNAL;
    /* ours first: the ObjectStore's additional arguments come after them */
    bc_status st = bc_strv_add(argv, names[tool]);
    if (st == BC_OK)
        st = bc_strv_add(argv, "--log-format=json");
    if (st == BC_OK && bc_log_enabled(BC_LOG_INFO))
        st = bc_strv_add(argv, "-v");
    if (st == BC_OK)
        st = bc_objectstore_tool_args(&ose, tool, argv, env);
    return st;
}

/* ---- calls and children ---------------------------------------------------- */

typedef struct run {
    bc_grpc_call *call;
    pid_t pid;
    bc_plugin_tool_done done;
    void *ctx;
} run;

static void run_cancel(void *arg)
{
    run *r = arg;
    bc_log_info("%s: abandoned by the client: stopping pid %ld", bc_grpc_call_method(r->call),
                (long)r->pid);
    bc_child_stop(r->pid);
}

static void run_done(void *arg, const bc_child_result *res)
{
    run *r = arg;
    bc_grpc_call_on_cancel(r->call, NULL, NULL);
    r->done(r->ctx, r->call, res);
    free(r);
}

bc_status bc_plugin_run(bc_grpc_call *call, bc_strv *argv, bc_strv *env,
                        bc_plugin_tool_done done, void *ctx)
{
    run *r = calloc(1, sizeof *r);
    if (!r)
        return bc_oom();
    *r = (run){.call = call, .done = done, .ctx = ctx};
    bc_status st = bc_child_start(argv->v[0], argv, env, run_done, r, &r->pid);
    if (st != BC_OK) {
        free(r);
        return st;
    }
    bc_grpc_call_on_cancel(call, run_cancel, r);
    return BC_OK;
}

bc_status bc_plugin_run_tool(bc_plugin *p, bc_grpc_call *call, const json_t *os, bc_tool tool,
                             const char *const *words, const char *server,
                             const char *const *tail, bc_plugin_tool_done done, void *ctx)
{
    bc_strv argv = {0}, env = {0};
    bc_status st = bc_plugin_tool_command(p, os, tool, NULL, &argv, &env);
    for (; st == BC_OK && words && *words; words++)
        st = bc_strv_add(&argv, *words);
    if (st == BC_OK)
        st = bc_strv_add(&argv, bc_objectstore_destination(json_object_get(
                                    json_object_get(os, "spec"), "configuration")));
    if (st == BC_OK)
        st = bc_strv_add(&argv, server);
    for (; st == BC_OK && tail && *tail; tail++)
        st = bc_strv_add(&argv, *tail);
    if (st == BC_OK)
        st = bc_plugin_run(call, &argv, &env, done, ctx);
    bc_strv_free(&argv);
    bc_strv_free(&env);
    return st;
}

void bc_plugin_fail(bc_grpc_call *call, bc_status st)
{
    int code = st == BC_ERR_NOTFOUND ? BC_GRPC_NOT_FOUND
             : st == BC_ERR_USAGE ? BC_GRPC_INVALID_ARGUMENT
             : st == BC_ERR_AUTH ? BC_GRPC_FAILED_PRECONDITION /* RBAC: upstream retries */
             : st == BC_ERR_NET ? BC_GRPC_UNAVAILABLE
             : BC_GRPC_INTERNAL;
    bc_grpc_call_fail(call, code, "%s", bc_error_msg());
}

ProtobufCMessage *bc_plugin_decode(bc_grpc_call *call, const ProtobufCMessageDescriptor *type,
                                   const uint8_t *req, size_t len)
{
    bc_grpc_reply reply = {0};
    ProtobufCMessage *m = bc_grpc_decode(type, req, len, &reply);
    if (!m)
        bc_grpc_call_reply(call, &reply);
    return m;
}

bc_status bc_plugin_register(bc_plugin *p, bc_grpc_server *s, const char *service,
                             const bc_plugin_method *methods, int service_type)
{
    char path[256];
    for (; methods->name; methods++) {
        snprintf(path, sizeof path, "/%s/%s", service, methods->name);
        bc_status st = bc_grpc_server_add(s, path, methods->fn, p);
        if (st != BC_OK)
            return st;
    }
    if (service_type && p->nservices < sizeof p->services / sizeof *p->services)
        p->services[p->nservices++] = service_type;
    return BC_OK;
}

int bc_plugin_empty_request(bc_grpc_call *call, const ProtobufCMessageDescriptor *type,
                            const uint8_t *req, size_t len)
{
    ProtobufCMessage *in = bc_plugin_decode(call, type, req, len);
    if (in)
        protobuf_c_message_free_unpacked(in, NULL);
    return in != NULL;
}

void bc_plugin_reply(bc_grpc_call *call, const ProtobufCMessage *msg)
{
    bc_grpc_reply reply = {0};
    bc_grpc_reply_message(&reply, msg);
    bc_grpc_call_reply(call, &reply);
}

/* Room for one capability message of any service: a generated struct is
 * a ProtobufCMessage and a field or two. */
#define MAX_CAPABILITIES 8
typedef union {
    max_align_t align;
    unsigned char bytes[128];
} message_room;

static void *field_at(void *msg, unsigned offset)
{
    return (unsigned char *)msg + offset;
}

void bc_plugin_reply_capabilities(bc_grpc_call *call, const ProtobufCMessageDescriptor *request,
                                  const uint8_t *req, size_t len,
                                  const ProtobufCMessageDescriptor *result, const char *member,
                                  const int *types, size_t n)
{
    if (!bc_plugin_empty_request(call, request, req, len))
        return;
    const ProtobufCFieldDescriptor *list =
        protobuf_c_message_descriptor_get_field_by_name(result, "capabilities");
    const ProtobufCMessageDescriptor *cap_type = list->descriptor;
    const ProtobufCFieldDescriptor *one =
        protobuf_c_message_descriptor_get_field_by_name(cap_type, member);
    const ProtobufCMessageDescriptor *inner_type = one->descriptor;
    const ProtobufCFieldDescriptor *type =
        protobuf_c_message_descriptor_get_field_by_name(inner_type, "type");
    message_room out, caps[MAX_CAPABILITIES], inners[MAX_CAPABILITIES];
    void *ptrs[MAX_CAPABILITIES];
    if (n > MAX_CAPABILITIES || result->sizeof_message > sizeof out ||
        cap_type->sizeof_message > sizeof out || inner_type->sizeof_message > sizeof out) {
        bc_grpc_call_fail(call, BC_GRPC_INTERNAL, "%s does not fit the capability list",
                          result->name);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        protobuf_c_message_init(inner_type, &inners[i]);
        *(int *)field_at(&inners[i], type->offset) = types[i];
        protobuf_c_message_init(cap_type, &caps[i]);
        *(uint32_t *)field_at(&caps[i], one->quantifier_offset) = one->id; /* the oneof case */
        *(void **)field_at(&caps[i], one->offset) = &inners[i];
        ptrs[i] = &caps[i];
    }
    protobuf_c_message_init(result, &out);
    *(size_t *)field_at(&out, list->quantifier_offset) = n;
    *(void ***)field_at(&out, list->offset) = ptrs;
    bc_plugin_reply(call, (const ProtobufCMessage *)&out);
}

bc_status bc_plugin_update_recovery_window(bc_plugin *p, const char *ns, const char *object,
                                           const char *server, json_t *fields)
{
    char path[1024];
    object_store_path(ns, object, path, sizeof path);
    bc_kube_uncache(p->kube, path);
    size_t n = strlen(path);
    snprintf(path + n, sizeof path - n, "/status");
    json_t *patch = json_pack("{s:{s:{s:O}}}", "status", "serverRecoveryWindow", server, fields);
    if (!patch)
        return bc_oom();
    bc_status st = bc_kube_merge_patch(p->kube, path, patch, NULL);
    json_decref(patch);
    return st;
}
