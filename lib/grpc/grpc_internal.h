/* Inside lib/grpc: what server.c and client.c expose to each other and
 * to the unit tests, not to the tools. */
#ifndef BC_GRPC_INTERNAL_H
#define BC_GRPC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/status.h"

/* How long a TCP connection may take to finish its TLS handshake before
 * it is closed (10 s); read when a server is created, so that a test can
 * shorten it instead of waiting. */
extern int bc_grpc_handshake_timeout_ms;

/* What an I/O callback returns besides a byte count (> 0) or 0 (the peer
 * closed; reads only). */
enum {
    BC_GRPC_IO_ERROR = -1,
    BC_GRPC_IO_WANT_READ = -2,  /* try again once fd is readable */
    BC_GRPC_IO_WANT_WRITE = -3, /* try again once fd is writable */
};

/* A connection the caller has set up (a Unix socket here, TLS in the
 * tests): non-blocking reads and writes over fd, which the call polls. */
typedef struct bc_grpc_io {
    int fd;
    void *ctx;
    ssize_t (*read)(void *ctx, uint8_t *buf, size_t len);
    ssize_t (*write)(void *ctx, const uint8_t *buf, size_t len);
    /* Whether read has bytes at once although fd may not be readable
     * (TLS: SSL_has_pending); NULL when it never has. */
    int (*pending)(void *ctx);
    const char *scheme;    /* :scheme, "http" or "https" */
    const char *authority; /* :authority */
    const char *name;      /* the server, for messages */
} bc_grpc_io;

/* The body of a unary call or its answer is one gRPC message frame: a
 * flag byte (0, or 1 when compressed), the message length (4 bytes,
 * big-endian), the message (message.c; the fuzz target fuzz_grpc_frame
 * calls it). */
enum {
    BC_GRPC_FRAME_OK = 0,
    BC_GRPC_FRAME_MALFORMED = -1,  /* under 5 bytes, or a flag other than 0 and 1 */
    BC_GRPC_FRAME_COMPRESSED = -2, /* flag 1: compression is not supported */
    BC_GRPC_FRAME_NOT_ONE = -3,    /* the length is not that of the rest */
};
/* One of the above; *msg_len is the message's length (0 unless OK); the
 * message starts at body + 5. */
int bc_grpc_frame_parse(const uint8_t *body, size_t len, size_t *msg_len);
/* The prefix of an uncompressed message of msg_len (< 4 GiB) bytes. */
void bc_grpc_frame_prefix(uint8_t prefix[5], size_t msg_len);

/* bc_grpc_unary (client.h) over io, timeout_ms from now; io stays open
 * (one call: the HTTP/2 session ends with it). */
bc_status bc_grpc_unary_io(const bc_grpc_io *io, const char *method, const uint8_t *req,
                           size_t req_len, int timeout_ms, int *grpc_status, char *message,
                           size_t message_len, uint8_t **resp, size_t *resp_len);

#endif
