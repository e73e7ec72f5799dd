/* Zstandard frame format through the ZSTD streaming API. The encoder writes
 * one frame with a content checksum (as zstd(1) does); the decoder accepts
 * several frames (and skippable frames), as `zstd -d` does. */
#include <stdlib.h>

#include <zstd.h>

#include "codec/codec_impl.h"

#define ZSTD_CLI_DEFAULT_LEVEL 3

typedef struct zstd_stream {
    bc_codec_stream base;
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    bool in_frame;   /* decoder: inside a frame, its end not yet seen */
    bool any_frame;  /* decoder: at least one frame started */
} zstd_stream;

static ZSTD_outBuffer zstd_out_begin(zstd_stream *z)
{
    ZSTD_outBuffer o = {z->base.out + z->base.out_len,
                        bc_codec_out_room(&z->base), 0};
    return o;
}

static bc_status zstd_out_end(zstd_stream *z, const ZSTD_outBuffer *o,
                              bc_sink_fn sink, void *ctx)
{
    z->base.out_len += o->pos;
    if (bc_codec_out_room(&z->base) == 0)
        return bc_codec_emit(&z->base, sink, ctx);
    return BC_OK;
}

/* ---- encoder ---- */

static bc_status zstd_enc_error(size_t ret)
{
    return bc_error(BC_ERR_INTERNAL, "zstd: compression failed: %s",
                    ZSTD_getErrorName(ret));
}

static bc_status zstd_enc_write(bc_codec_stream *s, const unsigned char *data,
                                size_t len, bc_sink_fn sink, void *ctx)
{
    zstd_stream *z = (zstd_stream *)s;
    ZSTD_inBuffer in = {data, len, 0};
    while (in.pos < in.size) {
        ZSTD_outBuffer o = zstd_out_begin(z);
        size_t ret = ZSTD_compressStream2(z->cctx, &o, &in, ZSTD_e_continue);
        if (ZSTD_isError(ret))
            return zstd_enc_error(ret);
        bc_status st = zstd_out_end(z, &o, sink, ctx);
        if (st != BC_OK)
            return st;
    }
    return BC_OK;
}

static bc_status zstd_enc_finish(bc_codec_stream *s, bc_sink_fn sink,
                                 void *ctx)
{
    zstd_stream *z = (zstd_stream *)s;
    ZSTD_inBuffer in = {NULL, 0, 0};
    size_t remaining;
    do {
        ZSTD_outBuffer o = zstd_out_begin(z);
        remaining = ZSTD_compressStream2(z->cctx, &o, &in, ZSTD_e_end);
        if (ZSTD_isError(remaining))
            return zstd_enc_error(remaining);
        bc_status st = zstd_out_end(z, &o, sink, ctx);
        if (st != BC_OK)
            return st;
    } while (remaining != 0);
    return BC_OK;
}

static void zstd_destroy(bc_codec_stream *s)
{
    zstd_stream *z = (zstd_stream *)s;
    ZSTD_freeCCtx(z->cctx);
    ZSTD_freeDCtx(z->dctx);
}

static const bc_codec_ops zstd_enc_ops = {zstd_enc_write, zstd_enc_finish,
                                          zstd_destroy};

static bc_status zstd_alloc(const bc_codec_ops *ops, zstd_stream **out)
{
    zstd_stream *z = calloc(1, sizeof *z);
    if (!z)
        return bc_error(BC_ERR_INTERNAL, "zstd: out of memory");
    bc_status st = bc_codec_base_init(&z->base, ops, "zstd");
    if (st != BC_OK) {
        free(z);
        return st;
    }
    *out = z;
    return BC_OK;
}

static bc_status zstd_init_failed(zstd_stream *z, bc_status st)
{
    zstd_destroy(&z->base);
    free(z->base.out);
    free(z);
    return st;
}

bc_status bc_zstd_encoder_new(int level, bc_codec_stream **out)
{
    /* zstd's own scale includes its negative "fast" levels. */
    if (level == 0)
        level = ZSTD_CLI_DEFAULT_LEVEL;
    else if (level < ZSTD_minCLevel())
        level = ZSTD_minCLevel();
    else if (level > ZSTD_maxCLevel())
        level = ZSTD_maxCLevel();

    zstd_stream *z = NULL;
    bc_status st = zstd_alloc(&zstd_enc_ops, &z);
    if (st != BC_OK || !z)
        return st;
    z->cctx = ZSTD_createCCtx();
    if (!z->cctx)
        return zstd_init_failed(z, bc_codec_oom(&z->base));
    size_t ret = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel,
                                        level);
    if (!ZSTD_isError(ret))
        ret = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1);
    if (ZSTD_isError(ret))
        return zstd_init_failed(z, zstd_enc_error(ret));
    *out = &z->base;
    return BC_OK;
}

/* ---- decoder ---- */

static bc_status zstd_dec_write(bc_codec_stream *s, const unsigned char *data,
                                size_t len, bc_sink_fn sink, void *ctx)
{
    zstd_stream *z = (zstd_stream *)s;
    ZSTD_inBuffer in = {data, len, 0};
    for (;;) {
        size_t in_before = in.pos;
        ZSTD_outBuffer o = zstd_out_begin(z);
        size_t ret = ZSTD_decompressStream(z->dctx, &o, &in);
        if (ZSTD_isError(ret)) {
            if (!z->in_frame && z->any_frame)
                return bc_error(BC_ERR_DATA,
                                "zstd stream has trailing garbage after its end");
            return bc_error(BC_ERR_DATA, "zstd stream is corrupt: %s",
                            ZSTD_getErrorName(ret));
        }
        /* A frame starts by consuming input; 0 means it is fully decoded
         * and flushed (ZSTD_decompressStream() stops at a frame's end). */
        if (in.pos > in_before)
            z->in_frame = z->any_frame = true;
        if (ret == 0)
            z->in_frame = false;
        bool out_full = o.pos == o.size;
        bc_status st = zstd_out_end(z, &o, sink, ctx);
        if (st != BC_OK)
            return st;
        if (out_full)
            continue; /* more output may be pending */
        if (in.pos == in.size)
            return BC_OK;
        if (in.pos == in_before && o.pos == 0)
            return bc_error(BC_ERR_INTERNAL, "zstd: decoder made no progress");
    }
}

static bc_status zstd_dec_finish(bc_codec_stream *s, bc_sink_fn sink,
                                 void *ctx)
{
    zstd_stream *z = (zstd_stream *)s;
    (void)sink, (void)ctx;
    if (!z->any_frame)
        return bc_error(BC_ERR_DATA, "zstd stream is empty");
    if (z->in_frame)
        return bc_error(BC_ERR_DATA, "zstd stream is truncated");
    return BC_OK;
}

static const bc_codec_ops zstd_dec_ops = {zstd_dec_write, zstd_dec_finish,
                                          zstd_destroy};

bc_status bc_zstd_decoder_new(bc_codec_stream **out)
{
    zstd_stream *z = NULL;
    bc_status st = zstd_alloc(&zstd_dec_ops, &z);
    if (st != BC_OK || !z)
        return st;
    z->dctx = ZSTD_createDCtx();
    if (!z->dctx)
        return zstd_init_failed(z, bc_codec_oom(&z->base));
    *out = &z->base;
    return BC_OK;
}
