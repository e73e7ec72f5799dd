/* A small Kubernetes API client: GET an object or a list, create, replace,
 * merge-patch or delete one, update one with an optimistic retry on
 * conflict, read a Secret. Enough for the plugin to read its ObjectStore
 * and Cluster and the credentials they point at, to report status back,
 * and for its operator side to keep the Roles and RoleBindings it owns.
 *
 * Where the cluster is, in this order:
 *   - KUBECONFIG, when set (its first file if it is a ':' list);
 *   - in-cluster, when KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT
 *     are set and the pod's service-account token exists (the directory
 *     /var/run/secrets/kubernetes.io/serviceaccount, or BC_KUBE_SA_DIR);
 *   - ~/.kube/config.
 * From a kubeconfig the current-context is used: its cluster's server,
 * certificate-authority(-data) and insecure-skip-tls-verify, its user's
 * token, tokenFile or client-certificate(-data) and client-key(-data), and
 * its namespace. Exec plugins and auth providers are not supported.
 *
 * Requests are HTTP/1.1 over OpenSSL (transport.c), one per connection,
 * with a 10 s connect and 30 s read timeout; 5xx, 429 and network failures
 * are tried three times in all, writes included: a write whose reply was
 * lost may have been applied, so the next attempt can meet its effect
 * (bc_kube_create then answers BC_ERR_CONFLICT, and so does a replace
 * whose resourceVersion has moved on; see each). Proxy variables are not
 * used. The bearer token is read again from its file before each request
 * (service-account tokens rotate), is sent only in the Authorization
 * header and never appears in a message. A bc_kube serves one thread at a
 * time: its cache is not locked.
 *
 * Failures are one-line messages such as
 *   kube-apiserver: GET /apis/barmancloud.cnpg.io/v1/namespaces/ns/objectstores/x:
 *   404 NotFound: objectstores.barmancloud.cnpg.io "x" not found
 * with 401/403 -> BC_ERR_AUTH, 404 -> BC_ERR_NOTFOUND, 409 -> BC_ERR_CONFLICT,
 * no connection or 5xx after retries -> BC_ERR_NET, 400/422 (a request the
 * apiserver refuses, such as an invalid object) -> BC_ERR_USAGE, and a bad
 * or missing configuration -> BC_ERR_USAGE naming the file and what is
 * wrong.
 *
 * Paths are API paths as the apiserver takes them, query included and
 * percent-encoded by the caller ("...?labelSelector=app%3Dx"). They go
 * into the request line as they are, so a path with a space, a control
 * character or a byte over 0x7e is refused (BC_ERR_USAGE) unsent. */
#ifndef BC_KUBE_KUBE_H
#define BC_KUBE_KUBE_H

#include <jansson.h>
#include <stddef.h>

#include "util/status.h"

typedef struct bc_kube bc_kube;

bc_status bc_kube_new(bc_kube **out);
void bc_kube_free(bc_kube *k);

/* The default namespace: the service account's, or the current context's;
 * NULL when neither says. */
const char *bc_kube_namespace(const bc_kube *k);

/* GET an API path ("/apis/GROUP/VERSION/namespaces/NS/PLURAL/NAME"); *out
 * is the parsed reply, to be released with json_decref(). A collection
 * gives a list ({"kind": "KINDList", "items": [...]}): one namespace's
 * (".../namespaces/NS/PLURAL") or all namespaces' ("/apis/G/V/PLURAL"),
 * narrowed by a query such as "?labelSelector=barmancloud.cnpg.io%2Fcluster"
 * (the apiserver pages only when asked to with "limit"). */
bc_status bc_kube_get(bc_kube *k, const char *path, json_t **out);
/* A GET whose reply is not JSON (a Pod's log): out->data is malloc'd,
 * NUL-terminated, out->len bytes before the NUL; NULL on failure. */
typedef struct bc_kube_text {
    char *data;
    size_t len;
} bc_kube_text;
bc_status bc_kube_get_text(bc_kube *k, const char *path, bc_kube_text *out);

