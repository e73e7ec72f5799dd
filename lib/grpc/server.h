/* A small gRPC server: unary calls over HTTP/2, one poll() loop, nghttp2
 * for the HTTP/2 framing. Two transports: h2c (prior knowledge, no TLS) on
 * a Unix socket, as the CNPG instance manager talks to a sidecar; and TLS
 * on TCP with client certificates (mutual TLS), as the CNPG operator talks
 * to a plugin's operator side. Messages are opaque bytes here: the
 * handlers decode and encode them (protobuf-c).
 *
 * A handler answers at once or later: it gets a call and finishes it with
 * bc_grpc_call_reply() whenever its work (a child process) is done. The
 * loop also watches other file descriptors and runs a tick, so that work
 * needs no thread. A call's grpc-timeout is honoured: at the deadline the
 * client gets DEADLINE_EXCEEDED and the call's cancel hook runs; the same
 * happens when the client goes away. Stopping drains: no new calls are
 * taken (UNAVAILABLE), the loop returns once every call has been finished.
 *
 * What a client sees: grpc-status and grpc-message trailers on every
 * call; UNIMPLEMENTED for a method nobody registered; RESOURCE_EXHAUSTED
 * for a request larger than the limit; INVALID_ARGUMENT for a malformed
 * gRPC frame; a connection whose HTTP/2 is malformed is closed, and the
 * server goes on. On TCP, a client that fails the TLS handshake (no
 * certificate, one the client CA does not verify, TLS below 1.3, ALPN
 * without "h2") is refused before any HTTP/2; so is one that has not
 * finished its handshake within 10 s. A server is used from one thread. */
#ifndef BC_GRPC_SERVER_H
#define BC_GRPC_SERVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

/* gRPC status codes (grpc/status.h numbering). */
enum {
    BC_GRPC_OK = 0,
    BC_GRPC_CANCELLED = 1,
    BC_GRPC_INVALID_ARGUMENT = 3,
    BC_GRPC_DEADLINE_EXCEEDED = 4,
    BC_GRPC_NOT_FOUND = 5,
    BC_GRPC_ALREADY_EXISTS = 6,
    BC_GRPC_PERMISSION_DENIED = 7,
    BC_GRPC_RESOURCE_EXHAUSTED = 8,
    BC_GRPC_FAILED_PRECONDITION = 9,
    BC_GRPC_OUT_OF_RANGE = 11,
    BC_GRPC_UNIMPLEMENTED = 12,
    BC_GRPC_INTERNAL = 13,
    BC_GRPC_UNAVAILABLE = 14,
    BC_GRPC_DATA_LOSS = 15,
    BC_GRPC_UNAUTHENTICATED = 16,
};

#define BC_GRPC_MAX_MESSAGE (4 * 1024 * 1024)

/* A handler's answer: a serialized response message (malloc'd, taken by
 * the server) with status BC_GRPC_OK, or a status and one-line message. */
typedef struct bc_grpc_reply {
    int status;
    char message[512];
    uint8_t *body;
    size_t body_len;
} bc_grpc_reply;

/* One call in progress, from the handler's start to its reply. */
typedef struct bc_grpc_call bc_grpc_call;

/* Must finish the call with bc_grpc_call_reply(), now or later. */
typedef void (*bc_grpc_handler)(void *ctx, bc_grpc_call *call, const uint8_t *request,
                                size_t len);

/* Sends the reply (or drops it when the client has gone or the deadline
 * passed) and frees the call. reply->body is taken. */
