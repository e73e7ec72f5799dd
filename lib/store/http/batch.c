#include "store/http/batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

void bc_http_batch_init(bc_http_batch *b)
{
    memset(b, 0, sizeof *b);
    unsigned char rnd[12];
    if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
        unsigned long t = (unsigned long)time(NULL) ^ (unsigned long)(uintptr_t)b;
        memcpy(rnd, &t, sizeof t < sizeof rnd ? sizeof t : sizeof rnd);
    }
    int n = snprintf(b->boundary, sizeof b->boundary, "batch_");
    for (size_t i = 0; i < sizeof rnd; i++)
        n += snprintf(b->boundary + n, sizeof b->boundary - (size_t)n, "%02x", rnd[i]);
    snprintf(b->content_type, sizeof b->content_type, "multipart/mixed; boundary=%s", b->boundary);
}

void bc_http_batch_add(bc_http_batch *b, const char *method, const char *path,
                       const bc_http_headers *headers)
{
    bc_buffer_addf(&b->body, "--%s\r\nContent-Type: application/http\r\n"
                   "Content-Transfer-Encoding: binary\r\nContent-ID: %zu\r\n\r\n%s %s HTTP/1.1\r\n",
                   b->boundary, b->n, method, path);
    for (size_t h = 0; headers && h < headers->n; h++)
        bc_buffer_addf(&b->body, "%s: %s\r\n", headers->items[h].name, headers->items[h].value);
    bc_buffer_adds(&b->body, "Content-Length: 0\r\n\r\n");
    b->n++;
}

bc_status bc_http_batch_finish(bc_http_batch *b)
{
    bc_buffer_addf(&b->body, "--%s--\r\n", b->boundary);
    return b->body.failed ? bc_oom() : BC_OK;
}

void bc_http_batch_free(bc_http_batch *b)
{
    bc_buffer_free(&b->body);
}

/* The first occurrence of needle in [p, end), or NULL. */
static const char *find(const char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    for (; p && (size_t)(end - p) >= n; p++)
        if (memcmp(p, needle, n) == 0)
            return p;
    return NULL;
}

size_t bc_http_batch_answers(const char *body, size_t len, const char *code_header,
                             bc_http_batch_answer *out, size_t max)
{
    const char *end = body ? body + len : NULL;
    size_t seen = 0;
    for (const char *p = body ? find(body, end, "HTTP/1.1 ") : NULL; p;) {
        const char *next = find(p + 9, end, "HTTP/1.1 ");
        const char *stop = next ? next : end;
        if (seen < max) {
            bc_http_batch_answer *a = &out[seen];
            a->status = 0;
            for (const char *d = p + 9; d < stop && d < p + 12 && *d >= '0' && *d <= '9'; d++)
                a->status = a->status * 10 + (*d - '0');
            a->code[0] = '\0';
            /* the header, at the start of a line of this answer */
            size_t hn = code_header ? strlen(code_header) : 0;
            for (const char *l = p; hn && l && l < stop; l = find(l, stop, "\n")) {
                l = *l == '\n' ? l + 1 : l;
                if ((size_t)(stop - l) > hn && strncasecmp(l, code_header, hn) == 0 && l[hn] == ':') {
                    const char *v = l + hn + 1;
                    while (v < stop && (*v == ' ' || *v == '\t'))
                        v++;
                    size_t k = 0;
                    while (v + k < stop && v[k] != '\r' && v[k] != '\n' && k + 1 < sizeof a->code)
                        k++;
                    memcpy(a->code, v, k);
                    a->code[k] = '\0';
                    break;
                }
            }
        }
        seen++;
        p = next;
    }
    return seen;
}
