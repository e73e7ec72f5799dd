/* gzip through zlib (deflate with the gzip wrapper, windowBits 15 + 16).
 * The decoder accepts several concatenated members, and zero bytes after a
 * member (tape-style padding), as `gzip -d` and Python's gzip module do. */
#define ZLIB_CONST
#include <zlib.h>

#include "codec/codec_impl.h"

#define GZIP_WINDOW_BITS (15 + 16) /* 32 KiB window, gzip header/trailer */
#define GZIP_MAGIC0 0x1f

typedef struct gzip_stream {
    bc_codec_stream base;
    z_stream z;
    bool z_ready;     /* deflateInit2/inflateInit2 succeeded */
    bool in_member;   /* decoder: inside a member, its end not yet seen */
    bool any_member;  /* decoder: at least one member started */
} gzip_stream;

/* Point zlib's output at the free part of the stream's buffer. */
static void gzip_out_begin(gzip_stream *g)
{
    g->z.next_out = g->base.out + g->base.out_len;
    g->z.avail_out = (uInt)bc_codec_out_room(&g->base);
}

/* Account for what zlib wrote; send the buffer on once it is full. */
static bc_status gzip_out_end(gzip_stream *g)
{
    g->base.out_len = BC_CODEC_OUT_SIZE - g->z.avail_out;
    if (bc_codec_out_room(&g->base) == 0)
        return bc_codec_emit(&g->base);
    return BC_OK;
}

static bc_status gzip_lib_error(gzip_stream *g, int ret)
{
    if (ret == Z_MEM_ERROR)
        return bc_codec_oom(&g->base);
    return bc_error(BC_ERR_INTERNAL, "gzip: zlib error %d (%s)", ret,
                    g->z.msg ? g->z.msg : "no message");
}

/* ---- encoder ---- */

static bc_status gzip_enc_write(bc_codec_stream *s, const unsigned char *data,
                                size_t len)
{
    gzip_stream *g = (gzip_stream *)s;
    g->z.next_in = data;
    g->z.avail_in = (uInt)len;
    while (g->z.avail_in > 0) {
        gzip_out_begin(g);
        int ret = deflate(&g->z, Z_NO_FLUSH);
        if (ret != Z_OK && ret != Z_BUF_ERROR)
            return gzip_lib_error(g, ret);
        bc_status st = gzip_out_end(g);
        if (st != BC_OK)
            return st;
    }
    return BC_OK;
}

static bc_status gzip_enc_finish(bc_codec_stream *s)
{
    gzip_stream *g = (gzip_stream *)s;
    g->z.next_in = NULL;
    g->z.avail_in = 0;
    for (;;) {
        gzip_out_begin(g);
        int ret = deflate(&g->z, Z_FINISH);
        if (ret != Z_OK && ret != Z_BUF_ERROR && ret != Z_STREAM_END)
            return gzip_lib_error(g, ret);
        bc_status st = gzip_out_end(g);
        if (st != BC_OK)
            return st;
        if (ret == Z_STREAM_END)
            return BC_OK;
    }
}

static void gzip_enc_destroy(bc_codec_stream *s)
{
    gzip_stream *g = (gzip_stream *)s;
    if (g->z_ready)
        deflateEnd(&g->z);
}

static bc_status gzip_enc_init(bc_codec_stream *s, int level)
{
    gzip_stream *g = (gzip_stream *)s;
    int ret = deflateInit2(&g->z, level, Z_DEFLATED, GZIP_WINDOW_BITS, 8,
                           Z_DEFAULT_STRATEGY);
    if (ret != Z_OK)
        return gzip_lib_error(g, ret);
    g->z_ready = true;
    return BC_OK;
}

/* ---- decoder ---- */

static bc_status gzip_dec_write(bc_codec_stream *s, const unsigned char *data,
                                size_t len)
{
    gzip_stream *g = (gzip_stream *)s;
    g->z.next_in = data;
    g->z.avail_in = (uInt)len;
    for (;;) {
        if (!g->in_member) {
            if (g->z.avail_in == 0)
                return BC_OK;
            if (g->any_member) {
                /* Padding, or another member as after `cat a.gz b.gz`;
                 * anything else after the end is garbage. */
                while (g->z.avail_in > 0 && g->z.next_in[0] == 0) {
                    g->z.next_in++;
                    g->z.avail_in--;
                }
                if (g->z.avail_in == 0)
                    return BC_OK;
                if (g->z.next_in[0] != GZIP_MAGIC0)
                    return bc_error(BC_ERR_DATA,
                                    "gzip stream has trailing garbage "
                                    "after its end");
                int ret = inflateReset(&g->z);
                if (ret != Z_OK)
                    return gzip_lib_error(g, ret);
            }
            g->in_member = g->any_member = true;
        }

        uInt in_before = g->z.avail_in;
        gzip_out_begin(g);
        uInt room_before = g->z.avail_out;
        int ret = inflate(&g->z, Z_NO_FLUSH);
        bool progress = g->z.avail_in != in_before ||
                        g->z.avail_out != room_before;
        switch (ret) {
        case Z_OK:
        case Z_BUF_ERROR: /* no progress possible now: needs more input */
            break;
        case Z_STREAM_END:
            g->in_member = false;
            break;
        case Z_NEED_DICT:
            return bc_error(BC_ERR_DATA,
                            "gzip stream is corrupt: needs a preset dictionary");
        case Z_DATA_ERROR:
            return bc_error(BC_ERR_DATA, "gzip stream is corrupt: %s",
                            g->z.msg ? g->z.msg : "invalid data");
        default:
            return gzip_lib_error(g, ret);
        }
        bool out_full = g->z.avail_out == 0;
        bc_status st = gzip_out_end(g);
        if (st != BC_OK)
            return st;
        if (out_full || ret == Z_STREAM_END)
            continue; /* drain more output, or start the next member */
        if (g->z.avail_in == 0)
            return BC_OK;
        if (!progress)
            return bc_error(BC_ERR_INTERNAL, "gzip: decoder made no progress");
    }
}

static bc_status gzip_dec_finish(bc_codec_stream *s)
{
    gzip_stream *g = (gzip_stream *)s;
    if (!g->any_member)
        return bc_error(BC_ERR_DATA, "gzip stream is empty");
    if (g->in_member)
        return bc_error(BC_ERR_DATA, "gzip stream is truncated");
    return BC_OK;
}

static void gzip_dec_destroy(bc_codec_stream *s)
{
    gzip_stream *g = (gzip_stream *)s;
    if (g->z_ready)
        inflateEnd(&g->z);
}

static bc_status gzip_dec_init(bc_codec_stream *s, int level)
{
    gzip_stream *g = (gzip_stream *)s;
    (void)level;
    int ret = inflateInit2(&g->z, GZIP_WINDOW_BITS);
    if (ret != Z_OK)
        return gzip_lib_error(g, ret);
    g->z_ready = true;
    return BC_OK;
}

const bc_codec_impl bc_codec_gzip_impl = {
    .size = sizeof(gzip_stream),
    .level_default = 6, /* gzip(1)'s */
    .level_min = 1,
    .level_max = 9,
    .encoder = {gzip_enc_init, gzip_enc_write, gzip_enc_finish, gzip_enc_destroy},
    .decoder = {gzip_dec_init, gzip_dec_write, gzip_dec_finish, gzip_dec_destroy},
};
