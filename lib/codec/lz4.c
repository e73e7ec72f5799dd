/* LZ4 frame format through lz4frame.h. The encoder writes one frame with a
 * content checksum (as lz4(1) does); the decoder accepts several frames
 * (and skippable frames) one after the other, as `lz4 -d` does. */
#include <lz4frame.h>
#include <lz4hc.h>

#include "codec/codec_impl.h"

/* Input is fed to LZ4F_compressUpdate() in pieces this big, so that the
 * worst-case output of one piece always fits in the output buffer. */
#define LZ4_IN_STEP ((size_t)32 * 1024)

typedef struct lz4_stream {
    bc_codec_stream base;
    LZ4F_cctx *cctx;
    LZ4F_dctx *dctx;
    LZ4F_preferences_t prefs;
    size_t step_bound;   /* encoder: worst-case output of one piece */
    bool in_frame;       /* decoder: inside a frame, its end not yet seen */
    bool any_frame;      /* decoder: at least one frame started */
} lz4_stream;

/* ---- encoder ---- */

static bc_status lz4_enc_error(size_t ret)
{
    return bc_error(BC_ERR_INTERNAL, "lz4: compression failed: %s",
                    LZ4F_getErrorName(ret));
}

/* Make sure `need` bytes fit in the output buffer. */
static bc_status lz4_reserve(lz4_stream *l, size_t need)
{
    if (bc_codec_out_room(&l->base) >= need)
        return BC_OK;
    return bc_codec_emit(&l->base);
}

static bc_status lz4_enc_write(bc_codec_stream *s, const unsigned char *data,
                               size_t len)
{
    lz4_stream *l = (lz4_stream *)s;
    while (len > 0) {
        size_t n = len < LZ4_IN_STEP ? len : LZ4_IN_STEP;
        bc_status st = lz4_reserve(l, l->step_bound);
        if (st != BC_OK)
            return st;
        size_t ret = LZ4F_compressUpdate(l->cctx, l->base.out + l->base.out_len,
                                         bc_codec_out_room(&l->base), data, n,
                                         NULL);
        if (LZ4F_isError(ret))
            return lz4_enc_error(ret);
        l->base.out_len += ret;
        data += n;
        len -= n;
    }
    return BC_OK;
}

static bc_status lz4_enc_finish(bc_codec_stream *s)
{
    lz4_stream *l = (lz4_stream *)s;
    bc_status st = lz4_reserve(l, LZ4F_compressBound(0, &l->prefs));
    if (st != BC_OK)
        return st;
    size_t ret = LZ4F_compressEnd(l->cctx, l->base.out + l->base.out_len,
                                  bc_codec_out_room(&l->base), NULL);
    if (LZ4F_isError(ret))
        return lz4_enc_error(ret);
    l->base.out_len += ret;
    return BC_OK;
}

static void lz4_destroy(bc_codec_stream *s)
{
    lz4_stream *l = (lz4_stream *)s;
    LZ4F_freeCompressionContext(l->cctx);
    LZ4F_freeDecompressionContext(l->dctx);
}

static bc_status lz4_enc_init(bc_codec_stream *s, int level)
{
    lz4_stream *l = (lz4_stream *)s;
    l->prefs.compressionLevel = level;
    l->prefs.frameInfo.blockSizeID = LZ4F_max64KB; /* keeps memory small */
    l->prefs.frameInfo.blockMode = LZ4F_blockLinked;
    l->prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    l->step_bound = LZ4F_compressBound(LZ4_IN_STEP, &l->prefs);
    if (l->step_bound > BC_CODEC_OUT_SIZE)
        return bc_error(BC_ERR_INTERNAL, "lz4: output buffer too small");

    size_t ret = LZ4F_createCompressionContext(&l->cctx, LZ4F_VERSION);
    if (LZ4F_isError(ret))
        return bc_codec_oom(&l->base);
    /* The frame header goes into the empty buffer right away. */
    ret = LZ4F_compressBegin(l->cctx, l->base.out, BC_CODEC_OUT_SIZE,
                             &l->prefs);
    if (LZ4F_isError(ret))
        return lz4_enc_error(ret);
    l->base.out_len = ret;
    return BC_OK;
}

/* ---- decoder ---- */

static bc_status lz4_dec_write(bc_codec_stream *s, const unsigned char *data,
                               size_t len)
{
    lz4_stream *l = (lz4_stream *)s;
    for (;;) {
        size_t out_size = bc_codec_out_room(&l->base);
        size_t in_size = len;
        size_t ret = LZ4F_decompress(l->dctx, l->base.out + l->base.out_len,
                                     &out_size, data, &in_size, NULL);
        if (LZ4F_isError(ret)) {
            if (!l->in_frame && l->any_frame)
                return bc_error(BC_ERR_DATA,
                                "lz4 stream has trailing garbage after its end");
            return bc_error(BC_ERR_DATA, "lz4 stream is corrupt: %s",
                            LZ4F_getErrorName(ret));
        }
        data += in_size;
        len -= in_size;
        l->base.out_len += out_size;
        /* A frame starts by consuming input and ends when 0 is returned
         * (LZ4F_decompress() stops at a frame's end). */
        if (in_size > 0)
            l->in_frame = l->any_frame = true;
        if (ret == 0)
            l->in_frame = false;
        if (bc_codec_out_room(&l->base) == 0) {
            bc_status st = bc_codec_emit(&l->base);
            if (st != BC_OK)
                return st;
            continue; /* more output may be pending */
        }
        if (len == 0)
            return BC_OK;
        if (in_size == 0 && out_size == 0)
            return bc_error(BC_ERR_INTERNAL, "lz4: decoder made no progress");
    }
}

static bc_status lz4_dec_finish(bc_codec_stream *s)
{
    lz4_stream *l = (lz4_stream *)s;
    if (!l->any_frame)
        return bc_error(BC_ERR_DATA, "lz4 stream is empty");
    if (l->in_frame)
        return bc_error(BC_ERR_DATA, "lz4 stream is truncated");
    return BC_OK;
}

static bc_status lz4_dec_init(bc_codec_stream *s, int level)
{
    lz4_stream *l = (lz4_stream *)s;
    (void)level;
    size_t ret = LZ4F_createDecompressionContext(&l->dctx, LZ4F_VERSION);
    return LZ4F_isError(ret) ? bc_codec_oom(&l->base) : BC_OK;
}

const bc_codec_impl bc_codec_lz4_impl = {
    .size = sizeof(lz4_stream),
    /* lz4frame's level 0 is its fast default, the same as lz4(1) -1; a
     * negative level is taken as 1. */
    .level_default = 0,
    .level_min = 1,
    .level_max = LZ4HC_CLEVEL_MAX,
    .encoder = {lz4_enc_init, lz4_enc_write, lz4_enc_finish, lz4_destroy},
    .decoder = {lz4_dec_init, lz4_dec_write, lz4_dec_finish, lz4_destroy},
};
