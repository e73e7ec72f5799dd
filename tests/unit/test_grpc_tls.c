/* lib/grpc over TLS on TCP and the unary client on a Unix socket.
 *
 * Certificates are made here as cert-manager makes them: self-signed,
 * not a CA (basicConstraints CA:FALSE, a keyUsage without keyCertSign),
 * the client's own certificate as the server's client CA. A server runs
 * in a thread on 127.0.0.1:0 with an echo method; this thread is the
 * client, with OpenSSL: the right client certificate gets HTTP/2 with
 * ALPN h2 and real gRPC calls (up to 1 MiB, with writes that block on
 * both sides); no certificate, a foreign one (same name, other key), TLS
 * 1.2 and ALPN without h2 are refused; a CA-issued client certificate is
 * accepted when the client CA file holds that leaf (as Go accepts it); a
 * TCP probe goes quietly; a silent connection neither blocks a good
 * client nor outlives the handshake timeout; rotated server and CA files
 * are used at the next handshake without a restart, and a mismatched
 * pair or a missing CA file fails one connection with one log line while
 * the server goes on. Then the unary client against a Unix-socket server:
 * OK, UNIMPLEMENTED, an error message with encoded characters, nothing
 * listening, a server that never answers, a peer that is not HTTP/2.
 * Start-up errors: bad addresses, files, a port in use.
 *
 * BC_GRPC_TLS_BENCH=N also times N handshakes and prints the mean;
 * BC_GRPC_TLS_LOG=1 prints the server's log. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "grpc/client.h"
#include "grpc/grpc_internal.h"
#include "grpc/server.h"
#include "util/log.h"

static char dir[] = "/tmp/bc-grpc-tls-test.XXXXXX";

/* The files, all in dir: the server's (tls.crt, tls.key, client-ca.crt)
 * and the clients'. */
static char srv_crt[300], srv_key[300], ca[300], client_crt[300], client_key[300],
    other_crt[300], other_key[300], issued_crt[300], issued_key[300], trust1[300], trust2[300], junk[300], absent[300],
    sock[300], log_path[300];

static void name_files(void)
{
    struct { char *buf; const char *name; } files[] = {
        {srv_crt, "tls.crt"}, {srv_key, "tls.key"}, {ca, "client-ca.crt"},
        {client_crt, "client.crt"}, {client_key, "client.key"}, {other_crt, "other.crt"},
        {other_key, "other.key"}, {issued_crt, "issued.crt"}, {issued_key, "issued.key"},
        {trust1, "trust1.crt"}, {trust2, "trust2.crt"},
        {junk, "junk.pem"}, {absent, "absent.pem"}, {sock, "grpc.sock"},
        {log_path, "server.log"},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        snprintf(files[i].buf, 300, "%s/%s", dir, files[i].name);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- certificates --------------------------------------------------------- */

typedef struct pair {
    EVP_PKEY *key;
    X509 *cert;
} pair;

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    int ok = e && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

/* Self-signed, isCA false, keyUsage without keyCertSign, as cert-manager's
 * selfSigned issuer makes them (rsa: RSA 2048, else ECDSA P-256); or
 * issued by issuer; or a CA when eku is NULL. */
static pair make_cert(int rsa, const char *cn, const char *eku, const char *san,
                      const pair *issuer)
{
    static long serial = 1;
    pair p = {rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"), X509_new()};
    X509 *x = p.cert;
    X509_NAME *name = X509_get_subject_name(x);
    const char *usage = !eku ? "critical,keyCertSign,cRLSign"
                        : rsa ? "critical,digitalSignature,keyEncipherment"
                              : "critical,digitalSignature";
    int ok = p.key && x && X509_set_version(x, X509_VERSION_3) &&
             ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -60) &&
             X509_gmtime_adj(X509_getm_notAfter(x), 86400) && X509_set_pubkey(x, p.key) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                                        -1, 0) &&
             X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert) : name) &&
             add_ext(x, NID_basic_constraints, eku ? "critical,CA:FALSE" : "critical,CA:TRUE") &&
             add_ext(x, NID_key_usage, usage) && (!eku || add_ext(x, NID_ext_key_usage, eku)) &&
             (!san || add_ext(x, NID_subject_alt_name, san)) &&
             X509_sign(x, issuer ? issuer->key : p.key, EVP_sha256());
    if (!ok) {
        ERR_print_errors_fp(stdout);
        printf("FAIL: cannot make a certificate for %s\n", cn);
        exit(1);
    }
    return p;
}

