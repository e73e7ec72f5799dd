/* gRPC over h2c on a Unix socket, or over TLS on TCP (see server.h). One
 * poll() loop; each connection has an nghttp2 server session; each stream
 * collects its request until END_STREAM, then a call starts and its
 * handler replies now or later. A call and its stream can part: the
 * stream closes when the client goes, the call lives until the handler
 * replies.
 *
 * TLS runs inside the same loop: a connection first steps through its
 * handshake (non-blocking, whichever of POLLIN/POLLOUT OpenSSL asks for),
 * with no HTTP/2 until the client's certificate has been verified; then
 * the same nghttp2 session code moves its bytes through SSL_read and
 * SSL_write instead of recv and send. */
#include "grpc/server.h"
#include "grpc/grpc_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/listen.h"
#include "util/log.h"

int bc_grpc_handshake_timeout_ms = 10000;

#define MAX_CONNECTIONS 64
#define MAX_METHODS 64
#define MAX_WATCHES 128

typedef struct method {
    char *path;
    bc_grpc_handler fn;
    void *ctx;
} method;

typedef struct stream stream;
typedef struct conn conn;

struct bc_grpc_call {
    bc_grpc_server *server;
    conn *conn;
    stream *stream;        /* NULL once the client can no longer get a reply */
    char path[256];
    int64_t deadline;      /* CLOCK_MONOTONIC ms; 0 = none */
    void (*cancel)(void *);
    void *cancel_arg;
    bc_grpc_call *prev, *next; /* the server's calls in progress */
};

struct stream {
    int32_t id;
    char path[256];
    int64_t timeout_ms;    /* grpc-timeout; 0 = none */
    int is_grpc;           /* content-type application/grpc[+proto] */
    int is_post;
    uint8_t *in;           /* request body (gRPC frames) */
    size_t in_len;
    int too_large;
    uint8_t *out;          /* response: one length-prefixed message */
    size_t out_len, out_sent;
    int status;
    char message[512];
    bc_grpc_call *call;    /* the call waiting for its handler, if any */
    struct stream *prev, *next; /* the connection's open streams */
};

struct conn {
    int fd;
    nghttp2_session *session;
    bc_grpc_server *server;
    /* TLS only (NULL on a Unix socket). Each *_wait is what the last SSL
     * call of that kind waits for: 0, POLLIN or POLLOUT. */
    SSL *ssl;
    int handshaking;       /* no HTTP/2 until the handshake is done */
    int64_t handshake_deadline;
    short handshake_wait, read_wait, write_wait;
    int tls_failed;        /* a fatal TLS error: no close_notify */
    char peer[64];         /* the client's address, for messages */
    /* nghttp2_session_del() frees its streams without closing them: the
     * streams still open when the connection goes are freed from here. */
    stream *streams;
};

typedef struct watch {
    int fd;                /* -1: free slot */
    bc_grpc_watch_fn fn;
    void *ctx;
} watch;

struct bc_grpc_server {
    int listen_fd;         /* -1 once draining */
    char *path;            /* the Unix socket; NULL on TCP */
    int port;              /* the TCP port; 0 on a Unix socket */
    /* TCP: the files, read again for every connection, and what every
     * connection shares (protocol, verification mode, ALPN). */
    char *cert_file, *key_file, *ca_file;
    SSL_CTX *ssl_ctx;
    BIO_METHOD *bio_method;
    int handshake_ms;
    method methods[MAX_METHODS];
    size_t nmethods;
    conn *conns[MAX_CONNECTIONS];
    watch watches[MAX_WATCHES];
    void (*tick)(void *);
    void *tick_ctx;
    bc_grpc_call *calls;   /* in progress */
    size_t ncalls;
    int holds;             /* background work in progress */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- setup ---------------------------------------------------------------- */

static bc_grpc_server *server_alloc(void)
{
    bc_grpc_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->listen_fd = -1;
    for (size_t i = 0; i < MAX_WATCHES; i++)
        s->watches[i].fd = -1;
    return s;
}

bc_status bc_grpc_server_new(const char *path, bc_grpc_server **out)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path)
        return bc_error(BC_ERR_USAGE, "socket path %s is too long", path);
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    bc_grpc_server *s = server_alloc();
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return bc_oom();
    }
    unlink(path);
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(s->listen_fd, 64) != 0) {
        bc_status st = bc_error(BC_ERR_IO, "cannot listen on %s: %s", path, strerror(errno));
        if (s->listen_fd >= 0)
            close(s->listen_fd);
        free(s->path);
        free(s);
        return st;
    }
    *out = s;
    return BC_OK;
}

int bc_grpc_server_port(const bc_grpc_server *s)
{
    return s->port;
}

