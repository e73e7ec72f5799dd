/* A minimal gRPC client: one unary call over a Unix socket, HTTP/2 without
 * TLS (h2c, prior knowledge), nghttp2's client session. For
 * `bc-plugin healthcheck unix`, the startup probe that calls
 * Identity.Probe on the sidecar's socket; not a general client (one call
 * per connection, no retries, no compression). */
#ifndef BC_GRPC_CLIENT_H
#define BC_GRPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

/* One unary call: POSTs method ("/package.Service/Method") on the Unix
 * socket at socket_path with the serialized request, and waits up to
 * timeout_ms (> 0) in all, connecting included; the server is told the
 * time left as grpc-timeout.
 *
 * BC_OK when a valid gRPC answer came, whatever its status:
 * *grpc_status is the call's grpc-status; message (when not NULL) gets
 * grpc-message, percent-decoded and cut to message_len; on status 0,
 * *resp is the one response message (malloc'd, *resp_len bytes; free it),
 * else NULL and 0 (resp and resp_len may be NULL when the reply does not
 * matter).
 *
 * Otherwise *grpc_status is -1 and the call returns BC_ERR_NET, the
 * message naming why: cannot connect, timed out, connection closed, not
 * gRPC (no HTTP/2, no grpc-status, a malformed response message); or
 * BC_ERR_USAGE for a socket path too long for a Unix socket address. */
bc_status bc_grpc_unary(const char *socket_path, const char *method, const uint8_t *req,
                        size_t req_len, int timeout_ms, int *grpc_status, char *message,
                        size_t message_len, uint8_t **resp, size_t *resp_len);

#endif
