/* The streaming writer (bc_store_writer_*).
 *
 * file://: small, empty and multi-MiB streams in odd chunk sizes, abort,
 * "only if absent", and what commit leaves on disk.
 *
 * s3://, against a fake server run by this test: which requests a stream
 * becomes (one PUT under the threshold, else a multipart upload of so many
 * parts; If-None-Match for "only if absent"), and a part that fails in the
 * background fails a later write or the commit, the upload aborted.
 *
 * s3://, against a real S3-compatible server when BC_TEST_S3_ENDPOINT is set
 * (e.g. http://127.0.0.1:PORT running s3rver with bucket "test"; keys from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else S3RVER / S3RVER): a 23 MiB
 * stream in random chunks, streams around the multipart threshold, and
 * abort; skipped otherwise.
 *
 * Ends with one line "store_writer: N passed, N failed[, N skipped]";
 * exits non-zero on failure. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "store/s3/s3_internal.h"
#include "util/buffer.h"
#include "util/log.h"

#undef MiB /* s3_internal.h has its own, as int64_t */
#define MiB ((size_t)1 << 20)

static int n_passed, n_failed, n_skipped;

#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (cond) {                                        \
            n_passed++;                                    \
        } else {                                           \
            n_failed++;                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);    \
            printf(__VA_ARGS__);                           \
            printf(" (%s)\n", bc_error_msg());             \
        }                                                  \
    } while (0)