/* ---- TLS setup ------------------------------------------------------------ */

/* The reason OpenSSL gave for the last failure, for a message; empties
 * the error queue. A file that cannot be opened is an errno early in the
 * queue, under errors that only say "system lib": the errno wins. */
static const char *tls_reason(char *buf, size_t len)
{
    unsigned long e, sys = 0, last = 0;
    while ((e = ERR_get_error()) != 0) {
        if (ERR_SYSTEM_ERROR(e) && !sys)
            sys = e;
        last = e;
    }
    const char *r = sys ? strerror(ERR_GET_REASON(sys)) : last ? ERR_reason_error_string(last)
                                                               : "no details";
    snprintf(buf, len, "%s", r ? r : "unknown error");
    return buf;
}

/* An encrypted private key fails instead of prompting on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)userdata;
    return -1;
}

/* The client must offer "h2" if it offers ALPN at all (gRPC clients do);
 * one that offers none gets HTTP/2 with prior knowledge, as on h2c. */
static int select_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                     const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char h2[] = "\x02h2";
    unsigned char *chosen;
    if (SSL_select_next_proto(&chosen, outlen, h2, sizeof h2 - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

/* The socket under SSL: OpenSSL's socket BIO writes with write(), which
 * raises SIGPIPE on a connection the client has closed; this one uses
 * send(MSG_NOSIGNAL) like the h2c path, so the server does not depend on
 * the process ignoring SIGPIPE. The fd is the BIO's data. */
static int bio_fd(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int bio_write(BIO *b, const char *buf, int len)
{
    BIO_clear_retry_flags(b);
    ssize_t n = send(bio_fd(b), buf, (size_t)len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_write(b);
    return (int)n;
}

static int bio_read(BIO *b, char *buf, int len)
{
    BIO_clear_retry_flags(b);
    ssize_t n = recv(bio_fd(b), buf, (size_t)len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_read(b);
    else if (n == 0)
        BIO_set_flags(b, BIO_FLAGS_IN_EOF);
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* nothing is buffered here */
    case BIO_CTRL_EOF:
        return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* What every connection shares; the certificates are not here (see
 * tls_load). Only TLS 1.3 (as the Barman Cloud plugin: MinVersion
 * TLS1.3). No session resumption: a resumed session would skip verifying
 * the client against the CA file as it is now. */
static bc_status tls_setup(bc_grpc_server *s)
{
    char why[256];
    ERR_clear_error();
    SSL_CTX *ctx = s->ssl_ctx = SSL_CTX_new(TLS_server_method());
    s->bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "bc-grpc-socket");
    if (!ctx || !s->bio_method || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_num_tickets(ctx, 0) != 1 || !BIO_meth_set_write(s->bio_method, bio_write) ||
        !BIO_meth_set_read(s->bio_method, bio_read) ||
        !BIO_meth_set_ctrl(s->bio_method, bio_ctrl) ||
        !BIO_meth_set_create(s->bio_method, bio_create))
        return bc_error(BC_ERR_INTERNAL, "cannot set up TLS (OpenSSL): %s",
                        tls_reason(why, sizeof why));
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* nghttp2 may hand the rest of a frame from another address after
     * NGHTTP2_ERR_WOULDBLOCK, and takes partial writes. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_alpn_select_cb(ctx, select_h2, NULL);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    return BC_OK;
}

/* Reads the three files into one connection's ssl; 0, or -1 with why
 * naming the file.
 *
 * Why every connection reads the files rather than caching them until
 * their mtime/size/inode change: it is simple and never stale (a Secret
 * volume swaps a symlink, cert-manager rewrites, an editor renames; each
 * changes different things, and a same-second rewrite can keep all three),
 * and it is cheap next to the handshake itself: about 0.6 ms for an RSA
 * 2048 key and its certificate, on connections that come every few
 * seconds at most (CNPG's operator). The shared SSL_CTX keeps the rest
 * of the setup out of that cost.
 *
 * The client CA file becomes this connection's trust store with
 * X509_V_FLAG_PARTIAL_CHAIN: any certificate in it is a trust anchor, as
 * in Go's ClientCAs pool, CA or not. The Barman Cloud plugin's setup puts
 * the client's own certificate there: with cert-manager's selfSigned
 * issuer (isCA false, a keyUsage without keyCertSign) OpenSSL 3 takes it
 * as self-signed anyway (1.1.1 would not, for the keyUsage), but with a
 * CA issuer the client's tls.crt is a leaf whose issuer is not in the
 * file, and only the flag lets it verify. */
static int tls_load(const bc_grpc_server *s, SSL *ssl, char *why, size_t whylen)
{
    char reason[256];
    ERR_clear_error();
    if (SSL_use_certificate_chain_file(ssl, s->cert_file) != 1) {
        snprintf(why, whylen, "cannot use the certificate %s: %s", s->cert_file,
                 tls_reason(reason, sizeof reason));
        return -1;
    }
    if (SSL_use_PrivateKey_file(ssl, s->key_file, SSL_FILETYPE_PEM) != 1) {
        snprintf(why, whylen, "cannot use the private key %s: %s", s->key_file,
                 tls_reason(reason, sizeof reason));
        return -1;
    }
    if (SSL_check_private_key(ssl) != 1) {
        snprintf(why, whylen, "the private key %s does not match the certificate %s",
                 s->key_file, s->cert_file);
        return -1;
    }
    X509_STORE *store = X509_STORE_new();
    if (!store || X509_STORE_load_file(store, s->ca_file) != 1 ||
        X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN) != 1) {
        snprintf(why, whylen, "cannot use the client CA %s: %s", s->ca_file,
                 tls_reason(reason, sizeof reason));
        X509_STORE_free(store);
        return -1;
    }
    SSL_set0_verify_cert_store(ssl, store); /* takes the store */
    ERR_clear_error();
    return 0;
}

static bc_status tcp_listen(bc_grpc_server *s, const char *address)
{
    return bc_listen_tcp(address, &s->listen_fd, &s->port);
}

bc_status bc_grpc_server_new_tcp(const char *address, const bc_grpc_tls *tls,
                                 bc_grpc_server **out)
{
    *out = NULL;
    if (!tls || !tls->cert_file || !tls->key_file || !tls->client_ca_file)
        return bc_error(BC_ERR_USAGE, "gRPC on %s: a server certificate, its key and a client "
                        "CA are required", address);
    bc_grpc_server *s = server_alloc();
    if (!s)
        return bc_oom();
    s->handshake_ms = bc_grpc_handshake_timeout_ms;
    bc_status st = BC_OK;
    if (!(s->cert_file = strdup(tls->cert_file)) || !(s->key_file = strdup(tls->key_file)) ||
        !(s->ca_file = strdup(tls->client_ca_file)))
        st = bc_oom();
    if (st == BC_OK)
        st = tls_setup(s);
    if (st == BC_OK) {
        /* The files must be usable now, as they will be at every handshake. */
        char why[768];
        SSL *probe = SSL_new(s->ssl_ctx);
        if (!probe)
            st = bc_error(BC_ERR_INTERNAL, "cannot set up TLS (OpenSSL)");
        else if (tls_load(s, probe, why, sizeof why) != 0)
            st = bc_error(BC_ERR_USAGE, "gRPC on %s: %s", address, why);
        SSL_free(probe);
        ERR_clear_error();
    }
    if (st == BC_OK)
        st = tcp_listen(s, address);
    if (st != BC_OK) {
        bc_grpc_server_free(s);
        return st;
    }
    *out = s;
    return BC_OK;
}

bc_status bc_grpc_server_add(bc_grpc_server *s, const char *path, bc_grpc_handler fn, void *ctx)
{
    if (s->nmethods == MAX_METHODS)
        return bc_error(BC_ERR_INTERNAL, "too many gRPC methods");
    if (!(s->methods[s->nmethods].path = strdup(path)))
        return bc_oom();
    s->methods[s->nmethods].fn = fn;
    s->methods[s->nmethods].ctx = ctx;
    s->nmethods++;
    return BC_OK;
}

/* ---- answering a call ----------------------------------------------------- */

/* grpc-message is percent-encoded outside printable ASCII (and '%'). */
static void encode_message(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < outlen; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '%')
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, outlen - o, "%%%02X", *p);
    }
    out[o] = '\0';
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}

/* The grpc-status and grpc-message fields of st into nv (code and msg
 * hold their text); returns how many (no grpc-message when empty). */
static size_t status_fields(const stream *st, nghttp2_nv *nv, char code[16], char msg[1600])
{
    snprintf(code, 16, "%d", st->status);
    encode_message(st->message, msg, 1600);
    nv[0] = (nghttp2_nv)NV("grpc-status", code);
    nv[1] = (nghttp2_nv)NV("grpc-message", msg);
    return *msg ? 2 : 1;
}

static int submit_trailers(nghttp2_session *session, stream *st)
{
    char code[16], msg[1600];
    nghttp2_nv trailers[2];
    size_t n = status_fields(st, trailers, code, msg);
    return nghttp2_submit_trailer(session, st->id, trailers, n);
}

static ssize_t read_body(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *source, void *user_data)
{
    (void)id;
    (void)user_data;
    stream *st = source->ptr;
    size_t n = st->out_len - st->out_sent;
    if (n > length)
        n = length;
    memcpy(buf, st->out + st->out_sent, n);
    st->out_sent += n;
    if (st->out_sent == st->out_len) {
        /* The trailers end the stream, not the data. */
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        if (submit_trailers(session, st) != 0)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return (ssize_t)n;
}

static void fail(stream *st, int status, const char *fmt, const char *arg)
{
    st->status = status;
    snprintf(st->message, sizeof st->message, fmt, arg);
}

/* Trailers-only answer: one HEADERS frame with the status ends the stream. */
static int respond_status(conn *c, stream *st)
{
    char code[16], msg[1600];
    nghttp2_nv only[4] = {NV(":status", "200"), NV("content-type", "application/grpc")};
    size_t n = 2 + status_fields(st, only + 2, code, msg);
    bc_log_info("gRPC %s: status %d: %s", st->path, st->status, st->message);
    return nghttp2_submit_response(c->session, st->id, only, n, NULL);
}

/* Submits st's answer: body as the one response message when st->status
 * is OK, else a trailers-only error. Takes body. */
static int respond(conn *c, stream *st, uint8_t *body, size_t body_len)
{
    nghttp2_nv headers[] = {NV(":status", "200"), NV("content-type", "application/grpc")};
    if (st->status == BC_GRPC_OK && !(st->out = malloc(body_len + 5)))
        fail(st, BC_GRPC_RESOURCE_EXHAUSTED, "%s: out of memory", st->path);
    if (st->status != BC_GRPC_OK) {
        free(body);
        return respond_status(c, st);
    }
    bc_grpc_frame_prefix(st->out, body_len);
    if (body_len)
        memcpy(st->out + 5, body, body_len);
    st->out_len = body_len + 5;
    free(body);
    nghttp2_data_provider data = {.source.ptr = st, .read_callback = read_body};
    return nghttp2_submit_response(c->session, st->id, headers, 2, &data);
}

/* The client can no longer get a reply: unlink the stream, run the
 * cancel hook (once). */
static void call_abandon(bc_grpc_call *call)
{
    if (call->stream) {
        call->stream->call = NULL;
        call->stream = NULL;
    }
    void (*fn)(void *) = call->cancel;
    call->cancel = NULL;
    if (fn)
        fn(call->cancel_arg);
}

void bc_grpc_call_reply(bc_grpc_call *call, bc_grpc_reply *reply)
{
    stream *st = call->stream;
    if (st) {
        st->call = NULL;
        st->status = reply->status;
        snprintf(st->message, sizeof st->message, "%s", reply->message);
        if (respond(call->conn, st, reply->body, reply->body_len) != 0)
            bc_log_warning("gRPC %s: cannot send the reply", call->path);
    } else {
        free(reply->body);
        bc_log_info("gRPC %s: finished after the call was abandoned", call->path);
    }
    reply->body = NULL;
    bc_grpc_server *s = call->server;
    if (call->prev)
        call->prev->next = call->next;
    else
        s->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    s->ncalls--;
    free(call);
}

void bc_grpc_call_fail(bc_grpc_call *call, int status, const char *fmt, ...)
{
    bc_grpc_reply reply = {.status = status};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reply.message, sizeof reply.message, fmt, ap);
    va_end(ap);
    bc_grpc_call_reply(call, &reply);
}

void bc_grpc_call_on_cancel(bc_grpc_call *call, void (*fn)(void *arg), void *arg)
{
    call->cancel = fn;
    call->cancel_arg = arg;
}

const char *bc_grpc_call_method(const bc_grpc_call *call)
{
    return call->path;
}

void bc_grpc_server_hold(bc_grpc_server *s, int delta)
{
    s->holds += delta;
}

int bc_grpc_server_draining(const bc_grpc_server *s)
{
    return s->listen_fd < 0;
}

/* Checks the request frame and starts a call, or answers with an error. */
static int answer(conn *c, stream *st)
{
    bc_grpc_server *s = c->server;
    const method *m = NULL;
    for (size_t i = 0; i < s->nmethods; i++)
        if (strcmp(s->methods[i].path, st->path) == 0)
            m = &s->methods[i];

    size_t len;
    int frame = bc_grpc_frame_parse(st->in, st->in_len, &len);
    bc_grpc_call *call = NULL;
    if (!st->is_post || !st->is_grpc)
        fail(st, BC_GRPC_INVALID_ARGUMENT, "%s: not a gRPC request (POST, application/grpc)",
             st->path);
    else if (s->listen_fd < 0)
        fail(st, BC_GRPC_UNAVAILABLE, "%s: the plugin is shutting down", st->path);
    else if (!m)
        fail(st, BC_GRPC_UNIMPLEMENTED, "unknown method %s", st->path);
    else if (st->too_large)
        fail(st, BC_GRPC_RESOURCE_EXHAUSTED, "%s: request larger than the 4 MiB limit", st->path);
    else if (frame == BC_GRPC_FRAME_MALFORMED)
        fail(st, BC_GRPC_INVALID_ARGUMENT, "%s: malformed gRPC message frame", st->path);
    else if (frame == BC_GRPC_FRAME_COMPRESSED)
        fail(st, BC_GRPC_UNIMPLEMENTED, "%s: compressed messages are not supported", st->path);
    else if (frame != BC_GRPC_FRAME_OK)
        fail(st, BC_GRPC_INVALID_ARGUMENT, "%s: one unary request message expected", st->path);
    else if (!(call = calloc(1, sizeof *call)))
        fail(st, BC_GRPC_RESOURCE_EXHAUSTED, "%s: out of memory", st->path);
    if (!call)
        return respond(c, st, NULL, 0);

    call->server = s;
    call->conn = c;
    call->stream = st;
    st->call = call;
    snprintf(call->path, sizeof call->path, "%s", st->path);
    call->deadline = st->timeout_ms ? now_ms() + st->timeout_ms : 0;
    call->next = s->calls;
    if (s->calls)
        s->calls->prev = call;
    s->calls = call;
    s->ncalls++;
    /* The handler may reply (and free the call) before it returns. */
    m->fn(m->ctx, call, st->in + 5, len);
    return 0;
}

/* grpc-timeout: up to 8 digits and a unit (H M S m u n); in ms, at least 1. */
static int64_t parse_timeout(const uint8_t *v, size_t n)
{
    if (n < 2 || n > 9)
        return 0;
    int64_t x = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 0;
        x = x * 10 + (v[i] - '0');
    }
    switch (v[n - 1]) {
    case 'H': x *= 3600000; break;
    case 'M': x *= 60000; break;
    case 'S': x *= 1000; break;
    case 'm': break;
    case 'u': x /= 1000; break;
    case 'n': x /= 1000000; break;
    default: return 0;
    }
    return x > 0 ? x : 1;
}