static pair make_pair(int rsa, const char *cn, const char *eku, const char *san)
{
    return make_cert(rsa, cn, eku, san, NULL);
}

static void free_pair(pair *p)
{
    EVP_PKEY_free(p->key);
    X509_free(p->cert);
}

/* Writes PEM to a temporary file renamed over path, as a Secret volume
 * or cert-manager replaces a file. */
static void put_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "w");
    int ok = f && (cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0,
                                                                          NULL, NULL));
    if (f)
        ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        printf("FAIL: cannot write %s\n", path);
        exit(1);
    }
}

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* ---- servers in a thread -------------------------------------------------- */

typedef struct running {
    bc_grpc_server *server;
    pthread_t thread;
    volatile sig_atomic_t stop;
    int wake[2]; /* a byte here makes the loop look at stop now */
    bc_status status;
} running;

static void echo(void *ctx, bc_grpc_call *call, const uint8_t *request, size_t len)
{
    (void)ctx;
    bc_grpc_reply reply = {.status = BC_GRPC_OK, .body = malloc(len ? len : 1), .body_len = len};
    if (reply.body && len)
        memcpy(reply.body, request, len);
    bc_grpc_call_reply(call, &reply);
}

static void refuse(void *ctx, bc_grpc_call *call, const uint8_t *request, size_t len)
{
    (void)ctx;
    (void)request;
    (void)len;
    bc_grpc_call_fail(call, BC_GRPC_INVALID_ARGUMENT, "bad 100%% \xc3\xa9t\xc3\xa9\nnext");
}

static void on_wake(void *ctx, int fd, short revents)
{
    (void)ctx;
    (void)revents;
    char buf[16];
    if (read(fd, buf, sizeof buf) < 0)
        return;
}

static void *serve(void *arg)
{
    running *r = arg;
    /* The server takes SIGPIPE as it comes: it must never get one (the
     * test's clients, which write with OpenSSL's socket BIO, have it
     * blocked, see main). */
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_UNBLOCK, &pipe_signal, NULL);
    r->status = bc_grpc_server_run(r->server, &r->stop);
    return NULL;
}

/* Runs s (listening already, so clients can connect at once) in a thread. */
static void start(running *r, bc_grpc_server *s)
{
    r->server = s;
    r->stop = 0;
    if (pipe(r->wake) != 0 || bc_grpc_server_add(s, "/test.Echo/Echo", echo, NULL) != BC_OK ||
        bc_grpc_server_add(s, "/test.Echo/Refuse", refuse, NULL) != BC_OK ||
        bc_grpc_server_watch(s, r->wake[0], on_wake, NULL) != BC_OK ||
        pthread_create(&r->thread, NULL, serve, r) != 0) {
        printf("FAIL: cannot start a server\n");
        exit(1);
    }
}

static void stop(running *r)
{
    r->stop = 1;
    if (write(r->wake[1], "x", 1) != 1)
        failed++;
    pthread_join(r->thread, NULL);
    CHECK(r->status == BC_OK);
    bc_grpc_server_unwatch(r->server, r->wake[0]);
    bc_grpc_server_free(r->server);
    close(r->wake[0]);
    close(r->wake[1]);
}

/* ---- a TLS client --------------------------------------------------------- */

static int port;
static int small_buffers; /* so that writes on both sides block, and resume */

