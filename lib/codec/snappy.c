/* Snappy framing format (framing_format.txt in the snappy sources), with
 * libsnappy's C API for the blocks. This is what python-snappy's
 * StreamCompressor writes and what barman-cloud stores as .snappy WAL.
 *
 * A stream is a sequence of chunks: 1 byte type, 3 bytes little-endian
 * length, then the body. It starts with the stream identifier chunk
 * ff 06 00 00 "sNaPpY". Data chunks (0x00 compressed, 0x01 uncompressed)
 * start with the masked CRC-32C of their uncompressed data, which is at
 * most 64 KiB. 0xfe is padding, 0x80-0xfd are skippable, 0x02-0x7f are
 * reserved and must be refused. */
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "codec/codec_impl.h"
#include "codec/crc32c.h"

#define SNAPPY_CHUNK_MAX ((size_t)65536) /* uncompressed bytes per chunk */
#define SNAPPY_HEADER_SIZE 4
#define SNAPPY_CRC_SIZE 4

enum {
    CHUNK_COMPRESSED = 0x00,
    CHUNK_UNCOMPRESSED = 0x01,
    CHUNK_RESERVED_UNSKIPPABLE_LAST = 0x7f,
    CHUNK_PADDING = 0xfe,
    CHUNK_STREAM_ID = 0xff
};

