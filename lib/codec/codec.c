/* Codec names and suffixes, and the common stream bookkeeping that every
 * codec shares: state checks, output buffering, dispatch to the codec. */
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>

#include "codec/codec_impl.h"

typedef struct codec_entry {
    const char *name;
    const char *suffix;
    bc_status (*new_encoder)(int level, bc_codec_stream **out);
    bc_status (*new_decoder)(bc_codec_stream **out);
} codec_entry;

static bc_status none_encoder_new(int level, bc_codec_stream **out);
static bc_status none_decoder_new(bc_codec_stream **out);

/* Indexed by bc_codec_id. */
static const codec_entry codecs[] = {
    [BC_CODEC_NONE] = {"none", "", none_encoder_new, none_decoder_new},
    [BC_CODEC_GZIP] = {"gzip", ".gz", bc_gzip_encoder_new, bc_gzip_decoder_new},
    [BC_CODEC_BZIP2] = {"bzip2", ".bz2", bc_bzip2_encoder_new,
                        bc_bzip2_decoder_new},
    [BC_CODEC_XZ] = {"xz", ".xz", bc_xz_encoder_new, bc_xz_decoder_new},
    [BC_CODEC_SNAPPY] = {"snappy", ".snappy", bc_snappy_encoder_new,
                         bc_snappy_decoder_new},
    [BC_CODEC_LZ4] = {"lz4", ".lz4", bc_lz4_encoder_new, bc_lz4_decoder_new},
    [BC_CODEC_ZSTD] = {"zstd", ".zst", bc_zstd_encoder_new,
                       bc_zstd_decoder_new},
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

bc_status bc_codec_base_init(bc_codec_stream *s, const bc_codec_ops *ops,
                             const char *name)
{
    s->ops = ops;
    s->name = name;
    s->out_len = 0;
    s->finished = false;
    s->failed = BC_OK;
    s->out = malloc(BC_CODEC_OUT_SIZE);
    if (!s->out)
        return bc_error(BC_ERR_INTERNAL, "%s: out of memory", name);
    return BC_OK;
}

bc_status bc_codec_emit(bc_codec_stream *s, bc_sink_fn sink, void *ctx)
{
    if (s->out_len == 0)
        return BC_OK;
    size_t len = s->out_len;
    s->out_len = 0;
    /* The sink sets its own error message; keep it and its status. */
    int rc = sink(ctx, s->out, len);
    return rc ? bc_sink_status(rc) : BC_OK;
}

bc_status bc_codec_oom(const bc_codec_stream *s)
{
    return bc_error(BC_ERR_INTERNAL, "%s: out of memory", s->name);
}

/* ---- BC_CODEC_NONE: copy input to the sink ---- */

static bc_status none_write(bc_codec_stream *s, const unsigned char *data,
                            size_t len, bc_sink_fn sink, void *ctx)
{
    while (len > 0) {
        size_t n = bc_codec_out_room(s);
        if (n > len)
            n = len;
        memcpy(s->out + s->out_len, data, n);
        s->out_len += n;
        data += n;
        len -= n;
        if (bc_codec_out_room(s) == 0) {
            bc_status st = bc_codec_emit(s, sink, ctx);
            if (st != BC_OK)
                return st;
        }
    }
    return BC_OK;
}

static bc_status none_finish(bc_codec_stream *s, bc_sink_fn sink, void *ctx)
{
    (void)s, (void)sink, (void)ctx;
    return BC_OK;
}

static void none_destroy(bc_codec_stream *s)
{
    (void)s;
}

static const bc_codec_ops none_ops = {none_write, none_finish, none_destroy};

static bc_status none_new(bc_codec_stream **out)
{
    bc_codec_stream *s = calloc(1, sizeof *s);
    if (!s)
        return bc_error(BC_ERR_INTERNAL, "none: out of memory");
    bc_status st = bc_codec_base_init(s, &none_ops, "none");
    if (st != BC_OK) {
        free(s);
        return st;
    }
    *out = s;
    return BC_OK;
}

static bc_status none_encoder_new(int level, bc_codec_stream **out)
{
    (void)level;
    return none_new(out);
}

static bc_status none_decoder_new(bc_codec_stream **out)
{
    return none_new(out);
}

/* ---- public stream API ---- */

static bc_status stream_new(bc_codec_id id, bool encoder, int level,
                            bc_codec_stream **out)
{
    const codec_entry *c = codec_lookup(id);
    if (!out)
        return bc_error(BC_ERR_INTERNAL, "codec: no place for the stream");
    *out = NULL;
    if (!c)
        return bc_error(BC_ERR_INTERNAL, "codec: unknown codec id %d", (int)id);
    return encoder ? c->new_encoder(level, out) : c->new_decoder(out);
}

bc_status bc_codec_encoder(bc_codec_id id, int level, bc_codec_stream **out)
{
    return stream_new(id, true, level, out);
}

bc_status bc_codec_decoder(bc_codec_id id, bc_codec_stream **out)
{
    return stream_new(id, false, 0, out);
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

bc_status bc_codec_write(bc_codec_stream *s, const void *data, size_t len,
                         bc_sink_fn sink, void *ctx)
{
    bc_status st = check_usable(s);
    if (st != BC_OK)
        return st;
    const unsigned char *p = data;
    while (len > 0) {
        size_t n = len < BC_CODEC_MAX_WRITE ? len : BC_CODEC_MAX_WRITE;
        st = s->ops->write(s, p, n, sink, ctx);
        if (st != BC_OK) {
            s->failed = st;
            return st;
        }
        p += n;
        len -= n;
    }
    return BC_OK;
}

bc_status bc_codec_finish(bc_codec_stream *s, bc_sink_fn sink, void *ctx)
{
    bc_status st = check_usable(s);
    if (st != BC_OK)
        return st;
    st = s->ops->finish(s, sink, ctx);
    if (st == BC_OK)
        st = bc_codec_emit(s, sink, ctx);
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
