/* lib/kube/kube.c's requests. Without arguments, the checks that need no
 * API server: paths that cannot go into a request line are refused
 * unsent, an update needs a change function. With arguments, a driver
 * that tests/bats/13-kube-client.bats runs against the stand-in (KUBECONFIG
 * names it): each argument group is one step on one bc_kube, and each step
 * prints one line, the reply as compact JSON or "error: STATUS: message":
 *
 *   cache SECONDS              bc_kube_set_cache (prints "ok")
 *   get PATH                   bc_kube_get
 *   cached PATH                bc_kube_get_cached
 *   create COLLECTION JSON     bc_kube_create
 *   replace PATH JSON          bc_kube_replace
 *   patch PATH JSON            bc_kube_merge_patch
 *   update PATH JSON           bc_kube_update whose change merges JSON into
 *                              the object (changed: it differs after);
 *                              prints {"calls": N, "object": ...}
 *   delete PATH                bc_kube_delete (prints "ok")
 *
 * The exit status is 0 when every step ran, whatever it answered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "kube/kube.h"

/* RFC 7386 into target (an object) from patch (an object). */
static void merge_into(json_t *target, json_t *patch)
{
    const char *key;
    json_t *v;
    json_object_foreach(patch, key, v) {
        if (json_is_null(v)) {
            json_object_del(target, key);
        } else if (json_is_object(v)) {
            json_t *t = json_object_get(target, key);
            if (!json_is_object(t)) {
                t = json_object();
                json_object_set_new(target, key, t);
            }
            merge_into(t, v);
        } else {
            json_object_set_new(target, key, json_deep_copy(v));
        }
    }
}

typedef struct merge_ctx {
    json_t *patch;
    int calls;
} merge_ctx;

static bc_status merge_change(void *ctx, json_t *obj, int *changed)
{
    merge_ctx *m = ctx;
    m->calls++;
    json_t *before = json_deep_copy(obj);
    merge_into(obj, m->patch);
    *changed = !json_equal(before, obj);
    json_decref(before);
    return BC_OK;
}

static void print_result(bc_status st, json_t *obj)
{
    if (st != BC_OK) {
        printf("error: %s: %s\n", bc_status_name(st), bc_error_msg());
        return;
    }
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    printf("%s\n", text ? text : "ok");
    free(text);
}

