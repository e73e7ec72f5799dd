/* See fake_http.h. Included by the unit tests that need it (the build
 * compiles each tests/unit/test_*.c alone), so everything here is static
 * to its includer. */
#include "fake_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct fake_http {
    int listen_fd;
    pthread_t thread;
    int stop_pipe[2];
    fake_reply script[FAKE_MAX];
    size_t nscript, next;
    fake_request seen[FAKE_MAX];
    size_t nseen;
};

static int read_request(int fd, fake_request *r)
{
    char buf[16384];
    size_t n = 0;
    char *end = NULL;
    while (!end && n + 1 < sizeof buf) {
        ssize_t got = read(fd, buf + n, sizeof buf - 1 - n);
        if (got <= 0)
            return -1;
        n += (size_t)got;
        buf[n] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end)
        return -1;
    memset(r, 0, sizeof *r);
    sscanf(buf, "%15s %1023s", r->method, r->target);
    size_t head = (size_t)(end - buf) + 4;
    snprintf(r->headers, sizeof r->headers, "%.*s", (int)head, buf);
    /* the body: Content-Length bytes (the tests send no chunked bodies) */
    const char *cl = strcasestr(r->headers, "\r\ncontent-length:");
    size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0, have = n - head;
    while (have < want) {
        ssize_t got = read(fd, buf, sizeof buf < want - have ? sizeof buf : want - have);
        if (got <= 0)
            return -1;
        have += (size_t)got;
    }
    r->body_len = want;
    return 0;
}

static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* Serves one connection; 0 to keep it open for the next request. */
static int serve_one(fake_http *f, int fd)
{
    fake_request r;
    if (read_request(fd, &r) != 0)
        return -1;
    if (f->nseen < FAKE_MAX)
        f->seen[f->nseen++] = r;
    fake_reply none = {599, NULL, "no more scripted replies", -1};
    const fake_reply *rep = f->next < f->nscript ? &f->script[f->next++] : &none;
    size_t blen = rep->body ? strlen(rep->body) : 0;
    char head[4096];
    int hn = snprintf(head, sizeof head, "HTTP/1.1 %d Scripted\r\nContent-Length: %zu\r\n%s\r\n",
                      rep->status, blen, rep->headers ? rep->headers : "");
    write_all(fd, head, (size_t)hn);
    if (strcmp(r.method, "HEAD") == 0)
        return 0;
    size_t send = rep->cut_after >= 0 && (size_t)rep->cut_after < blen ? (size_t)rep->cut_after
                                                                       : blen;
    write_all(fd, rep->body ? rep->body : "", send);
    return send < blen ? -1 : 0;
}

/* Every open connection is watched at once: the clients of a store and
 * of its credentials keep their own connections alive side by side. */
static void *peer_main(void *arg)
{
    fake_http *f = arg;
    struct pollfd p[18];
    size_t n = 2;
    p[0] = (struct pollfd){f->listen_fd, POLLIN, 0};
    p[1] = (struct pollfd){f->stop_pipe[0], POLLIN, 0};
    for (;;) {
        if (poll(p, n, -1) < 0 || p[1].revents)
            break;
        for (size_t i = 2; i < n; i++) {
            if (!p[i].revents)
                continue;
            if (serve_one(f, p[i].fd) != 0) {
                close(p[i].fd);
                p[i--] = p[--n];
            }
        }
        if (p[0].revents & POLLIN) {
            int fd = accept(f->listen_fd, NULL, NULL);
            if (fd >= 0 && n < sizeof p / sizeof p[0])
                p[n++] = (struct pollfd){fd, POLLIN, 0};
            else if (fd >= 0)
                close(fd);
        }
    }
    for (size_t i = 2; i < n; i++)
        close(p[i].fd);
    return NULL;
}

fake_http *fake_http_start(const fake_reply *script, size_t n, int *port)
{
    fake_http *f = calloc(1, sizeof *f);
    if (!f || n > FAKE_MAX)
        return NULL;
    memcpy(f->script, script, n * sizeof *script);
    f->nscript = n;
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(f->listen_fd, 8) != 0 ||
        getsockname(f->listen_fd, (struct sockaddr *)&a, &alen) != 0 || pipe(f->stop_pipe) != 0 ||
        pthread_create(&f->thread, NULL, peer_main, f) != 0) {
        free(f);
        return NULL;
    }
    *port = ntohs(a.sin_port);
    return f;
}

void fake_http_stop(fake_http *f)
{
    if (f->stop_pipe[1] >= 0 && write(f->stop_pipe[1], "x", 1) == 1)
        pthread_join(f->thread, NULL);
    close(f->listen_fd);
    close(f->stop_pipe[0]);
    close(f->stop_pipe[1]);
    f->stop_pipe[1] = -1;
}

size_t fake_http_count(const fake_http *f)
{
    return f->nseen;
}

const fake_request *fake_http_request(const fake_http *f, size_t i)
{
    return i < f->nseen ? &f->seen[i] : NULL;
}

const char *fake_http_header(const fake_http *f, size_t i, const char *name, char *out,
                             size_t outlen)
{
    out[0] = '\0';
    if (i >= f->nseen)
        return out;
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\r\n%s:", name);
    const char *h = strcasestr(f->seen[i].headers, pattern);
    if (!h)
        return out;
    h += strlen(pattern);
    while (*h == ' ')
        h++;
    size_t n = strcspn(h, "\r\n");
    snprintf(out, outlen, "%.*s", (int)n, h);
    return out;
}

void fake_http_free(fake_http *f)
{
    free(f);
}