#define CHECK_OK(expr) \
    do { bc_status st_ = (expr); CHECK(st_ == BC_OK, "%s: %s", #expr, bc_status_name(st_)); } while (0)

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static unsigned char *random_bytes(size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    for (size_t i = 0; p && i < n; i++)
        p[i] = (unsigned char)(rng() >> 32);
    return p;
}

/* Writes data in chunks of 1..max_chunk bytes (and a few empty writes). */
static bc_status write_chunked(bc_store_writer *w, const unsigned char *data, size_t len,
                               size_t max_chunk)
{
    for (size_t off = 0; off < len;) {
        size_t n = 1 + (size_t)(rng() % max_chunk);
        if (n > len - off)
            n = len - off;
        if (rng() % 16 == 0) {
            bc_status st = bc_store_writer_write(w, data + off, 0);
            if (st != BC_OK)
                return st;
        }
        bc_status st = bc_store_writer_write(w, data + off, n);
        if (st != BC_OK)
            return st;
        off += n;
    }
    return BC_OK;
}

/* Streams data to key and commits; the writer's count must match. */
static bc_status stream_object(bc_store *store, const char *key, const unsigned char *data,
                               size_t len, size_t max_chunk, const bc_put_opts *opts)
{
    bc_store_writer *w;
    bc_status st = bc_store_writer_open(store, key, opts, &w);
    if (st != BC_OK)
        return st;
    if ((st = write_chunked(w, data, len, max_chunk)) != BC_OK) {
        bc_store_writer_abort(w);
        return st;
    }
    CHECK(bc_store_writer_size(w) == (int64_t)len, "writer size %lld, wrote %zu",
          (long long)bc_store_writer_size(w), len);
    return bc_store_writer_commit(w);
}

/* Whether key reads back as exactly data. */
static int reads_back(bc_store *store, const char *key, const unsigned char *data, size_t len)
{
    bc_buffer got = { 0 };
    bc_status st = bc_store_get(store, key, bc_buffer_sink, &got);
    int same = st == BC_OK && got.len == len && (len == 0 || memcmp(got.data, data, len) == 0);
    if (!same)
        printf("  %s: get %s, %zu bytes back of %zu\n", key, bc_status_name(st), got.len, len);
    bc_buffer_free(&got);
    return same;
}

static int file_holds(const char *path, const unsigned char *data, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char *got = malloc(len + 1);
    size_t n = got ? fread(got, 1, len + 1, f) : 0;
    fclose(f);
    int same = got && n == len && memcmp(got, data, len) == 0;
    free(got);
    return same;
}

/* Entries of dir other than . and .. whose names start with prefix. */
static int count_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
            strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            n++;
    if (d)
        closedir(d);
    return n;
}

static int count_listed(void *ctx, const bc_object_info *obj)
{
    (void)obj;
    ++*(int *)ctx;
    return 0;
}

/* ---- file:// ---------------------------------------------------------- */

static void test_file(void)
{
    char root[] = "/tmp/test_store_writer.XXXXXX";
    if (!mkdtemp(root)) {
        CHECK(0, "mkdtemp failed");
        return;
    }
    char url[256], path[512], dir[512];
    snprintf(url, sizeof url, "file://%s", root);
    bc_store_config cfg = { .url = url };
    bc_store *store;
    CHECK_OK(bc_store_open(&cfg, &store));
    if (!store)
        return;

    /* A small stream, written piece by piece. */
    const char *text = "hello, streaming world\n";
    bc_store_writer *w;
    CHECK_OK(bc_store_writer_open(store, "small", NULL, &w));
    for (size_t off = 0, n; off < strlen(text); off += n) {
        n = strlen(text) - off < 5 ? strlen(text) - off : 5;
        CHECK_OK(bc_store_writer_write(w, text + off, n));
    }
    CHECK(bc_store_writer_size(w) == (int64_t)strlen(text), "small: size %lld",
          (long long)bc_store_writer_size(w));
    CHECK(count_entries(root, ".bc-tmp-") == 1, "small: no temporary file while writing");
    CHECK(count_entries(root, "small") == 0, "small: visible before commit");
    CHECK_OK(bc_store_writer_commit(w));
    CHECK(reads_back(store, "small", (const unsigned char *)text, strlen(text)), "small: content");

    /* Empty. */
    bc_object_info info;
    CHECK_OK(stream_object(store, "empty", NULL, 0, 1, NULL));
    CHECK_OK(bc_store_head(store, "empty", &info));
    CHECK(info.size == 0, "empty: size %lld", (long long)info.size);

    /* A few MiB in odd chunk sizes, under a nested key; then durability:
     * the file itself, under its final name, with exactly these bytes. */
    size_t big_len = 3 * MiB + 4093;
    unsigned char *big = random_bytes(big_len);
    CHECK_OK(stream_object(store, "a/b/c/big.tar", big, big_len, 65537, NULL));
    CHECK(reads_back(store, "a/b/c/big.tar", big, big_len), "big: content");
    snprintf(path, sizeof path, "%s/a/b/c/big.tar", root);
    snprintf(dir, sizeof dir, "%s/a/b/c", root);
    CHECK(file_holds(path, big, big_len), "big: %s on disk", path);
    CHECK(count_entries(dir, ".bc-tmp-") == 0, "big: temporary file left");

    /* The sink adapter: copy one object into a writer. */
    CHECK_OK(bc_store_writer_open(store, "copy", NULL, &w));
    CHECK_OK(bc_store_get(store, "a/b/c/big.tar", bc_store_writer_sink, w));
    CHECK_OK(bc_store_writer_commit(w));
    CHECK(reads_back(store, "copy", big, big_len), "copy: content");

    /* Abort leaves neither the object nor a temporary file. */
    CHECK_OK(bc_store_writer_open(store, "a/aborted", NULL, &w));
    CHECK_OK(write_chunked(w, big, MiB, 4096));
    bc_store_writer_abort(w);
    bc_store_writer_abort(NULL);
    snprintf(dir, sizeof dir, "%s/a", root);
    CHECK(count_entries(dir, "aborted") == 0, "abort: object left");
    CHECK(count_entries(dir, ".bc-tmp-") == 0, "abort: temporary file left");
    CHECK(bc_store_head(store, "a/aborted", &info) == BC_ERR_NOTFOUND, "abort: head");

    /* Only if absent: refused over an existing object, which stays. */
    bc_put_opts absent = { .if_absent = 1 };
    CHECK(stream_object(store, "small", big, 1000, 100, &absent) == BC_ERR_CONFLICT,
          "if_absent over an existing object");
    CHECK(reads_back(store, "small", (const unsigned char *)text, strlen(text)),
          "if_absent: original kept");
    CHECK(count_entries(root, ".bc-tmp-") == 0, "if_absent: temporary file left");
    CHECK_OK(stream_object(store, "fresh", big, 1000, 100, &absent));
    CHECK(reads_back(store, "fresh", big, 1000), "if_absent: new object");

    /* Without if_absent a commit replaces the object. */
    CHECK_OK(stream_object(store, "small", big, 777, 50, NULL));
    CHECK(reads_back(store, "small", big, 777), "replace: content");

    /* Two writers at once on one key: separate temporary files, last wins. */
    bc_store_writer *w2;
    CHECK_OK(bc_store_writer_open(store, "twice", NULL, &w));
    CHECK_OK(bc_store_writer_open(store, "twice", NULL, &w2));
    CHECK_OK(bc_store_writer_write(w, "first", 5));
    CHECK_OK(bc_store_writer_write(w2, "second", 6));
    CHECK_OK(bc_store_writer_commit(w));
    CHECK_OK(bc_store_writer_commit(w2));
    CHECK(reads_back(store, "twice", (const unsigned char *)"second", 6), "twice: content");

    /* A listing shows committed objects only. */
    CHECK_OK(bc_store_writer_open(store, "listed-pending", NULL, &w));
    int listed = 0;
    CHECK_OK(bc_store_list(store, "", NULL, count_listed, &listed));
    CHECK(listed == 6, "list: %d objects, want 6", listed);
    bc_store_writer_abort(w);

    /* A killed writer's temporary file: never listed, and removed with its
     * folder once a delete empties it, but not while objects remain. */
    CHECK_OK(stream_object(store, "k/one", big, 100, 100, NULL));
    CHECK_OK(stream_object(store, "k/two", big, 100, 100, NULL));
    snprintf(path, sizeof path, "%s/k/.bc-tmp-three.999999.w0", root);
    FILE *debris = fopen(path, "w");
    CHECK(debris && fputs("half", debris) >= 0 && fclose(debris) == 0, "debris: %s", path);
    listed = 0;
    CHECK_OK(bc_store_list(store, "k/", NULL, count_listed, &listed));
    CHECK(listed == 2, "debris: %d objects listed, want 2", listed);
    const char *one = "k/one", *two = "k/two";
    CHECK_OK(bc_store_delete(store, &one, 1));
    snprintf(dir, sizeof dir, "%s/k", root);
    CHECK(count_entries(dir, ".bc-tmp-") == 1, "debris: removed while k/two remains");
    CHECK_OK(bc_store_delete(store, &two, 1));
    CHECK(access(dir, F_OK) != 0, "debris: %s left after its last object went", dir);

    free(big);
    bc_store_close(store);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        printf("note: could not remove %s\n", root);
}

/* ---- s3:// against a fake server ---------------------------------------
 *
 * It stores nothing: it answers each request by its kind and counts the
 * kinds, which shows what the writer sent (one PUT or a multipart upload of
 * so many parts, with or without If-None-Match). */

#define FAKE_MAX_PART 64

typedef struct fake_counts {
    int puts, creates, parts, completes, aborts;
    int conditional;          /* requests that carried If-None-Match: * */
    long long part_len[FAKE_MAX_PART + 1];   /* by part number, up to 64 */
    int last_part;            /* the highest part number seen */
} fake_counts;

typedef struct fake_s3 {
    int listen_fd;
    int port;
    atomic_int stop;
    pthread_t thread;
    pthread_mutex_t lock;     /* guards what follows */
    int fail_part;            /* UploadPart of this number: 403 */
    int refuse_conditional;   /* If-None-Match: 412, as over an existing key */
    fake_counts seen;
} fake_s3;

/* Reads the request head into head and discards the body. */
static int read_request(int fd, char *head, size_t cap)
{
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = read(fd, head + len, 1);
        if (n <= 0)
            return -1;
        len++;
        head[len] = '\0';
        if (len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    const char *cl = strcasestr(head, "\r\ncontent-length:");
    long long body = cl ? atoll(cl + 17) : 0;
    char sink[65536];
    while (body > 0) {
        ssize_t n = read(fd, sink, body < (long long)sizeof sink ? (size_t)body : sizeof sink);
        if (n <= 0)
            return -1;
        body -= n;
    }
    return 0;
}

static void reply(int fd, const char *status, const char *extra, const char *body)
{
    char out[1024];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %s\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n%s",
                     status, extra, strlen(body), body);
    if (write(fd, out, (size_t)n) != n)
        return;
}

static void serve_one(fake_s3 *f, int fd)
{
    char head[8192];
    if (read_request(fd, head, sizeof head) != 0)
        return;
    const char *part = strstr(head, "partNumber=");
    int post = strncmp(head, "POST ", 5) == 0, put = strncmp(head, "PUT ", 4) == 0;
    int conditional = strcasestr(head, "\r\nif-none-match: *\r\n") != NULL;
    pthread_mutex_lock(&f->lock);
    fake_counts *c = &f->seen;
    c->conditional += conditional;
    int refuse = conditional && f->refuse_conditional;
    int fail_part = part && atoi(part + 11) == f->fail_part;
    if (post && strstr(head, "?uploads"))
        c->creates++;
    else if (put && part) {
        c->parts++;
        int number = atoi(part + 11);
        const char *cl = strcasestr(head, "\r\ncontent-length:");
        if (number > 0 && number <= FAKE_MAX_PART)
            c->part_len[number] = cl ? atoll(cl + 17) : -1;
        if (number > c->last_part)
            c->last_part = number;
    }
    else if (put)
        c->puts++;
    else if (post)
        c->completes++;
    else if (strncmp(head, "DELETE ", 7) == 0)
        c->aborts++;
    pthread_mutex_unlock(&f->lock);

    if (refuse)
        reply(fd, "412 Precondition Failed", "", "<Error><Code>PreconditionFailed</Code></Error>");
    else if (post && strstr(head, "?uploads"))
        reply(fd, "200 OK", "", "<InitiateMultipartUploadResult><UploadId>fake-upload"
                                "</UploadId></InitiateMultipartUploadResult>");
    else if (put && fail_part)
        reply(fd, "403 Forbidden", "", "<Error><Code>AccessDenied</Code>"
                                       "<Message>part refused</Message></Error>");
    else if (put)
        reply(fd, "200 OK", "ETag: \"0123\"\r\n", "");
    else if (post)
        reply(fd, "200 OK", "", "<CompleteMultipartUploadResult></CompleteMultipartUploadResult>");
    else
        reply(fd, "204 No Content", "", "");
}

/* One connection at a time: every reply closes its connection. */
static void *fake_s3_main(void *arg)
{
    fake_s3 *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve_one(f, fd);
        close(fd);
    }
    return NULL;
}

