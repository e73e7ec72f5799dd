/* A scripted HTTP/1.1 peer for the C unit tests: a thread on 127.0.0.1
 * that answers each connection's requests with the next scripted reply, in
 * order, and records what it was asked. A reply can be cut after some body
 * bytes (the connection closed mid-body), which is what retry, resume and
 * abort paths need. Test code only: one request at a time, no TLS. */
#ifndef BC_TESTS_FAKE_HTTP_H
#define BC_TESTS_FAKE_HTTP_H

#include <stddef.h>

#define FAKE_MAX 32

typedef struct fake_reply {
    int status;
    const char *headers;          /* extra header lines, each ending "\r\n" */
    const char *body;             /* NULL: empty */
    long cut_after;               /* >= 0: close after this many body bytes */
} fake_reply;

typedef struct fake_request {
    char method[16];
    char target[1024];            /* path and query */
    char headers[4096];           /* the header block as received */
    size_t body_len;
} fake_request;

typedef struct fake_http fake_http;

/* Starts the peer with n scripted replies; *port gets its port. A request
 * beyond the script gets a 599 reply. */
fake_http *fake_http_start(const fake_reply *script, size_t n, int *port);
/* Stops it; the requests it saw stay readable until fake_http_free(). */
void fake_http_stop(fake_http *f);
size_t fake_http_count(const fake_http *f);
const fake_request *fake_http_request(const fake_http *f, size_t i);
/* The value of header name (case-insensitive) in request i, "" if none. */
const char *fake_http_header(const fake_http *f, size_t i, const char *name, char *out,
                             size_t outlen);
void fake_http_free(fake_http *f);

#endif
