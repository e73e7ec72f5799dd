/* Codec names and suffixes, and the common stream bookkeeping that every
 * codec shares: allocation, level clamping, state checks, output
 * buffering, dispatch to the codec. */
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>

#include "codec/codec_impl.h"

typedef struct codec_entry {
    const char *name;
    const char *suffix;
    const bc_codec_impl *impl;
} codec_entry;

static const bc_codec_impl none_impl;

/* Indexed by bc_codec_id. */
static const codec_entry codecs[] = {
    [BC_CODEC_NONE] = {"none", "", &none_impl},
    [BC_CODEC_GZIP] = {"gzip", ".gz", &bc_codec_gzip_impl},
    [BC_CODEC_BZIP2] = {"bzip2", ".bz2", &bc_codec_bzip2_impl},
    [BC_CODEC_XZ] = {"xz", ".xz", &bc_codec_xz_impl},
    [BC_CODEC_SNAPPY] = {"snappy", ".snappy", &bc_codec_snappy_impl},
    [BC_CODEC_LZ4] = {"lz4", ".lz4", &bc_codec_lz4_impl},
    [BC_CODEC_ZSTD] = {"zstd", ".zst", &bc_codec_zstd_impl},
};

#define CODEC_COUNT (sizeof codecs / sizeof codecs[0])

static const codec_entry *codec_lookup(bc_codec_id id)
{
    if ((unsigned)id >= CODEC_COUNT)
        return NULL;
    return &codecs[id];
}

const char *bc_codec_name(bc_codec_id id)
{
    const codec_entry *c = codec_lookup(id);
    return c ? c->name : "unknown";
}

const char *bc_codec_suffix(bc_codec_id id)
{
    const codec_entry *c = codec_lookup(id);
    return c ? c->suffix : "";
}

bc_codec_id bc_codec_from_suffix(const char *name, size_t *suffix_len)
{
    size_t name_len = name ? strlen(name) : 0;
    for (size_t i = 0; i < CODEC_COUNT; i++) {
        size_t len = strlen(codecs[i].suffix);
        if (len == 0 || len > name_len)
            continue;
        if (memcmp(name + name_len - len, codecs[i].suffix, len) == 0) {
            if (suffix_len)
                *suffix_len = len;
            return (bc_codec_id)i;
        }
    }
    if (suffix_len)
        *suffix_len = 0;
    return BC_CODEC_NONE;
}

/* ---- shared helpers for the codecs (codec_impl.h) ---- */

bc_status bc_codec_emit(bc_codec_stream *s)
{
    if (s->out_len == 0)
        return BC_OK;
    size_t len = s->out_len;
    s->out_len = 0;
    /* The sink sets its own error message; keep it and its status. */
    int rc = s->sink(s->sink_ctx, s->out, len);
    return rc ? bc_sink_status(rc) : BC_OK;
}

bc_status bc_codec_oom(const bc_codec_stream *s)
{
    return bc_error(BC_ERR_INTERNAL, "%s: out of memory", s->name);
}

/* ---- BC_CODEC_NONE: copy input to the sink ---- */

static bc_status none_write(bc_codec_stream *s, const unsigned char *data,
                            size_t len)
{
    while (len > 0) {
        bc_codec_fill(s->out, &s->out_len, BC_CODEC_OUT_SIZE, &data, &len);
        if (bc_codec_out_room(s) == 0) {
            bc_status st = bc_codec_emit(s);
            if (st != BC_OK)
                return st;
        }
    }
    return BC_OK;
}

static bc_status none_finish(bc_codec_stream *s)
{
    (void)s;
    return BC_OK;
}

static void none_destroy(bc_codec_stream *s)
{
    (void)s;
}

#define NONE_OPS {NULL, none_write, none_finish, none_destroy}
static const bc_codec_impl none_impl = {
    .size = sizeof(bc_codec_stream),
    .encoder = NONE_OPS,
    .decoder = NONE_OPS,
};