static int fake_s3_start(fake_s3 *f)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    pthread_mutex_init(&f->lock, NULL);
    f->fail_part = -1;
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(f->listen_fd, 64) != 0 || getsockname(f->listen_fd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    f->port = ntohs(a.sin_port);
    return pthread_create(&f->thread, NULL, fake_s3_main, f) == 0 ? 0 : -1;
}

static void fake_s3_stop(fake_s3 *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    pthread_mutex_destroy(&f->lock);
}

/* The counts since the last call; resets them and the failure settings. */
static fake_counts fake_s3_take(fake_s3 *f)
{
    pthread_mutex_lock(&f->lock);
    fake_counts c = f->seen;
    memset(&f->seen, 0, sizeof f->seen);
    f->fail_part = -1;
    f->refuse_conditional = 0;
    pthread_mutex_unlock(&f->lock);
    return c;
}

static void fake_s3_set(fake_s3 *f, int fail_part, int refuse_conditional)
{
    pthread_mutex_lock(&f->lock);
    f->fail_part = fail_part;
    f->refuse_conditional = refuse_conditional;
    pthread_mutex_unlock(&f->lock);
}

static bc_store *open_s3_parts(const char *endpoint, const char *url, int64_t threshold,
                               int concurrency, int retries, int max_parts)
{
    bc_store_config cfg = {
        .url = url,
        .endpoint_url = endpoint,
        .multipart_threshold = threshold,
        .part_size = 5 * (int64_t)MiB,
        .concurrency = concurrency,
        .max_retries = retries,
        .max_parts = max_parts,
    };
    bc_store *store = NULL;
    CHECK_OK(bc_store_open(&cfg, &store));
    return store;
}

