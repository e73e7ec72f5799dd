/* xz through liblzma: the encoder writes one .xz stream with a CRC64 check
 * (as xz(1) does); the decoder accepts concatenated streams and stream
 * padding, as `xz -d` does. It finds the stream boundaries itself rather
 * than use LZMA_CONCATENATED, which cannot tell trailing garbage from a
 * truncated stream. */
#include <stdint.h>

#include <lzma.h>

#include "codec/codec_impl.h"

#define XZ_MAGIC0 0xfd   /* every stream starts with fd "7zXZ" 00 */
#define XZ_PADDING_UNIT 4 /* stream padding: zero bytes, a multiple of 4 */

typedef struct xz_stream {
    bc_codec_stream base;
    lzma_stream lz;
    bool in_stream;  /* decoder: inside a stream, its end not yet seen */
    bool any_stream; /* decoder: at least one stream started */
    size_t padding;  /* decoder: zero bytes seen since the last stream */
} xz_stream;

static void xz_out_begin(xz_stream *x)
{
    x->lz.next_out = x->base.out + x->base.out_len;
    x->lz.avail_out = bc_codec_out_room(&x->base);
}

static bc_status xz_out_end(xz_stream *x)
{
    x->base.out_len = BC_CODEC_OUT_SIZE - x->lz.avail_out;
    if (bc_codec_out_room(&x->base) == 0)
        return bc_codec_emit(&x->base);
    return BC_OK;
}

/* Map a liblzma result to a status. */
static bc_status xz_result(xz_stream *x, lzma_ret ret, bool decoding)
{
    switch (ret) {
    case LZMA_OK:
    case LZMA_STREAM_END:
    case LZMA_BUF_ERROR: /* no progress this round: wants more input */
        return BC_OK;
    case LZMA_MEM_ERROR:
        return bc_codec_oom(&x->base);
    default:
        break;
    }
    if (decoding) {
        switch (ret) {
        case LZMA_FORMAT_ERROR:
            return bc_error(BC_ERR_DATA, "xz stream is not in .xz format");
        case LZMA_OPTIONS_ERROR:
            return bc_error(BC_ERR_DATA,
                            "xz stream uses unsupported options");
        case LZMA_DATA_ERROR:
            return bc_error(BC_ERR_DATA, "xz stream is corrupt");
        default:
            break;
        }
    }
    return bc_error(BC_ERR_INTERNAL, "xz: liblzma error %d", (int)ret);
}

/* Run liblzma over data[0..len) with `action`, emitting full buffers.
 * Returns once the input is consumed and the output drained (LZMA_RUN) or
 * the stream has ended; *ended tells which. */
static bc_status xz_run(xz_stream *x, const unsigned char *data, size_t len,
                        lzma_action action, bool decoding, bool *ended)
{
    bool finishing = action == LZMA_FINISH;
    x->lz.next_in = data;
    x->lz.avail_in = len;
    *ended = false;
    for (;;) {
        xz_out_begin(x);
        lzma_ret ret = lzma_code(&x->lz, action);
        bc_status st = xz_result(x, ret, decoding);
        if (st != BC_OK)
            return st;
        bool out_full = x->lz.avail_out == 0;
        st = xz_out_end(x);
        if (st != BC_OK)
            return st;
        if (ret == LZMA_STREAM_END) {
            *ended = true;
            return BC_OK;
        }
        if (out_full)
            continue;
        if (!finishing && x->lz.avail_in == 0)
            return BC_OK;
        if (ret == LZMA_BUF_ERROR)
            return bc_error(BC_ERR_INTERNAL, "xz: no progress");
    }
}

/* The stream before liblzma sets it up (codec.c zeroed it; LZMA_STREAM_INIT
 * says what liblzma wants). */
static xz_stream *xz_fresh(bc_codec_stream *s)
{
    xz_stream *x = (xz_stream *)s;
    lzma_stream init = LZMA_STREAM_INIT;
    x->lz = init;
    return x;
}

