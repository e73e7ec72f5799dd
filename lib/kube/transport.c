/* HTTP/1.1 to the Kubernetes API server over a socket and OpenSSL.
 *
 * Why not libcurl, which the stores use: this client lives in bc-plugin,
 * the sidecar that idles in every PostgreSQL pod. Debian's libcurl brings
 * gnutls, Kerberos, LDAP, RTMP and SSH libraries into the process (about
 * 4 MiB resident) for one kind of request: a small JSON GET or write to
 * one server. Here that is one request per connection ("Connection:
 * close"), a reply framed by Content-Length, chunked encoding or the end of
 * the connection, and TLS with OpenSSL, which verifies the server's name
 * or IP address against the cluster's CA. OpenSSL is set up on the first
 * request, so an idle plugin that has not called the API yet does not pay
 * for it. */
#include "kube/kube_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define CONNECT_TIMEOUT_MS 10000
#define IO_TIMEOUT_S 30
#define MAX_ATTEMPTS 3

struct bc_kube_transport {
    const bc_kube_config *cfg;
    int tls;
    char host[256];      /* without brackets */
    char host_header[300];
    char port[8];
    char prefix[512];    /* path the server URL ends with, no trailing '/' */
    SSL_CTX *ctx;        /* built on the first request */
};

bc_status bc_kube_transport_new(const bc_kube_config *cfg, bc_kube_transport **out)
{
    *out = NULL;
    const char *s = cfg->server, *rest;
    int tls;
    if (strncasecmp(s, "https://", 8) == 0) {
        tls = 1;
        rest = s + 8;
    } else if (strncasecmp(s, "http://", 7) == 0) {
        tls = 0;
        rest = s + 7;
    } else {
        return bc_error(BC_ERR_USAGE, "%s: the server \"%s\" is not an http(s):// URL",
                        cfg->source, s);
    }
    bc_kube_transport *t = calloc(1, sizeof *t);
    if (!t)
        return bc_oom();
    t->cfg = cfg;
    t->tls = tls;
    size_t authority = strcspn(rest, "/");
    const char *port = NULL;
    size_t hostlen;
    if (rest[0] == '[') { /* [IPv6]:port */
        const char *close = memchr(rest, ']', authority);
        hostlen = close ? (size_t)(close - rest - 1) : 0;
        if (close && close[1] == ':')
            port = close + 2;
        else if (close && close + 1 != rest + authority)
            hostlen = 0;
        if (hostlen)
            memcpy(t->host, rest + 1, hostlen < sizeof t->host ? hostlen : 0);
    } else {
        const char *colon = memchr(rest, ':', authority);
        hostlen = colon ? (size_t)(colon - rest) : authority;
        if (colon)
            port = colon + 1;
        if (hostlen < sizeof t->host)
            memcpy(t->host, rest, hostlen);
    }
    size_t portlen = port ? (size_t)(rest + authority - port) : 0;
    if (!hostlen || hostlen >= sizeof t->host || (port && (portlen == 0 || portlen >= sizeof t->port ||
                                                           strspn(port, "0123456789") < portlen)) ||
        strlen(rest + authority) >= sizeof t->prefix) {
        free(t);
        return bc_error(BC_ERR_USAGE, "%s: cannot read host and port in the server URL \"%s\"",
                        cfg->source, s);
    }
    if (port)
        memcpy(t->port, port, portlen);
    else
        strcpy(t->port, tls ? "443" : "80");
    snprintf(t->host_header, sizeof t->host_header, "%.*s", (int)authority, rest);
    snprintf(t->prefix, sizeof t->prefix, "%s", rest + authority);
    size_t n = strlen(t->prefix);
    while (n > 0 && t->prefix[n - 1] == '/')
        t->prefix[--n] = '\0';
    *out = t;
    return BC_OK;
}

void bc_kube_transport_free(bc_kube_transport *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

/* The reason OpenSSL gave for the last failure, for a message. */
static const char *tls_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    if (!e)
        return "no details";
    const char *r = ERR_reason_error_string(e);
    snprintf(buf, len, "%s", r ? r : "unknown error");
    return buf;
}

/* Every certificate in a PEM text; 0 if there is none. */
static int add_ca_certs(X509_STORE *store, const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x;
    int n = 0;
    while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        if (X509_STORE_add_cert(store, x) == 1)
            n++;
        X509_free(x);
    }
    BIO_free(b);
    ERR_clear_error(); /* the read that ends the loop fails */
    return n;
}

static bc_status use_client_certificate(SSL_CTX *ctx, const bc_kube_config *cfg)
{
    char why[256];
    BIO *b = BIO_new_mem_buf(cfg->cert_pem, -1);
    X509 *leaf = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    int ok = leaf && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509 *extra;
    while (ok && (extra = PEM_read_bio_X509(b, NULL, NULL, NULL)))
        if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) { /* takes extra on success */
            X509_free(extra);
            ok = 0;
        }
    X509_free(leaf);
    BIO_free(b);
    if (ok) {
        ERR_clear_error();
        b = BIO_new_mem_buf(cfg->key_pem, -1);
        /* "" as the passphrase: an encrypted key fails instead of prompting */
        EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"") : NULL;
        ok = key && SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
        EVP_PKEY_free(key);
        BIO_free(b);
    }
    if (!ok)
        return bc_error(BC_ERR_USAGE, "%s: cannot use the client certificate and key: %s",
                        cfg->source, tls_reason(why, sizeof why));
    return BC_OK;
}

