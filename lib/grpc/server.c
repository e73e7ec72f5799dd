/* gRPC over h2c on a Unix socket (see server.h). One poll() loop; each
 * connection has an nghttp2 server session; each stream collects its
 * request until END_STREAM, then a call starts and its handler replies
 * now or later. A call and its stream can part: the stream closes when
 * the client goes, the call lives until the handler replies. */
#include "grpc/server.h"

#include <errno.h>
#include <stdarg.h>
#include <time.h>
#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"

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
    char *path;
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

bc_status bc_grpc_server_new(const char *path, bc_grpc_server **out)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path)
        return bc_error(BC_ERR_USAGE, "socket path %s is too long", path);
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    bc_grpc_server *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return bc_error(BC_ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < MAX_WATCHES; i++)
        s->watches[i].fd = -1;
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

bc_status bc_grpc_server_add(bc_grpc_server *s, const char *path, bc_grpc_handler fn, void *ctx)
{
    if (s->nmethods == MAX_METHODS)
        return bc_error(BC_ERR_INTERNAL, "too many gRPC methods");
    if (!(s->methods[s->nmethods].path = strdup(path)))
        return bc_error(BC_ERR_INTERNAL, "out of memory");
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
    st->out[0] = 0;
    st->out[1] = (uint8_t)(body_len >> 24);
    st->out[2] = (uint8_t)(body_len >> 16);
    st->out[3] = (uint8_t)(body_len >> 8);
    st->out[4] = (uint8_t)body_len;
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

    uint32_t len = st->in_len < 5 ? 0 :
        (uint32_t)st->in[1] << 24 | (uint32_t)st->in[2] << 16 | (uint32_t)st->in[3] << 8 | st->in[4];
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
    else if (st->in_len < 5 || st->in[0] > 1)
        fail(st, BC_GRPC_INVALID_ARGUMENT, "%s: malformed gRPC message frame", st->path);
    else if (st->in[0] == 1)
        fail(st, BC_GRPC_UNIMPLEMENTED, "%s: compressed messages are not supported", st->path);
    else if ((size_t)len != st->in_len - 5)
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
    close(c->fd);
    free(c);
    s->conns[i] = NULL;
}

static void conn_accept(bc_grpc_server *s)
{
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
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
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0) {
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
        close(fd);
        free(c);
        return;
    }
    s->conns[i] = c;
}

/* Reads what the socket has and lets nghttp2 answer; 0 = keep it open. */
static int conn_io(conn *c, short revents)
{
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

/* Stops taking connections; the socket file goes so no client tries. */
static void start_draining(bc_grpc_server *s)
{
    close(s->listen_fd);
    s->listen_fd = -1;
    unlink(s->path);
    if (s->ncalls || s->holds > 0)
        bc_log_info("draining: waiting for %zu call(s) and %d background task(s)", s->ncalls,
                    s->holds);
}

/* Whether some connection still has frames to send (the last replies). */
static int unsent(const bc_grpc_server *s)
{
    for (size_t i = 0; i < MAX_CONNECTIONS; i++)
        if (s->conns[i] && nghttp2_session_want_write(s->conns[i]->session))
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
        int timeout = expire_calls(s);
        struct pollfd fds[MAX_FDS];
        size_t owner[MAX_FDS];
        nfds_t n = 0, nconn;
        if (s->listen_fd >= 0)
            fds[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
        nfds_t first_conn = n;
        for (size_t i = 0; i < MAX_CONNECTIONS; i++)
            if (s->conns[i]) {
                short ev = POLLIN;
                if (nghttp2_session_want_write(s->conns[i]->session))
                    ev |= POLLOUT;
                owner[n] = i;
                fds[n++] = (struct pollfd){.fd = s->conns[i]->fd, .events = ev};
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
    unlink(s->path);
    free(s->path);
    free(s);
}
