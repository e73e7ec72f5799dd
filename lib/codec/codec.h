/* Streaming compression codecs, named as barman-cloud names them.
 *
 * A codec stream is one stage of a pipeline: it is bound to its downstream
 * sink when it is made, takes input with bc_codec_write() (or, as a sink
 * itself, through bc_codec_sink()), and bc_codec_finish() ends it once.
 * Output goes to the sink as it is produced, in pieces of at most 128 KiB,
 * so memory stays bounded whatever the stream size. Encoders write the
 * standard single-stream formats (gzip, bzip2, xz), the LZ4 frame format,
 * the Zstandard frame format and the Snappy framing format, so the usual
 * command-line tools decode them.
 *
 * A sink's failure (non-zero return, message set by the sink) stops the
 * stream with the sink's status and message; a codec's own messages
 * ("gzip stream is truncated") do not name the object: the caller adds
 * that with bc_error_context(). A stream that failed or finished refuses
 * further calls. Not thread-safe: one stream, one thread at a time. */
#ifndef BC_CODEC_CODEC_H
#define BC_CODEC_CODEC_H

#include <stddef.h>

#include "util/status.h"

typedef enum bc_codec_id {
    BC_CODEC_NONE = 0,
    BC_CODEC_GZIP,
    BC_CODEC_BZIP2,
    BC_CODEC_XZ,
    BC_CODEC_SNAPPY,
    BC_CODEC_LZ4,
    BC_CODEC_ZSTD
} bc_codec_id;

/* "gzip", "bzip2", "xz", "snappy", "lz4", "zstd"; "none" for BC_CODEC_NONE. */
const char *bc_codec_name(bc_codec_id id);
/* ".gz", ".bz2", ".xz", ".snappy", ".lz4", ".zst"; "" for BC_CODEC_NONE. */
const char *bc_codec_suffix(bc_codec_id id);
/* The codec whose suffix ends `name` (BC_CODEC_NONE if none does); the
 * suffix length goes to *suffix_len when not NULL. */
bc_codec_id bc_codec_from_suffix(const char *name, size_t *suffix_len);

typedef struct bc_codec_stream bc_codec_stream;

/* Make a stream whose output goes to sink(sink_ctx, ...) until it is freed.
 * level: 0 = the codec's default, else the codec's own scale (clamped into
 * it). On failure *out is NULL. */
bc_status bc_codec_encoder(bc_codec_id id, int level, bc_sink_fn sink, void *sink_ctx,
                           bc_codec_stream **out);
bc_status bc_codec_decoder(bc_codec_id id, bc_sink_fn sink, void *sink_ctx,
                           bc_codec_stream **out);
bc_status bc_codec_write(bc_codec_stream *s, const void *data, size_t len);
/* bc_codec_write() as a bc_sink_fn whose ctx is the bc_codec_stream, so a
 * stream can be the sink of a download, a tar writer or another stream. */
int bc_codec_sink(void *codec_stream, const void *data, size_t len);
/* Encoder: flushes and writes the trailer. Decoder: BC_ERR_DATA if the
 * input ended before the stream did. Either way the sink has had every
 * byte on success. */
bc_status bc_codec_finish(bc_codec_stream *s);
/* Safe on NULL. Sends nothing more to the sink. */
void bc_codec_free(bc_codec_stream *s);

#endif
