/* Unit tests for lib/codec: round trips for every codec with input fed in
 * random pieces, error detection (truncation, trailing garbage, corrupt
 * snappy chunks), suffix lookup, sink failures, level defaults and clamping,
 * encoders chained into decoders, and interoperability with the standard
 * command-line tools where they are installed.
 *
 * Prints one line per failed check and closes with
 * "codec: N passed, N failed[, N skipped]"; exits non-zero on failure. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lz4hc.h>
#include <snappy-c.h>
#include <zstd.h>

#include "codec/codec.h"
#include "codec/codec_impl.h"
#include "util/status.h"

/* Every sink call must be at most this big: memory stays bounded. */
#define MAX_SINK_CHUNK ((size_t)256 * 1024)
#define MAX_INPUT_PIECE ((size_t)300 * 1024)

static int n_passed, n_failed, n_skipped;

static bool check(bool ok, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool check(bool ok, const char *fmt, ...)
{
    if (ok) {
        n_passed++;
        return true;
    }
    n_failed++;
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    return false;
}

static void skip(const char *why)
{
    n_skipped++;
    fprintf(stderr, "skip: %s\n", why);
}

static const bc_codec_id all_codecs[] = {
    BC_CODEC_NONE, BC_CODEC_GZIP, BC_CODEC_BZIP2, BC_CODEC_XZ,
    BC_CODEC_SNAPPY, BC_CODEC_LZ4, BC_CODEC_ZSTD};
#define N_CODECS (sizeof all_codecs / sizeof all_codecs[0])

/* ---- pseudo-random numbers (xorshift64*, fixed seed: reproducible) ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

static size_t rng_below(size_t n)
{
    return (size_t)(rng_next() % n);
}

/* A piece size for feeding input: often tiny, usually large. */
static size_t rng_piece(void)
{
    if (rng_below(4) == 0)
        return 1 + rng_below(64);
    return 1 + rng_below(MAX_INPUT_PIECE);
}

/* ---- growable byte buffer, also the test sink ---- */

typedef struct bytes {
    unsigned char *data;
    size_t len, cap;
    size_t max_chunk;   /* largest sink call seen */
    size_t empty_calls; /* sink calls with len 0 */
    long fail_at_call;  /* > 0: make that sink call fail */
    long calls;
} bytes;

static void bytes_append(bytes *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p) {
            fprintf(stderr, "test: out of memory\n");
            exit(2);
        }
        b->data = p;
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void bytes_free(bytes *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int bytes_sink(void *ctx, const void *data, size_t len)
{
    bytes *b = ctx;
    b->calls++;
    if (b->fail_at_call > 0 && b->calls == b->fail_at_call) {
        /* a sink returns the status of its failure (store.h) */
        return bc_error(BC_ERR_IO, "test sink refuses call %ld", b->calls);
    }
    if (len == 0)
        b->empty_calls++;
    if (len > b->max_chunk)
        b->max_chunk = len;
    bytes_append(b, data, len);
    return 0;
}

/* ---- test data ---- */

static bytes make_text(size_t size)
{
    static const char *words[] = {
        "checkpoint", "starting:", "time", "LOG:", "database", "system",
        "is", "ready", "to", "accept", "connections", "autovacuum",
        "launcher", "started", "redo", "done", "at", "0/1A2B3C4D",
        "relation", "pg_class", "INSERT", "INTO", "orders", "VALUES",
        "(42,", "'shipped',", "now());", "wal", "segment", "archived"};
    bytes b = {0};
    unsigned line = 0;
    while (b.len < size) {
        char buf[512];
        int n = snprintf(buf, sizeof buf, "2024-05-%02u 12:%02u:%02u.%03u UTC [%u] ",
                         1 + line % 28, line % 60, (line * 7) % 60,
                         line % 1000, 1000 + line % 97);
        int words_in_line = 4 + (int)rng_below(12);
        for (int i = 0; i < words_in_line && n < 400; i++)
            n += snprintf(buf + n, sizeof buf - (size_t)n, "%s ",
                          words[rng_below(sizeof words / sizeof words[0])]);
        buf[n - 1] = '\n';
        size_t take = (size_t)n < size - b.len ? (size_t)n : size - b.len;
        bytes_append(&b, buf, take);
        line++;
    }
    return b;
}

static bytes make_random(size_t size)
{
    bytes b = {0};
    while (b.len < size) {
        uint64_t v = rng_next();
        size_t take = size - b.len < 8 ? size - b.len : 8;
        bytes_append(&b, &v, take);
    }
    return b;
}

/* 16 MiB like a WAL segment: 8 KiB pages, page headers everywhere, records
 * in the first part, zeros elsewhere (a recycled, partly used segment). */
static bytes make_wal(void)
{
    enum { SEGMENT = 16 * 1024 * 1024, PAGE = 8192 };
    bytes b = {0};
    b.data = calloc(SEGMENT, 1);
    if (!b.data)
        exit(2);
    b.len = b.cap = SEGMENT;
    for (size_t page = 0; page < SEGMENT / PAGE; page++) {
        unsigned char *p = b.data + page * PAGE;
        uint64_t pageaddr = 0x1000000u + page * PAGE;
        p[0] = 0x10, p[1] = 0xd1, p[2] = page == 0 ? 0x07 : 0x05;
        memcpy(p + 8, &pageaddr, 8);
        if (page >= SEGMENT / PAGE / 5)
            continue;
        size_t off = 24;
        while (off + 600 < PAGE) {
            uint32_t tot_len = 40 + (uint32_t)rng_below(480);
            uint32_t xid = 700 + (uint32_t)(page / 3);
            memcpy(p + off, &tot_len, 4);
            memcpy(p + off + 4, &xid, 4);
            memcpy(p + off + 8, &pageaddr, 8);
            p[off + 16] = (unsigned char)rng_below(256);
            p[off + 17] = (unsigned char)rng_below(22);
            for (size_t i = 24; i < tot_len; i++)
                p[off + i] = i % 7 == 0 ? (unsigned char)rng_below(256)
                                        : (unsigned char)"tuple data"[i % 10];
            off += (tot_len + 7) & ~7u;
        }
    }
    return b;
}

/* ---- running streams ---- */

/* Feed `in` to `s` in random pieces, then finish. */
static bc_status feed(bc_codec_stream *s, const unsigned char *in, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        size_t n = rng_piece();
        if (n > len - pos)
            n = len - pos;
        bc_status st = bc_codec_write(s, in + pos, n);
        if (st != BC_OK)
            return st;
        pos += n;
    }
    return bc_codec_finish(s);
}

static bc_status encode(bc_codec_id id, int level, const unsigned char *in,
                        size_t len, bytes *out)
{
    bc_codec_stream *s;
    bc_status st = bc_codec_encoder(id, level, bytes_sink, out, &s);
    if (st != BC_OK)
        return st;
    st = feed(s, in, len);
    bc_codec_free(s);
    return st;
}

static bc_status decode(bc_codec_id id, const unsigned char *in, size_t len,
                        bytes *out)
{
    bc_codec_stream *s;
    bc_status st = bc_codec_decoder(id, bytes_sink, out, &s);
    if (st != BC_OK)
        return st;
    st = feed(s, in, len);
    bc_codec_free(s);
    return st;
}

static bool same(const bytes *a, const unsigned char *data, size_t len)
{
    return a->len == len && (len == 0 || memcmp(a->data, data, len) == 0);
}

/* ---- names and suffixes ---- */

static void test_names(void)
{
    static const struct {
        bc_codec_id id;
        const char *name, *suffix;
    } expect[] = {
        {BC_CODEC_NONE, "none", ""},       {BC_CODEC_GZIP, "gzip", ".gz"},
        {BC_CODEC_BZIP2, "bzip2", ".bz2"}, {BC_CODEC_XZ, "xz", ".xz"},
        {BC_CODEC_SNAPPY, "snappy", ".snappy"},
        {BC_CODEC_LZ4, "lz4", ".lz4"},     {BC_CODEC_ZSTD, "zstd", ".zst"}};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        check(strcmp(bc_codec_name(expect[i].id), expect[i].name) == 0,
              "bc_codec_name(%d) is %s", (int)expect[i].id,
              bc_codec_name(expect[i].id));
        check(strcmp(bc_codec_suffix(expect[i].id), expect[i].suffix) == 0,
              "bc_codec_suffix(%s) is %s", expect[i].name,
              bc_codec_suffix(expect[i].id));
        if (expect[i].id == BC_CODEC_NONE)
            continue;
        char name[128];
        snprintf(name, sizeof name, "000000010000000000000001%s",
                 expect[i].suffix);
        size_t slen = 99;
        bc_codec_id got = bc_codec_from_suffix(name, &slen);
        check(got == expect[i].id && slen == strlen(expect[i].suffix),
              "bc_codec_from_suffix(%s) = %d, suffix length %zu", name,
              (int)got, slen);
        check(bc_codec_from_suffix(name, NULL) == expect[i].id,
              "bc_codec_from_suffix(%s, NULL)", name);
    }

    static const char *plain[] = {
        "000000010000000000000001.partial", "000000010000000000000001",
        "00000002.history", "000000010000000000000002.00000028.backup",
        "data.tar", "x.gz.tmp", "gz", ""};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        size_t slen = 99;
        bc_codec_id got = bc_codec_from_suffix(plain[i], &slen);
        check(got == BC_CODEC_NONE && slen == 0,
              "bc_codec_from_suffix(\"%s\") = %d, suffix length %zu",
              plain[i], (int)got, slen);
    }
    size_t slen = 0;
    check(bc_codec_from_suffix("base/data.tar.bz2", &slen) == BC_CODEC_BZIP2 &&
              slen == 4,
          "bc_codec_from_suffix(data.tar.bz2)");
}

