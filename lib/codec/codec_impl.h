/* Internal interface between lib/codec/codec.c and the per-codec files.
 *
 * Every stream is a codec-specific struct whose first member is a
 * bc_codec_stream, so codec.c can handle them all through the small vtable
 * below. codec.c does the bookkeeping (state checks, splitting huge writes,
 * the final flush, freeing); a codec only turns input into output bytes in
 * the stream's output buffer and calls bc_codec_emit() when it fills up. */
#ifndef BC_CODEC_CODEC_IMPL_H
#define BC_CODEC_CODEC_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "codec/codec.h"

/* Size of every stream's output buffer: the largest chunk a sink receives. */
#define BC_CODEC_OUT_SIZE ((size_t)128 * 1024)

/* codec.c never passes a codec more than this many bytes in one write, so
 * the libraries' 32-bit length fields (zlib's uInt, bzip2's unsigned) are
 * always wide enough. */
#define BC_CODEC_MAX_WRITE ((size_t)16 * 1024 * 1024)

typedef struct bc_codec_ops {
    /* Consume all of data[0..len) (len >= 1). */
    bc_status (*write)(bc_codec_stream *s, const unsigned char *data,
                       size_t len, bc_sink_fn sink, void *ctx);
    /* End of input: produce what remains into the output buffer (calling
     * bc_codec_emit() as it fills); codec.c sends the final partial buffer. */
    bc_status (*finish)(bc_codec_stream *s, bc_sink_fn sink, void *ctx);
    /* Release the library state (not the struct nor the output buffer). */
    void (*destroy)(bc_codec_stream *s);
} bc_codec_ops;

struct bc_codec_stream {
    const bc_codec_ops *ops;
    const char *name;       /* codec name, for messages */
    unsigned char *out;     /* output buffer, BC_CODEC_OUT_SIZE bytes */
    size_t out_len;         /* bytes waiting in it */
    bool finished;          /* bc_codec_finish() succeeded */
    bc_status failed;       /* first error seen; the stream is dead after it */
};

/* Set up the common part of a freshly allocated stream (allocates the
 * output buffer). On failure the caller frees its struct. */
bc_status bc_codec_base_init(bc_codec_stream *s, const bc_codec_ops *ops,
                             const char *name);

/* Room left in the output buffer. */
static inline size_t bc_codec_out_room(const bc_codec_stream *s)
{
    return BC_CODEC_OUT_SIZE - s->out_len;
}

/* Send the buffered output (if any) to the sink and empty the buffer. A
 * sink failure becomes BC_ERR_IO with the sink's own message kept. */
bc_status bc_codec_emit(bc_codec_stream *s, bc_sink_fn sink, void *ctx);

/* Record an out-of-memory / library failure for codec `s`. */
bc_status bc_codec_oom(const bc_codec_stream *s);

/* Constructors, one pair per codec. `level` is the caller's: 0 means the
 * codec's usual command-line default, anything else is clamped into the
 * codec's own range by the codec (snappy has no levels). */
bc_status bc_gzip_encoder_new(int level, bc_codec_stream **out);
bc_status bc_gzip_decoder_new(bc_codec_stream **out);
bc_status bc_bzip2_encoder_new(int level, bc_codec_stream **out);
bc_status bc_bzip2_decoder_new(bc_codec_stream **out);
bc_status bc_xz_encoder_new(int level, bc_codec_stream **out);
bc_status bc_xz_decoder_new(bc_codec_stream **out);
bc_status bc_lz4_encoder_new(int level, bc_codec_stream **out);
bc_status bc_lz4_decoder_new(bc_codec_stream **out);
bc_status bc_zstd_encoder_new(int level, bc_codec_stream **out);
bc_status bc_zstd_decoder_new(bc_codec_stream **out);
bc_status bc_snappy_encoder_new(int level, bc_codec_stream **out);
bc_status bc_snappy_decoder_new(bc_codec_stream **out);

#endif
