/* Kubernetes API requests: paths, tokens, error Status objects, the cache,
 * the optimistic update loop. The bytes travel through transport.c. */
#include "kube/kube.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "kube/kube_internal.h"
#include "util/fileio.h"
#include "util/log.h"

#define TOKEN_LIMIT ((size_t)64 << 10)
/* client-go's retry.DefaultRetry: 5 steps 10 ms apart (10% jitter). A
 * conflict means another writer has just written and the next GET sees
 * it, so a short pause is enough; the bound keeps an object that keeps
 * changing from holding the caller. */
#define UPDATE_ATTEMPTS 5
#define UPDATE_DELAY_NS 10000000L

struct bc_kube {
    bc_kube_config cfg;
    bc_kube_transport *transport;
    int cache_seconds;
    json_t *cache;         /* path -> {"at": time, "object": reply} */
    char reason[64];       /* the Status reason of the last failed reply, or "" */
};

bc_status bc_kube_new(bc_kube **out)
{
    *out = NULL;
    bc_kube *k = calloc(1, sizeof *k);
    if (!k)
        return bc_oom();
    bc_status st = bc_kube_config_find(&k->cfg);
    if (st == BC_OK) {
        bc_log_add_secret(k->cfg.token);
        st = bc_kube_transport_new(&k->cfg, &k->transport);
    }
    if (st != BC_OK) {
        bc_kube_free(k);
        return st;
    }
    *out = k;
    return BC_OK;
}

void bc_kube_free(bc_kube *k)
{
    if (!k)
        return;
    bc_kube_transport_free(k->transport);
    bc_kube_config_free(&k->cfg);
    json_decref(k->cache);
    free(k);
}

const char *bc_kube_namespace(const bc_kube *k)
{
    return k->cfg.ns;
}

/* The bearer token for the next request, or NULL for none. A token file is
 * read every time: the kubelet rotates service-account tokens in place. */
static bc_status bearer(bc_kube *k, char **out)
{
    *out = NULL;
    if (k->cfg.token)
        return (*out = strdup(k->cfg.token)) ? BC_OK : bc_oom();
    if (!k->cfg.token_file)
        return BC_OK;
    if (bc_read_file(k->cfg.token_file, TOKEN_LIMIT, out, NULL) < 0)
        return bc_error(BC_ERR_AUTH, "cannot read the Kubernetes token file %s: %s",
                        k->cfg.token_file, strerror(errno));
    size_t n = strlen(*out);
    while (n > 0 && strchr(" \t\r\n", (*out)[n - 1]))
        (*out)[--n] = '\0';
    if (n == 0) {
        free(*out);
        *out = NULL;
        return bc_error(BC_ERR_AUTH, "the Kubernetes token file %s is empty", k->cfg.token_file);
    }
    bc_log_add_secret(*out);
    return BC_OK;
}

/* A reply other than 2xx as a one-line error, with the apiserver's Status
 * object when it sent one ("404 NotFound: ..."); its reason in k->reason. */
static bc_status api_error(bc_kube *k, const char *method, const char *path,
                           const bc_kube_reply *r)
{
    long s = r->status;
    bc_status code = s == 401 || s == 403 ? BC_ERR_AUTH
                     : s == 404           ? BC_ERR_NOTFOUND
                     : s == 409           ? BC_ERR_CONFLICT
                     : s >= 500 || s == 429 ? BC_ERR_NET
                     : s == 400 || s == 422 ? BC_ERR_USAGE
                                            : BC_ERR_INTERNAL;
    json_t *doc = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    const char *reason = NULL, *message = NULL;
    if (kind && strcmp(kind, "Status") == 0) {
        reason = json_string_value(json_object_get(doc, "reason"));
        message = json_string_value(json_object_get(doc, "message"));
    }
    snprintf(k->reason, sizeof k->reason, "%s", reason ? reason : "");
    char attempts[64] = "";
    if (r->attempts > 1)
        snprintf(attempts, sizeof attempts, " (after %d attempts)", r->attempts);
    bc_status st = bc_error(code, "kube-apiserver: %s %s: %ld%s%s%s%s%s", method, path, s,
                            reason ? " " : "", reason ? reason : "", message ? ": " : "",
                            message ? message : "", attempts);
    json_decref(doc);
    return st;
}