/* ---- round trips ---- */

typedef struct sample {
    const char *name;
    bytes data;
} sample;

static void roundtrip(bc_codec_id id, const sample *smp)
{
    const char *codec = bc_codec_name(id);
    bytes enc = {0}, dec = {0};
    bc_status st = encode(id, 0, smp->data.data, smp->data.len, &enc);
    if (check(st == BC_OK, "%s: encoding %s: %s", codec, smp->name,
              bc_error_msg())) {
        check(enc.max_chunk <= MAX_SINK_CHUNK && enc.empty_calls == 0,
              "%s: encoding %s: sink chunk of %zu bytes, %zu empty", codec,
              smp->name, enc.max_chunk, enc.empty_calls);
        st = decode(id, enc.data, enc.len, &dec);
        if (check(st == BC_OK, "%s: decoding %s: %s", codec, smp->name,
                  bc_error_msg())) {
            check(same(&dec, smp->data.data, smp->data.len),
                  "%s: %s does not round-trip (%zu bytes in, %zu out)", codec,
                  smp->name, smp->data.len, dec.len);
            check(dec.max_chunk <= MAX_SINK_CHUNK && dec.empty_calls == 0,
                  "%s: decoding %s: sink chunk of %zu bytes, %zu empty",
                  codec, smp->name, dec.max_chunk, dec.empty_calls);
        }
    }
    bytes_free(&enc);
    bytes_free(&dec);
}