static bc_store *open_s3(const char *endpoint, const char *url, int64_t threshold,
                         int concurrency, int retries)
{
    return open_s3_parts(endpoint, url, threshold, concurrency, retries, 0);
}

#define CHECK_COUNTS(c, p, cr, pa, co, ab)                                                  \
    CHECK((c).puts == (p) && (c).creates == (cr) && (c).parts == (pa) &&                   \
              (c).completes == (co) && (c).aborts == (ab),                                 \
          "puts %d creates %d parts %d completes %d aborts %d, want %d %d %d %d %d",        \
          (c).puts, (c).creates, (c).parts, (c).completes, (c).aborts, p, cr, pa, co, ab)

/* Which requests streams of various sizes become. Part size 5 MiB. */
static void test_request_shapes(fake_s3 *f, const char *endpoint, const unsigned char *data)
{
    fake_counts c;
    bc_put_opts absent = { .if_absent = 1 };
    /* Threshold 5 MiB: the brief's settings. */
    bc_store *store = open_s3(endpoint, "s3://fake/p", 5 * (int64_t)MiB, 3, -1);
    if (!store)
        return;
    fake_s3_take(f);
    CHECK_OK(stream_object(store, "small", data, MiB + 3, 100 * 1024, NULL));
    c = fake_s3_take(f);
    CHECK_COUNTS(c, 1, 0, 0, 0, 0);
    CHECK_OK(stream_object(store, "empty", NULL, 0, 1, NULL));
    c = fake_s3_take(f);
    CHECK_COUNTS(c, 1, 0, 0, 0, 0);
    CHECK_OK(stream_object(store, "at", data, 5 * MiB, MiB, NULL));
    c = fake_s3_take(f);
    CHECK_COUNTS(c, 1, 0, 0, 0, 0);
    CHECK_OK(stream_object(store, "over", data, 5 * MiB + 1, MiB, NULL));
    c = fake_s3_take(f);
    CHECK_COUNTS(c, 0, 1, 2, 1, 0);
    CHECK_OK(stream_object(store, "big", data, 23 * MiB, 700 * 1024, NULL));
    c = fake_s3_take(f);
    CHECK_COUNTS(c, 0, 1, 5, 1, 0);
    CHECK_OK(stream_object(store, "exact", data, 15 * MiB, 333 * 1024, NULL));
    c = fake_s3_take(f);
    CHECK_COUNTS(c, 0, 1, 3, 1, 0);

    /* Only if absent: If-None-Match on the PUT or on the completion, and
     * a refusal is a conflict (the multipart upload then aborted). */
    CHECK_OK(stream_object(store, "cond-small", data, 1000, 100, &absent));
    CHECK_OK(stream_object(store, "cond-big", data, 12 * MiB, MiB, &absent));
    c = fake_s3_take(f);
    CHECK(c.conditional == 2, "If-None-Match sent %d times, want 2", c.conditional);
    fake_s3_set(f, -1, 1);
    CHECK(stream_object(store, "cond-small", data, 1000, 100, &absent) == BC_ERR_CONFLICT,
          "conflict on the PUT");
    fake_s3_set(f, -1, 1);
    CHECK(stream_object(store, "cond-big", data, 12 * MiB, MiB, &absent) == BC_ERR_CONFLICT,
          "conflict on the completion");
    c = fake_s3_take(f);
    CHECK_COUNTS(c, 1, 1, 3, 1, 1);
    bc_store_close(store);

    /* Threshold 12 MiB, concurrency 3: the stream is held up to 15 MiB
     * (whole parts); one within the threshold is still a single PUT. */
    store = open_s3(endpoint, "s3://fake/p", 12 * (int64_t)MiB, 3, -1);
    if (!store)
        return;
    CHECK_OK(stream_object(store, "under", data, 11 * MiB, MiB, NULL));
    c = fake_s3_take(f);
    CHECK_COUNTS(c, 1, 0, 0, 0, 0);
    CHECK_OK(stream_object(store, "held", data, 13 * MiB, MiB, NULL));
    c = fake_s3_take(f);
    CHECK_COUNTS(c, 0, 1, 3, 1, 0);
    CHECK_OK(stream_object(store, "beyond", data, 16 * MiB, MiB, NULL));
    c = fake_s3_take(f);
    CHECK_COUNTS(c, 0, 1, 4, 1, 0);
    bc_store_close(store);

    /* Threshold 64 MiB but concurrency 2: memory (3 parts) bounds the hold. */
    store = open_s3(endpoint, "s3://fake/p", 64 * (int64_t)MiB, 2, -1);
    if (!store)
        return;
    CHECK_OK(stream_object(store, "bounded", data, 11 * MiB, MiB, NULL));
    c = fake_s3_take(f);
    CHECK_COUNTS(c, 0, 1, 3, 1, 0);
    bc_store_close(store);
}

