/* bc-doctor cluster's store checks, run the way the sidecar runs a tool:
 * the ObjectStore's configuration turned into a command line and an
 * environment by plugin/objectstore (credentials from its Secrets, in the
 * environment only), and `bc-doctor store` spawned with them. Its JSON
 * report is folded into ours, each check prefixed "store ". */
#include "doctor/doctor_internal.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/objectstore.h"
#include "plugin/sidecar.h"
#include "util/buffer.h"
#include "util/json.h"
#include "util/spawn.h"

extern char **environ;

#define MAX_REPORT (1024 * 1024)

/* Removes the private directory with the CA bundle and credential files
 * objectstore.c may have written there (no subdirectories). */
static void remove_private_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                char path[PATH_MAX];
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                unlink(path);
            }
        closedir(d);
    }
    rmdir(dir);
}

static bc_check_status status_of(const char *s)
{
    if (s && !strcmp(s, "ok"))
        return BC_CHECK_OK;
    if (s && !strcmp(s, "warn"))
        return BC_CHECK_WARN;
    if (s && !strcmp(s, "fail"))
        return BC_CHECK_FAIL;
    return BC_CHECK_SKIP;
}

/* Folds the child's report in; 0 when out is not one. */
static int fold_report(bc_doctor_report *r, const char *out, size_t len)
{
    json_t *doc = json_loadb(out, len, 0, NULL);
    const json_t *checks = json_object_get(doc, "checks");
    if (!json_is_array(checks) || !json_array_size(checks)) {
        json_decref(doc);
        return 0;
    }
    size_t i;
    const json_t *c;
    json_array_foreach(checks, i, c) {
        const char *name = bc_json_at(c, "name"), *detail = bc_json_at(c, "detail");
        char full[160];
        snprintf(full, sizeof full, "store %s", name ? name : "?");
        bc_doctor_add(r, full, status_of(bc_json_at(c, "status")), bc_json_at(c, "fix"), "%s",
                      detail ? detail : "");
    }
    json_decref(doc);
    return 1;
}

void bc_doctor_sidecar_store(bc_doctor_report *r, bc_kube *k, const json_t *os,
                             const char *server)
{
    const char *ns = bc_json_at(os, "metadata.namespace");
    const char *name = bc_json_at(os, "metadata.name");
    const json_t *conf = json_object_get(json_object_get(os, "spec"), "configuration");
    char dir[] = "/tmp/bc-doctor.XXXXXX";
    if (!mkdtemp(dir)) {
        bc_doctor_add(r, "store settings", BC_CHECK_FAIL, "make /tmp writable",
                      "cannot create a private directory in /tmp: %s", strerror(errno));
        bc_doctor_needs(r, "store", "store settings");
        return;
    }
    /* Inside the sidecar the operator side mounts the endpoint CA; from
     * elsewhere the Secret is read, as objectstore.c does when it is not. */
    char mounted_ca[PATH_MAX];
    snprintf(mounted_ca, sizeof mounted_ca, BC_SIDECAR_CERTS_PATH "/%s/" BC_SIDECAR_CA_FILE,
             name ? name : "_");
    bc_kube_secrets sc = {k, ns};
    bc_objectstore_env ose = {
        .configuration = conf,
        .read_secret = bc_kube_secret_reader,
        .secret_ctx = &sc,
        .private_dir = dir,
        .mounted_ca = mounted_ca,
    };
    bc_strv argv = {0}, env = {0};
    bc_status st = BC_OK;
    for (char **e = environ; *e && st == BC_OK; e++)
        st = bc_strv_add(&env, *e);
    if (st == BC_OK)
        st = bc_strv_add(&argv, "bc-doctor");
    if (st == BC_OK)
        st = bc_strv_add(&argv, "store");
    if (st == BC_OK)
        st = bc_strv_add(&argv, "--format=json");
    if (st == BC_OK)
        st = bc_objectstore_tool_args(&ose, BC_TOOL_LS, &argv, &env);
    if (st == BC_OK)
        st = bc_strv_add(&argv, bc_objectstore_destination(conf));
    if (st == BC_OK)
        st = bc_strv_add(&argv, server);
    if (st != BC_OK) {
        bc_doctor_add(r, "store settings", BC_CHECK_FAIL, st == BC_ERR_USAGE
                      ? "correct the field or the Secret the message names"
                      : "bc-doctor reads the ObjectStore's Secrets as the sidecar does: run it "
                        "with a Role that may get them, or run bc-doctor store in the sidecar",
                      "ObjectStore %s: %s", name ? name : "?", bc_error_msg());
        bc_doctor_needs(r, "store", "store settings");
        goto out;
    }
    /* the command line holds no secret (objectstore.h): it is shown */
    bc_buffer line = {0};
    for (size_t i = 3; i < argv.n; i++)
        bc_buffer_addf(&line, "%s%s", i > 3 ? " " : "", argv.v[i]);
    bc_doctor_add(r, "store settings", BC_CHECK_OK, NULL, "ObjectStore %s: bc-doctor store %s",
                  name ? name : "?", bc_buffer_str(&line));
    bc_buffer_free(&line);
    char path[PATH_MAX + 16], *out = NULL;
    size_t len = 0;
    int code = -1;
    snprintf(path, sizeof path, "%s/bc-doctor", bc_self_dir());
    st = bc_spawn_capture(path, argv.v, env.v, MAX_REPORT, &out, &len, &code);
    if (st != BC_OK)
        bc_doctor_add(r, "store", BC_CHECK_FAIL, "see the message", "%s", bc_error_msg());
    else if ((code != 0 && code != 1) || !fold_report(r, out, len))
        bc_doctor_add(r, "store", BC_CHECK_FAIL, "run the command by hand: bc-doctor store "
                      "with the ObjectStore's settings", "bc-doctor store ended with exit "
                      "status %d and no report", code);
    free(out);
out:
    bc_strv_free(&argv);
    bc_strv_free(&env);
    remove_private_dir(dir);
}
