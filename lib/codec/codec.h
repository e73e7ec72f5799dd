/* Streaming compression codecs, named as barman-cloud names them.
 *
 * Push model: feed input with bc_codec_write(), call bc_codec_finish() once;
 * output goes to a sink as it is produced, so memory stays bounded whatever
 * the stream size. Encoders write the standard single-stream formats (gzip,
 * bzip2, xz), the LZ4 frame format, the Zstandard frame format and the
 * Snappy framing format, so the usual command-line tools decode them. */
#ifndef BC_CODEC_CODEC_H
#define BC_CODEC_CODEC_H

#include <stddef.h>

#include "util/status.h"
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

/* level: 0 = the codec's default, else the codec's own scale (clamped). */
bc_status bc_codec_encoder(bc_codec_id id, int level, bc_codec_stream **out);
bc_status bc_codec_decoder(bc_codec_id id, bc_codec_stream **out);
bc_status bc_codec_write(bc_codec_stream *s, const void *data, size_t len,
                         bc_sink_fn sink, void *ctx);
/* Encoder: flushes and writes the trailer. Decoder: BC_ERR_DATA if the
 * input ended before the stream did. */
bc_status bc_codec_finish(bc_codec_stream *s, bc_sink_fn sink, void *ctx);
void bc_codec_free(bc_codec_stream *s);

#endif
