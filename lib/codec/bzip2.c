/* bzip2 through libbz2. The decoder accepts several concatenated streams,
 * as `bzip2 -d` does (pbzip2 and lbzip2 write such files). */
#include <stdint.h>

#include <bzlib.h>

#include "codec/codec_impl.h"

#define BZIP2_MAGIC0 'B' /* every stream starts with "BZh" */

typedef struct bzip2_stream {
    bc_codec_stream base;
    bz_stream bz;
    bool bz_ready;    /* the library state is initialised */
    bool in_stream;   /* decoder: inside a stream, its end not yet seen */
    bool any_stream;  /* decoder: at least one stream started */
} bzip2_stream;

static void bzip2_out_begin(bzip2_stream *b)
{
    b->bz.next_out = (char *)(b->base.out + b->base.out_len);
    b->bz.avail_out = (unsigned)bc_codec_out_room(&b->base);
}

static bc_status bzip2_out_end(bzip2_stream *b)
{
    b->base.out_len = BC_CODEC_OUT_SIZE - b->bz.avail_out;
    if (bc_codec_out_room(&b->base) == 0)
        return bc_codec_emit(&b->base);
    return BC_OK;
}

static bc_status bzip2_lib_error(bzip2_stream *b, int ret)
{
    if (ret == BZ_MEM_ERROR)
        return bc_codec_oom(&b->base);
    return bc_error(BC_ERR_INTERNAL, "bzip2: libbz2 error %d", ret);
}

/* libbz2 never writes through next_in; its field just is not const. */
static void bzip2_in_set(bzip2_stream *b, const unsigned char *data,
                         size_t len)
{
    b->bz.next_in = (char *)(uintptr_t)data;
    b->bz.avail_in = (unsigned)len;
}

/* ---- encoder ---- */

static bc_status bzip2_enc_write(bc_codec_stream *s, const unsigned char *data,
                                 size_t len)
{
    bzip2_stream *b = (bzip2_stream *)s;
    bzip2_in_set(b, data, len);
    while (b->bz.avail_in > 0) {
        bzip2_out_begin(b);
        int ret = BZ2_bzCompress(&b->bz, BZ_RUN);
        if (ret != BZ_RUN_OK)
            return bzip2_lib_error(b, ret);
        bc_status st = bzip2_out_end(b);
        if (st != BC_OK)
            return st;
    }
    return BC_OK;
}

static bc_status bzip2_enc_finish(bc_codec_stream *s)
{
    bzip2_stream *b = (bzip2_stream *)s;
    bzip2_in_set(b, NULL, 0);
    for (;;) {
        bzip2_out_begin(b);
        int ret = BZ2_bzCompress(&b->bz, BZ_FINISH);
        if (ret != BZ_FINISH_OK && ret != BZ_STREAM_END)
            return bzip2_lib_error(b, ret);
        bc_status st = bzip2_out_end(b);
        if (st != BC_OK)
            return st;
        if (ret == BZ_STREAM_END)
            return BC_OK;
    }
}

static void bzip2_enc_destroy(bc_codec_stream *s)
{
    bzip2_stream *b = (bzip2_stream *)s;
    if (b->bz_ready)
        BZ2_bzCompressEnd(&b->bz);
}

static bc_status bzip2_enc_init(bc_codec_stream *s, int level)
{
    bzip2_stream *b = (bzip2_stream *)s;
    int ret = BZ2_bzCompressInit(&b->bz, level, 0, 0);
    if (ret != BZ_OK)
        return bzip2_lib_error(b, ret);
    b->bz_ready = true;
    return BC_OK;
}

/* ---- decoder ---- */

/* Start decoding a new stream (libbz2 cannot be reset in place). */
static bc_status bzip2_dec_start(bzip2_stream *b)
{
    if (b->bz_ready) {
        BZ2_bzDecompressEnd(&b->bz);
        b->bz_ready = false;
    }
    b->bz.bzalloc = NULL;
    b->bz.bzfree = NULL;
    b->bz.opaque = NULL;
    int ret = BZ2_bzDecompressInit(&b->bz, 0, 0);
    if (ret != BZ_OK)
        return bzip2_lib_error(b, ret);
    b->bz_ready = true;
    return BC_OK;
}

static bc_status bzip2_dec_write(bc_codec_stream *s, const unsigned char *data,
                                 size_t len)
{
    bzip2_stream *b = (bzip2_stream *)s;
    const unsigned char *p = data;
    size_t left = len;
    for (;;) {
        if (!b->in_stream) {
            if (left == 0)
                return BC_OK;
            if (b->any_stream) {
                if (p[0] != BZIP2_MAGIC0)
                    return bc_error(BC_ERR_DATA,
                                    "bzip2 stream has trailing garbage "
                                    "after its end");
                bc_status st = bzip2_dec_start(b);
                if (st != BC_OK)
                    return st;
            }
            b->in_stream = b->any_stream = true;
        }

        /* Re-point the input each round: a restart clears bz_stream. */
        bzip2_in_set(b, p, left);
        bzip2_out_begin(b);
        unsigned room_before = b->bz.avail_out;
        int ret = BZ2_bzDecompress(&b->bz);
        bool progress = b->bz.avail_in != left ||
                        b->bz.avail_out != room_before;
        p += left - b->bz.avail_in;
        left = b->bz.avail_in;
        switch (ret) {
        case BZ_OK:
            break;
        case BZ_STREAM_END:
            b->in_stream = false;
            break;
        case BZ_DATA_ERROR_MAGIC:
            return bc_error(BC_ERR_DATA,
                            "bzip2 stream is corrupt: bad magic header");
        case BZ_DATA_ERROR:
            return bc_error(BC_ERR_DATA,
                            "bzip2 stream is corrupt: data integrity error");
        default:
            return bzip2_lib_error(b, ret);
        }
        bool out_full = b->bz.avail_out == 0;
        bc_status st = bzip2_out_end(b);
        if (st != BC_OK)
            return st;
        if (out_full || ret == BZ_STREAM_END)
            continue;
        if (left == 0)
            return BC_OK;
        if (!progress)
            return bc_error(BC_ERR_INTERNAL, "bzip2: decoder made no progress");
    }
}

static bc_status bzip2_dec_finish(bc_codec_stream *s)
{
    bzip2_stream *b = (bzip2_stream *)s;
    if (!b->any_stream)
        return bc_error(BC_ERR_DATA, "bzip2 stream is empty");
    if (b->in_stream)
        return bc_error(BC_ERR_DATA, "bzip2 stream is truncated");
    return BC_OK;
}

static void bzip2_dec_destroy(bc_codec_stream *s)
{
    bzip2_stream *b = (bzip2_stream *)s;
    if (b->bz_ready)
        BZ2_bzDecompressEnd(&b->bz);
}

static bc_status bzip2_dec_init(bc_codec_stream *s, int level)
{
    (void)level;
    return bzip2_dec_start((bzip2_stream *)s);
}

const bc_codec_impl bc_codec_bzip2_impl = {
    .size = sizeof(bzip2_stream),
    /* The level is bzip2's block size in 100 kB units; 9 is its default. */
    .level_default = 9,
    .level_min = 1,
    .level_max = 9,
    .encoder = {bzip2_enc_init, bzip2_enc_write, bzip2_enc_finish, bzip2_enc_destroy},
    .decoder = {bzip2_dec_init, bzip2_dec_write, bzip2_dec_finish, bzip2_dec_destroy},
};