/* Whether path can go into the request line as it is: it starts with '/'
 * and has no space, control character or non-ASCII byte, any of which
 * would end the line early or smuggle a header in. */
static int sendable_path(const char *path)
{
    if (!path || path[0] != '/')
        return 0;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return 0;
    return 1;
}

/* Whether key is base itself or below it: base followed by '/' or '?'. */
static int at_or_under(const char *key, const char *base, size_t len)
{
    return strncmp(key, base, len) == 0 && (!key[len] || key[len] == '/' || key[len] == '?');
}

/* Whether key is the collection (len bytes of coll) or a query of it. */
static int list_of(const char *key, const char *coll, size_t len)
{
    return len && strncmp(key, coll, len) == 0 && (!key[len] || key[len] == '?');
}

/* Drops the cache entries a write to the object at path may have made
 * stale: the object and anything under it, and the lists of its
 * collection, in its namespace and across namespaces. Dropping too much
 * costs a GET; dropping too little would answer from a stale copy. */
static void uncache_written(bc_kube *k, const char *path)
{
    if (!k->cache || !json_object_size(k->cache))
        return;
    size_t obj = strcspn(path, "?");
    if (obj > 7 && strncmp(path + obj - 7, "/status", 7) == 0)
        obj -= 7; /* the subresource's object */
    size_t coll = obj;
    while (coll > 0 && path[coll - 1] != '/')
        coll--;
    coll = coll ? coll - 1 : 0;
    /* ".../namespaces/NS/PLURAL" is listed cluster-wide as ".../PLURAL" */
    char wide[1024] = "";
    const char *end = path + coll;
    const char *ns = memmem(path, coll, "/namespaces/", 12);
    const char *plural = ns ? memchr(ns + 12, '/', (size_t)(end - ns - 12)) : NULL;
    if (plural && !memchr(plural + 1, '/', (size_t)(end - plural - 1)))
        snprintf(wide, sizeof wide, "%.*s%.*s", (int)(ns - path), path, (int)(end - plural),
                 plural);
    const char *key;
    json_t *entry;
    void *next;
    json_object_foreach_safe(k->cache, next, key, entry) {
        if (at_or_under(key, path, obj) || list_of(key, path, coll) ||
            list_of(key, wide, strlen(wide)))
            json_object_del(k->cache, key);
    }
    (void)entry;
}

/* One request; body (sent as content_type) and out may be NULL. With
 * raw, the reply's body is handed over as it came (not parsed). */
static bc_status request(bc_kube *k, const char *method, const char *path, const json_t *body,
                         const char *content_type, json_t **out, bc_kube_text *raw)
{
    bc_kube_reply reply = { 0 };
    char *token = NULL, *auth = NULL, *text = NULL;
    bc_status st;

    if (out)
        *out = NULL;
    k->reason[0] = '\0';
    if (!sendable_path(path))
        return bc_error(BC_ERR_USAGE, "Kubernetes API path \"%s\" %s", path ? path : "",
                        path && path[0] == '/' ? "has a space, control character or non-ASCII "
                                                 "byte (percent-encode it)"
                                               : "does not start with '/'");
    /* Before sending: a write that fails may still have been applied. */
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        uncache_written(k, path);
    st = bearer(k, &token);
    if (st != BC_OK)
        goto done;
    if (token && asprintf(&auth, "Bearer %s", token) < 0) {
        auth = NULL;
        st = bc_oom();
        goto done;
    }
    if (body && !(text = json_dumps(body, JSON_COMPACT))) {
        st = bc_oom();
        goto done;
    }
    st = bc_kube_send(k->transport, method, path, auth, content_type, text, &reply);
    if (st != BC_OK) {
        st = bc_error_context(st, "kube-apiserver: %s %s", method, path);
    } else if (reply.status < 200 || reply.status > 299) {
        st = api_error(k, method, path, &reply);
    } else if (raw) {
        raw->data = reply.body;
        raw->len = reply.len;
        reply.body = NULL;
    } else if (out) {
        json_error_t err;
        *out = json_loadb(reply.body, reply.len, 0, &err);
        if (!*out)
            st = bc_error(BC_ERR_DATA, "kube-apiserver: %s %s: the reply is not JSON (%s)",
                          method, path, err.text);
    }
done:
    bc_kube_reply_free(&reply);
    bc_kube_forget(token);
    bc_kube_forget(auth);
    free(text);
    return st;
}

