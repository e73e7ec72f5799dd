/* The s3:// backend's delete: DeleteObjects in batches of up to 1000 keys;
 * keys that failed transiently (SlowDown, InternalError) are sent again
 * after a pause, up to the retry limit. See s3_internal.h for how the
 * backend is split. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/s3/s3_internal.h"
#include "store/http/xml.h"
#include "util/log.h"

#define DELETE_BATCH 1000

static bc_status content_md5(const char *data, size_t len, char out[32])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, md, &n, EVP_md5(), NULL) || n != 16)
        return bc_error(BC_ERR_INTERNAL, "MD5 unavailable in this OpenSSL");
    EVP_EncodeBlock((unsigned char *)out, md, 16);
    return BC_OK;
}

static char *delete_body(const char *const *keys, size_t n)
{
    size_t cap = 256;
    for (size_t i = 0; i < n; i++)
        cap += 32 + 6 * strlen(keys[i]);
    char *xml = malloc(cap);
    if (!xml)
        return NULL;
    size_t len = (size_t)snprintf(xml, cap, "<Delete xmlns=\"" S3_NS "\"><Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++) {
        char *k = bc_xml_escape(keys[i]);
        if (!k) {
            free(xml);
            return NULL;
        }
        len += (size_t)snprintf(xml + len, cap - len, "<Object><Key>%s</Key></Object>", k);
        free(k);
    }
    snprintf(xml + len, cap - len, "</Delete>");
    return xml;
}

typedef struct delete_errors {
    size_t count;             /* keys that could not be deleted, for good */
    bc_status status;
    char first[1024];
    char **retry;             /* keys that failed transiently, to send again */
    size_t nretry;
    int throttled;            /* one of them with SlowDown */
} delete_errors;

static void record_key_error(const s3_backend *b, delete_errors *errs, const char *key,
                             const char *code, const char *msg)
{
    bc_log_warning("delete s3://%s/%s: %s: %s", b->bucket, key, code, msg);
    if (errs->count++ == 0) {
        errs->status = strcmp(code, "AccessDenied") == 0 ? BC_ERR_AUTH
                       : bc_s3_retryable_code(code)    ? BC_ERR_NET
                                                         : BC_ERR_INTERNAL;
        snprintf(errs->first, sizeof errs->first, "s3://%.255s/%.400s: %.100s: %.200s", b->bucket,
                 key, code, msg);
    }
}

/* One DeleteObjects request for up to 1000 keys. Keys that failed with a
 * transient error go to errs->retry when `last` is 0. */
static bc_status delete_batch(s3_backend *b, bc_http_client *hc, const char *const *keys,
                              size_t n, int last, delete_errors *errs)
{
    char *xml = delete_body(keys, n);
    if (!xml)
        return bc_oom();
    char md5[32];
    bc_source body;
    s3_call c;
    qparam q[] = { { "delete", "" } };
    bc_status st = content_md5(xml, strlen(xml), md5);
    if (st == BC_OK)
        st = bc_s3_call_init(&c, b, "POST", NULL, q, 1);
    if (st == BC_OK) {
        st = bc_s3_call_set_xml_body(&c, &body, xml);
        if (st == BC_OK)
            st = bc_http_headers_set(&c.req.headers, "Content-MD5", md5);
        if (st == BC_OK)
            st = bc_http_perform(hc, &c.req, &c.resp);
        bc_xml_span doc = { c.resp.body, c.resp.body_len }, result, err;
        if (st == BC_OK && (!c.resp.body || !bc_xml_find(doc, "DeleteResult", &result))) {
            char code[128] = "", msg[512] = "";
            if (bc_s3_error_in_body(&c.resp, code, sizeof code, msg, sizeof msg))
                st = bc_error(BC_ERR_INTERNAL, "HTTP 200 with error %s: %s", code, msg);
            else
                st = bc_error(BC_ERR_DATA, "malformed DeleteObjects reply");
        }
        size_t pos = 0;
        while (st == BC_OK && bc_xml_next(result, &pos, "Error", &err)) {
            char key[1024] = "", code[128] = "", msg[512] = "";
            bc_xml_child_text(err, "Key", key, sizeof key);
            bc_xml_child_text(err, "Code", code, sizeof code);
            bc_xml_child_text(err, "Message", msg, sizeof msg);
            if (strcmp(code, "NoSuchKey") == 0)
                continue;   /* already gone: that is what we wanted */
            if (!last && *key && bc_s3_retryable_code(code)) {
                char **grown = realloc(errs->retry, (errs->nretry + 1) * sizeof *grown);
                char *copy = strdup(key);
                if (grown)
                    errs->retry = grown;
                if (!grown || !copy) {
                    free(copy);
                    st = bc_oom();
                    break;
                }
                errs->retry[errs->nretry++] = copy;
                errs->throttled |= strcmp(code, "SlowDown") == 0;
                continue;
            }
            record_key_error(b, errs, key, code, msg);
        }
        bc_s3_call_free(&c);
    }
    free(xml);
    return st;
}

static void free_keys(char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}

bc_status bc_s3_delete(void *backend, const char *const *keys, size_t nkeys)
{
    s3_backend *b = backend;
    if (nkeys == 0)
        return BC_OK;
    bc_http_client *hc;
    bc_status st = bc_http_client_acquire(b->pool, &hc);
    if (st != BC_OK)
        return st;
    delete_errors errs = { 0, BC_OK, "", NULL, 0, 0 };
    for (size_t i = 0; st == BC_OK && i < nkeys; i += DELETE_BATCH) {
        size_t n = nkeys - i < DELETE_BATCH ? nkeys - i : DELETE_BATCH;
        st = delete_batch(b, hc, keys + i, n, b->max_retries == 0, &errs);
    }
    /* Keys that failed with SlowDown or InternalError: again, after a pause. */
    for (int round = 1; st == BC_OK && errs.nretry > 0; round++) {
        char **again = errs.retry;
        size_t nagain = errs.nretry;
        int throttled = errs.throttled;
        errs.retry = NULL;
        errs.nretry = 0;
        errs.throttled = 0;
        bc_log_info("delete in s3://%s: retrying %zu keys", b->bucket, nagain);
        bc_http_backoff(round, throttled);
        for (size_t i = 0; st == BC_OK && i < nagain; i += DELETE_BATCH) {
            size_t n = nagain - i < DELETE_BATCH ? nagain - i : DELETE_BATCH;
            st = delete_batch(b, hc, (const char *const *)again + i, n, round >= b->max_retries, &errs);
        }
        free_keys(again, nagain);
    }
    free_keys(errs.retry, errs.nretry);
    bc_http_client_release(b->pool, hc);
    char loc[2048];
    bc_s3_where(b, NULL, loc, sizeof loc);
    if (st == BC_ERR_NOBUCKET)
        return bc_error(st, "delete in %s at %s: bucket '%s' does not exist", loc, b->endpoint, b->bucket);
    if (st != BC_OK)
        return bc_error_context(st, "delete in %s at %s", loc, b->endpoint);
    if (errs.count)
        return bc_error(errs.status, "delete in %s at %s: %zu of %zu keys not deleted, first %s",
                        loc, b->endpoint, errs.count, nkeys, errs.first);
    return BC_OK;
}