/* Explicit levels, out-of-range ones included (they are clamped). zstd's
 * top levels need over 1 GiB of tables, too slow under ASan: 19 there. */
static void test_levels(bc_codec_id id, const bytes *text)
{
    int levels[] = {1, 5, -7, -1000000, 1000};
    if (id == BC_CODEC_ZSTD)
        levels[4] = 19;
    size_t len = text->len < 65536 ? text->len : 65536;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        bytes enc = {0}, dec = {0};
        bc_status st = encode(id, levels[i], text->data, len, &enc);
        if (st == BC_OK)
            st = decode(id, enc.data, enc.len, &dec);
        check(st == BC_OK && same(&dec, text->data, len),
              "%s: level %d does not round-trip: %s", bc_codec_name(id),
              levels[i], st == BC_OK ? "data differs" : bc_error_msg());
        bytes_free(&enc);
        bytes_free(&dec);
    }
}

/* What level 0 and out-of-range levels become: the same bytes as the
 * codec's default and its bounds (zstd's top level is too slow under ASan,
 * and snappy has no levels). */
static void test_level_clamping(const bytes *text)
{
    static const struct {
        bc_codec_id id;
        int asked, same_as;
    } cases[] = {
        {BC_CODEC_GZIP, 0, 6},     {BC_CODEC_GZIP, -3, 1},
        {BC_CODEC_GZIP, 100, 9},   {BC_CODEC_BZIP2, 0, 9},
        {BC_CODEC_BZIP2, -3, 1},   {BC_CODEC_BZIP2, 100, 9},
        {BC_CODEC_XZ, 0, 6},       {BC_CODEC_XZ, -3, -1},
        {BC_CODEC_XZ, 100, 9},     {BC_CODEC_LZ4, -3, 1},
        {BC_CODEC_LZ4, 100, LZ4HC_CLEVEL_MAX},
        {BC_CODEC_ZSTD, 0, 3},     {BC_CODEC_ZSTD, -1000000, -(1 << 17)},
    };
    size_t len = text->len < 65536 ? text->len : 65536;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytes a = {0}, b = {0};
        bc_status st = encode(cases[i].id, cases[i].asked, text->data, len, &a);
        if (st == BC_OK)
            st = encode(cases[i].id, cases[i].same_as, text->data, len, &b);
        check(st == BC_OK && same(&a, b.data, b.len),
              "%s: level %d does not give level %d's bytes: %s",
              bc_codec_name(cases[i].id), cases[i].asked, cases[i].same_as,
              st == BC_OK ? "they differ" : bc_error_msg());
        bytes_free(&a);
        bytes_free(&b);
    }
    /* codec.c's bounds for zstd are constants: the library's own. */
    check(bc_codec_zstd_impl.level_min == ZSTD_minCLevel() &&
              bc_codec_zstd_impl.level_max == ZSTD_maxCLevel(),
          "zstd: level range %d..%d, the library's is %d..%d",
          bc_codec_zstd_impl.level_min, bc_codec_zstd_impl.level_max,
          ZSTD_minCLevel(), ZSTD_maxCLevel());
}

