#include "util/buffer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bc_status bc_buffer_append(bc_buffer *b, const void *data, size_t len)
{
    if (b->failed)
        return b->failed;
    /* A limit bounds what is read from outside (an object, a file): going
     * past it is bad input, not a failure of ours, so callers that skip
     * unreadable input (the catalog skips an unreadable backup.info) skip
     * this one too. */
    if (b->limit && b->len + len > b->limit)
        return b->failed = bc_error(BC_ERR_DATA, "larger than the %zu bytes accepted", b->limit);
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p)
            return b->failed = bc_oom();
        b->data = p;
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return BC_OK;
}

int bc_buffer_sink(void *ctx, const void *data, size_t len)
{
    return (int)bc_buffer_append(ctx, data, len);
}

void bc_buffer_adds(bc_buffer *b, const char *s)
{
    bc_buffer_append(b, s, strlen(s));
}

void bc_buffer_addc(bc_buffer *b, char c)
{
    bc_buffer_append(b, &c, 1);
}

void bc_buffer_addf(bc_buffer *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        if (!b->failed)
            b->failed = bc_error(BC_ERR_INTERNAL, "cannot format text");
        return;
    }
    if ((size_t)n < sizeof small) {
        bc_buffer_append(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        if (!b->failed)
            b->failed = bc_oom();
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bc_buffer_append(b, big, (size_t)n);
    free(big);
}

const char *bc_buffer_str(const bc_buffer *b)
{
    return b->data ? (const char *)b->data : "";
}

char *bc_buffer_take(bc_buffer *b)
{
    if (!b->failed && !b->data)
        bc_buffer_append(b, "", 0);
    char *s = b->failed ? NULL : (char *)b->data;
    if (!s)
        free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = BC_OK;
    return s;
}

void bc_buffer_free(bc_buffer *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = BC_OK;
}