static bc_status make_ctx(bc_kube_transport *t)
{
    const bc_kube_config *cfg = t->cfg;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return bc_error(BC_ERR_INTERNAL, "cannot set up TLS (OpenSSL)");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Framing tells where a reply ends; a server that closes without
     * close_notify has not cut it short. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    bc_status st = BC_OK;
    if (cfg->insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if (cfg->ca_pem) {
            if (add_ca_certs(SSL_CTX_get_cert_store(ctx), cfg->ca_pem) == 0)
                st = bc_error(BC_ERR_USAGE, "%s: the cluster's certificate authority holds no "
                              "PEM certificate", cfg->source);
        } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            st = bc_error(BC_ERR_USAGE, "cannot load the system's CA certificates");
        }
    }
    if (st == BC_OK && cfg->cert_pem && cfg->key_pem)
        st = use_client_certificate(ctx, cfg);
    if (st != BC_OK) {
        SSL_CTX_free(ctx);
        return st;
    }
    t->ctx = ctx;
    return BC_OK;
}

/* One connection: a socket, and TLS over it when the server is https. */
typedef struct conn {
    int fd;
    SSL *ssl;
} conn;

static void conn_close(conn *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
}

/* connect() with a timeout; then blocking I/O with IO_TIMEOUT_S per read
 * or write. */
static int connect_one(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            close(fd);
            return -1;
        }
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int err = 0;
        socklen_t len = sizeof err;
        int r;
        while ((r = poll(&p, 1, CONNECT_TIMEOUT_MS)) < 0 && errno == EINTR)
            ;
        if (r == 0)
            err = ETIMEDOUT;
        else if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            close(fd);
            errno = err;
            return -1;
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

static bc_status conn_open(bc_kube_transport *t, conn *c)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
    int rc = getaddrinfo(t->host, t->port, &hints, &ai);
    if (rc != 0)
        return bc_error(BC_ERR_NET, "cannot resolve %s: %s", t->host, gai_strerror(rc));
    int err = 0;
    for (struct addrinfo *a = ai; a && c->fd < 0; a = a->ai_next) {
        c->fd = connect_one(a);
        if (c->fd < 0)
            err = errno;
    }
    freeaddrinfo(ai);
    if (c->fd < 0)
        return bc_error(BC_ERR_NET, "cannot connect to %s: %s", t->host_header,
                        err == ETIMEDOUT ? "timed out" : strerror(err));
    if (!t->tls)
        return BC_OK;

    bc_status st = t->ctx ? BC_OK : make_ctx(t);
    if (st != BC_OK)
        return st;
    char why[256];
    ERR_clear_error();
    struct in6_addr ignored;
    int is_ip = inet_pton(AF_INET, t->host, &ignored) == 1 || inet_pton(AF_INET6, t->host, &ignored) == 1;
    if (!(c->ssl = SSL_new(t->ctx)) || SSL_set_fd(c->ssl, c->fd) != 1 ||
        (!is_ip && SSL_set_tlsext_host_name(c->ssl, t->host) != 1) ||
        /* a name or an IP address, checked against the certificate */
        (!t->cfg->insecure && SSL_set1_host(c->ssl, t->host) != 1))
        return bc_error(BC_ERR_INTERNAL, "cannot set up TLS for %s: %s", t->host_header,
                        tls_reason(why, sizeof why));
    if (SSL_connect(c->ssl) == 1)
        return BC_OK;
    long verify = SSL_get_verify_result(c->ssl);
    if (verify != X509_V_OK)
        return bc_error(BC_ERR_NET, "TLS certificate verification failed for %s: %s",
                        t->host_header, X509_verify_cert_error_string(verify));
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return bc_error(BC_ERR_NET, "TLS handshake with %s timed out", t->host_header);
    return bc_error(BC_ERR_NET, "TLS handshake with %s failed: %s", t->host_header,
                    tls_reason(why, sizeof why));
}

static bc_status conn_write(bc_kube_transport *t, conn *c, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n;
        if (c->ssl) {
            size_t done = 0;
            ERR_clear_error();
            n = SSL_write_ex(c->ssl, buf, len, &done) == 1 ? (ssize_t)done : -1;
        } else {
            n = send(c->fd, buf, len, MSG_NOSIGNAL);
        }
        if (n < 0 && errno == EINTR && !c->ssl)
            continue;
        if (n <= 0)
            return bc_error(BC_ERR_NET, "sending to %s failed: %s", t->host_header,
                            errno == EAGAIN ? "timed out" : strerror(errno));
        buf += n;
        len -= (size_t)n;
    }
    return BC_OK;
}