/* ---- streams as stages ---- */

/* Encodes text through an encoder whose sink is a decoder (bc_codec_sink)
 * whose sink is out, finishing both in order. */
static bc_status run_chained(bc_codec_id id, const bytes *text, bytes *out)
{
    bc_codec_stream *dec = NULL, *enc = NULL;
    bc_status st = bc_codec_decoder(id, bytes_sink, out, &dec);
    if (st == BC_OK)
        st = bc_codec_encoder(id, 0, bc_codec_sink, dec, &enc);
    if (st == BC_OK)
        st = feed(enc, text->data, text->len);
    if (st == BC_OK)
        st = bc_codec_finish(dec);
    bc_codec_free(enc);
    bc_codec_free(dec);
    return st;
}

/* The input comes out again; a failure downstream reaches the writer with
 * the failing sink's status and message. */
static void test_chained(bc_codec_id id, const bytes *text)
{
    const char *codec = bc_codec_name(id);
    bytes out = {0};
    bc_status st = run_chained(id, text, &out);
    check(st == BC_OK && same(&out, text->data, text->len),
          "%s: encoder into decoder: %s", codec,
          st == BC_OK ? "data differs" : bc_error_msg());
    bytes_free(&out);

    out.fail_at_call = 1;
    st = run_chained(id, text, &out);
    check(st == BC_ERR_IO && strcmp(bc_error_msg(), "test sink refuses call 1") == 0,
          "%s: failing sink behind a decoder gave %s (%s)", codec,
          bc_status_name(st), bc_error_msg());
    bytes_free(&out);
}

/* ---- damaged streams ---- */

static void expect_data_error(bc_codec_id id, const unsigned char *in,
                              size_t len, const char *what)
{
    bytes dec = {0};
    bc_status st = decode(id, in, len, &dec);
    check(st == BC_ERR_DATA, "%s: decoding %s gave %s (%s), not corrupt data",
          bc_codec_name(id), what, bc_status_name(st),
          st == BC_OK ? "no error" : bc_error_msg());
    bytes_free(&dec);
}

static void test_damage(bc_codec_id id, const bytes *text)
{
    const char *codec = bc_codec_name(id);
    bytes enc = {0};
    if (!check(encode(id, 0, text->data, text->len, &enc) == BC_OK,
               "%s: encoding text: %s", codec, bc_error_msg()))
        return;

    const size_t cuts[] = {1, 7, enc.len / 3, enc.len / 2, enc.len - 4,
                           enc.len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "a stream cut to %zu of %zu bytes",
                 cuts[i], enc.len);
        expect_data_error(id, enc.data, cuts[i], what);
    }

    /* Trailing garbage after a complete stream. */
    bytes junk = {0};
    bytes_append(&junk, enc.data, enc.len);
    bytes_append(&junk, "garbage!", 8);
    expect_data_error(id, junk.data, junk.len, "a stream with trailing garbage");
    bytes_free(&junk);

    /* Zero padding after the end: xz allows it in multiples of 4 bytes,
     * gzip (like gzip(1) and Python's gzip module) ignores any. */
    if (id == BC_CODEC_XZ || id == BC_CODEC_GZIP) {
        static const unsigned char zeros[8] = {0};
        bytes padded = {0}, dec = {0};
        bytes_append(&padded, enc.data, enc.len);
        bytes_append(&padded, zeros, sizeof zeros);
        bc_status st = decode(id, padded.data, padded.len, &dec);
        check(st == BC_OK && same(&dec, text->data, text->len),
              "%s: zero padding refused: %s", codec, bc_error_msg());
        if (id == BC_CODEC_XZ)
            expect_data_error(id, padded.data, padded.len - 1,
                              "a stream with bad padding");
        bytes_free(&padded);
        bytes_free(&dec);
    }

    /* Empty input is no stream, except for snappy (see snappy.c). */
    if (id != BC_CODEC_SNAPPY)
        expect_data_error(id, NULL, 0, "empty input");

    /* Two streams back to back decode as the concatenation. */
    bytes two = {0}, dec = {0};
    bytes_append(&two, enc.data, enc.len);
    bytes_append(&two, enc.data, enc.len);
    bc_status st = decode(id, two.data, two.len, &dec);
    check(st == BC_OK && dec.len == 2 * text->len &&
              memcmp(dec.data, text->data, text->len) == 0 &&
              memcmp(dec.data + text->len, text->data, text->len) == 0,
          "%s: concatenated streams: %s", codec,
          st == BC_OK ? "data differs" : bc_error_msg());
    bytes_free(&two);
    bytes_free(&dec);
    bytes_free(&enc);
}