/* ---- nghttp2 callbacks ---------------------------------------------------- */

static ssize_t on_send(nghttp2_session *session, const uint8_t *data, size_t length, int flags,
                       void *user_data)
{
    (void)session;
    (void)flags;
    conn *c = user_data;
    if (c->ssl) {
        size_t done = 0;
        ERR_clear_error();
        if (SSL_write_ex(c->ssl, data, length, &done) == 1) {
            c->write_wait = 0;
            return (ssize_t)done;
        }
        switch (SSL_get_error(c->ssl, 0)) {
        case SSL_ERROR_WANT_WRITE:
            c->write_wait = POLLOUT;
            return NGHTTP2_ERR_WOULDBLOCK;
        case SSL_ERROR_WANT_READ:
            c->write_wait = POLLIN;
            return NGHTTP2_ERR_WOULDBLOCK;
        default:
            c->tls_failed = 1;
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
    }
    ssize_t n = send(c->fd, data, length, MSG_NOSIGNAL);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? NGHTTP2_ERR_WOULDBLOCK
                                                       : NGHTTP2_ERR_CALLBACK_FAILURE;
    return n;
}

static void stream_free(conn *c, stream *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else
        c->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    if (st->call)
        call_abandon(st->call);
    free(st->in);
    free(st->out);
    free(st);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    stream *st = calloc(1, sizeof *st);
    if (!st)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    st->id = frame->hd.stream_id;
    st->next = c->streams;
    if (c->streams)
        c->streams->prev = st;
    c->streams = st;
    return nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, st);
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)flags;
    (void)user_data;
    stream *st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!st)
        return 0;
    if (namelen == 5 && memcmp(name, ":path", 5) == 0)
        snprintf(st->path, sizeof st->path, "%.*s", (int)valuelen, value);
    else if (namelen == 7 && memcmp(name, ":method", 7) == 0)
        st->is_post = valuelen == 4 && memcmp(value, "POST", 4) == 0;
    else if (namelen == 12 && memcmp(name, "content-type", 12) == 0)
        st->is_grpc = valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0;
    else if (namelen == 12 && memcmp(name, "grpc-timeout", 12) == 0)
        st->timeout_ms = parse_timeout(value, valuelen);
    return 0;
}