bc_status bc_kube_get(bc_kube *k, const char *path, json_t **out)
{
    return request(k, "GET", path, NULL, NULL, out, NULL);
}

bc_status bc_kube_get_text(bc_kube *k, const char *path, bc_kube_text *out)
{
    out->data = NULL;
    out->len = 0;
    return request(k, "GET", path, NULL, NULL, NULL, out);
}

void bc_kube_set_cache(bc_kube *k, int seconds)
{
    k->cache_seconds = seconds;
}

bc_status bc_kube_get_cached(bc_kube *k, const char *path, json_t **out)
{
    time_t now = time(NULL);
    json_t *hit = json_object_get(k->cache, path);
    if (hit && now - json_integer_value(json_object_get(hit, "at")) < k->cache_seconds) {
        *out = json_object_get(hit, "object");
        return BC_OK;
    }
    json_t *obj = NULL;
    bc_status st = bc_kube_get(k, path, &obj);
    if (st != BC_OK)
        return st;
    if (!k->cache && !(k->cache = json_object())) {
        json_decref(obj);
        return bc_oom();
    }
    /* the entry owns the reply; an older one is released */
    json_object_set_new(k->cache, path, json_pack("{s:I,s:o}", "at", (json_int_t)now, "object", obj));
    *out = obj;
    return BC_OK;
}

void bc_kube_uncache(bc_kube *k, const char *path)
{
    json_object_del(k->cache, path);
}

bc_status bc_kube_create(bc_kube *k, const char *collection_path, const json_t *obj, json_t **out)
{
    /* The object will be at COLLECTION/NAME (no name: generateName, and
     * only the collection's lists are stale). */
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    if (sendable_path(collection_path) && !strchr(collection_path, '?')) {
        char *at = NULL;
        if (asprintf(&at, "%s/%s", collection_path, name && !strchr(name, '/') ? name : "") < 0)
            return bc_oom();
        uncache_written(k, at);
        free(at);
    }
    bc_status st = request(k, "POST", collection_path, obj, "application/json", out, NULL);
    /* A POST carries no resourceVersion, so the one 409 that says
     * something a caller can act on is AlreadyExists; keeping the others
     * apart keeps BC_ERR_CONFLICT meaning "it exists". */
    if (st == BC_ERR_CONFLICT && strcmp(k->reason, "AlreadyExists") != 0)
        st = BC_ERR_INTERNAL;
    return st;
}

bc_status bc_kube_replace(bc_kube *k, const char *path, const json_t *obj, json_t **out)
{
    return request(k, "PUT", path, obj, "application/json", out, NULL);
}

/* Sleeps about d nanoseconds, up to 10% more: two writers that conflicted
 * do not come back in step. */
static void pause_jittered(long d)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ns = d + now.tv_nsec % (d / 10 + 1);
    nanosleep(&(struct timespec){ ns / 1000000000L, ns % 1000000000L }, NULL);
}

