/* The object store interface.
 *
 * One small interface, a backend per provider behind it (file://, s3://,
 * Azure https://, gs://).
 * Nothing above lib/store/ knows which provider it talks to. Keys are full
 * object names inside the bucket (the URL's prefix included, no leading '/');
 * bc_store_prefix() gives that prefix so lib/layout can build keys.
 *
 * Durability rule: bc_store_put() returns BC_OK only once the store has
 * acknowledged the whole object (file://: written under a temporary name,
 * fsynced, renamed, directory fsynced). A failed put leaves no object that
 * looks complete. */
#ifndef BC_STORE_STORE_H
#define BC_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/status.h"

typedef struct bc_store bc_store;

typedef struct bc_store_config {
    const char *url;              /* s3://bucket/prefix, file:///dir, gs://bucket/prefix,
                                     https://account.blob.core.windows.net/container/prefix */
    const char *cloud_provider;   /* "aws-s3" (default), "azure-blob-storage",
                                     "google-cloud-storage": must match the URL */
    const char *endpoint_url;     /* S3-compatible endpoint, e.g. http://127.0.0.1:4568 */
    const char *profile;          /* ~/.aws/credentials section (-P) */
    const char *ca_bundle;        /* PEM file of trusted CAs (else AWS_CA_BUNDLE) */
    const char *addressing;       /* "auto" (default), "path", "virtual" */
    const char *sse;              /* "AES256" or "aws:kms" (-e) */
    const char *sse_kms_key_id;
    long read_timeout;            /* seconds; 0 = default (60) */
    int max_retries;              /* 0 = default (5); -1 = none */
    int64_t multipart_threshold;  /* 0 = default (64 MiB) */
    int64_t part_size;            /* 0 = default (16 MiB) */
    int concurrency;              /* parallel part uploads; 0 = default (4) */
    int max_parts;                /* S3: most parts of one multipart upload;
                                     0 = default (10000, S3's own cap) */
    const char *credential;       /* Azure: "default", "managed-identity", "azure-cli";
                                     NULL = from the environment, in barman's order */
    const char *encryption_scope; /* Azure: encryption scope of written blobs */
    const char *kms_key_name;     /* GCS: Cloud KMS key of written objects */
    /* Whether the store refuses a conditional write to an existing name:
     * "auto" (NULL: the backend knows, see BC_STORE_PUT_FIRST), "yes",
     * "no" (--conditional-writes). */
    const char *conditional_writes;
} bc_store_config;

/* What to upload: a file read with pread() when fd >= 0, else memory. */
typedef struct bc_source {
    int fd;
    const unsigned char *mem;
    int64_t size;
    /* The SHA-256 of all of it as hex, when whoever read it hashed it on
     * the way (the WAL archiver's one pass); NULL otherwise. S3 signs the
     * payload with it instead of reading the source once more. */
    const char *sha256;
} bc_source;

typedef struct bc_tag {
    const char *key;
    const char *value;
} bc_tag;

enum { BC_IF_ABSENT = 1, BC_IF_ABSENT_ONLY = 2 };

typedef struct bc_put_opts {
    const bc_tag *tags;
    size_t ntags;
    /* User metadata stored with the object, where barman-cloud never looks:
     * x-amz-meta-NAME on S3, x-ms-meta-NAME on Azure, the object's
     * "metadata" map on GCS, user.NAME extended attributes on file:// (left
     * out, with a warning, where the file system has none). Names are
     * provider-neutral: a lowercase letter, then lowercase letters and
     * digits (C identifiers for Azure, lowercase as S3 returns them, no '_'
     * that nginx in front of S3-compatible servers drops by default), at
     * most BC_META_NAME_MAX - 1 characters; values are printable ASCII
     * without spaces, at most BC_META_VALUE_MAX - 1. */
    const bc_tag *meta;
    size_t nmeta;
    /* BC_IF_ABSENT: refuse with BC_ERR_CONFLICT if the key already exists
     * at write time (S3 and Azure If-None-Match, GCS ifGenerationMatch=0,
     * file:// link()); an S3-compatible server that answers that it does
     * not implement conditional writes gets a plain put. BC_IF_ABSENT_ONLY:
     * the same, but such a server's answer fails the put with
     * BC_ERR_CONFLICT, nothing stored, and BC_STORE_PUT_FIRST is gone:
     * for callers that put first because the store was trusted. */
    int if_absent;
    /* The most bytes a streamed object can reach, when the writer's user
     * knows it (0: unknown). S3 grows the part size so that such a stream
     * fits in max_parts equal parts; every part but the last is the same
     * size whatever the stream. */
    int64_t size_limit;
} bc_put_opts;

