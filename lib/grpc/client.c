/* One unary gRPC call over HTTP/2 (see client.h): a client session of
 * nghttp2 fed by one poll() loop until the call's stream closes or the
 * time is up. The loop works over any non-blocking connection given as
 * read/write callbacks (grpc_internal.h); bc_grpc_unary supplies a Unix
 * socket. */
#include "grpc/client.h"
#include "grpc/grpc_internal.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "grpc/server.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct call {
    const bc_grpc_io *io;
    int32_t stream_id;
    uint8_t prefix[5];       /* the request's gRPC frame header */
    const uint8_t *req;
    size_t req_len, sent;    /* sent counts the prefix too */
    int http_status;         /* :status; 0 = none yet */
    int is_grpc;             /* content-type application/grpc... */
    int grpc_status;         /* -1 = no grpc-status (yet) */
    char grpc_message[1024]; /* as sent: percent-encoded */
    uint8_t *body;           /* response DATA: gRPC frames */
    size_t body_len;
    int too_large;
    int closed;              /* the stream closed */
    uint32_t reset;          /* its HTTP/2 error code */
    short read_wait, write_wait; /* what the last read or write waits for */
    char h2_error[256];      /* nghttp2's first complaint about the peer */
} call;

/* ---- nghttp2 callbacks ---------------------------------------------------- */

static ssize_t on_send(nghttp2_session *session, const uint8_t *data, size_t length, int flags,
                       void *user_data)
{
    (void)session;
    (void)flags;
    call *c = user_data;
    ssize_t n = c->io->write(c->io->ctx, data, length);
    c->write_wait = n == BC_GRPC_IO_WANT_READ ? POLLIN : n == BC_GRPC_IO_WANT_WRITE ? POLLOUT : 0;
    if (n == BC_GRPC_IO_WANT_READ || n == BC_GRPC_IO_WANT_WRITE)
        return NGHTTP2_ERR_WOULDBLOCK;
    return n > 0 ? n : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static ssize_t read_request(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                            uint32_t *flags, nghttp2_data_source *source, void *user_data)
{
    (void)session;
    (void)id;
    (void)source;
    call *c = user_data;
    size_t n = 0;
    while (n < length && c->sent < c->req_len + 5) {
        size_t chunk;
        if (c->sent < 5) {
            chunk = 5 - c->sent < length - n ? 5 - c->sent : length - n;
            memcpy(buf + n, c->prefix + c->sent, chunk);
        } else {
            size_t off = c->sent - 5;
            chunk = c->req_len - off < length - n ? c->req_len - off : length - n;
            memcpy(buf + n, c->req + off, chunk);
        }
        n += chunk;
        c->sent += chunk;
    }
    if (c->sent == c->req_len + 5)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* A decimal status; -1 if it is not one. */
static int parse_status(const uint8_t *v, size_t n)
{
    if (n == 0 || n > 9)
        return -1;
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

/* Response headers, trailers, or both in one (trailers-only). */
static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)session;
    (void)flags;
    call *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != c->stream_id)
        return 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0)
        c->http_status = parse_status(value, valuelen);
    else if (namelen == 12 && memcmp(name, "content-type", 12) == 0)
        c->is_grpc = valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0;
    else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
        c->grpc_status = parse_status(value, valuelen);
    else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0)
        snprintf(c->grpc_message, sizeof c->grpc_message, "%.*s", (int)valuelen, value);
    return 0;
}

static int on_data(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
                   size_t len, void *user_data)
{
    (void)session;
    (void)flags;
    call *c = user_data;
    if (id != c->stream_id || c->too_large)
        return 0;
    if (c->body_len + len > BC_GRPC_MAX_MESSAGE + 5) {
        c->too_large = 1;
        return 0;
    }
    uint8_t *body = realloc(c->body, c->body_len + len);
    if (!body)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    memcpy(body + c->body_len, data, len);
    c->body = body;
    c->body_len += len;
    return 0;
}

static int on_close(nghttp2_session *session, int32_t id, uint32_t error_code, void *user_data)
{
    (void)session;
    call *c = user_data;
    if (id == c->stream_id) {
        c->closed = 1;
        c->reset = error_code;
    }
    return 0;
}

/* nghttp2 says why it ends a session: a peer that does not speak HTTP/2
 * at all shows here first. */
static int on_error(nghttp2_session *session, int lib_error_code, const char *msg, size_t len,
                    void *user_data)
{
    (void)session;
    (void)lib_error_code;
    call *c = user_data;
    if (!c->h2_error[0])
        snprintf(c->h2_error, sizeof c->h2_error, "%.*s", (int)len, msg);
    return 0;
}

/* ---- the call ------------------------------------------------------------- */

