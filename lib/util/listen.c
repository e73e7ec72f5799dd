/* Listening TCP sockets (see listen.h). */
#include "util/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* "host:port", "[v6]:port" or ":port" into host (no brackets, may be
 * empty) and port; 0, or -1 if it is not that. */
static int split_address(const char *address, char *host, size_t hostlen, char *port,
                         size_t portlen)
{
    const char *colon = strrchr(address, ':');
    if (!colon)
        return -1;
    const char *h = address;
    size_t n = (size_t)(colon - address);
    if (n && address[0] == '[') {
        if (address[n - 1] != ']' || n < 3)
            return -1;
        h++;
        n -= 2;
    } else if (memchr(address, ':', n) || memchr(address, '[', n) || memchr(address, ']', n)) {
        return -1; /* an IPv6 address needs its brackets */
    }
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (n >= hostlen || plen == 0 || plen > 5 || strspn(p, "0123456789") != plen ||
        atoi(p) > 65535 || plen >= portlen)
        return -1;
    memcpy(host, h, n);
    host[n] = '\0';
    memcpy(port, p, plen + 1);
    return 0;
}

/* A listening socket bound to ai; -1 with errno. IPv6 sockets also take
 * IPv4 (dual-stack) where the system allows it. */
static int listen_on(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, sa, len) != 0 || listen(fd, 64) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

bc_status bc_listen_tcp(const char *address, int *fd_out, int *port_out)
{
    int fd = -1;
    char host[256], port[8];
    if (split_address(address, host, sizeof host, port, sizeof port) != 0)
        return bc_error(BC_ERR_USAGE, "cannot read the listen address \"%s\" (expected "
                        "host:port, [ipv6]:port or :port)", address);
    int err = 0;
    if (!*host) {
        /* All addresses: IPv6 dual-stack, or IPv4 where IPv6 is off. */
        struct sockaddr_in6 any6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT,
                                    .sin6_port = htons((uint16_t)atoi(port))};
        struct sockaddr_in any4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY),
                                   .sin_port = htons((uint16_t)atoi(port))};
        fd = listen_on((struct sockaddr *)&any6, sizeof any6);
        if (fd < 0 && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL))
            fd = listen_on((struct sockaddr *)&any4, sizeof any4);
        err = errno;
    } else {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *ai = NULL;
        int rc = getaddrinfo(host, port, &hints, &ai);
        if (rc != 0)
            return bc_error(BC_ERR_USAGE, "cannot listen on %s: %s", address,
                            gai_strerror(rc));
        for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
            fd = listen_on(a->ai_addr, a->ai_addrlen);
            if (fd < 0)
                err = errno;
        }
        freeaddrinfo(ai);
    }
    if (fd < 0)
        return bc_error(err == EADDRNOTAVAIL ? BC_ERR_USAGE : BC_ERR_IO,
                        "cannot listen on %s: %s", address, strerror(err));
    struct sockaddr_storage bound;
    socklen_t len = sizeof bound;
    *fd_out = fd;
    *port_out = 0;
    if (getsockname(fd, (struct sockaddr *)&bound, &len) == 0)
        *port_out = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    return BC_OK;
}

