/* Listening TCP sockets from an address as Go servers (and so upstream's
 * flags) write them: ":9090" (every address: IPv6 dual-stack where the
 * system allows it, else IPv4), "0.0.0.0:9090", "127.0.0.1:0",
 * "[::1]:9090", "host:9090" (resolved once, the first address that binds).
 * Used by the gRPC server and the operator side's health probes. */
#ifndef BC_UTIL_LISTEN_H
#define BC_UTIL_LISTEN_H

#include "util/status.h"

/* A non-blocking, close-on-exec listening socket in *fd and the port it
 * got (the system's choice for port 0) in *port. A bad address is
 * BC_ERR_USAGE naming it; a port that cannot be bound BC_ERR_IO. */
bc_status bc_listen_tcp(const char *address, int *fd, int *port);

#endif
