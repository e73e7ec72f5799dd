/* A growable byte buffer that can serve as a bc_sink_fn target. */
#ifndef BC_UTIL_BUFFER_H
#define BC_UTIL_BUFFER_H

#include <stddef.h>

typedef struct bc_buffer {
    unsigned char *data;
    size_t len, cap;
    size_t limit; /* 0 = unlimited; beyond it, appending fails with BC_ERR_DATA */
} bc_buffer;

int bc_buffer_append(bc_buffer *b, const void *data, size_t len);
/* bc_sink_fn adapter: ctx is a bc_buffer. */
int bc_buffer_sink(void *ctx, const void *data, size_t len);
void bc_buffer_free(bc_buffer *b);

#endif