/* A part failing in the background fails a later write or the commit. */
static void test_part_failure(fake_s3 *f, const char *endpoint, const unsigned char *data,
                              size_t len)
{
    fake_counts c;
    bc_store *store = open_s3(endpoint, "s3://fake/p", 5 * (int64_t)MiB, 2, -1);
    if (!store)
        return;
    fake_s3_take(f);

    /* Part 2 fails while the stream goes on: some later write reports it,
     * the writes after it and the commit repeat it, the upload is aborted. */
    fake_s3_set(f, 2, 0);
    bc_store_writer *w;
    CHECK_OK(bc_store_writer_open(store, "k", NULL, &w));
    bc_status st = BC_OK;
    for (size_t off = 0; st == BC_OK && off + MiB <= len; off += MiB)
        st = bc_store_writer_write(w, data + off, MiB);
    CHECK(st == BC_ERR_AUTH, "a write after the failed part: %s", bc_status_name(st));
    CHECK(strstr(bc_error_msg(), "part 2") != NULL, "the message names the part");
    CHECK(bc_store_writer_write(w, data, 10) == BC_ERR_AUTH, "the next write");
    CHECK(bc_store_writer_commit(w) == BC_ERR_AUTH, "the commit");
    c = fake_s3_take(f);
    CHECK(c.aborts == 1 && c.completes == 0, "aborts %d completes %d", c.aborts, c.completes);
    CHECK(c.parts <= 5, "%d parts sent: the failure should stop them", c.parts);

    /* The failing part is the last one, which the commit sends. */
    fake_s3_set(f, 2, 0);
    CHECK_OK(bc_store_writer_open(store, "k2", NULL, &w));
    CHECK_OK(bc_store_writer_write(w, data, 6 * MiB));
    CHECK(bc_store_writer_commit(w) == BC_ERR_AUTH, "the commit of a failing last part");
    c = fake_s3_take(f);
    CHECK_COUNTS(c, 0, 1, 2, 0, 1);

    /* Abort while parts are in flight. */
    CHECK_OK(bc_store_writer_open(store, "k3", NULL, &w));
    CHECK_OK(bc_store_writer_write(w, data, 17 * MiB));
    bc_store_writer_abort(w);
    c = fake_s3_take(f);
    CHECK(c.creates == 1 && c.aborts == 1 && c.completes == 0, "creates %d aborts %d completes %d",
          c.creates, c.aborts, c.completes);
    bc_store_close(store);
}

