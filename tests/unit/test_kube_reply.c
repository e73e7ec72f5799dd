/* lib/kube/reply.c: finding where an API server's HTTP/1.1 reply ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube_internal.h"

#include "check.h"

/* bc_kube_reply_complete on a copy of text; the body (if complete) in out. */
static int complete(const char *text, int eof, char *out, size_t outlen)
{
    size_t len = strlen(text), body = 0;
    char *buf = malloc(len + 1);
    memcpy(buf, text, len + 1);
    size_t head = bc_kube_header_end(buf, len);
    int r = head ? bc_kube_reply_complete(buf, head, len, eof, &body) : 0;
    if (r == 1)
        snprintf(out, outlen, "%.*s", (int)body, buf + head);
    free(buf);
    return r;
}

int main(void)
{
    char out[256];
    CHECK(bc_kube_header_end("HTTP/1.1 200 OK\r\nA: b\r\n", 23) == 0);
    CHECK(bc_kube_header_end("HTTP/1.1 200 OK\r\n\r\n{}", 21) == 19);

    /* Content-Length: complete once that many bytes came, extra ignored */
    CHECK(complete("HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n{\"a\":", 0, out, sizeof out) == 0);
    CHECK(complete("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}", 0, out, sizeof out) == 1);
    CHECK(strcmp(out, "{\"a\":1}") == 0);
    CHECK(complete("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}xyz", 0, out, sizeof out) == 1);
    CHECK(strcmp(out, "{}") == 0);
    CHECK(complete("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}", 1, out, sizeof out) == 0);

    /* chunked, with extensions and trailers, in pieces */
    static const char chunked[] =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3;x=1\r\n{\"a\r\n4\r\n\":1}\r\n0\r\nX-Trailer: end\r\n\r\n";
    CHECK(complete(chunked, 0, out, sizeof out) == 1);
    CHECK(strcmp(out, "{\"a\":1}") == 0);
    char part[sizeof chunked];
    for (size_t n = strlen(chunked) - 1; n > 50; n--) {
        snprintf(part, sizeof part, "%.*s", (int)n, chunked);
        CHECK(complete(part, 0, out, sizeof out) == 0);
    }
    CHECK(complete("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, out,
                   sizeof out) == 1);
    CHECK(strcmp(out, "") == 0);
    /* malformed: a size that is not hex, data longer than its size */
    CHECK(complete("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
                   0, out, sizeof out) == -1);
    CHECK(complete("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{}\r\n0\r\n\r\n",
                   0, out, sizeof out) == -1);
    /* cut short at the end of the connection */
    CHECK(complete("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{}", 1, out,
                   sizeof out) == 0);

    /* both headers: chunked wins, whatever the Content-Length says */
    CHECK(complete("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"
                   "2\r\n{}\r\n0\r\n\r\n", 0, out, sizeof out) == 1);
    CHECK(strcmp(out, "{}") == 0);

    /* no framing: the body is whatever came before the connection closed */
    CHECK(complete("HTTP/1.0 200 OK\r\n\r\n{}", 0, out, sizeof out) == 0);
    CHECK(complete("HTTP/1.0 200 OK\r\n\r\n{}", 1, out, sizeof out) == 1);
    CHECK(strcmp(out, "{}") == 0);

    return check_report("kube_reply");
}