static const unsigned char stream_id_chunk[] = {
    0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y'};
#define STREAM_ID_BODY (stream_id_chunk + SNAPPY_HEADER_SIZE)
#define STREAM_ID_BODY_SIZE 6

typedef struct snappy_stream {
    bc_codec_stream base;
    unsigned char *buf;     /* encoder: pending input; decoder: a chunk body */
    size_t buf_len;
    size_t max_compressed;  /* snappy_max_compressed_length(SNAPPY_CHUNK_MAX) */
    /* decoder state */
    unsigned char header[SNAPPY_HEADER_SIZE];
    size_t header_len;      /* header bytes gathered so far */
    bool in_body;           /* header complete, body not yet */
    unsigned chunk_type;
    size_t body_len;        /* length of the current chunk's body */
    size_t body_seen;       /* bytes of it gathered (or skipped) so far */
    bool seen_stream_id;
    bool any_input;
} snappy_stream;

static void put_le24(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    put_le24(p, v);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Make sure `need` bytes fit in the output buffer. */
static bc_status snappy_reserve(snappy_stream *z, size_t need)
{
    if (bc_codec_out_room(&z->base) >= need)
        return BC_OK;
    return bc_codec_emit(&z->base);
}

static void snappy_destroy(bc_codec_stream *s)
{
    free(((snappy_stream *)s)->buf);
}

/* The common part of both directions' init: a buffer of buf_size. */
static bc_status snappy_init(snappy_stream *z, size_t buf_size)
{
    z->max_compressed = snappy_max_compressed_length(SNAPPY_CHUNK_MAX);
    z->buf = malloc(buf_size);
    return z->buf ? BC_OK : bc_codec_oom(&z->base);
}

/* ---- encoder ---- */

/* Frame data[0..len) (len <= SNAPPY_CHUNK_MAX) as one data chunk. Like
 * python-snappy, store it uncompressed unless compression saves at least
 * 1/8, which keeps random data cheap to decode. */
static bc_status snappy_put_chunk(snappy_stream *z, const unsigned char *data,
                                  size_t len)
{
    size_t frame_max = SNAPPY_HEADER_SIZE + SNAPPY_CRC_SIZE + z->max_compressed;
    bc_status st = snappy_reserve(z, frame_max);
    if (st != BC_OK)
        return st;

    unsigned char *frame = z->base.out + z->base.out_len;
    unsigned char *payload = frame + SNAPPY_HEADER_SIZE + SNAPPY_CRC_SIZE;
    size_t payload_len = z->max_compressed;
    unsigned type = CHUNK_COMPRESSED;
    if (snappy_compress((const char *)data, len, (char *)payload,
                        &payload_len) != SNAPPY_OK)
        return bc_error(BC_ERR_INTERNAL, "snappy: compression failed");
    if (payload_len * 8 > len * 7) {
        type = CHUNK_UNCOMPRESSED;
        memcpy(payload, data, len);
        payload_len = len;
    }
    frame[0] = (unsigned char)type;
    put_le24(frame + 1, SNAPPY_CRC_SIZE + payload_len);
    put_le32(frame + SNAPPY_HEADER_SIZE, bc_crc32c_masked(data, len));
    z->base.out_len += SNAPPY_HEADER_SIZE + SNAPPY_CRC_SIZE + payload_len;
    return BC_OK;
}

static bc_status snappy_enc_write(bc_codec_stream *s, const unsigned char *data,
                                  size_t len)
{
    snappy_stream *z = (snappy_stream *)s;
    while (len > 0) {
        bc_status st;
        if (z->buf_len == 0 && len >= SNAPPY_CHUNK_MAX) {
            /* A whole chunk in the caller's buffer: no need to copy it. */
            st = snappy_put_chunk(z, data, SNAPPY_CHUNK_MAX);
            if (st != BC_OK)
                return st;
            data += SNAPPY_CHUNK_MAX;
            len -= SNAPPY_CHUNK_MAX;
            continue;
        }
        bc_codec_fill(z->buf, &z->buf_len, SNAPPY_CHUNK_MAX, &data, &len);
        if (z->buf_len == SNAPPY_CHUNK_MAX) {
            st = snappy_put_chunk(z, z->buf, z->buf_len);
            if (st != BC_OK)
                return st;
            z->buf_len = 0;
        }
    }
    return BC_OK;
}

static bc_status snappy_enc_finish(bc_codec_stream *s)
{
    snappy_stream *z = (snappy_stream *)s;
    if (z->buf_len == 0)
        return BC_OK;
    bc_status st = snappy_put_chunk(z, z->buf, z->buf_len);
    z->buf_len = 0;
    return st;
}

static bc_status snappy_enc_init(bc_codec_stream *s, int level)
{
    snappy_stream *z = (snappy_stream *)s;
    (void)level; /* snappy has no levels */
    bc_status st = snappy_init(z, SNAPPY_CHUNK_MAX);
    if (st != BC_OK)
        return st;
    /* Every stream starts with the identifier, even an empty one. */
    memcpy(z->base.out, stream_id_chunk, sizeof stream_id_chunk);
    z->base.out_len = sizeof stream_id_chunk;
    return BC_OK;
}

/* ---- decoder ---- */

/* Check a chunk header and get ready for its body. */
static bc_status snappy_start_chunk(snappy_stream *z)
{
    unsigned type = z->header[0];
    size_t len = (size_t)z->header[1] | (size_t)z->header[2] << 8 |
                 (size_t)z->header[3] << 16;

    if (!z->seen_stream_id && type != CHUNK_STREAM_ID)
        return bc_error(BC_ERR_DATA,
                        "snappy stream does not start with the stream "
                        "identifier");
    size_t min_len = 0, max_len = 0xffffff;
    if (type == CHUNK_STREAM_ID) {
        min_len = max_len = STREAM_ID_BODY_SIZE;
    } else if (type == CHUNK_COMPRESSED) {
        min_len = SNAPPY_CRC_SIZE;
        max_len = SNAPPY_CRC_SIZE + z->max_compressed;
    } else if (type == CHUNK_UNCOMPRESSED) {
        min_len = SNAPPY_CRC_SIZE;
        max_len = SNAPPY_CRC_SIZE + SNAPPY_CHUNK_MAX;
    } else if (type <= CHUNK_RESERVED_UNSKIPPABLE_LAST) {
        return bc_error(BC_ERR_DATA,
                        "snappy stream has a reserved unskippable chunk "
                        "(type 0x%02x)", type);
    }
    if (len < min_len || len > max_len)
        return bc_error(BC_ERR_DATA,
                        "snappy stream has a chunk of type 0x%02x with a bad "
                        "length (%zu bytes)", type, len);
    z->chunk_type = type;
    z->body_len = len;
    z->body_seen = 0;
    z->in_body = true;
    return BC_OK;
}

/* Decode one complete data chunk body into the output buffer. */
static bc_status snappy_data_chunk(snappy_stream *z, const unsigned char *body,
                                   size_t len)
{
    uint32_t expected_crc = get_le32(body);
    const unsigned char *payload = body + SNAPPY_CRC_SIZE;
    size_t payload_len = len - SNAPPY_CRC_SIZE;
    const char *kind = "an uncompressed";
    size_t data_len = payload_len;

    if (z->chunk_type == CHUNK_COMPRESSED) {
        kind = "a compressed";
        if (snappy_uncompressed_length((const char *)payload, payload_len,
                                       &data_len) != SNAPPY_OK)
            return bc_error(BC_ERR_DATA,
                            "snappy stream is corrupt: bad compressed chunk");
        if (data_len > SNAPPY_CHUNK_MAX)
            return bc_error(BC_ERR_DATA,
                            "snappy stream is corrupt: chunk of %zu bytes "
                            "exceeds 65536", data_len);
    }
    bc_status st = snappy_reserve(z, data_len);
    if (st != BC_OK)
        return st;
    unsigned char *dest = z->base.out + z->base.out_len;
    if (z->chunk_type == CHUNK_COMPRESSED) {
        size_t got = data_len;
        if (snappy_uncompress((const char *)payload, payload_len, (char *)dest,
                              &got) != SNAPPY_OK ||
            got != data_len)
            return bc_error(BC_ERR_DATA,
                            "snappy stream is corrupt: bad compressed chunk");
    } else {
        memcpy(dest, payload, data_len);
    }
    if (bc_crc32c_masked(dest, data_len) != expected_crc)
        return bc_error(BC_ERR_DATA,
                        "snappy stream is corrupt: CRC mismatch in %s chunk",
                        kind);
    z->base.out_len += data_len;
    return BC_OK;
}

/* A chunk body is complete: act on it. */
static bc_status snappy_end_chunk(snappy_stream *z, const unsigned char *body)
{
    z->in_body = false;
    z->header_len = 0;
    switch (z->chunk_type) {
    case CHUNK_STREAM_ID:
        if (memcmp(body, STREAM_ID_BODY, STREAM_ID_BODY_SIZE) != 0)
            return bc_error(BC_ERR_DATA,
                            "snappy stream has a bad stream identifier");
        z->seen_stream_id = true;
        return BC_OK;
    case CHUNK_COMPRESSED:
    case CHUNK_UNCOMPRESSED:
        return snappy_data_chunk(z, body, z->body_len);
    default:
        return BC_OK; /* padding or skippable: already skipped */
    }
}

static bool snappy_skips_body(unsigned type)
{
    return type > CHUNK_RESERVED_UNSKIPPABLE_LAST && type != CHUNK_STREAM_ID;
}

static bc_status snappy_dec_write(bc_codec_stream *s, const unsigned char *data,
                                  size_t len)
{
    snappy_stream *z = (snappy_stream *)s;
    z->any_input = true;
    while (len > 0 || (z->in_body && z->body_seen == z->body_len)) {
        bc_status st;
        if (!z->in_body) {
            bc_codec_fill(z->header, &z->header_len, SNAPPY_HEADER_SIZE, &data, &len);
            if (z->header_len < SNAPPY_HEADER_SIZE)
                return BC_OK;
            st = snappy_start_chunk(z);
            if (st != BC_OK)
                return st;
            continue;
        }

        size_t want = z->body_len - z->body_seen;
        if (snappy_skips_body(z->chunk_type)) {
            size_t n = want < len ? want : len;
            z->body_seen += n;
            data += n;
            len -= n;
            if (z->body_seen == z->body_len) {
                st = snappy_end_chunk(z, NULL);
                if (st != BC_OK)
                    return st;
            }
            continue;
        }
        if (z->body_seen == 0 && len >= want) {
            /* The whole body is in the caller's buffer: use it in place. */
            data += want;
            len -= want;
            st = snappy_end_chunk(z, data - want);
        } else {
            bc_codec_fill(z->buf, &z->body_seen, z->body_len, &data, &len);
            if (z->body_seen < z->body_len)
                return BC_OK;
            st = snappy_end_chunk(z, z->buf);
        }
        if (st != BC_OK)
            return st;
    }
    return BC_OK;
}

static bc_status snappy_dec_finish(bc_codec_stream *s)
{
    snappy_stream *z = (snappy_stream *)s;
    /* python-snappy writes nothing at all for empty input, and barman-cloud
     * reads such a file back as empty: accept it. */
    if (!z->any_input)
        return BC_OK;
    if (z->in_body || z->header_len > 0)
        return bc_error(BC_ERR_DATA, "snappy stream is truncated");
    return BC_OK;
}

static bc_status snappy_dec_init(bc_codec_stream *s, int level)
{
    (void)level;
    /* The largest body kept whole is a compressed chunk's. */
    return snappy_init((snappy_stream *)s, SNAPPY_CRC_SIZE +
                       snappy_max_compressed_length(SNAPPY_CHUNK_MAX));
}

const bc_codec_impl bc_codec_snappy_impl = {
    .size = sizeof(snappy_stream),
    .encoder = {snappy_enc_init, snappy_enc_write, snappy_enc_finish, snappy_destroy},
    .decoder = {snappy_dec_init, snappy_dec_write, snappy_dec_finish, snappy_destroy},
};