/* grpc-message is percent-encoded (server.c's encode_message). */
static void decode_message(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = in; *p && o + 1 < outlen; p++) {
        unsigned hi, lo;
        if (p[0] == '%' && p[1] && p[2] && sscanf(p + 1, "%1x%1x", &hi, &lo) == 2) {
            out[o++] = (char)(hi << 4 | lo);
            p += 2;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/* grpc-timeout: at most 8 digits, so whole seconds beyond that. */
static void format_timeout(int64_t ms, char out[16])
{
    if (ms <= 99999999)
        snprintf(out, 16, "%lldm", (long long)ms);
    else
        snprintf(out, 16, "%lldS", (long long)(ms / 1000));
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}

static nghttp2_session *session_new(call *c)
{
    nghttp2_session_callbacks *cb;
    nghttp2_session *session = NULL;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return NULL;
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_session_callbacks_set_error_callback2(cb, on_error);
    int rc = nghttp2_session_client_new(&session, cb, c);
    nghttp2_session_callbacks_del(cb);
    return rc == 0 ? session : NULL;
}

/* Reads what io has into the session: 0, 1 at the end of the connection,
 * -1 when it cannot be read, -2 when the bytes are not HTTP/2. */
static int pump_in(call *c, nghttp2_session *session)
{
    uint8_t buf[16384];
    do {
        ssize_t n = c->io->read(c->io->ctx, buf, sizeof buf);
        c->read_wait = n == BC_GRPC_IO_WANT_WRITE ? POLLOUT : 0;
        if (n == BC_GRPC_IO_WANT_READ || n == BC_GRPC_IO_WANT_WRITE)
            return 0;
        if (n == 0)
            return 1;
        if (n < 0)
            return -1;
        if (nghttp2_session_mem_recv(session, buf, (size_t)n) < 0)
            return -2;
    } while (!c->closed && c->io->pending && c->io->pending(c->io->ctx));
    return 0;
}

/* The connection ended before the answer: a peer that is not HTTP/2
 * shows in what nghttp2 saw first. */
static bc_status ended(const call *c, const char *method)
{
    if (c->h2_error[0])
        return bc_error(BC_ERR_NET, "%s on %s: not gRPC (HTTP/2: %s)", method, c->io->name,
                        c->h2_error);
    return bc_error(BC_ERR_NET, "%s on %s: the connection closed before the answer", method,
                    c->io->name);
}

static bc_status not_http2(const call *c, const char *method)
{
    return bc_error(BC_ERR_NET, "%s on %s: not gRPC (the answer is not HTTP/2)", method,
                    c->io->name);
}

/* Runs the session until the stream closes; BC_OK, or BC_ERR_NET. */
static bc_status exchange(call *c, nghttp2_session *session, const char *method,
                          int64_t deadline)
{
    const bc_grpc_io *io = c->io;
    for (;;) {
        if (nghttp2_session_send(session) != 0 && !c->closed) {
            /* A peer that is not HTTP/2 may answer and close before the
             * request is out: what it already sent says why. */
            if (pump_in(c, session) == -2)
                return not_http2(c, method);
            return ended(c, method);
        }
        if (c->closed)
            return BC_OK;
        if (!nghttp2_session_want_read(session) && !nghttp2_session_want_write(session))
            return ended(c, method);
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return bc_error(BC_ERR_NET, "%s on %s: timed out", method, io->name);
        if (!(io->pending && io->pending(io->ctx))) {
            short ev = POLLIN;
            if (c->read_wait == POLLOUT ||
                (nghttp2_session_want_write(session) && c->write_wait != POLLIN))
                ev |= POLLOUT;
            struct pollfd p = {.fd = io->fd, .events = ev};
            int rc = poll(&p, 1, (int)left);
            if (rc < 0 && errno != EINTR)
                return bc_error(BC_ERR_NET, "%s on %s: poll: %s", method, io->name,
                                strerror(errno));
            if (rc <= 0)
                continue;
        }
        int in = pump_in(c, session);
        if (in == -2)
            return not_http2(c, method);
        if (in != 0 && !c->closed)
            return ended(c, method);
    }
}

/* The answer of a closed stream: BC_OK with grpc_status, or BC_ERR_NET. */
static bc_status verdict(call *c, const char *method)
{
    const char *name = c->io->name;
    if (c->grpc_status < 0 && c->reset != NGHTTP2_NO_ERROR)
        return bc_error(BC_ERR_NET, "%s on %s: the server reset the call (HTTP/2 error %u)",
                        method, name, c->reset);
    if (c->http_status != 200 || !c->is_grpc)
        return bc_error(BC_ERR_NET, "%s on %s: not gRPC (HTTP status %d%s)", method, name,
                        c->http_status, c->is_grpc ? "" : ", not application/grpc");
    if (c->grpc_status < 0)
        return bc_error(BC_ERR_NET, "%s on %s: not gRPC (no grpc-status)", method, name);
    if (c->grpc_status != BC_GRPC_OK)
        return BC_OK;
    if (c->too_large)
        return bc_error(BC_ERR_NET, "%s on %s: the answer is larger than the 4 MiB limit",
                        method, name);
    size_t len;
    int frame = bc_grpc_frame_parse(c->body, c->body_len, &len);
    if (frame != BC_GRPC_FRAME_OK)
        return bc_error(BC_ERR_NET, "%s on %s: not gRPC (%s)", method, name,
                        frame == BC_GRPC_FRAME_COMPRESSED ? "a compressed answer"
                                                          : "not one response message");
    return BC_OK;
}

bc_status bc_grpc_unary_io(const bc_grpc_io *io, const char *method, const uint8_t *req,
                           size_t req_len, int timeout_ms, int *grpc_status, char *message,
                           size_t message_len, uint8_t **resp, size_t *resp_len)
{
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    *grpc_status = -1;
    if (message && message_len)
        *message = '\0';
    if (resp)
        *resp = NULL;
    if (resp_len)
        *resp_len = 0;
    if (req_len > BC_GRPC_MAX_MESSAGE)
        return bc_error(BC_ERR_USAGE, "%s: request larger than the 4 MiB limit", method);

    call c = {.io = io, .req = req, .req_len = req_len, .grpc_status = -1};
    bc_grpc_frame_prefix(c.prefix, req_len);
    nghttp2_session *session = session_new(&c);
    if (!session)
        return bc_error(BC_ERR_INTERNAL, "cannot set up HTTP/2 (nghttp2)");
    char timeout[16];
    format_timeout(timeout_ms > 0 ? timeout_ms : 1, timeout);
    const nghttp2_nv headers[] = {
        NV(":method", "POST"), NV(":scheme", io->scheme), NV(":path", method),
        NV(":authority", io->authority), NV("te", "trailers"),
        NV("content-type", "application/grpc"), NV("grpc-timeout", timeout),
    };
    nghttp2_data_provider data = {.read_callback = read_request};
    bc_status st = BC_OK;
    if (nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, NULL, 0) != 0 ||
        (c.stream_id = nghttp2_submit_request(session, NULL, headers,
                                              sizeof headers / sizeof *headers, &data, NULL)) < 0)
        st = bc_error(BC_ERR_INTERNAL, "%s: cannot submit the request (nghttp2)", method);
    if (st == BC_OK)
        st = exchange(&c, session, method, deadline);
    if (st == BC_OK)
        st = verdict(&c, method);
    if (st == BC_OK) {
        if (message && message_len)
            decode_message(c.grpc_message, message, message_len);
        if (c.grpc_status == BC_GRPC_OK && resp) {
            size_t len = c.body_len - 5;
            if (!(*resp = malloc(len ? len : 1))) {
                st = bc_oom();
            } else {
                memcpy(*resp, c.body + 5, len);
                if (resp_len)
                    *resp_len = len;
            }
        }
        if (st == BC_OK)
            *grpc_status = c.grpc_status;
    }
    nghttp2_session_del(session);
    free(c.body);
    return st;
}

/* ---- over a Unix socket --------------------------------------------------- */

static ssize_t unix_read(void *ctx, uint8_t *buf, size_t len)
{
    ssize_t n = recv(*(int *)ctx, buf, len, 0);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? BC_GRPC_IO_WANT_READ
                                                                        : BC_GRPC_IO_ERROR;
    return n;
}

static ssize_t unix_write(void *ctx, const uint8_t *buf, size_t len)
{
    ssize_t n = send(*(int *)ctx, buf, len, MSG_NOSIGNAL);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? BC_GRPC_IO_WANT_WRITE
                                                                        : BC_GRPC_IO_ERROR;
    return n == 0 ? BC_GRPC_IO_WANT_WRITE : n;
}

/* A connected non-blocking socket, or -1 with the reason in why. */
static int unix_connect(const struct sockaddr_un *addr, int64_t deadline, const char **why)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) == 0)
        return fd;
    int err = errno;
    if (err == EINPROGRESS) {
        int64_t left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        socklen_t len = sizeof err;
        int rc = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (rc == 0)
            err = ETIMEDOUT;
        else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (!err)
            return fd;
    }
    close(fd);
    /* a full backlog on a Unix socket is EAGAIN, not EINPROGRESS */
    *why = err == EAGAIN ? "the server is not accepting connections" : strerror(err);
    return -1;
}