bc_status bc_kube_update(bc_kube *k, const char *path, bc_kube_mutate_fn fn, void *ctx,
                         json_t **out)
{
    if (out)
        *out = NULL;
    if (!fn)
        return bc_error(BC_ERR_USAGE, "updating %s: no change function", path ? path : "");
    bc_status st = BC_OK;
    for (int attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
        if (attempt > 1)
            pause_jittered(UPDATE_DELAY_NS);
        json_t *obj = NULL;
        st = bc_kube_get(k, path, &obj);
        if (st != BC_OK)
            return st;
        /* The version read, kept apart: fn may rewrite metadata. */
        const char *seen = json_string_value(
            json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
        char *version = seen ? strdup(seen) : NULL;
        int changed = 0;
        if (!seen)
            st = bc_error(BC_ERR_DATA, "kube-apiserver: GET %s: the object has no "
                          "metadata.resourceVersion to update it against", path);
        else if (!version)
            st = bc_oom();
        else
            st = fn(ctx, obj, &changed);
        json_t *meta = json_object_get(obj, "metadata");
        if (st != BC_OK || !changed) {
            /* fn's own failure is final, whatever its status */
        } else if (!json_is_object(meta)) {
            st = bc_error(BC_ERR_USAGE, "updating %s: the change left no metadata", path);
        } else if (json_object_set_new(meta, "resourceVersion", json_string(version)) < 0) {
            st = bc_oom();
        } else {
            st = bc_kube_replace(k, path, obj, out);
            if (st == BC_ERR_CONFLICT) {
                free(version);
                json_decref(obj);
                continue;
            }
        }
        free(version);
        if (st == BC_OK && !changed && out)
            *out = obj;
        else
            json_decref(obj);
        return st;
    }
    return bc_error_context(st, "%d attempts to update %s conflicted", UPDATE_ATTEMPTS, path);
}

bc_status bc_kube_merge_patch(bc_kube *k, const char *path, const json_t *patch, json_t **out)
{
    return request(k, "PATCH", path, patch, "application/merge-patch+json", out, NULL);
}

bc_status bc_kube_delete(bc_kube *k, const char *path)
{
    return request(k, "DELETE", path, NULL, NULL, NULL, NULL);
}

/* A Kubernetes object name (DNS subdomain): safe to put in a path as is. */
static int valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= 253 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-.") == n &&
           strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

bc_status bc_kube_secret_value(bc_kube *k, const char *ns, const char *name, const char *key,
                               char **value, size_t *len)
{
    char path[600];
    json_t *secret;
    *value = NULL;
    if (!ns)
        ns = k->cfg.ns;
    if (!ns)
        return bc_error(BC_ERR_USAGE, "no namespace for the secret %s: none given and %s names none",
                        name ? name : "", k->cfg.source);
    if (!valid_name(ns) || !valid_name(name))
        return bc_error(BC_ERR_USAGE, "\"%s/%s\" is not a valid namespace/secret name", ns,
                        name ? name : "");
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", ns, name);
    bc_status st = bc_kube_get_cached(k, path, &secret);
    if (st != BC_OK)
        return st;
    json_t *data = json_object_get(secret, "data");
    const char *b64 = json_string_value(json_object_get(data, key));
    if (!b64) {
        /* Naming the keys there are points at the typo; keys are not secret. */
        char keys[512] = "";
        size_t used = 0;
        const char *name_there;
        json_t *ignored;
        json_object_foreach(data, name_there, ignored) {
            int n = snprintf(keys + used, sizeof keys - used, "%s%s", used ? ", " : "", name_there);
            if (n < 0 || (size_t)n >= sizeof keys - used)
                break;
            used += (size_t)n;
        }
        (void)ignored;
        st = bc_error(BC_ERR_NOTFOUND, "secret %s/%s has no key \"%s\" (%s%s)", ns, name, key,
                      used ? "it has " : "it has no data", keys);
    } else if (bc_base64_decode(b64, strlen(b64), value, len) < 0) {
        st = bc_error(BC_ERR_DATA, "secret %s/%s: the value of \"%s\" is not base64", ns, name, key);
    } else {
        bc_log_add_secret(*value);
    }
    return st;
}
