/* HTTP/1.1 replies from the API server, as bytes: where the headers end,
 * and whether the body is complete (Content-Length, chunked, or the end of
 * the connection). Apart from transport.c so it can be tested and fuzzed
 * without a server. */
#include "kube/kube_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

size_t bc_kube_header_end(const char *buf, size_t len)
{
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    return 0;
}

/* The value of header `name` in a header block, or NULL. */
static const char *header_value(const char *head, size_t len, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    const char *end = head + len;
    for (const char *line = memchr(head, '\n', len); line && line + 1 < end;
         line = memchr(line + 1, '\n', (size_t)(end - line - 1))) {
        const char *p = line + 1;
        if ((size_t)(end - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            p += nlen + 1;
            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
            const char *e = memchr(p, '\r', (size_t)(end - p));
            *vlen = e ? (size_t)(e - p) : 0;
            return p;
        }
    }
    return NULL;
}

/* Decodes the chunked body in[0..n) into out (room for n bytes).
 * 1 complete (*outlen set), 0 more is needed, -1 malformed. in is
 * NUL-terminated, so the sizes can be read with strtoull. */
static int dechunk(const char *in, size_t n, char *out, size_t *outlen)
{
    size_t i = 0, o = 0;
    for (;;) {
        const char *eol = memchr(in + i, '\n', n - i);
        if (!eol)
            return 0;
        char *after;
        errno = 0;
        unsigned long long size = strtoull(in + i, &after, 16);
        if (after == in + i || errno || size > BC_KUBE_REPLY_LIMIT)
            return -1;
        i = (size_t)(eol - in) + 1;
        if (size == 0) { /* trailers, if any, then a blank line */
            for (;;) {
                eol = memchr(in + i, '\n', n - i);
                if (!eol)
                    return 0;
                size_t line = (size_t)(eol - in) - i;
                i += line + 1;
                if (line <= 1)
                    break;
            }
            *outlen = o;
            return 1;
        }
        if (n - i < size + 2)
            return 0;
        if (in[i + size] != '\r' || in[i + size + 1] != '\n')
            return -1;
        memcpy(out + o, in + i, size);
        o += size;
        i += size + 2;
    }
}

int bc_kube_reply_complete(char *buf, size_t head, size_t len, int eof, size_t *body_len)
{
    size_t te_len = 0, cl_len = 0, body = len - head;
    const char *te = header_value(buf, head, "Transfer-Encoding", &te_len);
    const char *cl = header_value(buf, head, "Content-Length", &cl_len);
    /* chunked wins over a Content-Length (RFC 9112, 6.3) */
    if (te && te_len >= 7 && strncasecmp(te + te_len - 7, "chunked", 7) == 0) {
        /* a chunked body ends with a blank line: decode only then */
        if (!eof && (body < 5 || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0))
            return 0;
        char *plain = malloc(body + 1);
        if (!plain)
            return -2;
        int done = dechunk(buf + head, body, plain, &body);
        if (done == 1) {
            memcpy(buf + head, plain, body);
            *body_len = body;
        }
        free(plain);
        return done;
    }
    if (cl) {
        unsigned long long want = strtoull(cl, NULL, 10);
        if (body < want)
            return 0;
        *body_len = (size_t)want;
        return 1;
    }
    *body_len = body; /* no framing: the reply ends with the connection */
    return eof;
}