bc_status bc_grpc_unary(const char *socket_path, const char *method, const uint8_t *req,
                        size_t req_len, int timeout_ms, int *grpc_status, char *message,
                        size_t message_len, uint8_t **resp, size_t *resp_len)
{
    int64_t start = now_ms();
    *grpc_status = -1;
    if (message && message_len)
        *message = '\0';
    if (resp)
        *resp = NULL;
    if (resp_len)
        *resp_len = 0;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(socket_path) >= sizeof addr.sun_path)
        return bc_error(BC_ERR_USAGE, "socket path %s is too long", socket_path);
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path);
    const char *why = NULL;
    int fd = unix_connect(&addr, start + timeout_ms, &why);
    if (fd < 0)
        return bc_error(BC_ERR_NET, "%s: cannot connect to %s: %s", method, socket_path, why);
    /* gRPC's own clients name a Unix socket's authority "localhost". */
    bc_grpc_io io = {.fd = fd, .ctx = &fd, .read = unix_read, .write = unix_write,
                     .scheme = "http", .authority = "localhost", .name = socket_path};
    int64_t left = start + timeout_ms - now_ms();
    bc_status st = bc_grpc_unary_io(&io, method, req, req_len, left > 0 ? (int)left : 0,
                                    grpc_status, message, message_len, resp, resp_len);
    close(fd);
    return st;
}