static json_t *parse_arg(const char *text)
{
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    if (!json_is_object(doc)) {
        fprintf(stderr, "test_kube_client: not a JSON object: %s\n", text);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static int drive(int argc, char **argv)
{
    bc_kube *k;
    bc_status st = bc_kube_new(&k);
    if (st != BC_OK) {
        printf("error: %s: %s\n", bc_status_name(st), bc_error_msg());
        return 1;
    }
    int i = 1, rc = 0;
    while (i < argc && rc == 0) {
        const char *step = argv[i];
        int args = strcmp(step, "create") == 0 || strcmp(step, "replace") == 0 ||
                           strcmp(step, "patch") == 0 || strcmp(step, "update") == 0
                       ? 2
                       : 1;
        if (i + args >= argc) {
            fprintf(stderr, "test_kube_client: %s needs %d argument(s)\n", step, args);
            rc = 2;
            break;
        }
        const char *path = argv[i + 1];
        json_t *body = args == 2 ? parse_arg(argv[i + 2]) : NULL, *out = NULL;
        if (args == 2 && !body) {
            rc = 2;
            break;
        }
        if (strcmp(step, "cache") == 0) {
            bc_kube_set_cache(k, atoi(path));
            print_result(BC_OK, NULL);
        } else if (strcmp(step, "get") == 0) {
            st = bc_kube_get(k, path, &out);
            print_result(st, out);
            json_decref(out);
        } else if (strcmp(step, "cached") == 0) {
            st = bc_kube_get_cached(k, path, &out); /* borrowed */
            print_result(st, out);
        } else if (strcmp(step, "create") == 0) {
            st = bc_kube_create(k, path, body, &out);
            print_result(st, out);
            json_decref(out);
        } else if (strcmp(step, "replace") == 0) {
            st = bc_kube_replace(k, path, body, &out);
            print_result(st, out);
            json_decref(out);
        } else if (strcmp(step, "patch") == 0) {
            st = bc_kube_merge_patch(k, path, body, &out);
            print_result(st, out);
            json_decref(out);
        } else if (strcmp(step, "update") == 0) {
            merge_ctx m = { .patch = body };
            st = bc_kube_update(k, path, merge_change, &m, &out);
            json_t *both = st == BC_OK ? json_pack("{s:i,s:O}", "calls", m.calls, "object", out)
                                       : NULL;
            print_result(st, both);
            json_decref(both);
            json_decref(out);
        } else if (strcmp(step, "delete") == 0) {
            print_result(bc_kube_delete(k, path), NULL);
        } else {
            fprintf(stderr, "test_kube_client: unknown step %s\n", step);
            rc = 2;
        }
        json_decref(body);
        i += 1 + args;
    }
    fflush(stdout);
    bc_kube_free(k);
    return rc;
}

static bc_status never_called(void *ctx, json_t *obj, int *changed)
{
    (void)obj;
    (void)changed;
    ++*(int *)ctx;
    return BC_OK;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return drive(argc, argv);

    /* A cluster on a closed port: a request that were sent would fail
     * with BC_ERR_NET, so BC_ERR_USAGE shows it was refused unsent. */
    char dir[] = "/tmp/bc-kube-client-test.XXXXXX", path[300];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/kubeconfig", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    fputs("apiVersion: v1\nkind: Config\ncurrent-context: c\n"
          "clusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:9'}\n"
          "contexts:\n- name: c\n  context: {cluster: c, user: u, namespace: ns}\n"
          "users:\n- name: u\n  user: {token: abc}\n", f);
    fclose(f);
    setenv("KUBECONFIG", path, 1);
    bc_kube *k = NULL;
    CHECK(bc_kube_new(&k) == BC_OK);
    if (k) {
        json_t *out = (json_t *)1, *obj = json_pack("{s:{s:s}}", "metadata", "name", "x");
        CHECK(bc_kube_get(k, "/api/v1/namespaces/ns/pods?labelSelector=a b", &out) == BC_ERR_USAGE);
        CHECK(out == NULL);
        CHECK(strstr(bc_error_msg(), "percent-encode") != NULL);
        CHECK(bc_kube_get(k, "/api/v1/x\r\nX-Injected: 1", &out) == BC_ERR_USAGE);
        CHECK(bc_kube_get(k, "/api/v1/caf\xc3\xa9", &out) == BC_ERR_USAGE);
        CHECK(bc_kube_get(k, "api/v1/pods", &out) == BC_ERR_USAGE);
        CHECK(strstr(bc_error_msg(), "does not start with '/'") != NULL);
        CHECK(bc_kube_create(k, "/api/v1/namespaces/ns/pods\t", obj, &out) == BC_ERR_USAGE);
        CHECK(bc_kube_replace(k, NULL, obj, NULL) == BC_ERR_USAGE);
        CHECK(bc_kube_merge_patch(k, "/a b", obj, NULL) == BC_ERR_USAGE);
        CHECK(bc_kube_delete(k, "/a\x7f") == BC_ERR_USAGE);
        int calls = 0;
        CHECK(bc_kube_update(k, "/a b", never_called, &calls, &out) == BC_ERR_USAGE);
        CHECK(calls == 0 && out == NULL);
        CHECK(bc_kube_update(k, "/api/v1/namespaces/ns/pods/x", NULL, NULL, NULL) == BC_ERR_USAGE);
        json_decref(obj);
        bc_kube_free(k);
    }
    unlink(path);
    rmdir(dir);

    return check_report("kube_client");
}