static int on_data(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
                   size_t len, void *user_data)
{
    (void)flags;
    (void)user_data;
    stream *st = nghttp2_session_get_stream_user_data(session, id);
    if (!st || st->too_large)
        return 0;
    if (st->in_len + len > BC_GRPC_MAX_MESSAGE + 5) {
        st->too_large = 1;
        free(st->in);
        st->in = NULL;
        st->in_len = 0;
        return 0;
    }
    uint8_t *in = realloc(st->in, st->in_len + len);
    if (!in)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    memcpy(in + st->in_len, data, len);
    st->in = in;
    st->in_len += len;
    return 0;
}

static int on_frame(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    if ((frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    stream *st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    return st ? (answer(user_data, st) == 0 ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE) : 0;
}

static int on_close(nghttp2_session *session, int32_t id, uint32_t error_code, void *user_data)
{
    (void)error_code;
    stream *st = nghttp2_session_get_stream_user_data(session, id);
    if (st) {
        nghttp2_session_set_stream_user_data(session, id, NULL);
        stream_free(user_data, st);
    }
    return 0;
}

/* ---- connections and the loop --------------------------------------------- */

static void conn_close(bc_grpc_server *s, size_t i)
{
    conn *c = s->conns[i];
    nghttp2_session_del(c->session);
    while (c->streams)
        stream_free(c, c->streams);
    if (c->ssl) {
        /* close_notify, best effort: the socket is non-blocking */
        if (!c->handshaking && !c->tls_failed)
            SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        ERR_clear_error();
    }
    close(c->fd);
    free(c);
    s->conns[i] = NULL;
}

/* The client's address for messages ("" on a Unix socket). */
static void peer_name(const struct sockaddr_storage *sa, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN] = "";
    *out = '\0';
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(out, outlen, " from %s:%u", ip, ntohs(in->sin_port));
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in->sin6_addr, ip, sizeof ip);
        snprintf(out, outlen, " from [%s]:%u", ip, ntohs(in->sin6_port));
    }
}

