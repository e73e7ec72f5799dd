/* Kubernetes API requests: paths, tokens, error Status objects, the cache.
 * The bytes travel through transport.c. */
#include "kube/kube.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "kube/kube_internal.h"
#include "util/log.h"

#define TOKEN_LIMIT ((size_t)64 << 10)

struct bc_kube {
    bc_kube_config cfg;
    bc_kube_transport *transport;
    int cache_seconds;
    json_t *cache;         /* path -> {"at": time, "object": reply} */
};

bc_status bc_kube_new(bc_kube **out)
{
    *out = NULL;
    bc_kube *k = calloc(1, sizeof *k);
    if (!k)
        return bc_kube_oom();
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
        return (*out = strdup(k->cfg.token)) ? BC_OK : bc_kube_oom();
    if (!k->cfg.token_file)
        return BC_OK;
    if (bc_kube_read_file(k->cfg.token_file, TOKEN_LIMIT, out, NULL) < 0)
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
 * object when it sent one ("404 NotFound: ..."). */
static bc_status api_error(const char *method, const char *path, const bc_kube_reply *r)
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
    char attempts[64] = "";
    if (r->attempts > 1)
        snprintf(attempts, sizeof attempts, " (after %d attempts)", r->attempts);
    bc_status st = bc_error(code, "kube-apiserver: %s %s: %ld%s%s%s%s%s", method, path, s,
                            reason ? " " : "", reason ? reason : "", message ? ": " : "",
                            message ? message : "", attempts);
    json_decref(doc);
    return st;
}

/* One request; body (sent as content_type) and out may be NULL. */
static bc_status request(bc_kube *k, const char *method, const char *path, const json_t *body,
                         const char *content_type, json_t **out)
{
    bc_kube_reply reply = { 0 };
    char *token = NULL, *auth = NULL, *text = NULL;
    bc_status st;

    if (out)
        *out = NULL;
    if (!path || path[0] != '/')
        return bc_error(BC_ERR_USAGE, "Kubernetes API path \"%s\" does not start with '/'",
                        path ? path : "");
    if ((st = bearer(k, &token)) != BC_OK)
        goto done;
    if (token && asprintf(&auth, "Bearer %s", token) < 0) {
        auth = NULL;
        st = bc_kube_oom();
        goto done;
    }
    if (body && !(text = json_dumps(body, JSON_COMPACT))) {
        st = bc_kube_oom();
        goto done;
    }
    st = bc_kube_send(k->transport, method, path, auth, content_type, text, &reply);
    if (st != BC_OK) {
        st = bc_error_context(st, "kube-apiserver: %s %s", method, path);
    } else if (reply.status < 200 || reply.status > 299) {
        st = api_error(method, path, &reply);
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
    return request(k, "GET", path, NULL, NULL, out);
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
        return bc_kube_oom();
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

bc_status bc_kube_merge_patch(bc_kube *k, const char *path, const json_t *patch, json_t **out)
{
    return request(k, "PATCH", path, patch, "application/merge-patch+json", out);
}

bc_status bc_kube_delete(bc_kube *k, const char *path)
{
    return request(k, "DELETE", path, NULL, NULL, NULL);
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
