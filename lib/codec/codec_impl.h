/* Internal interface between lib/codec/codec.c and the per-codec files.
 *
 * Every stream is a codec-specific struct whose first member is a
 * bc_codec_stream, so codec.c can handle them all through the small vtable
 * below. codec.c does the bookkeeping (allocation, level clamping, state
 * checks, splitting huge writes, the final flush, freeing); a codec only
 * sets up its library state, turns input into output bytes in the stream's
 * output buffer and calls bc_codec_emit() when it fills up. */
#ifndef BC_CODEC_CODEC_IMPL_H
#define BC_CODEC_CODEC_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "codec/codec.h"

/* Size of every stream's output buffer: the largest chunk a sink receives. */
#define BC_CODEC_OUT_SIZE ((size_t)128 * 1024)

/* codec.c never passes a codec more than this many bytes in one write, so
 * the libraries' 32-bit length fields (zlib's uInt, bzip2's unsigned) are
 * always wide enough. */
#define BC_CODEC_MAX_WRITE ((size_t)16 * 1024 * 1024)

typedef struct bc_codec_ops {
    /* Set up the library state of a zeroed stream whose common part is
     * ready. level (encoders only) is already in the codec's range. On
     * failure codec.c calls destroy(), which must cope with whatever init
     * left set up, and frees the stream. */
    bc_status (*init)(bc_codec_stream *s, int level);
    /* Consume all of data[0..len) (len >= 1). */
    bc_status (*write)(bc_codec_stream *s, const unsigned char *data, size_t len);
    /* End of input: produce what remains into the output buffer (calling
     * bc_codec_emit() as it fills); codec.c sends the final partial buffer. */
    bc_status (*finish)(bc_codec_stream *s);
    /* Release the library state (not the struct nor the output buffer). */
    void (*destroy)(bc_codec_stream *s);
} bc_codec_ops;

/* What codec.c needs to make one codec's streams; each codec file defines
 * one (the struct's size is only known there). */
typedef struct bc_codec_impl {
    size_t size;            /* of the codec's stream struct */
    /* Encoder levels: 0 from the caller means level_default (the codec's
     * usual command-line default), anything else is clamped into
     * [level_min, level_max]. */
    int level_default, level_min, level_max;
    bc_codec_ops encoder, decoder;
} bc_codec_impl;

extern const bc_codec_impl bc_codec_gzip_impl;
extern const bc_codec_impl bc_codec_bzip2_impl;
extern const bc_codec_impl bc_codec_xz_impl;
extern const bc_codec_impl bc_codec_lz4_impl;
extern const bc_codec_impl bc_codec_zstd_impl;
extern const bc_codec_impl bc_codec_snappy_impl;

struct bc_codec_stream {
    const bc_codec_ops *ops;
    const char *name;       /* codec name, for messages */
    bc_sink_fn sink;        /* where the output goes, bound at construction */
    void *sink_ctx;
    unsigned char *out;     /* output buffer, BC_CODEC_OUT_SIZE bytes */
    size_t out_len;         /* bytes waiting in it */
    bool finished;          /* bc_codec_finish() succeeded */
    bc_status failed;       /* first error seen; the stream is dead after it */
};

/* Room left in the output buffer. */
static inline size_t bc_codec_out_room(const bc_codec_stream *s)
{
    return BC_CODEC_OUT_SIZE - s->out_len;
}

/* Copies what fits of *data (*len bytes) into buf, which holds *used of
 * cap bytes, and moves *data, *len and *used past what it copied. */
static inline void bc_codec_fill(unsigned char *buf, size_t *used, size_t cap,
                                 const unsigned char **data, size_t *len)
{
    size_t n = cap - *used;
    if (n > *len)
        n = *len;
    memcpy(buf + *used, *data, n);
    *used += n;
    *data += n;
    *len -= n;
}

/* Send the buffered output (if any) to the stream's sink and empty the
 * buffer. A sink failure keeps the sink's own status and message. */
bc_status bc_codec_emit(bc_codec_stream *s);

/* Record an out-of-memory / library failure for codec `s`. */
bc_status bc_codec_oom(const bc_codec_stream *s);

#endif