/* Parts 1..n-1 all `size` bytes, part n at most that. */
static int equal_parts(const fake_counts *c, int n, long long size)
{
    if (c->last_part != n)
        return 0;
    for (int i = 1; i < n; i++)
        if (c->part_len[i] != size)
            return 0;
    return c->part_len[n] > 0 && c->part_len[n] <= size;
}

/* Every part but the last is the same size (Cloudflare R2 requires it),
 * and the part size grows when a stream of known bound would pass
 * --max-parts. */
static void test_part_sizes(fake_s3 *f, const char *endpoint, const unsigned char *data)
{
    const int64_t M = MiB;
    CHECK(bc_s3_part_size(16 * M, 0, 10000) == 16 * M, "unknown size keeps the part size");
    CHECK(bc_s3_part_size(16 * M, 100 * 1024 * M, 10000) == 16 * M, "6400 parts fit");
    CHECK(bc_s3_part_size(16 * M, 200 * 1024 * M, 10000) == 21 * M, "200 GiB in 10000 parts");
    CHECK(bc_s3_part_size(5 * M, 20 * M, 4) == 5 * M, "exactly 4 parts");
    CHECK(bc_s3_part_size(5 * M, 20 * M + 1, 4) == 6 * M, "one byte more: whole MiB up");
    CHECK(bc_s3_part_size(5 * M, 38 * M, 4) == 10 * M, "38 MiB in 4 parts");

    size_t len = 38 * MiB + 12345;
    fake_counts c;
    bc_store *store = open_s3(endpoint, "s3://fake/p", 5 * M, 3, -1);
    if (!store)
        return;
    fake_s3_take(f);
    CHECK_OK(stream_object(store, "equal", data, len, 777777, NULL));
    c = fake_s3_take(f);
    CHECK(equal_parts(&c, 8, 5 * M), "8 parts of 5 MiB but the last (saw %d)", c.last_part);
    bc_store_close(store);

    store = open_s3_parts(endpoint, "s3://fake/p", 5 * M, 3, -1, 4);
    if (!store)
        return;
    bc_put_opts bounded = { .size_limit = 40 * M };
    CHECK_OK(stream_object(store, "grown", data, len, 777777, &bounded));
    c = fake_s3_take(f);
    CHECK(equal_parts(&c, 4, 10 * M), "4 parts of 10 MiB (saw %d)", c.last_part);
    /* No bound known: the part size cannot grow, and the fifth part is
     * refused with a message naming both ways out; the upload is aborted. */
    bc_status st = stream_object(store, "unbounded", data, len, 777777, NULL);
    CHECK(st == BC_ERR_USAGE && strstr(bc_error_msg(), "--max-parts"), "unbounded: %s",
          bc_error_msg());
    c = fake_s3_take(f);
    CHECK(c.aborts == 1 && c.completes == 0, "aborted, not completed");
    bc_store_close(store);
}

