/* A small gRPC server: unary calls over HTTP/2 without TLS (h2c, prior
 * knowledge, as gRPC clients speak on a Unix socket), one poll() loop,
 * nghttp2 for the HTTP/2 framing. Messages are opaque bytes here: the
 * handlers decode and encode them (protobuf-c).
 *
 * What a client sees: grpc-status and grpc-message trailers on every
 * call; UNIMPLEMENTED for a method nobody registered; RESOURCE_EXHAUSTED
 * for a request larger than the limit; INVALID_ARGUMENT for a malformed
 * gRPC frame; a connection whose HTTP/2 is malformed is closed, and the
 * server goes on. */
#ifndef BC_GRPC_SERVER_H
#define BC_GRPC_SERVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

/* gRPC status codes (grpc/status.h numbering). */
enum {
    BC_GRPC_OK = 0,
    BC_GRPC_INVALID_ARGUMENT = 3,
    BC_GRPC_RESOURCE_EXHAUSTED = 8,
    BC_GRPC_UNIMPLEMENTED = 12,
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

typedef void (*bc_grpc_handler)(void *ctx, const uint8_t *request, size_t len,
                                bc_grpc_reply *reply);

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
/* Registers "/package.Service/Method". */
bc_status bc_grpc_server_add(bc_grpc_server *s, const char *method, bc_grpc_handler fn,
                             void *ctx);
/* Serves until *stop becomes non-zero (checked at least every second). */
bc_status bc_grpc_server_run(bc_grpc_server *s, volatile sig_atomic_t *stop);
/* Closes every connection and removes the socket file. */
void bc_grpc_server_free(bc_grpc_server *s);

#endif