/* ---- sink failures and misuse ---- */

static void test_sink_failure(bc_codec_id id, const bytes *text)
{
    const char *codec = bc_codec_name(id);
    bytes enc = {0};
    if (!check(encode(id, 0, text->data, text->len, &enc) == BC_OK,
               "%s: encoding text: %s", codec, bc_error_msg()))
        return;

    for (int decoding = 0; decoding <= 1; decoding++) {
        const bytes *in = decoding ? &enc : text;
        bytes out = {0};
        out.fail_at_call = 1;
        bc_codec_stream *s;
        bc_status st = decoding ? bc_codec_decoder(id, bytes_sink, &out, &s)
                                : bc_codec_encoder(id, 0, bytes_sink, &out, &s);
        if (!check(st == BC_OK, "%s: new stream: %s", codec, bc_error_msg()))
            continue;
        st = bc_codec_write(s, in->data, in->len);
        if (st == BC_OK)
            st = bc_codec_finish(s);
        check(st == BC_ERR_IO &&
                  strcmp(bc_error_msg(), "test sink refuses call 1") == 0,
              "%s %s: failing sink gave %s (%s)", codec,
              decoding ? "decoder" : "encoder", bc_status_name(st),
              bc_error_msg());
        check(bc_codec_write(s, "x", 1) != BC_OK,
              "%s: write after a failure was accepted", codec);
        bc_codec_free(s);
        bytes_free(&out);
    }

    /* Writing after finish is refused. */
    bc_codec_stream *s;
    bytes out = {0};
    if (bc_codec_encoder(id, 0, bytes_sink, &out, &s) == BC_OK) {
        bc_status st = bc_codec_finish(s);
        check(st == BC_OK, "%s: finishing an empty encoder: %s", codec,
              bc_error_msg());
        check(bc_codec_write(s, "x", 1) != BC_OK,
              "%s: write after finish was accepted", codec);
        bc_codec_free(s);
    }
    bytes_free(&out);
    bytes_free(&enc);
}

/* ---- snappy framing details ---- */

static const unsigned char snappy_stream_id[] = {0xff, 0x06, 0x00, 0x00, 's',
                                                 'N',  'a',  'P',  'p',  'Y'};

/* Offset of the first data chunk after the identifier, or 0. */
static size_t snappy_first_data_chunk(const bytes *enc)
{
    return enc->len > sizeof snappy_stream_id + 8 ? sizeof snappy_stream_id
                                                  : 0;
}