void bc_grpc_call_reply(bc_grpc_call *call, bc_grpc_reply *reply);
/* Shorthand for an error reply (a printf format). */
void bc_grpc_call_fail(bc_grpc_call *call, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Runs fn(arg) once if the call is abandoned before its reply (deadline,
 * client gone); the handler must still reply, and that reply is dropped. */
void bc_grpc_call_on_cancel(bc_grpc_call *call, void (*fn)(void *arg), void *arg);
/* The method path, for messages. */
const char *bc_grpc_call_method(const bc_grpc_call *call);

/* Protobuf glue for handlers (protobuf-c): decodes a request, or sets
 * INVALID_ARGUMENT on reply and returns NULL (free with
 * protobuf_c_message_free_unpacked); packs a response into reply. */
struct ProtobufCMessage;
struct ProtobufCMessageDescriptor;
struct ProtobufCMessage *bc_grpc_decode(const struct ProtobufCMessageDescriptor *type,
                                        const uint8_t *request, size_t len, bc_grpc_reply *reply);
void bc_grpc_reply_message(bc_grpc_reply *reply, const struct ProtobufCMessage *msg);

typedef struct bc_grpc_server bc_grpc_server;

/* Listens on a Unix socket at path (an old socket file there is replaced). */
bc_status bc_grpc_server_new(const char *path, bc_grpc_server **out);

/* The TLS files of a TCP server (paths; copied by bc_grpc_server_new_tcp). */
typedef struct bc_grpc_tls {
    const char *cert_file;      /* server certificate chain, PEM */
    const char *key_file;       /* its private key, PEM (not encrypted) */
    const char *client_ca_file; /* PEM: a client must present a certificate that verifies
                                   against it; every certificate in it is a trust anchor,
                                   so it may be the client's own self-signed certificate */
} bc_grpc_tls;
/* Listens on a TCP address ":9090", "0.0.0.0:9090", "127.0.0.1:0",
 * "[::]:9090", "[::1]:9090" (an empty host is every address: IPv6
 * dual-stack if possible, else IPv4; a host name is resolved once, now).
 * TLS 1.3 only, a client certificate required and verified against
 * client_ca_file, ALPN "h2" (a client offering no ALPN gets HTTP/2 all the
 * same), no session resumption. The three files are read again for every
 * connection, so a rotated certificate (cert-manager) is used without a
 * restart; a connection for which they cannot be read or do not match is
 * closed (one warning line naming the file) and the server goes on.
 * Errors: a bad address or files that are unreadable or do not match now
 * are BC_ERR_USAGE naming the address or file; a socket that cannot be
 * bound (port in use) is BC_ERR_IO. */
bc_status bc_grpc_server_new_tcp(const char *address, const bc_grpc_tls *tls,
                                 bc_grpc_server **out);
/* The TCP port listened on (the one the system chose for ":0"); 0 for a
 * Unix socket. */
int bc_grpc_server_port(const bc_grpc_server *s);
/* Registers "/package.Service/Method". */
bc_status bc_grpc_server_add(bc_grpc_server *s, const char *method, bc_grpc_handler fn,
                             void *ctx);
/* Watches fd for input (and hang-up) in the loop; fn gets poll's revents.
 * One watch per fd; unwatch before closing it. */
typedef void (*bc_grpc_watch_fn)(void *ctx, int fd, short revents);
bc_status bc_grpc_server_watch(bc_grpc_server *s, int fd, bc_grpc_watch_fn fn, void *ctx);
void bc_grpc_server_unwatch(bc_grpc_server *s, int fd);
/* fn(ctx) runs on every turn of the loop, at least once a second. */
void bc_grpc_server_on_tick(bc_grpc_server *s, void (*fn)(void *ctx), void *ctx);
/* Serves until *stop becomes non-zero (checked at least every second),
 * then drains: closes the listening socket, waits for the calls in
 * progress (not for connections still in their TLS handshake). */
bc_status bc_grpc_server_run(bc_grpc_server *s, volatile sig_atomic_t *stop);
/* Background work (not a call) the drain must also wait for: +1 when it
 * starts, -1 when it ends. */
void bc_grpc_server_hold(bc_grpc_server *s, int delta);
/* Whether the server is draining (stop seen): start no new work. */
int bc_grpc_server_draining(const bc_grpc_server *s);

/* Closes every connection and removes the socket file (Unix). */
void bc_grpc_server_free(bc_grpc_server *s);

#endif