/* TLS for a new connection: the files read now (see tls_load), the
 * handshake started by the client's first bytes. 0, or -1 (logged). */
static int conn_tls(bc_grpc_server *s, conn *c)
{
    char why[768];
    BIO *bio = NULL;
    if (!(c->ssl = SSL_new(s->ssl_ctx))) {
        bc_log_warning("gRPC: refusing a connection%s: cannot set up TLS (OpenSSL)", c->peer);
        return -1;
    }
    if (tls_load(s, c->ssl, why, sizeof why) != 0) {
        bc_log_warning("gRPC: refusing a connection%s: %s", c->peer, why);
        return -1;
    }
    if (!(bio = BIO_new(s->bio_method))) {
        bc_log_warning("gRPC: refusing a connection%s: out of memory", c->peer);
        return -1;
    }
    BIO_set_data(bio, (void *)(intptr_t)c->fd);
    SSL_set_bio(c->ssl, bio, bio);
    SSL_set_accept_state(c->ssl);
    c->handshaking = 1;
    c->handshake_deadline = now_ms() + s->handshake_ms;
    /* HTTP/2 writes small frames back to back (SETTINGS, its ACK,
     * HEADERS): with Nagle each would wait ~40 ms for the client's
     * delayed ACK. Go, on the other side, sets this too. */
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

static void conn_accept(bc_grpc_server *s)
{
    struct sockaddr_storage peer = {0};
    socklen_t peer_len = sizeof peer;
    int fd = accept4(s->listen_fd, (struct sockaddr *)&peer, &peer_len,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    size_t i = 0;
    while (i < MAX_CONNECTIONS && s->conns[i])
        i++;
    conn *c = i < MAX_CONNECTIONS ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        bc_log_warning("gRPC: refusing a connection (%d open)", MAX_CONNECTIONS);
        close(fd);
        return;
    }
    c->fd = fd;
    c->server = s;
    peer_name(&peer, c->peer, sizeof c->peer);
    if (s->ssl_ctx && conn_tls(s, c) != 0) {
        SSL_free(c->ssl);
        ERR_clear_error();
        close(fd);
        free(c);
        return;
    }
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0) {
        SSL_free(c->ssl);
        close(fd);
        free(c);
        return;
    }
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    int rc = nghttp2_session_server_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    if (rc != 0 || nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, 1) != 0) {
        if (rc == 0)
            nghttp2_session_del(c->session);
        SSL_free(c->ssl);
        close(fd);
        free(c);
        return;
    }
    s->conns[i] = c;
}

