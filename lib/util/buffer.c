#include "util/buffer.h"

#include <stdlib.h>
#include <string.h>

#include "util/status.h"

int bc_buffer_append(bc_buffer *b, const void *data, size_t len)
{
    /* A limit bounds what is read from outside (an object, a file): going
     * past it is bad input, not a failure of ours, so callers that skip
     * unreadable input (the catalog skips an unreadable backup.info) skip
     * this one too. */
    if (b->limit && b->len + len > b->limit) {
        return bc_error(BC_ERR_DATA, "larger than the %zu bytes accepted", b->limit);
    }
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p) {
            return bc_error(BC_ERR_INTERNAL, "out of memory");
        }
        b->data = p;
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

int bc_buffer_sink(void *ctx, const void *data, size_t len)
{
    return bc_buffer_append(ctx, data, len);
}

void bc_buffer_free(bc_buffer *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