static void test_snappy_format(const bytes *text, const bytes *wal)
{
    bytes enc = {0};
    if (!check(encode(BC_CODEC_SNAPPY, 0, wal->data, wal->len, &enc) == BC_OK,
               "snappy: encoding wal: %s", bc_error_msg()))
        return;
    check(enc.len >= sizeof snappy_stream_id &&
              memcmp(enc.data, snappy_stream_id, sizeof snappy_stream_id) == 0,
          "snappy: stream does not start with the stream identifier");

    /* Walk the chunks: only data chunks, each at most 64 KiB of data. */
    size_t pos = sizeof snappy_stream_id, total = 0;
    bool chunks_ok = true;
    while (chunks_ok && pos + 8 <= enc.len) {
        unsigned type = enc.data[pos];
        size_t len = enc.data[pos + 1] | (size_t)enc.data[pos + 2] << 8 |
                     (size_t)enc.data[pos + 3] << 16;
        size_t data_len = len - 4;
        if (type == 0x00 &&
            snappy_uncompressed_length((const char *)enc.data + pos + 8,
                                       len - 4, &data_len) != SNAPPY_OK)
            chunks_ok = false;
        if ((type != 0x00 && type != 0x01) || data_len > 65536 ||
            pos + 4 + len > enc.len)
            chunks_ok = false;
        total += data_len;
        pos += 4 + len;
    }
    check(chunks_ok && pos == enc.len && total == wal->len,
          "snappy: chunk structure is wrong at offset %zu", pos);
    bytes_free(&enc);

    /* An empty stream is just the identifier. */
    check(encode(BC_CODEC_SNAPPY, 0, NULL, 0, &enc) == BC_OK &&
              enc.len == sizeof snappy_stream_id,
          "snappy: empty input gives %zu bytes", enc.len);
    bytes dec = {0};
    check(decode(BC_CODEC_SNAPPY, NULL, 0, &dec) == BC_OK && dec.len == 0,
          "snappy: zero bytes (python-snappy's empty stream) do not decode");
    bytes_free(&enc);
    bytes_free(&dec);

    /* Random data is stored in uncompressed chunks: flip a data byte. */
    bytes rnd = make_random(200000);
    encode(BC_CODEC_SNAPPY, 0, rnd.data, rnd.len, &enc);
    size_t first = snappy_first_data_chunk(&enc);
    if (check(first && enc.data[first] == 0x01,
              "snappy: random data not in an uncompressed chunk")) {
        enc.data[first + 8 + 1000] ^= 0x20;
        bc_status st = decode(BC_CODEC_SNAPPY, enc.data, enc.len, &dec);
        check(st == BC_ERR_DATA && strstr(bc_error_msg(), "CRC"),
              "snappy: flipped byte in an uncompressed chunk: %s",
              st == BC_OK ? "accepted" : bc_error_msg());
        bytes_free(&dec);
    }
    bytes_free(&enc);
    bytes_free(&rnd);

    /* Text is compressed: damage the CRC of the first chunk. */
    encode(BC_CODEC_SNAPPY, 0, text->data, text->len, &enc);
    first = snappy_first_data_chunk(&enc);
    if (check(first && enc.data[first] == 0x00,
              "snappy: text not in a compressed chunk")) {
        enc.data[first + 5] ^= 0x01;
        bc_status st = decode(BC_CODEC_SNAPPY, enc.data, enc.len, &dec);
        check(st == BC_ERR_DATA && strstr(bc_error_msg(), "CRC"),
              "snappy: damaged CRC of a compressed chunk: %s",
              st == BC_OK ? "accepted" : bc_error_msg());
        bytes_free(&dec);
        enc.data[first + 5] ^= 0x01;
    }

    /* Padding and skippable chunks are skipped; reserved ones refused. */
    bytes odd = {0};
    bytes_append(&odd, snappy_stream_id, sizeof snappy_stream_id);
    bytes_append(&odd, "\xfe\x05\x00\x00\x00\x00\x00\x00\x00", 9);
    bytes_append(&odd, "\x80\x03\x00\x00xyz", 7);
    bytes_append(&odd, "\xfe\x00\x00\x00", 4);
    bytes_append(&odd, enc.data + sizeof snappy_stream_id,
                 enc.len - sizeof snappy_stream_id);
    bytes_append(&odd, snappy_stream_id, sizeof snappy_stream_id);
    bytes_append(&odd, "\xfd\x01\x00\x00!", 5);
    bc_status st = decode(BC_CODEC_SNAPPY, odd.data, odd.len, &dec);
    check(st == BC_OK && same(&dec, text->data, text->len),
          "snappy: stream with padding and skippable chunks: %s",
          st == BC_OK ? "data differs" : bc_error_msg());
    bytes_free(&dec);

    bytes_append(&odd, "\x02\x01\x00\x00!", 5);
    expect_data_error(BC_CODEC_SNAPPY, odd.data, odd.len,
                      "a reserved unskippable chunk");
    bytes_free(&odd);

    expect_data_error(BC_CODEC_SNAPPY, enc.data + sizeof snappy_stream_id,
                      enc.len - sizeof snappy_stream_id,
                      "a stream without its identifier");
    bytes_append(&odd, "\xff\x06\x00\x00sNaPpZ", 10);
    expect_data_error(BC_CODEC_SNAPPY, odd.data, odd.len,
                      "a bad stream identifier");
    bytes_free(&odd);
    bytes_free(&enc);
}

/* ---- interoperability with the command-line tools ---- */

typedef struct cli_tool {
    bc_codec_id id;
    const char *program;   /* what must be installed */
    const char *compress;  /* printf formats: input file, output file */
    const char *decompress;
    bool fast;             /* quick enough for the 16 MiB sample too */
} cli_tool;

static char tmp_dir[] = "/tmp/test_codec.XXXXXX";
static char python_snappy[64]; /* a python3 that has the snappy module */
static bool python_snappy_shim; /* ...whose C extension is broken */