typedef struct client_opts {
    const char *cert, *key; /* NULL: no client certificate */
    int max_version;        /* 0: any */
    const char *alpn;       /* wire format; NULL: offer none */
    const char *trust;      /* the server certificate the client trusts */
} client_opts;

typedef struct client {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    int connected; /* SSL_connect succeeded */
} client;

static int tcp_connect(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* a safety net only: every wait below ends on an event */
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1, small = 8192; /* as gRPC clients do */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (small_buffers) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        printf("FAIL: cannot connect to port %d: %s\n", port, strerror(errno));
        exit(1);
    }
    return fd;
}

/* Connects and runs the handshake (blocking); the server verified like
 * a CNPG client does: its certificate is the trust anchor, name
 * barman-cloud. */
static client client_open(const client_opts *o)
{
    client c = {.fd = tcp_connect(), .ctx = SSL_CTX_new(TLS_client_method())};
    SSL_CTX_set_verify(c.ctx, SSL_VERIFY_PEER, NULL);
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(c.ctx), X509_V_FLAG_PARTIAL_CHAIN);
    if (SSL_CTX_load_verify_locations(c.ctx, o->trust, NULL) != 1 ||
        (o->max_version && SSL_CTX_set_max_proto_version(c.ctx, o->max_version) != 1) ||
        (o->cert && (SSL_CTX_use_certificate_chain_file(c.ctx, o->cert) != 1 ||
                     SSL_CTX_use_PrivateKey_file(c.ctx, o->key, SSL_FILETYPE_PEM) != 1))) {
        ERR_print_errors_fp(stdout);
        printf("FAIL: cannot set up the TLS client\n");
        exit(1);
    }
    c.ssl = SSL_new(c.ctx);
    SSL_set_fd(c.ssl, c.fd);
    SSL_set_tlsext_host_name(c.ssl, "barman-cloud");
    SSL_set1_host(c.ssl, "barman-cloud");
    if (o->alpn)
        SSL_set_alpn_protos(c.ssl, (const unsigned char *)o->alpn, (unsigned)strlen(o->alpn));
    c.connected = SSL_connect(c.ssl) == 1;
    return c;
}

static void client_close(client *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    close(c->fd);
    ERR_clear_error();
}

/* The server took the connection: the handshake completed and its first
 * HTTP/2 frame (SETTINGS) came, not an alert. */
static int accepted(client *c)
{
    uint8_t buf[64];
    size_t n = 0;
    return c->connected && SSL_read_ex(c->ssl, buf, sizeof buf, &n) == 1 && n >= 9 &&
           buf[3] == NGHTTP2_SETTINGS;
}

/* The server refused during the handshake: it failed or the first read
 * got an alert or the end of the connection (not a time-out). */
static int refused(client *c)
{
    uint8_t buf[64];
    size_t n = 0;
    if (c->connected && SSL_read_ex(c->ssl, buf, sizeof buf, &n) == 1)
        return 0;
    int e = SSL_get_error(c->ssl, 0);
    return e == SSL_ERROR_SSL || e == SSL_ERROR_ZERO_RETURN ||
           (e == SSL_ERROR_SYSCALL && errno != EAGAIN && errno != EWOULDBLOCK);
}

static int open_accepted(const client_opts *o)
{
    client c = client_open(o);
    int ok = accepted(&c);
    client_close(&c);
    return ok;
}

static int open_refused(const client_opts *o)
{
    client c = client_open(o);
    int ok = refused(&c);
    client_close(&c);
    return ok;
}

/* The server certificate a handshake presents is want. */
static int presents(const client_opts *o, X509 *want)
{
    client c = client_open(o);
    X509 *got = c.connected ? SSL_get1_peer_certificate(c.ssl) : NULL;
    unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
    unsigned alen = 0, blen = 0;
    int same = got && X509_digest(got, EVP_sha256(), a, &alen) == 1 &&
               X509_digest(want, EVP_sha256(), b, &blen) == 1 && alen == blen &&
               memcmp(a, b, alen) == 0;
    X509_free(got);
    int ok = same && accepted(&c);
    client_close(&c);
    return ok;
}