typedef struct bc_object_info {
    const char *key;      /* full key (for list: valid during the callback) */
    int64_t size;
    time_t mtime;
    int is_prefix;        /* a common prefix when listing with a delimiter */
} bc_object_info;

/* An object's user metadata and size, as the reply to a GET reported them. */
#define BC_META_MAX 8
#define BC_META_NAME_MAX 64
#define BC_META_VALUE_MAX 256
typedef struct bc_object_meta {
    int64_t size;         /* the whole object's size; -1 if the reply did not say */
    size_t n;             /* entries beyond BC_META_MAX or the lengths are dropped */
    struct {
        char name[BC_META_NAME_MAX];   /* lowercase */
        char value[BC_META_VALUE_MAX];
    } items[BC_META_MAX];
} bc_object_meta;

/* The value of metadata `name`, or NULL. */
const char *bc_object_meta_get(const bc_object_meta *meta, const char *name);
/* Adds an entry the way every backend reads one: the name lowercased;
 * dropped if it does not fit. */
void bc_object_meta_add(bc_object_meta *meta, const char *name, size_t name_len,
                        const char *value, size_t value_len);
/* BC_ERR_USAGE unless every metadata entry of opts follows the rules above. */
bc_status bc_put_opts_check(const bc_put_opts *opts);
/* A deep copy of opts' tags and metadata (for writers that outlive the
 * caller's strings); bc_put_opts_free() releases it. */
bc_status bc_put_opts_dup(const bc_put_opts *opts, bc_put_opts *copy);
void bc_put_opts_free(bc_put_opts *copy);

/* Receives listed objects in key order; non-zero stops the listing and is
 * returned by bc_store_list(). */
typedef int (*bc_list_fn)(void *ctx, const bc_object_info *obj);

bc_status bc_store_open(const bc_store_config *config, bc_store **out);
void bc_store_close(bc_store *store);

/* Prefix inside the bucket from the URL, without leading or trailing '/'
 * ("" when the URL names only the bucket). */
const char *bc_store_prefix(const bc_store *store);
/* Printable location for messages, e.g. "s3://bucket" (no secrets). */
const char *bc_store_describe(const bc_store *store);

/* What a store can do and wants, for callers that adapt to it. */
enum {
    /* A caller that must not overwrite may put first (if_absent) and look
     * at what is stored only on a conflict: the store refuses a conditional
     * put to an existing name, and looking first would cost a request.
     * Azure, GCS and AWS S3 itself (no endpoint URL), and any store with
     * conditional_writes "yes"; not with "no", on an S3 endpoint URL (not
     * known), on a server that said it does not implement conditional
     * writes, nor on file://, where looking is a readdir that also finds
     * the name under another suffix. */
    BC_STORE_PUT_FIRST = 1 << 0,
    /* Uploads are signed with the SHA-256 of their body (S3 over plain
     * http): a producer that reads its bytes anyway saves the store a pass
     * by hashing them (bc_source.sha256). Over https, TLS guards the body
     * in transit and S3 requests go UNSIGNED-PAYLOAD, as the AWS SDKs send
     * them. */
    BC_STORE_HASHES_PAYLOAD = 1 << 1,
    /* From a backend only: the server said it does not implement
     * conditional writes (then not even "yes" puts first). */
    BC_STORE_NO_CONDITIONAL = 1 << 2,
};
unsigned bc_store_caps(const bc_store *store);

/* Where a store's requests go and on what credentials, for diagnostics:
 * endpoint is the base URL ("https://host[:port]..."; NULL for file://),
 * credentials a phrase naming their source (NULL when none are used).
 * Both stay valid while the store is open. */
typedef struct bc_store_access {
    const char *endpoint;
    const char *credentials;
} bc_store_access;
void bc_store_access_info(const bc_store *store, bc_store_access *out);

/* Connectivity and bucket existence; says precisely what failed. */
bc_status bc_store_check(bc_store *store);
bc_status bc_store_put(bc_store *store, const char *key, const bc_source *src,
                       const bc_put_opts *opts);
/* Streams the object to sink; BC_ERR_NOTFOUND if missing. Retries resume
 * where the sink stopped receiving, so the sink never sees bytes twice. */
