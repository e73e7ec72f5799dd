/* Inside lib/kube: where the cluster is and how to authenticate to it,
 * found by kubeconfig.c and used by kube.c (and the unit tests). */
#ifndef BC_KUBE_INTERNAL_H
#define BC_KUBE_INTERNAL_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/status.h"

typedef struct bc_kube_config {
    char *source;      /* for messages: the kubeconfig path, or "in-cluster" */
    char *server;      /* https://host:port[/prefix], no trailing '/' */
    char *ca_pem;      /* trusted CAs; NULL = the system's */
    int insecure;      /* insecure-skip-tls-verify */
    char *token;       /* bearer token given inline ... */
    char *token_file;  /* ... or read from this file before each request */
    char *cert_pem;    /* client certificate and key, both or neither */
    char *key_pem;
    char *ns;          /* default namespace; NULL if none */
} bc_kube_config;

/* Finds the configuration as kube.h describes. */
bc_status bc_kube_config_find(bc_kube_config *out);

/* The kubeconfig at path (its current-context). */
bc_status bc_kube_config_load(const char *path, bc_kube_config *out);

/* Kubeconfig text; path names it in messages and is where relative file
 * names in it start from. */
bc_status bc_kube_config_parse(const char *text, size_t len, const char *path,
                               bc_kube_config *out);

/* In-cluster: server from host and port, CA, token file and namespace
 * from the service-account directory. BC_ERR_NOTFOUND (no message) when
 * the directory has no token. */
bc_status bc_kube_config_in_cluster(const char *host, const char *port, const char *sa_dir,
                                    bc_kube_config *out);

void bc_kube_config_free(bc_kube_config *c);

/* HTTP/1.1 to the API server (transport.c): one request per connection,
 * TLS by OpenSSL set up on the first request. cfg must outlive t. */
typedef struct bc_kube_transport bc_kube_transport;
typedef struct bc_kube_reply {
    long status;  /* the HTTP status */
    char *body;   /* NUL-terminated */
    size_t len;
    int attempts; /* 5xx, 429 and network failures are tried again */
} bc_kube_reply;

bc_status bc_kube_transport_new(const bc_kube_config *cfg, bc_kube_transport **out);
void bc_kube_transport_free(bc_kube_transport *t);
/* Sends path (under the server URL's own path) and reads the reply.
 * BC_OK whatever the HTTP status; an error when no reply came.
 * authorization ("Bearer ...") and body may be NULL. */
bc_status bc_kube_send(bc_kube_transport *t, const char *method, const char *path,
                       const char *authorization, const char *content_type, const char *body,
                       bc_kube_reply *r);
void bc_kube_reply_free(bc_kube_reply *r);

/* Reply parsing (reply.c). Replies are read into memory up to this size. */
#define BC_KUBE_REPLY_LIMIT ((size_t)64 << 20)
/* Where the header block in buf ends (after its blank line), 0 if not yet. */
size_t bc_kube_header_end(const char *buf, size_t len);
/* Whether the reply in buf[0..len) (NUL-terminated; headers end at head)
 * is complete: 1 yes, the body's length in *body_len and a chunked body
 * decoded in place at buf + head; 0 not yet; -1 a malformed chunked body;
 * -2 out of memory. eof: the server closed the connection. */
int bc_kube_reply_complete(char *buf, size_t head, size_t len, int eof, size_t *body_len);

/* Frees a string that may hold a secret, overwriting it first. */
static inline void bc_kube_forget(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
    free(s);
}

#endif
