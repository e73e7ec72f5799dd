/* Zstandard frame format through the ZSTD streaming API. The encoder writes
 * one frame with a content checksum (as zstd(1) does); the decoder accepts
 * several frames (and skippable frames), as `zstd -d` does. */
#include <zstd.h>

#include "codec/codec_impl.h"

#define ZSTD_CLI_DEFAULT_LEVEL 3
#define ZSTD_MIN_LEVEL (-(1 << 17))
#define ZSTD_MAX_LEVEL 22

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

static bc_status zstd_out_end(zstd_stream *z, const ZSTD_outBuffer *o)
{
    z->base.out_len += o->pos;
    if (bc_codec_out_room(&z->base) == 0)
        return bc_codec_emit(&z->base);
    return BC_OK;
}

/* ---- encoder ---- */

static bc_status zstd_enc_error(size_t ret)
{
    return bc_error(BC_ERR_INTERNAL, "zstd: compression failed: %s",
                    ZSTD_getErrorName(ret));
}

static bc_status zstd_enc_write(bc_codec_stream *s, const unsigned char *data,
                                size_t len)
{
    zstd_stream *z = (zstd_stream *)s;
    ZSTD_inBuffer in = {data, len, 0};
    while (in.pos < in.size) {
        ZSTD_outBuffer o = zstd_out_begin(z);
        size_t ret = ZSTD_compressStream2(z->cctx, &o, &in, ZSTD_e_continue);
        if (ZSTD_isError(ret))
            return zstd_enc_error(ret);
        bc_status st = zstd_out_end(z, &o);
        if (st != BC_OK)
            return st;
    }
    return BC_OK;
}

static bc_status zstd_enc_finish(bc_codec_stream *s)
{
    zstd_stream *z = (zstd_stream *)s;
    ZSTD_inBuffer in = {NULL, 0, 0};
    size_t remaining;
    do {
        ZSTD_outBuffer o = zstd_out_begin(z);
        remaining = ZSTD_compressStream2(z->cctx, &o, &in, ZSTD_e_end);
        if (ZSTD_isError(remaining))
            return zstd_enc_error(remaining);
        bc_status st = zstd_out_end(z, &o);
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

static bc_status zstd_enc_init(bc_codec_stream *s, int level)
{
    zstd_stream *z = (zstd_stream *)s;
    z->cctx = ZSTD_createCCtx();
    if (!z->cctx)
        return bc_codec_oom(&z->base);
    size_t ret = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel,
                                        level);
    if (!ZSTD_isError(ret))
        ret = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1);
    return ZSTD_isError(ret) ? zstd_enc_error(ret) : BC_OK;
}

/* ---- decoder ---- */

static bc_status zstd_dec_write(bc_codec_stream *s, const unsigned char *data,
                                size_t len)
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
        bc_status st = zstd_out_end(z, &o);
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

static bc_status zstd_dec_finish(bc_codec_stream *s)
{
    zstd_stream *z = (zstd_stream *)s;
    if (!z->any_frame)
        return bc_error(BC_ERR_DATA, "zstd stream is empty");
    if (z->in_frame)
        return bc_error(BC_ERR_DATA, "zstd stream is truncated");
    return BC_OK;
}

static bc_status zstd_dec_init(bc_codec_stream *s, int level)
{
    zstd_stream *z = (zstd_stream *)s;
    (void)level;
    z->dctx = ZSTD_createDCtx();
    return z->dctx ? BC_OK : bc_codec_oom(&z->base);
}

const bc_codec_impl bc_codec_zstd_impl = {
    .size = sizeof(zstd_stream),
    .level_default = ZSTD_CLI_DEFAULT_LEVEL,
    /* zstd's own scale, its negative "fast" levels included: these are
     * ZSTD_minCLevel() and ZSTD_maxCLevel() of libzstd 1.4 and later
     * (constants here; test_codec checks them against the library's). */
    .level_min = ZSTD_MIN_LEVEL,
    .level_max = ZSTD_MAX_LEVEL,
    .encoder = {zstd_enc_init, zstd_enc_write, zstd_enc_finish, zstd_destroy},
    .decoder = {zstd_dec_init, zstd_dec_write, zstd_dec_finish, zstd_destroy},
};
