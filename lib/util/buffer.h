/* The one growable buffer, for bytes and for text (curl's dynbuf): a
 * bc_sink_fn target for downloads, and a string builder whose adds need no
 * check each: the first failure (out of memory, or past `limit`) is latched
 * in `failed` and every later add does nothing. The content is always
 * followed by a NUL (not counted in len) once anything was added. */
#ifndef BC_UTIL_BUFFER_H
#define BC_UTIL_BUFFER_H

#include <stddef.h>

#include "util/status.h"

typedef struct bc_buffer {
    unsigned char *data;
    size_t len, cap;
    size_t limit;       /* 0 = unlimited; beyond it, adding fails with BC_ERR_DATA */
    bc_status failed;   /* the first failure, BC_OK until then */
} bc_buffer;

/* Appends; the latched status (BC_OK, or the failure with its message). */
bc_status bc_buffer_append(bc_buffer *b, const void *data, size_t len);
/* bc_sink_fn adapter: ctx is a bc_buffer. */
int bc_buffer_sink(void *ctx, const void *data, size_t len);

/* Text: a string, one character, printf-style. */
void bc_buffer_adds(bc_buffer *b, const char *s);
void bc_buffer_addc(bc_buffer *b, char c);
void bc_buffer_addf(bc_buffer *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text so far ("" when empty). */
const char *bc_buffer_str(const bc_buffer *b);
/* Hands the text to the caller (malloc'd, "" when empty) and empties b;
 * NULL, freeing it, if an add failed. */
char *bc_buffer_take(bc_buffer *b);

void bc_buffer_free(bc_buffer *b);

#endif