/* bc_grpc_io over the client's SSL (non-blocking from here on). */
static ssize_t ssl_read(void *ctx, uint8_t *buf, size_t len)
{
    size_t n = 0;
    ERR_clear_error();
    if (SSL_read_ex(ctx, buf, len, &n) == 1)
        return (ssize_t)n;
    switch (SSL_get_error(ctx, 0)) {
    case SSL_ERROR_WANT_READ: return BC_GRPC_IO_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return BC_GRPC_IO_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN: return 0;
    default: return BC_GRPC_IO_ERROR;
    }
}

static ssize_t ssl_write(void *ctx, const uint8_t *buf, size_t len)
{
    size_t n = 0;
    ERR_clear_error();
    if (SSL_write_ex(ctx, buf, len, &n) == 1)
        return (ssize_t)n;
    switch (SSL_get_error(ctx, 0)) {
    case SSL_ERROR_WANT_READ: return BC_GRPC_IO_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return BC_GRPC_IO_WANT_WRITE;
    default: return BC_GRPC_IO_ERROR;
    }
}

static int ssl_pending(void *ctx)
{
    return SSL_has_pending(ctx);
}

/* The server's end of the client's connection (the server runs in this
 * process): its socket whose peer is our local address; -1 if none. */
static int server_end(int client_fd)
{
    struct sockaddr_in mine, peer;
    socklen_t len = sizeof mine;
    if (getsockname(client_fd, (struct sockaddr *)&mine, &len) != 0)
        return -1;
    for (int fd = 3; fd < 1024; fd++) {
        len = sizeof peer;
        if (fd != client_fd && getpeername(fd, (struct sockaddr *)&peer, &len) == 0 &&
            peer.sin_family == AF_INET && peer.sin_port == mine.sin_port &&
            peer.sin_addr.s_addr == mine.sin_addr.s_addr)
            return fd;
    }
    return -1;
}

