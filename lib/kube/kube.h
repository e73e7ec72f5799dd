/* A small Kubernetes API client: GET an object, merge-patch it, read a
 * Secret. Enough for the plugin to read its ObjectStore and Cluster, the
 * credentials they point at, and to report status back.
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
 * are tried three times in all. Proxy variables are not used. The bearer
 * token is read again from its file before each request (service-account
 * tokens rotate), is sent only in the Authorization header and never
 * appears in a message. A bc_kube serves one thread at a time: its cache
 * is not locked.
 *
 * Failures are one-line messages such as
 *   kube-apiserver: GET /apis/barmancloud.cnpg.io/v1/namespaces/ns/objectstores/x:
 *   404 NotFound: objectstores.barmancloud.cnpg.io "x" not found
 * with 401/403 -> BC_ERR_AUTH, 404 -> BC_ERR_NOTFOUND, 409 -> BC_ERR_CONFLICT,
 * no connection or 5xx after retries -> BC_ERR_NET, and a bad or missing
 * configuration -> BC_ERR_USAGE naming the file and what is wrong. */
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
 * is the parsed reply, to be released with json_decref(). */
bc_status bc_kube_get(bc_kube *k, const char *path, json_t **out);

/* Answers from memory a GET made less than `seconds` ago (0, the default:
 * never). CloudNativePG's plugin reuses ObjectStores and Secrets 10 s. */
void bc_kube_set_cache(bc_kube *k, int seconds);
/* GET through that cache; *out is borrowed, valid until the next call on
 * k for the same path. */
bc_status bc_kube_get_cached(bc_kube *k, const char *path, json_t **out);
/* Drops path from the cache (after changing the object). */
void bc_kube_uncache(bc_kube *k, const char *path);

/* PATCH with an RFC 7386 merge patch (application/merge-patch+json), for
 * instance {"status": {...}} to ".../NAME/status". out may be NULL. */
bc_status bc_kube_merge_patch(bc_kube *k, const char *path, const json_t *patch, json_t **out);

/* DELETE an object. BC_ERR_NOTFOUND when it is already gone. */
bc_status bc_kube_delete(bc_kube *k, const char *path);

/* data[key] of a Secret (read through the cache), base64-decoded, NUL-terminated, its length in
 * *len (len may be NULL); free() it. ns NULL = the default namespace.
 * BC_ERR_NOTFOUND when the Secret or the key is missing. */
bc_status bc_kube_secret_value(bc_kube *k, const char *ns, const char *name, const char *key,
                               char **value, size_t *len);

#endif