/* Whether a failed handshake is only a client that went away without a
 * word (a TCP probe, a port scan): not worth a warning. */
static int quiet_close(int err)
{
    if (err == SSL_ERROR_ZERO_RETURN)
        return 1;
    if (err != SSL_ERROR_SYSCALL && err != SSL_ERROR_SSL)
        return 0;
    unsigned long e = ERR_peek_last_error();
    return e == 0 || ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

/* One step of the TLS handshake: 1 done, 0 in progress, -1 failed
 * (logged: the connection closes). */
static int handshake_step(conn *c)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(c->ssl);
    if (rc == 1) {
        c->handshaking = 0;
        bc_log_debug("gRPC: TLS connection%s", c->peer);
        return 1;
    }
    int err = SSL_get_error(c->ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        c->handshake_wait = err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        return 0;
    }
    c->tls_failed = 1;
    char why[256];
    long verify = SSL_get_verify_result(c->ssl);
    if (verify != X509_V_OK)
        bc_log_warning("gRPC: TLS handshake%s failed: the client certificate does not verify "
                       "against %s: %s", c->peer, c->server->ca_file,
                       X509_verify_cert_error_string(verify));
    else if (quiet_close(err))
        bc_log_debug("gRPC: connection%s closed during the TLS handshake", c->peer);
    else
        bc_log_warning("gRPC: TLS handshake%s failed: %s", c->peer, tls_reason(why, sizeof why));
    ERR_clear_error();
    return -1;
}