/* One echo call of len bytes over a fresh TLS connection. */
static int tls_echo(const client_opts *o, size_t len)
{
    client c = client_open(o);
    if (!c.connected) {
        client_close(&c);
        return 0;
    }
    if (small_buffers) {
        /* The server's writes block too, not only the client's: its send
         * buffer would otherwise grow to hold the whole answer. */
        int fd = server_end(c.fd), small = 4096;
        CHECK(fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    }
    fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    /* OpenSSL retries a blocked write from nghttp2's buffer, which may move */
    SSL_set_mode(c.ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    uint8_t *req = malloc(len ? len : 1), *resp = NULL;
    for (size_t i = 0; i < len; i++)
        req[i] = (uint8_t)(i * 7 + 1);
    bc_grpc_io io = {.fd = c.fd, .ctx = c.ssl, .read = ssl_read, .write = ssl_write,
                     .pending = ssl_pending, .scheme = "https", .authority = "barman-cloud",
                     .name = "barman-cloud"};
    int status = -2;
    size_t resp_len = 0;
    char msg[256];
    bc_status st = bc_grpc_unary_io(&io, "/test.Echo/Echo", req, len, 5000, &status, msg,
                                    sizeof msg, &resp, &resp_len);
    int ok = st == BC_OK && status == 0 && resp_len == len && memcmp(resp, req, len) == 0;
    if (!ok)
        printf("tls echo of %zu bytes: %s (status %d)\n", len, st ? bc_error_msg() : msg, status);
    free(req);
    free(resp);
    client_close(&c);
    return ok;
}

/* ---- TLS tests ------------------------------------------------------------ */

static void test_start_errors(const bc_grpc_tls *good)
{
    bc_grpc_server *s = NULL;
    const char *bad[] = {"9090", "127.0.0.1", "[::1", "[::1]", "::1:9090", "127.0.0.1:",
                         "127.0.0.1:65536", "127.0.0.1:90x", "[]:9090"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        bc_status st = bc_grpc_server_new_tcp(bad[i], good, &s);
        CHECK(st == BC_ERR_USAGE && strstr(bc_error_msg(), bad[i]));
        CHECK(s == NULL);
    }

    bc_grpc_tls missing = *good;
    missing.cert_file = absent;
    CHECK(bc_grpc_server_new_tcp("127.0.0.1:0", &missing, &s) == BC_ERR_USAGE);
    CHECK(strstr(bc_error_msg(), missing.cert_file) != NULL);
    missing = *good;
    missing.client_ca_file = absent;
    CHECK(bc_grpc_server_new_tcp("127.0.0.1:0", &missing, &s) == BC_ERR_USAGE);
    CHECK(strstr(bc_error_msg(), missing.client_ca_file) != NULL);
    missing = *good;
    put_file(junk, "not PEM\n");
    missing.key_file = junk;
    CHECK(bc_grpc_server_new_tcp("127.0.0.1:0", &missing, &s) == BC_ERR_USAGE);
    CHECK(strstr(bc_error_msg(), missing.key_file) != NULL);
    missing = *good;
    missing.key_file = client_key; /* another certificate's key */
    CHECK(bc_grpc_server_new_tcp("127.0.0.1:0", &missing, &s) == BC_ERR_USAGE);
    CHECK(strstr(bc_error_msg(), "does not match") != NULL);
    CHECK(bc_grpc_server_new_tcp("127.0.0.1:0", NULL, &s) == BC_ERR_USAGE);

    /* every address: dual-stack or IPv4, IPv4 loopback reaches it */
    CHECK(bc_grpc_server_new_tcp(":0", good, &s) == BC_OK);
    if (s) {
        port = bc_grpc_server_port(s);
        CHECK(port > 0);
        int fd = tcp_connect();
        close(fd);
        bc_grpc_server_free(s);
    }
    /* IPv6 loopback, where the host has IPv6 */
    if (bc_grpc_server_new_tcp("[::1]:0", good, &s) == BC_OK) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT,
                                 .sin6_port = htons((uint16_t)bc_grpc_server_port(s))};
        int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(bc_grpc_server_port(s) > 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
        close(fd);
        bc_grpc_server_free(s);
    } else {
        CHECK(strstr(bc_error_msg(), "[::1]:0") != NULL);
    }
    /* a port in use */
    CHECK(bc_grpc_server_new_tcp("127.0.0.1:0", good, &s) == BC_OK);
    if (s) {
        char again[32];
        snprintf(again, sizeof again, "127.0.0.1:%d", bc_grpc_server_port(s));
        bc_grpc_server *t = NULL;
        CHECK(bc_grpc_server_new_tcp(again, good, &t) == BC_ERR_IO);
        CHECK(strstr(bc_error_msg(), again) != NULL);
        bc_grpc_server_free(s);
    }
}

static void test_tls(void)
{
    pair server1 = make_pair(0, "barman-cloud", "serverAuth",
                             "DNS:barman-cloud,DNS:localhost,IP:127.0.0.1");
    pair server2 = make_pair(1, "barman-cloud", "serverAuth",
                             "DNS:barman-cloud,DNS:localhost,IP:127.0.0.1");
    pair good = make_pair(1, "barman-cloud-client", "clientAuth", NULL);
    pair other = make_pair(0, "barman-cloud-client", "clientAuth", NULL); /* same name */
    /* a client certificate from a CA (cert-manager's CA issuer), itself the client CA */
    pair issuer = make_cert(0, "some CA", NULL, NULL, NULL);
    pair issued = make_cert(0, "barman-cloud-client", "clientAuth", NULL, &issuer);
    put_pem(srv_crt, server1.cert, NULL);
    put_pem(srv_key, NULL, server1.key);
    put_pem(ca, good.cert, NULL);
    put_pem(client_crt, good.cert, NULL);
    put_pem(client_key, NULL, good.key);
    put_pem(other_crt, other.cert, NULL);
    put_pem(other_key, NULL, other.key);
    put_pem(issued_crt, issued.cert, NULL);
    put_pem(issued_key, NULL, issued.key);
    put_pem(trust1, server1.cert, NULL);
    put_pem(trust2, server2.cert, NULL);

    bc_grpc_tls tls = {srv_crt, srv_key, ca};
    test_start_errors(&tls);

    /* short, so that the silent connection's end is seen in the test */
    bc_grpc_handshake_timeout_ms = 1000;
    bc_grpc_server *s = NULL;
    CHECK(bc_grpc_server_new_tcp("127.0.0.1:0", &tls, &s) == BC_OK);
    if (!s) {
        printf("FAIL: %s\n", bc_error_msg());
        exit(1);
    }
    port = bc_grpc_server_port(s);
    CHECK(port > 0);
    running r;
    start(&r, s);

    const client_opts ok = {client_crt, client_key, 0, "\x02h2", trust1};

    /* a TCP probe (kubelet's readiness check): connects and goes, quietly */
    close(tcp_connect());

    /* the right certificate: TLS 1.3, ALPN h2, then HTTP/2 */
    client c = client_open(&ok);
    CHECK(c.connected);
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(c.ssl, &alpn, &alpn_len);
    CHECK(alpn_len == 2 && memcmp(alpn, "h2", 2) == 0);
    CHECK(SSL_version(c.ssl) == TLS1_3_VERSION);
    CHECK(accepted(&c));
    client_close(&c);
    CHECK(tls_echo(&ok, 11));
    CHECK(tls_echo(&ok, 0));
    /* many records, flow control both ways, writes that block on both sides */
    small_buffers = 1;
    CHECK(tls_echo(&ok, 1 << 20));
    small_buffers = 0;

    /* refused during the handshake */
    client_opts o = ok;
    o.cert = o.key = NULL;
    CHECK(open_refused(&o));
    o = ok;
    o.cert = other_crt;
    o.key = other_key;
    CHECK(open_refused(&o));
    o = ok;
    o.max_version = TLS1_2_VERSION;
    CHECK(open_refused(&o));
    o = ok;
    o.alpn = "\x08http/1.1";
    CHECK(open_refused(&o));
    o = ok;
    o.alpn = NULL; /* no ALPN: HTTP/2 with prior knowledge */
    CHECK(open_accepted(&o));

    /* A silent connection and one stopped inside its ClientHello hold no
     * one up, and are closed at the handshake deadline. */
    double t0 = now_ms();
    int silent = tcp_connect(), partial = tcp_connect();
    CHECK(send(partial, "\x16\x03\x01\x02\x00\x01", 6, 0) == 6);
    CHECK(open_accepted(&ok));
    CHECK(tls_echo(&ok, 100));
    char byte;
    CHECK(recv(silent, &byte, 1, 0) == 0); /* the server closed it */
    CHECK(recv(partial, &byte, 1, 0) <= 0);
    double waited = now_ms() - t0;
    CHECK(waited > 900 && waited < 4000);
    close(silent);
    close(partial);

    /* many connections in a row: nothing leaks, each one succeeds */
    int all = 1;
    for (int i = 0; i < 20; i++)
        all &= open_accepted(&ok);
    CHECK(all);
    const char *bench = getenv("BC_GRPC_TLS_BENCH");
    if (bench && atoi(bench) > 0) {
        int n = atoi(bench);
        double b0 = now_ms();
        for (int i = 0; i < n; i++)
            all &= open_accepted(&ok);
        printf("%d TLS handshakes (client and server in this process): %.2f ms each\n", n,
               (now_ms() - b0) / n);
    }

    /* rotation, without a restart */
    CHECK(presents(&ok, server1.cert));
    put_pem(srv_key, NULL, server2.key); /* a moment when the pair does not match */
    o = ok;
    o.trust = trust2;
    CHECK(open_refused(&o));
    put_pem(srv_crt, server2.cert, NULL);
    CHECK(presents(&o, server2.cert));
    CHECK(tls_echo(&o, 5));
    /* a new client CA: the other client now, not the first one */
    put_pem(ca, other.cert, NULL);
    CHECK(open_refused(&o));
    client_opts other_ok = o;
    other_ok.cert = other_crt;
    other_ok.key = other_key;
    CHECK(open_accepted(&other_ok));
    /* an unreadable CA file fails the connection, not the server */
    unlink(ca);
    CHECK(open_refused(&other_ok));
    put_pem(ca, other.cert, NULL);
    CHECK(open_accepted(&other_ok));
    /* Not self-signed, its issuer unknown: the leaf in the CA file is the
     * trust anchor all the same, as in Go's ClientCAs pool. */
    put_pem(ca, issued.cert, NULL);
    client_opts issued_ok = o;
    issued_ok.cert = issued_crt;
    issued_ok.key = issued_key;
    CHECK(open_accepted(&issued_ok));
    CHECK(tls_echo(&issued_ok, 3));

    stop(&r);
    free_pair(&server1);
    free_pair(&server2);
    free_pair(&good);
    free_pair(&other);
    free_pair(&issuer);
    free_pair(&issued);
    bc_grpc_handshake_timeout_ms = 10000;
}

/* ---- the unary client on a Unix socket ------------------------------------ */

/* A peer that accepts one connection and answers HTTP/1.1. */
static void *http1_peer(void *arg)
{
    int fd = accept(*(int *)arg, NULL, NULL);
    if (fd >= 0) {
        const char answer[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        if (send(fd, answer, sizeof answer - 1, MSG_NOSIGNAL) < 0)
            perror("send");
        close(fd);
    }
    return NULL;
}

static int unix_listener(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path)
        exit(1);
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0) {
        printf("FAIL: cannot listen on %s\n", path);
        exit(1);
    }
    return fd;
}

