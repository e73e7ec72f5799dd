/* Health probe endpoint (see health.h). One connection at a time: the
 * kubelet probes once every few seconds. */
#include "plugin/health.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/listen.h"

struct bc_health {
    int fd;
    int port;
    atomic_int ready, stop;
    pthread_t thread;
};

static void answer(bc_health *h, int fd)
{
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char req[1024];
    size_t n = 0;
    /* the request line is all that matters; read until it is complete */
    while (n < sizeof req - 1 && !memchr(req, '\n', n)) {
        ssize_t r = recv(fd, req + n, sizeof req - 1 - n, 0);
        if (r <= 0)
            return;
        n += (size_t)r;
    }
    req[n] = '\0';
    int code = 404;
    const char *body = "not found\n";
    if (strncmp(req, "GET /healthz ", 13) == 0 || strncmp(req, "GET /healthz?", 13) == 0) {
        code = 200;
        body = "ok\n";
    } else if (strncmp(req, "GET /readyz ", 12) == 0 || strncmp(req, "GET /readyz?", 12) == 0) {
        code = atomic_load(&h->ready) ? 200 : 503;
        body = code == 200 ? "ok\n" : "not serving yet (waiting to lead)\n";
    }
    char out[256];
    int len = snprintf(out, sizeof out,
                       "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                       "Connection: close\r\n\r\n%s",
                       code, code == 200 ? "OK" : code == 503 ? "Service Unavailable" : "Not Found",
                       strlen(body), body);
    send(fd, out, (size_t)len, MSG_NOSIGNAL);
}

static void *serve(void *arg)
{
    bc_health *h = arg;
    while (!atomic_load(&h->stop)) {
        struct pollfd p = {.fd = h->fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        answer(h, fd);
        close(fd);
    }
    return NULL;
}

bc_status bc_health_start(const char *address, bc_health **out)
{
    *out = NULL;
    if (!address || !*address || strcmp(address, "0") == 0)
        return BC_OK;
    int fd, port;
    bc_status st = bc_listen_tcp(address, &fd, &port);
    if (st != BC_OK)
        return bc_error_context(st, "health probes");
    bc_health *h = calloc(1, sizeof *h);
    if (!h) {
        close(fd);
        return bc_oom();
    }
    h->fd = fd;
    h->port = port;
    /* signals go to the main thread, whose loops check for them */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(&h->thread, NULL, serve, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        close(fd);
        free(h);
        return bc_error(BC_ERR_INTERNAL, "cannot start the health probe thread");
    }
    *out = h;
    return BC_OK;
}

int bc_health_port(const bc_health *h)
{
    return h ? h->port : 0;
}

void bc_health_set_ready(bc_health *h, int ready)
{
    if (h)
        atomic_store(&h->ready, ready);
}

void bc_health_stop(bc_health *h)
{
    if (!h)
        return;
    atomic_store(&h->stop, 1);
    pthread_join(h->thread, NULL);
    close(h->fd);
    free(h);
}