/* Reads what TLS has into nghttp2: records while the socket or OpenSSL's
 * buffer holds some (poll does not see the latter); 0, or -1 to close. */
static int tls_read(conn *c)
{
    uint8_t buf[16384];
    do {
        size_t n = 0;
        ERR_clear_error();
        c->read_wait = 0;
        if (SSL_read_ex(c->ssl, buf, sizeof buf, &n) != 1) {
            int err = SSL_get_error(c->ssl, 0);
            if (err == SSL_ERROR_WANT_READ)
                return 0;
            if (err == SSL_ERROR_WANT_WRITE) {
                c->read_wait = POLLOUT;
                return 0;
            }
            if (err != SSL_ERROR_ZERO_RETURN)
                c->tls_failed = 1;
            ERR_clear_error();
            return -1;
        }
        if (nghttp2_session_mem_recv(c->session, buf, n) < 0) {
            bc_log_info("gRPC: closing a connection that sent malformed HTTP/2");
            return -1;
        }
    } while (SSL_has_pending(c->ssl));
    return 0;
}

static int conn_io_tls(conn *c)
{
    /* A readable or writable socket, or a hang-up: whichever it is, the
     * SSL call says what it waits for next or that the connection ended. */
    if (c->handshaking) {
        int rc = handshake_step(c);
        if (rc != 1)
            return rc; /* 0 in progress, -1 failed */
    }
    if (tls_read(c) != 0 || nghttp2_session_send(c->session) != 0)
        return -1;
    return nghttp2_session_want_read(c->session) || nghttp2_session_want_write(c->session) ? 0
                                                                                           : -1;
}

/* The poll events a connection waits for. */
static short conn_events(const conn *c)
{
    short ev = POLLIN;
    if (!c->ssl)
        return nghttp2_session_want_write(c->session) ? ev | POLLOUT : ev;
    if (c->handshaking)
        return ev | c->handshake_wait;
    if (c->read_wait == POLLOUT ||
        (nghttp2_session_want_write(c->session) && c->write_wait != POLLIN))
        ev |= POLLOUT;
    return ev;
}

/* Reads what the socket has and lets nghttp2 answer; 0 = keep it open. */
static int conn_io(conn *c, short revents)
{
    if (c->ssl)
        return conn_io_tls(c);
    if (revents & POLLIN) {
        uint8_t buf[16384];
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return -1;
        if (n > 0 && nghttp2_session_mem_recv(c->session, buf, (size_t)n) < 0) {
            bc_log_info("gRPC: closing a connection that sent malformed HTTP/2");
            return -1;
        }
    } else if (revents & (POLLERR | POLLHUP)) {
        return -1;
    }
    if (nghttp2_session_send(c->session) != 0)
        return -1;
    return nghttp2_session_want_read(c->session) || nghttp2_session_want_write(c->session) ? 0
                                                                                           : -1;
}

bc_status bc_grpc_server_watch(bc_grpc_server *s, int fd, bc_grpc_watch_fn fn, void *ctx)
{
    for (size_t i = 0; i < MAX_WATCHES; i++)
        if (s->watches[i].fd < 0) {
            s->watches[i] = (watch){fd, fn, ctx};
            return BC_OK;
        }
    return bc_error(BC_ERR_INTERNAL, "too many file descriptors to watch");
}

void bc_grpc_server_unwatch(bc_grpc_server *s, int fd)
{
    for (size_t i = 0; i < MAX_WATCHES; i++)
        if (s->watches[i].fd == fd)
            s->watches[i].fd = -1;
}

void bc_grpc_server_on_tick(bc_grpc_server *s, void (*fn)(void *ctx), void *ctx)
{
    s->tick = fn;
    s->tick_ctx = ctx;
}

/* Answers DEADLINE_EXCEEDED for calls past their deadline; returns the ms
 * until the next deadline (at most 1000). */