static void test_unary(void)
{
    bc_grpc_server *s = NULL;
    CHECK(bc_grpc_server_new(sock, &s) == BC_OK);
    if (!s)
        exit(1);
    CHECK(bc_grpc_server_port(s) == 0);
    running r;
    start(&r, s);

    int status = -2;
    char msg[256];
    uint8_t *resp = NULL;
    size_t len = 0;
    const uint8_t hello[] = "\x0a\x05hello";
    CHECK(bc_grpc_unary(sock, "/test.Echo/Echo", hello, sizeof hello - 1, 2000, &status, msg,
                        sizeof msg, &resp, &len) == BC_OK);
    CHECK(status == 0 && len == sizeof hello - 1 && resp && memcmp(resp, hello, len) == 0);
    CHECK(strcmp(msg, "") == 0);
    free(resp);

    size_t big = (size_t)3 << 20;
    uint8_t *req = malloc(big);
    for (size_t i = 0; i < big; i++)
        req[i] = (uint8_t)(i >> 9);
    CHECK(bc_grpc_unary(sock, "/test.Echo/Echo", req, big, 5000, &status, NULL, 0, &resp,
                        &len) == BC_OK);
    CHECK(status == 0 && len == big && resp && memcmp(resp, req, big) == 0);
    free(resp);
    free(req);

    CHECK(bc_grpc_unary(sock, "/test.Echo/Nope", hello, 3, 2000, &status, msg, sizeof msg, &resp,
                        &len) == BC_OK);
    CHECK(status == BC_GRPC_UNIMPLEMENTED && resp == NULL && len == 0);
    CHECK(strstr(msg, "/test.Echo/Nope") != NULL);

    CHECK(bc_grpc_unary(sock, "/test.Echo/Refuse", NULL, 0, 2000, &status, msg, sizeof msg,
                        NULL, NULL) == BC_OK);
    CHECK(status == BC_GRPC_INVALID_ARGUMENT);
    CHECK(strcmp(msg, "bad 100% \xc3\xa9t\xc3\xa9\nnext") == 0);
    char small[8];
    CHECK(bc_grpc_unary(sock, "/test.Echo/Refuse", NULL, 0, 2000, &status, small, sizeof small,
                        NULL, NULL) == BC_OK);
    CHECK(strcmp(small, "bad 100") == 0);
    stop(&r);

    /* nothing listens: the socket file is gone with the server */
    CHECK(bc_grpc_unary(sock, "/test.Echo/Echo", hello, 3, 2000, &status, msg, sizeof msg, &resp,
                        &len) == BC_ERR_NET);
    CHECK(status == -1 && resp == NULL && strstr(bc_error_msg(), "cannot connect") != NULL);

    /* a listener that never answers: the time limit, all in all */
    int quiet = unix_listener(sock);
    double t0 = now_ms();
    CHECK(bc_grpc_unary(sock, "/test.Echo/Echo", hello, 3, 300, &status, msg, sizeof msg, &resp,
                        &len) == BC_ERR_NET);
    double waited = now_ms() - t0;
    CHECK(status == -1 && strstr(bc_error_msg(), "timed out") != NULL);
    CHECK(waited >= 295 && waited < 2000);
    close(quiet);
    unlink(sock);

    /* a peer that is not HTTP/2 */
    int l = unix_listener(sock);
    pthread_t peer;
    CHECK(pthread_create(&peer, NULL, http1_peer, &l) == 0);
    CHECK(bc_grpc_unary(sock, "/test.Echo/Echo", hello, 3, 2000, &status, msg, sizeof msg, &resp,
                        &len) == BC_ERR_NET);
    CHECK(status == -1 && strstr(bc_error_msg(), "not gRPC") != NULL);
    pthread_join(peer, NULL);
    close(l);
    unlink(sock);

    char toolong[200];
    memset(toolong, 'x', sizeof toolong - 1);
    toolong[sizeof toolong - 1] = '\0';
    CHECK(bc_grpc_unary(toolong, "/test.Echo/Echo", hello, 3, 2000, &status, msg, sizeof msg,
                        &resp, &len) == BC_ERR_USAGE);
    CHECK(status == -1);
}