/* Debian 12's python3-snappy imports, but its C extension's CRC-32C fails
 * at run time on Python 3.11 ("PY_SSIZE_T_CLEAN macro must be defined");
 * compress/uncompress work. Its framing code (StreamCompressor,
 * StreamDecompressor, the -c/-d command line) is pure Python, so run it
 * with a CRC-32C written in Python: still python-snappy's framing. */
static const char snappy_shim_py[] =
    "import sys\n"
    "import snappy.snappy as framing\n"
    "from snappy import __main__ as cli\n"
    "table = []\n"
    "for i in range(256):\n"
    "    c = i\n"
    "    for _ in range(8):\n"
    "        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1\n"
    "    table.append(c)\n"
    "def crc32c(data):\n"
    "    crc = 0xffffffff\n"
    "    for b in data:\n"
    "        crc = table[(crc ^ b) & 0xff] ^ (crc >> 8)\n"
    "    return crc ^ 0xffffffff\n"
    "framing._crc32c = crc32c\n"
    "sys.argv[0] = 'snappy'\n"
    "cli.cmdline_main()\n";

static bool have_program(const char *program)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", program);
    return system(cmd) == 0;
}

/* Find a python3 with python-snappy: one whose module works, else one
 * whose framing code can run through the shim above. */
static void find_python_snappy(void)
{
    static const char *candidates[] = {"python3", "/usr/bin/python3"};
    const size_t n = sizeof candidates / sizeof candidates[0];
    char cmd[256];
    for (size_t i = 0; i < n; i++) {
        snprintf(cmd, sizeof cmd,
                 "%s -c 'import snappy.snappy as s; s._crc32c(b\"x\")' "
                 ">/dev/null 2>&1", candidates[i]);
        if (system(cmd) == 0) {
            snprintf(python_snappy, sizeof python_snappy, "%s", candidates[i]);
            return;
        }
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(cmd, sizeof cmd,
                 "%s -c 'import snappy.snappy, snappy.__main__' "
                 ">/dev/null 2>&1", candidates[i]);
        if (system(cmd) == 0) {
            snprintf(python_snappy, sizeof python_snappy, "%s", candidates[i]);
            python_snappy_shim = true;
            fprintf(stderr, "note: python-snappy's CRC-32C is broken here; "
                            "running its framing code with a Python one\n");
            return;
        }
    }
}

static bool write_file(const char *path, const bytes *b)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(b->data ? b->data : (unsigned char *)"", 1, b->len, f) ==
              b->len;
    return fclose(f) == 0 && ok;
}

static bool read_file(const char *path, bytes *b)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        bytes_append(b, buf, n);
    bool ok = !ferror(f);
    fclose(f);
    return ok;
}

/* Run `format` with the two files substituted; true if it exited 0. */
static bool run_tool(const char *format, const char *in, const char *out)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, format, in, out);
    fflush(NULL); /* keep our output in order with the tool's */
    return system(cmd) == 0;
}

static void test_cli_tool(const cli_tool *t, const sample *smp)
{
    const char *codec = bc_codec_name(t->id);
    char plain[256], packed[256], back[256];
    snprintf(plain, sizeof plain, "%s/plain", tmp_dir);
    snprintf(packed, sizeof packed, "%s/packed", tmp_dir);
    snprintf(back, sizeof back, "%s/back", tmp_dir);

    /* Ours -> the tool. */
    bytes enc = {0}, out = {0};
    if (check(encode(t->id, 0, smp->data.data, smp->data.len, &enc) == BC_OK &&
                  write_file(packed, &enc),
              "%s: encoding %s for the CLI", codec, smp->name)) {
        bool ran = run_tool(t->decompress, packed, back);
        check(ran && read_file(back, &out) &&
                  same(&out, smp->data.data, smp->data.len),
              "%s: %s cannot decode our %s (%s)", codec, t->program, smp->name,
              ran ? "data differs" : "tool failed");
    }
    bytes_free(&enc);
    bytes_free(&out);

    /* The tool -> ours. */
    bytes dec = {0};
    if (check(write_file(plain, &smp->data) &&
                  run_tool(t->compress, plain, packed) &&
                  read_file(packed, &enc),
              "%s: %s cannot compress %s", codec, t->program, smp->name)) {
        bc_status st = decode(t->id, enc.data, enc.len, &dec);
        check(st == BC_OK && same(&dec, smp->data.data, smp->data.len),
              "%s: cannot decode %s's %s: %s", codec, t->program, smp->name,
              st == BC_OK ? "data differs" : bc_error_msg());
    }
    bytes_free(&enc);
    bytes_free(&dec);
    unlink(plain);
    unlink(packed);
    unlink(back);
}