static void xz_destroy(bc_codec_stream *s)
{
    lzma_end(&((xz_stream *)s)->lz);
}

/* ---- encoder ---- */

static bc_status xz_enc_write(bc_codec_stream *s, const unsigned char *data,
                              size_t len)
{
    bool ended;
    return xz_run((xz_stream *)s, data, len, LZMA_RUN, false, &ended);
}

static bc_status xz_enc_finish(bc_codec_stream *s)
{
    bool ended;
    return xz_run((xz_stream *)s, NULL, 0, LZMA_FINISH, false, &ended);
}

static bc_status xz_init_failed(xz_stream *x, lzma_ret ret)
{
    if (ret == LZMA_MEM_ERROR)
        return bc_codec_oom(&x->base);
    return bc_error(BC_ERR_INTERNAL, "xz: cannot set up liblzma (error %d)",
                    (int)ret);
}

static bc_status xz_enc_init(bc_codec_stream *s, int level)
{
    xz_stream *x = xz_fresh(s);
    lzma_ret ret = lzma_easy_encoder(&x->lz, (uint32_t)level,
                                     LZMA_CHECK_CRC64);
    return ret == LZMA_OK ? BC_OK : xz_init_failed(x, ret);
}

/* ---- decoder ---- */

/* Start decoding a stream: the first, or one after another. */
static bc_status xz_dec_start(xz_stream *x)
{
    lzma_ret ret = lzma_stream_decoder(&x->lz, UINT64_MAX, 0);
    return ret == LZMA_OK ? BC_OK : xz_init_failed(x, ret);
}

static bc_status xz_dec_write(bc_codec_stream *s, const unsigned char *data,
                              size_t len)
{
    xz_stream *x = (xz_stream *)s;
    while (len > 0) {
        if (!x->in_stream) {
            if (x->any_stream) {
                /* After a stream: padding, another stream, or garbage. */
                while (len > 0 && data[0] == 0) {
                    x->padding++;
                    data++;
                    len--;
                }
                if (len == 0)
                    return BC_OK;
                if (data[0] != XZ_MAGIC0)
                    return bc_error(BC_ERR_DATA, "xz stream has trailing "
                                                 "garbage after its end");
                if (x->padding % XZ_PADDING_UNIT != 0)
                    return bc_error(BC_ERR_DATA,
                                    "xz stream has invalid stream padding");
                x->padding = 0;
                bc_status st = xz_dec_start(x);
                if (st != BC_OK)
                    return st;
            }
            x->in_stream = x->any_stream = true;
        }
        bool ended;
        bc_status st = xz_run(x, data, len, LZMA_RUN, true, &ended);
        if (st != BC_OK)
            return st;
        size_t used = len - x->lz.avail_in;
        data += used;
        len -= used;
        if (ended)
            x->in_stream = false;
    }
    return BC_OK;
}

static bc_status xz_dec_finish(bc_codec_stream *s)
{
    xz_stream *x = (xz_stream *)s;
    if (!x->any_stream)
        return bc_error(BC_ERR_DATA, "xz stream is empty");
    if (x->in_stream)
        return bc_error(BC_ERR_DATA, "xz stream is truncated");
    if (x->padding % XZ_PADDING_UNIT != 0)
        return bc_error(BC_ERR_DATA, "xz stream has invalid stream padding");
    return BC_OK;
}

static bc_status xz_dec_init(bc_codec_stream *s, int level)
{
    (void)level;
    return xz_dec_start(xz_fresh(s));
}

const bc_codec_impl bc_codec_xz_impl = {
    .size = sizeof(xz_stream),
    .level_default = 6, /* xz(1)'s; preset 0 takes a negative level */
    .level_min = 0,
    .level_max = 9,
    .encoder = {xz_enc_init, xz_enc_write, xz_enc_finish, xz_destroy},
    .decoder = {xz_dec_init, xz_dec_write, xz_dec_finish, xz_destroy},
};