/* Lines of the log holding what. */
static int log_lines(const char *log, const char *what)
{
    int n = 0;
    for (const char *p = log; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    name_files();
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, NULL);
    /* The server's log goes to a file, read at the end: one line per
     * refused connection, the warnings only. */
    fflush(stderr);
    int saved_stderr = dup(2);
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (saved_stderr < 0 || log_fd < 0 || dup2(log_fd, 2) < 0) {
        perror("log");
        return 1;
    }
    close(log_fd);
    bc_log_init("test_grpc_tls", BC_LOG_TEXT, 0);

    test_tls();
    test_unary();

    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    FILE *f = fopen(log_path, "r");
    static char log[65536];
    size_t n = f ? fread(log, 1, sizeof log - 1, f) : 0;
    if (f)
        fclose(f);
    log[n] = '\0';
    /* the mismatched pair and the missing CA file: one line each, naming the file */
    CHECK(log_lines(log, "tls.key does not match the certificate") == 1);
    CHECK(log_lines(log, "cannot use the client CA") == 1);
    CHECK(log_lines(log, "client-ca.crt: No such file or directory") == 1);
    /* the other refusals, one line each: no certificate, a foreign one
     * (twice: the second time after the CA changed), TLS 1.2, ALPN */
    CHECK(log_lines(log, "TLS handshake from 127.0.0.1:") == 5);
    CHECK(log_lines(log, "does not verify against") == 2);
    CHECK(log_lines(log, "\n") == 7);
    if (failed || getenv("BC_GRPC_TLS_LOG"))
        fputs(log, stdout);

    check_remove_tree(dir);
    return check_report("grpc_tls");
}