static void test_fake_s3(void)
{
    fake_s3 f = { 0 };
    size_t len = 40 * MiB;
    unsigned char *data = random_bytes(len);
    if (!data || fake_s3_start(&f) != 0) {
        CHECK(0, "cannot start the fake S3 server");
        free(data);
        return;
    }
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", f.port);
    test_request_shapes(&f, endpoint, data);
    test_part_failure(&f, endpoint, data, len);
    test_part_sizes(&f, endpoint, data);
    fake_s3_stop(&f);
    free(data);
}

/* ---- s3:// against a real server -------------------------------------- */

static void test_s3(const char *endpoint)
{
    char url[128], prefix[64], key[128];
    snprintf(prefix, sizeof prefix, "sw-%ld-%ld", (long)getpid(), (long)time(NULL));
    snprintf(url, sizeof url, "s3://test/%s", prefix);
    bc_store *store = open_s3(endpoint, url, 5 * (int64_t)MiB, 3, 0);
    size_t len = 23 * MiB;
    unsigned char *data = random_bytes(len);
    if (!store || !data)
        goto out;
#define KEY(name) (snprintf(key, sizeof key, "%s/%s", prefix, (name)), key)

    /* 23 MiB in random chunks (five parts), read back byte for byte. */
    CHECK_OK(stream_object(store, KEY("big"), data, len, 700 * 1024, NULL));
    CHECK(reads_back(store, KEY("big"), data, len), "big: content");

    /* Under, at and just over the threshold, and empty. */
    CHECK_OK(stream_object(store, KEY("small"), data, MiB + 3, 100 * 1024, NULL));
    CHECK(reads_back(store, KEY("small"), data, MiB + 3), "small: content");
    CHECK_OK(stream_object(store, KEY("at"), data, 5 * MiB, MiB, NULL));
    CHECK(reads_back(store, KEY("at"), data, 5 * MiB), "at threshold: content");
    CHECK_OK(stream_object(store, KEY("over"), data, 5 * MiB + 1, MiB, NULL));
    CHECK(reads_back(store, KEY("over"), data, 5 * MiB + 1), "over threshold: content");
    CHECK_OK(stream_object(store, KEY("empty"), NULL, 0, 1, NULL));
    CHECK(reads_back(store, KEY("empty"), data, 0), "empty: content");

    /* Abort, before and after the multipart upload started: no object. */
    bc_object_info info;
    bc_store_writer *w;
    CHECK_OK(bc_store_writer_open(store, KEY("aborted-small"), NULL, &w));
    CHECK_OK(write_chunked(w, data, MiB, 64 * 1024));
    bc_store_writer_abort(w);
    CHECK(bc_store_head(store, KEY("aborted-small"), &info) == BC_ERR_NOTFOUND, "abort small");
    CHECK_OK(bc_store_writer_open(store, KEY("aborted-big"), NULL, &w));
    CHECK_OK(write_chunked(w, data, 17 * MiB, 512 * 1024));
    bc_store_writer_abort(w);
    CHECK(bc_store_head(store, KEY("aborted-big"), &info) == BC_ERR_NOTFOUND, "abort big");

    static const char *const names[] = { "big", "small", "at", "over", "empty" };
    char keys[5][128];
    for (int i = 0; i < 5; i++)
        snprintf(keys[i], sizeof keys[i], "%s/%s", prefix, names[i]);
    const char *const doomed[] = { keys[0], keys[1], keys[2], keys[3], keys[4] };
    CHECK_OK(bc_store_delete(store, doomed, 5));
#undef KEY
out:
    free(data);
    bc_store_close(store);
}

int main(void)
{
    bc_log_init("test_store_writer", BC_LOG_TEXT, -2);
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 0);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 0);
    setenv("AWS_DEFAULT_REGION", "us-east-1", 0);

    test_file();
    test_fake_s3();
    const char *endpoint = getenv("BC_TEST_S3_ENDPOINT");
    if (endpoint && *endpoint)
        test_s3(endpoint);
    else
        n_skipped++;

    bc_log_shutdown();
    printf("store_writer: %d passed, %d failed", n_passed, n_failed);
    if (n_skipped)
        printf(", %d skipped", n_skipped);
    printf("\n");
    return n_failed ? 1 : 0;
}