/* ---- public stream API ---- */

/* 0 is the codec's default; anything else is clamped into its range. */
static int clamp_level(const bc_codec_impl *impl, int level)
{
    if (level == 0)
        return impl->level_default;
    if (level < impl->level_min)
        return impl->level_min;
    if (level > impl->level_max)
        return impl->level_max;
    return level;
}

static bc_status stream_new(bc_codec_id id, bool encoder, int level, bc_sink_fn sink,
                            void *sink_ctx, bc_codec_stream **out)
{
    const codec_entry *c = codec_lookup(id);
    if (!out)
        return bc_error(BC_ERR_INTERNAL, "codec: no place for the stream");
    *out = NULL;
    if (!c)
        return bc_error(BC_ERR_INTERNAL, "codec: unknown codec id %d", (int)id);
    if (!sink)
        return bc_error(BC_ERR_INTERNAL, "%s: no sink for the stream", c->name);
    bc_codec_stream *s = calloc(1, c->impl->size);
    if (!s)
        return bc_error(BC_ERR_INTERNAL, "%s: out of memory", c->name);
    s->ops = encoder ? &c->impl->encoder : &c->impl->decoder;
    s->name = c->name;
    s->sink = sink;
    s->sink_ctx = sink_ctx;
    s->out = malloc(BC_CODEC_OUT_SIZE);
    bc_status st = s->out ? BC_OK : bc_codec_oom(s);
    if (st == BC_OK && s->ops->init)
        st = s->ops->init(s, encoder ? clamp_level(c->impl, level) : 0);
    if (st != BC_OK) {
        bc_codec_free(s);
        return st;
    }
    *out = s;
    return BC_OK;
}

bc_status bc_codec_encoder(bc_codec_id id, int level, bc_sink_fn sink, void *sink_ctx,
                           bc_codec_stream **out)
{
    return stream_new(id, true, level, sink, sink_ctx, out);
}

bc_status bc_codec_decoder(bc_codec_id id, bc_sink_fn sink, void *sink_ctx,
                           bc_codec_stream **out)
{
    return stream_new(id, false, 0, sink, sink_ctx, out);
}

/* Refuse calls on a stream that failed or finished. */
static bc_status check_usable(bc_codec_stream *s)
{
    if (!s)
        return bc_error(BC_ERR_INTERNAL, "codec: no stream");
    if (s->failed != BC_OK)
        return bc_error(s->failed, "%s: stream used after an error",
                        s->name);
    if (s->finished)
        return bc_error(BC_ERR_INTERNAL, "%s: stream used after finish",
                        s->name);
    return BC_OK;
}

bc_status bc_codec_write(bc_codec_stream *s, const void *data, size_t len)
{
    bc_status st = check_usable(s);
    if (st != BC_OK)
        return st;
    const unsigned char *p = data;
    while (len > 0) {
        size_t n = len < BC_CODEC_MAX_WRITE ? len : BC_CODEC_MAX_WRITE;
        st = s->ops->write(s, p, n);
        if (st != BC_OK) {
            s->failed = st;
            return st;
        }
        p += n;
        len -= n;
    }
    return BC_OK;
}

int bc_codec_sink(void *codec_stream, const void *data, size_t len)
{
    return (int)bc_codec_write(codec_stream, data, len);
}

bc_status bc_codec_finish(bc_codec_stream *s)
{
    bc_status st = check_usable(s);
    if (st != BC_OK)
        return st;
    st = s->ops->finish(s);
    if (st == BC_OK)
        st = bc_codec_emit(s);
    if (st != BC_OK) {
        s->failed = st;
        return st;
    }
    s->finished = true;
    return BC_OK;
}

void bc_codec_free(bc_codec_stream *s)
{
    if (!s)
        return;
    s->ops->destroy(s);
    free(s->out);
    free(s);
}