bc_status bc_store_get(bc_store *store, const char *key, bc_sink_fn sink, void *ctx);
/* bc_store_get that also reports the object's size and user metadata from
 * the GET's own reply (no extra request): meta is filled before the sink
 * sees the first byte, so the sink may use it. */
bc_status bc_store_get_meta(bc_store *store, const char *key, bc_sink_fn sink, void *ctx,
                            bc_object_meta *meta);
bc_status bc_store_head(bc_store *store, const char *key, bc_object_info *info);
/* Lists keys starting with prefix, all pages; delimiter may be NULL. */
bc_status bc_store_list(bc_store *store, const char *prefix, const char *delimiter,
                        bc_list_fn fn, void *ctx);
/* Deletes keys in batches; a missing key is not an error. */
bc_status bc_store_delete(bc_store *store, const char *const *keys, size_t nkeys);

/* Streaming upload of unknown length (base backup archives).
 *
 * Bytes are cut into parts of part_size and uploaded while the stream goes
 * on, at most `concurrency` parts in flight, so memory stays bounded by
 * about (concurrency + 1) x part_size whatever the stream's size. A stream
 * that ends before multipart_threshold becomes one plain PUT at commit.
 * Nothing is visible under the key until commit returns BC_OK; abort, or a
 * failed commit, aborts any multipart upload and leaves nothing behind. */
typedef struct bc_store_writer bc_store_writer;

bc_status bc_store_writer_open(bc_store *store, const char *key, const bc_put_opts *opts,
                               bc_store_writer **out);
bc_status bc_store_writer_write(bc_store_writer *w, const void *data, size_t len);
/* bc_sink_fn adapter: ctx is a bc_store_writer. */
int bc_store_writer_sink(void *ctx, const void *data, size_t len);
/* Bytes accepted so far. */
int64_t bc_store_writer_size(const bc_store_writer *w);
/* Completes the object and frees w. */
bc_status bc_store_writer_commit(bc_store_writer *w);
/* Discards everything written and frees w; safe on NULL. */
void bc_store_writer_abort(bc_store_writer *w);

/* Backend vtable: each provider fills one. */
typedef struct bc_store_ops {
    const char *scheme;   /* "file", "s3", "gs", "https" (Azure, also http://) */
    const char *provider; /* the --cloud-provider it answers to; NULL for file */
    /* URL forms other than scheme://bucket/prefix: the bucket (container),
     * the prefix inside it and a printable location without secrets, all
     * malloc'd. NULL: the generic form. */
    bc_status (*split_url)(const char *url, char **bucket, char **prefix, char **describe);
    bc_status (*open)(const bc_store_config *cfg, const char *bucket,
                      const char *prefix, void **backend);
    void (*close)(void *backend);
    /* BC_STORE_* flags as things stand (before conditional_writes is
     * applied); NULL: BC_STORE_PUT_FIRST alone. */
    unsigned (*caps)(void *backend);
    /* Fills what bc_store_access_info() says; NULL: nothing to say. */
    void (*access)(void *backend, bc_store_access *out);
    bc_status (*check)(void *backend);
    bc_status (*put)(void *backend, const char *key, const bc_source *src,
                     const bc_put_opts *opts);
    /* meta: NULL, or zeroed with size -1, to be filled as bc_store_get_meta says. */
    bc_status (*get)(void *backend, const char *key, bc_sink_fn sink, void *ctx,
                     bc_object_meta *meta);
    bc_status (*head)(void *backend, const char *key, bc_object_info *info);
    bc_status (*list)(void *backend, const char *prefix, const char *delimiter,
                      bc_list_fn fn, void *ctx);
    bc_status (*del)(void *backend, const char *const *keys, size_t nkeys);
    /* Streaming writer: the backend's state for one upload in *state. */
    bc_status (*writer_open)(void *backend, const char *key, const bc_put_opts *opts,
                             void **state);
    bc_status (*writer_write)(void *state, const void *data, size_t len);
    bc_status (*writer_commit)(void *state); /* frees state */
    void (*writer_abort)(void *state);       /* frees state */
} bc_store_ops;

/* For the backends: a size or count from the configuration (dflt when it
 * is 0 or less), kept within [lo, hi]. */
int64_t bc_store_config_clamp(int64_t value, int64_t dflt, int64_t lo, int64_t hi);

extern const bc_store_ops bc_store_file_ops;
extern const bc_store_ops bc_store_s3_ops;
extern const bc_store_ops bc_store_azure_ops;
extern const bc_store_ops bc_store_gcs_ops;

#endif