/* `samples` ends with the big one, used only with fast tools. */
static void test_cli(const sample *samples, size_t n_samples)
{
    if (!mkdtemp(tmp_dir)) {
        check(false, "cannot create a temporary directory");
        return;
    }
    char shim[256], snappy_c[400], snappy_d[400];
    snprintf(shim, sizeof shim, "%s/snappy_shim.py", tmp_dir);
    find_python_snappy();
    if (python_snappy_shim) {
        const bytes code = {.data = (unsigned char *)snappy_shim_py,
                            .len = sizeof snappy_shim_py - 1};
        check(write_file(shim, &code), "cannot write %s", shim);
    }
    const char *snappy_run = python_snappy_shim ? shim : "-m snappy";
    snprintf(snappy_c, sizeof snappy_c, "%s %s -c %%s %%s", python_snappy,
             snappy_run);
    snprintf(snappy_d, sizeof snappy_d, "%s %s -d %%s %%s", python_snappy,
             snappy_run);
    const cli_tool tools[] = {
        {BC_CODEC_GZIP, "gzip", "gzip -c < %s > %s", "gzip -dc < %s > %s",
         true},
        {BC_CODEC_BZIP2, "bzip2", "bzip2 -c < %s > %s", "bzip2 -dc < %s > %s",
         false},
        {BC_CODEC_XZ, "xz", "xz -c < %s > %s", "xz -dc < %s > %s", false},
        {BC_CODEC_LZ4, "lz4", "lz4 -q -c < %s > %s", "lz4 -q -dc < %s > %s",
         true},
        {BC_CODEC_ZSTD, "zstd", "zstd -q -c < %s > %s",
         "zstd -q -dc < %s > %s", true},
        /* The shim's CRC-32C in Python is too slow for 16 MiB. */
        {BC_CODEC_SNAPPY, "python3 -m snappy", snappy_c, snappy_d,
         !python_snappy_shim},
    };

    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        bool present = tools[i].id == BC_CODEC_SNAPPY
                           ? python_snappy[0] != '\0'
                           : have_program(tools[i].program);
        if (!present) {
            char why[128];
            snprintf(why, sizeof why, "%s is not installed: %s CLI checks",
                     tools[i].program, bc_codec_name(tools[i].id));
            skip(why);
            continue;
        }
        size_t n = tools[i].fast ? n_samples : n_samples - 1;
        for (size_t j = 0; j < n; j++)
            test_cli_tool(&tools[i], &samples[j]);
    }
    unlink(shim);
    rmdir(tmp_dir);
}

int main(void)
{
    sample samples[] = {
        {"empty input", {0}},
        {"1 byte", {0}},
        {"1 MiB of text", make_text(1024 * 1024 + 17)},
        {"3 MiB of random data", make_random(3 * 1024 * 1024 + 5)},
        {"16 MiB WAL segment", make_wal()},
    };
    bytes_append(&samples[1].data, "Z", 1);
    const size_t n_samples = sizeof samples / sizeof samples[0];
    const bytes *text = &samples[2].data;
    /* A view of its first 256 KiB (several blocks of every codec) for the
     * error tests, which need no more and run often. */
    const bytes text_part = {.data = text->data, .len = 256 * 1024};

    test_names();
    for (size_t c = 0; c < N_CODECS; c++) {
        for (size_t i = 0; i < n_samples; i++)
            roundtrip(all_codecs[c], &samples[i]);
        test_levels(all_codecs[c], text);
        test_sink_failure(all_codecs[c], &text_part);
        test_chained(all_codecs[c], &text_part);
        if (all_codecs[c] != BC_CODEC_NONE)
            test_damage(all_codecs[c], &text_part);
    }
    test_level_clamping(text);
    test_snappy_format(text, &samples[4].data);

    /* CLI checks: random data adds nothing there but time; the WAL sample
     * goes last, it is skipped for slow tools. */
    sample cli_samples[] = {samples[0], samples[1], samples[2], samples[4]};
    test_cli(cli_samples, sizeof cli_samples / sizeof cli_samples[0]);

    for (size_t i = 0; i < n_samples; i++)
        bytes_free(&samples[i].data);

    printf("codec: %d passed, %d failed", n_passed, n_failed);
    if (n_skipped)
        printf(", %d skipped", n_skipped);
    printf("\n");
    return n_failed ? 1 : 0;
}