/* >0 bytes read, 0 at the end of the connection, -1 on an error. */
static ssize_t conn_read(conn *c, char *buf, size_t len)
{
    if (!c->ssl) {
        ssize_t n;
        while ((n = recv(c->fd, buf, len, 0)) < 0 && errno == EINTR)
            ;
        return n;
    }
    size_t done = 0;
    ERR_clear_error();
    if (SSL_read_ex(c->ssl, buf, len, &done) == 1)
        return (ssize_t)done;
    return SSL_get_error(c->ssl, 0) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

/* Reads a whole reply; fills r->status and r->body. */
static bc_status read_reply(bc_kube_transport *t, conn *c, bc_kube_reply *r)
{
    size_t cap = 16384, len = 0, head = 0, body = 0;
    char *buf = malloc(cap);
    bc_status st = BC_OK;
    if (!buf)
        return bc_oom();
    for (;;) {
        if (len + 4096 > cap) {
            char *bigger = cap < BC_KUBE_REPLY_LIMIT ? realloc(buf, cap * 2) : NULL;
            if (!bigger) {
                st = cap < BC_KUBE_REPLY_LIMIT ? bc_oom()
                                       : bc_error(BC_ERR_DATA, "the reply from %s is over %zu MiB",
                                                  t->host_header, BC_KUBE_REPLY_LIMIT >> 20);
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = conn_read(c, buf + len, cap - len - 1);
        if (n < 0) {
            st = bc_error(BC_ERR_NET, "reading the reply from %s failed: %s", t->host_header,
                          errno == EAGAIN ? "timed out" : "the connection broke");
            break;
        }
        len += (size_t)n;
        buf[len] = '\0';
        if (!head && (head = bc_kube_header_end(buf, len))) {
            if (sscanf(buf, "HTTP/1.%*1d %3ld", &r->status) != 1 || r->status < 100) {
                st = bc_error(BC_ERR_DATA, "%s did not answer in HTTP/1.1", t->host_header);
                break;
            }
            if (r->status < 200) { /* 100 Continue and the like: a reply follows */
                memmove(buf, buf + head, len - head);
                len -= head;
                head = 0;
                continue;
            }
        }
        int done = head ? bc_kube_reply_complete(buf, head, len, n == 0, &body) : 0;
        if (done < 0) {
            st = done == -2 ? bc_oom()
                            : bc_error(BC_ERR_DATA, "%s sent a malformed chunked reply",
                                       t->host_header);
            break;
        }
        if (done)
            break;
        if (n == 0) {
            st = bc_error(BC_ERR_NET, head ? "the reply from %s was cut short"
                                           : "%s closed the connection before replying",
                          t->host_header);
            break;
        }
    }
    if (st != BC_OK) {
        free(buf);
        return st;
    }
    memmove(buf, buf + head, body);
    buf[body] = '\0';
    r->body = buf;
    r->len = body;
    return BC_OK;
}

static bc_status exchange(bc_kube_transport *t, const char *request, size_t len, bc_kube_reply *r)
{
    conn c = { .fd = -1 };
    bc_status st = conn_open(t, &c);
    if (st == BC_OK)
        st = conn_write(t, &c, request, len);
    if (st == BC_OK)
        st = read_reply(t, &c, r);
    conn_close(&c);
    return st;
}

bc_status bc_kube_send(bc_kube_transport *t, const char *method, const char *path,
                       const char *authorization, const char *content_type, const char *body,
                       bc_kube_reply *r)
{
    memset(r, 0, sizeof *r);
    size_t body_len = body ? strlen(body) : 0;
    char *req = NULL, content[160] = "";
    if (body)
        snprintf(content, sizeof content, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                 content_type, body_len);
    int n = asprintf(&req,
                     "%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: bc-plugin/" BC_VERSION "\r\n"
                     "Accept: application/json\r\nConnection: close\r\n%s%s%s%s\r\n%s",
                     method, t->prefix, path, t->host_header,
                     authorization ? "Authorization: " : "", authorization ? authorization : "",
                     authorization ? "\r\n" : "", content, body ? body : "");
    if (n < 0)
        return bc_oom();
    /* 5xx, 429 and network failures are retried, writes too. A write
     * whose reply was lost may have been applied, and sending it again
     * then meets its own effect: a merge patch applies the same document
     * again (harmless), a DELETE finds nothing (404), a PUT naming a
     * resourceVersion finds it moved on (409, which bc_kube_update
     * resolves by reading again), a POST finds the object it made (409
     * AlreadyExists, which callers of bc_kube_create take as "exists").
     * An idempotent create is all the plugin does, so no write is told
     * apart here. */
    static const int backoff_ms[MAX_ATTEMPTS] = { 0, 250, 1000 };
    bc_status st = BC_OK;
    for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        int ms = backoff_ms[attempt - 1];
        if (ms)
            nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
        bc_kube_reply_free(r);
        r->attempts = attempt;
        st = exchange(t, req, (size_t)n, r);
        int retry = st == BC_ERR_NET || (st == BC_OK && (r->status >= 500 || r->status == 429));
        if (!retry || attempt == MAX_ATTEMPTS)
            break;
    }
    explicit_bzero(req, (size_t)n); /* it held the bearer token */
    free(req);
    return st;
}

void bc_kube_reply_free(bc_kube_reply *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}