static int expire_calls(bc_grpc_server *s)
{
    int64_t now = now_ms(), wait = 1000;
    for (bc_grpc_call *call = s->calls, *next; call; call = next) {
        next = call->next;
        if (!call->stream || !call->deadline)
            continue;
        if (call->deadline > now) {
            if (call->deadline - now < wait)
                wait = call->deadline - now;
            continue;
        }
        stream *st = call->stream;
        fail(st, BC_GRPC_DEADLINE_EXCEEDED, "%s: deadline exceeded", call->path);
        respond_status(call->conn, st);
        call_abandon(call);
    }
    return (int)wait;
}

/* Closes connections whose TLS handshake has not finished in time;
 * returns the ms until the next such deadline (at most wait). */
static int expire_handshakes(bc_grpc_server *s, int wait)
{
    int64_t now = now_ms();
    for (size_t i = 0; i < MAX_CONNECTIONS; i++) {
        conn *c = s->conns[i];
        if (!c || !c->handshaking)
            continue;
        if (c->handshake_deadline <= now) {
            bc_log_info("gRPC: closing a connection%s: no TLS handshake within %d ms", c->peer,
                        s->handshake_ms);
            conn_close(s, i);
        } else if (c->handshake_deadline - now < wait) {
            wait = (int)(c->handshake_deadline - now);
        }
    }
    return wait;
}

/* Stops taking connections; the socket file goes so no client tries. */
static void start_draining(bc_grpc_server *s)
{
    close(s->listen_fd);
    s->listen_fd = -1;
    if (s->path)
        unlink(s->path);
    if (s->ncalls || s->holds > 0)
        bc_log_info("draining: waiting for %zu call(s) and %d background task(s)", s->ncalls,
                    s->holds);
}

/* Whether some connection still has frames to send (the last replies). */
static int unsent(const bc_grpc_server *s)
{
    /* A connection still in its handshake has no call (only our SETTINGS
     * waiting): it does not hold the drain. */
    for (size_t i = 0; i < MAX_CONNECTIONS; i++)
        if (s->conns[i] && !s->conns[i]->handshaking &&
            nghttp2_session_want_write(s->conns[i]->session))
            return 1;
    return 0;
}

bc_status bc_grpc_server_run(bc_grpc_server *s, volatile sig_atomic_t *stop)
{
    enum { MAX_FDS = MAX_CONNECTIONS + MAX_WATCHES + 1 };
    while (!*stop || s->ncalls || s->holds > 0 || unsent(s)) {
        if (*stop && s->listen_fd >= 0)
            start_draining(s);
        if (s->tick)
            s->tick(s->tick_ctx);
        int timeout = expire_handshakes(s, expire_calls(s));
        struct pollfd fds[MAX_FDS];
        size_t owner[MAX_FDS];
        nfds_t n = 0, nconn;
        if (s->listen_fd >= 0)
            fds[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
        nfds_t first_conn = n;
        for (size_t i = 0; i < MAX_CONNECTIONS; i++)
            if (s->conns[i]) {
                owner[n] = i;
                fds[n++] = (struct pollfd){.fd = s->conns[i]->fd,
                                           .events = conn_events(s->conns[i])};
            }
        nconn = n;
        for (size_t i = 0; i < MAX_WATCHES; i++)
            if (s->watches[i].fd >= 0) {
                owner[n] = i;
                fds[n++] = (struct pollfd){.fd = s->watches[i].fd, .events = POLLIN};
            }
        int rc = poll(fds, n, timeout);
        if (rc < 0 && errno != EINTR)
            return bc_error(BC_ERR_IO, "poll: %s", strerror(errno));
        if (rc <= 0)
            continue;
        if (first_conn && (fds[0].revents & POLLIN))
            conn_accept(s);
        for (nfds_t k = first_conn; k < nconn; k++)
            if (fds[k].revents && conn_io(s->conns[owner[k]], fds[k].revents) != 0)
                conn_close(s, owner[k]);
        for (nfds_t k = nconn; k < n; k++) {
            const watch *w = &s->watches[owner[k]];
            /* a callback earlier in this turn may have unwatched it */
            if (fds[k].revents && w->fd == fds[k].fd)
                w->fn(w->ctx, w->fd, fds[k].revents);
        }
    }
    return BC_OK;
}

void bc_grpc_server_free(bc_grpc_server *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < MAX_CONNECTIONS; i++)
        if (s->conns[i])
            conn_close(s, i);
    for (size_t i = 0; i < s->nmethods; i++)
        free(s->methods[i].path);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->path)
        unlink(s->path);
    free(s->path);
    free(s->cert_file);
    free(s->key_file);
    free(s->ca_file);
    SSL_CTX_free(s->ssl_ctx);
    BIO_meth_free(s->bio_method);
    free(s);
}