/* Answers from memory a GET made less than `seconds` ago (0, the default:
 * never). CloudNativePG's plugin reuses ObjectStores and Secrets 10 s. */
void bc_kube_set_cache(bc_kube *k, int seconds);
/* GET through that cache; *out is borrowed, valid until the next call on
 * k for the same path. Every write through k (create, replace, update,
 * merge patch, delete), whether it succeeded or not, first drops what it
 * may make stale: the object (".../NAME", also when the write went to
 * ".../NAME/status"), anything under it, and the lists of its collection
 * in its namespace and cluster-wide, with any query. Writes by others are
 * seen when an entry expires. */
bc_status bc_kube_get_cached(bc_kube *k, const char *path, json_t **out);
/* Drops path from the cache. */
void bc_kube_uncache(bc_kube *k, const char *path);

/* POST obj (application/json) to a collection, such as
 * "/apis/rbac.authorization.k8s.io/v1/namespaces/NS/roles"; *out (out may
 * be NULL) is the object as created. BC_ERR_CONFLICT means exactly that an
 * object of that name exists (409 AlreadyExists; a create has no
 * resourceVersion to be stale), and that includes a create whose first
 * attempt was applied but answered 5xx or lost, then tried again: callers
 * take BC_ERR_CONFLICT as "it exists", right for idempotent creates, and
 * compare the object (bc_kube_get) when whose it is matters. Another 409
 * is BC_ERR_INTERNAL. */
bc_status bc_kube_create(bc_kube *k, const char *collection_path, const json_t *obj, json_t **out);

/* PUT a whole object (application/json) to its path; *out (out may be
 * NULL) is the object as stored. With metadata.resourceVersion in obj the
 * write is optimistic: BC_ERR_CONFLICT (409) when the object has changed
 * since that version, including by an earlier attempt of this very PUT
 * that was applied but whose reply was lost; without it, it overwrites.
 * The apiserver ignores .status here (".../NAME/status" writes it). */
bc_status bc_kube_replace(bc_kube *k, const char *path, const json_t *obj, json_t **out);

/* Changes obj in place; *changed (0 on entry) says whether it did. A
 * status other than BC_OK (with its message set) stops the update. */
typedef bc_status (*bc_kube_mutate_fn)(void *ctx, json_t *obj, int *changed);

/* Read-modify-write with an optimistic retry on conflict, like client-go's
 * RetryOnConflict: GET path (not through the cache), let fn change the
 * object, PUT it back with the resourceVersion the GET read (whatever fn
 * did to that field); when the PUT answers 409, GET again and call fn on
 * the fresh object, at most 5 attempts in all, about 10 ms apart. So fn
 * must work from the object it is given, and may be called several times.
 * When fn changes nothing there is no PUT. *out (out may be NULL) is the
 * object as stored: the PUT's reply, or the GET's when unchanged.
 * BC_ERR_CONFLICT after 5 conflicts; fn's status when it fails; an object
 * without metadata.resourceVersion is BC_ERR_DATA (no optimistic PUT). */
bc_status bc_kube_update(bc_kube *k, const char *path, bc_kube_mutate_fn fn, void *ctx,
                         json_t **out);

/* PATCH with an RFC 7386 merge patch (application/merge-patch+json), for
 * instance {"status": {...}} to ".../NAME/status". out may be NULL. A
 * patch is applied to the object as it is then, so it needs no retry on
 * conflict (unless it names a metadata.resourceVersion). */
bc_status bc_kube_merge_patch(bc_kube *k, const char *path, const json_t *patch, json_t **out);

/* DELETE an object. BC_ERR_NOTFOUND when it is already gone (also when a
 * first attempt deleted it and its reply was lost). */
bc_status bc_kube_delete(bc_kube *k, const char *path);

/* data[key] of a Secret (read through the cache), base64-decoded, NUL-terminated, its length in
 * *len (len may be NULL); free() it. ns NULL = the default namespace.
 * BC_ERR_NOTFOUND when the Secret or the key is missing. */
bc_status bc_kube_secret_value(bc_kube *k, const char *ns, const char *name, const char *key,
                               char **value, size_t *len);

#endif
