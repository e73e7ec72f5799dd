/* SigV4 against AWS's published S3 examples (Authenticating Requests: AWS
 * Signature Version 4, "Examples of signature calculations"), plus the
 * flat XML scanner on sample replies and on malformed, truncated and
 * mutated input (run under ASan to catch any out-of-bounds read), and the
 * AWS credential and region lookup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/s3/aws_credentials.h"
#include "store/http/url.h"
#include "store/http/http.h"
#include "store/s3/sigv4.h"
#include "util/sha256.h"
#include "store/http/xml.h"
#include "util/log.h"

static int passed, failed;

#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (cond) {                                        \
            passed++;                                      \
        } else {                                           \
            failed++;                                      \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);    \
            printf(__VA_ARGS__);                           \
            printf("\n");                                  \
        }                                                  \
    } while (0)

static int same(const char *got, const char *want)
{
    return got && strcmp(got, want) == 0;
}

static const char *shown(const char *s)
{
    return s ? s : "(null)";
}

#define CHECK_STR(got, want) \
    CHECK(same((got), (want)), "got \"%s\", want \"%s\"", shown(got), (want))

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define DATE "20130524T000000Z"

static bc_aws_credentials example_creds = {
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL, "us-east-1", "test", NULL,
};
static const bc_sigv4_signer example_signer = { &example_creds, "us-east-1", "s3" };

/* The Signature= part of the Authorization header. */
static const char *signature_of(const bc_http_request *req)
{
    const char *auth = bc_http_headers_get(&req->headers, "Authorization");
    const char *sig = auth ? strstr(auth, "Signature=") : NULL;
    return sig ? sig + 10 : NULL;
}

static void test_get_object(void)
{
    bc_http_request req = { 0 };
    req.method = "GET";
    req.url = "https://examplebucket.s3.amazonaws.com/test.txt";
    bc_http_headers_set(&req.headers, "Range", "bytes=0-9");
    bc_http_headers_set(&req.headers, "x-amz-content-sha256", EMPTY_SHA);
    char *canonical = NULL;
    CHECK(bc_sigv4_sign_at(&example_signer, &req, DATE, &canonical) == BC_OK, "sign GET Object");
    CHECK_STR(canonical,
              "GET\n/test.txt\n\n"
              "host:examplebucket.s3.amazonaws.com\n"
              "range:bytes=0-9\n"
              "x-amz-content-sha256:" EMPTY_SHA "\n"
              "x-amz-date:20130524T000000Z\n\n"
              "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA);
    char hash[65];
    bc_sha256_of(canonical, canonical ? strlen(canonical) : 0, hash);
    CHECK_STR(hash, "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    CHECK_STR(bc_http_headers_get(&req.headers, "Authorization"),
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
              "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
              "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    CHECK_STR(bc_http_headers_get(&req.headers, "Host"), "examplebucket.s3.amazonaws.com");

    /* Signing again (a retry) replaces the headers rather than adding more. */
    size_t n = req.headers.n;
    CHECK(bc_sigv4_sign_at(&example_signer, &req, DATE, NULL) == BC_OK, "re-sign");
    CHECK(req.headers.n == n, "re-signing added headers: %zu -> %zu", n, req.headers.n);
    CHECK_STR(signature_of(&req), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    free(canonical);
    bc_http_headers_free(&req.headers);
}

static void test_put_object(void)
{
    static const char body[] = "Welcome to Amazon S3.";
    bc_source src = { .fd = -1, .mem = (const unsigned char *)body, .size = (int64_t)strlen(body) };
    char *path = bc_url_encode("/test$file.text", 1);
    char url[256];
    CHECK_STR(path, "/test%24file.text");
    snprintf(url, sizeof url, "https://examplebucket.s3.amazonaws.com%s", path ? path : "");
    free(path);

    bc_http_request req = { 0 };
    req.method = "PUT";
    req.url = url;
    req.body = &src;
    req.body_length = src.size;
    bc_http_headers_set(&req.headers, "Date", "Fri, 24 May 2013 00:00:00 GMT");
    bc_http_headers_set(&req.headers, "x-amz-storage-class", "REDUCED_REDUNDANCY");
    CHECK(bc_sigv4_sign_at(&example_signer, &req, DATE, NULL) == BC_OK, "sign PUT Object");
    /* The signer hashed the body itself. */
    CHECK_STR(bc_http_headers_get(&req.headers, "X-Amz-Content-Sha256"),
              "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    const char *auth = bc_http_headers_get(&req.headers, "Authorization");
    CHECK(auth && strstr(auth, "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"),
          "signed headers in %s", auth ? auth : "(null)");
    CHECK_STR(signature_of(&req), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    bc_http_headers_free(&req.headers);
}

static void check_get(const char *url, const char *want_query, const char *want_sig)
{
    bc_http_request req = { 0 };
    req.method = "GET";
    req.url = url;
    char *canonical = NULL;
    CHECK(bc_sigv4_sign_at(&example_signer, &req, DATE, &canonical) == BC_OK, "sign %s", url);
    CHECK(canonical && strstr(canonical, want_query), "canonical query of %s: %s", url,
          canonical ? canonical : "(null)");
    CHECK_STR(signature_of(&req), want_sig);
    free(canonical);
    bc_http_headers_free(&req.headers);
}

static void test_bucket_examples(void)
{
    /* GET Bucket lifecycle: a sub-resource without a value gets "=". */
    check_get("https://examplebucket.s3.amazonaws.com/?lifecycle", "GET\n/\nlifecycle=\n",
              "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    /* GET Bucket (List Objects): parameters sorted, whatever the URL order. */
    check_get("https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J", "GET\n/\nmax-keys=2&prefix=J\n",
              "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    check_get("https://examplebucket.s3.amazonaws.com/?prefix=J&max-keys=2", "GET\n/\nmax-keys=2&prefix=J\n",
              "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    /* The path "/" is implied when the URL has none. */
    check_get("https://examplebucket.s3.amazonaws.com?lifecycle", "GET\n/\nlifecycle=\n",
              "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

static void test_session_token_and_sorting(void)
{
    bc_aws_credentials creds = example_creds;
    creds.session_token = "FQoGZXIvYXdzEXAMPLETOKEN";
    bc_sigv4_signer signer = { &creds, "eu-west-1", "s3" };
    bc_http_request req = { 0 };
    req.method = "GET";
    req.url = "http://127.0.0.1:9000/bucket/a%20b?b=2&a=x&a=1";
    bc_http_headers_set(&req.headers, "User-Agent", "not signed");
    bc_http_headers_set(&req.headers, "X-Amz-Meta-Note", "  two   spaces  ");
    char *canonical = NULL;
    CHECK(bc_sigv4_sign_at(&signer, &req, DATE, &canonical) == BC_OK, "sign with token");
    CHECK(canonical && strstr(canonical, "GET\n/bucket/a%20b\na=1&a=x&b=2\nhost:127.0.0.1:9000\n"),
          "canonical: %s", canonical ? canonical : "(null)");
    CHECK(canonical && strstr(canonical, "x-amz-meta-note:two spaces\n"), "value folding: %s",
          canonical ? canonical : "(null)");
    CHECK(canonical && strstr(canonical, "x-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN\n"),
          "token header: %s", canonical ? canonical : "(null)");
    const char *auth = bc_http_headers_get(&req.headers, "Authorization");
    CHECK(auth && strstr(auth, "/20130524/eu-west-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;"
                               "x-amz-date;x-amz-meta-note;x-amz-security-token,"),
          "authorization: %s", auth ? auth : "(null)");
    free(canonical);
    bc_http_headers_free(&req.headers);
}

static void test_encoding_and_hosts(void)
{
    char *e = bc_url_encode("a b+c/d~e_f.g-h*\xc3\xa9", 1);
    CHECK_STR(e, "a%20b%2Bc/d~e_f.g-h%2A%C3%A9");
    free(e);
    e = bc_url_encode("x/y=z&", 0);
    CHECK_STR(e, "x%2Fy%3Dz%26");
    free(e);

    char host[128];
    CHECK(bc_http_url_host("https://s3.example.com:443/b/k", host, sizeof host) == 0, "host");
    CHECK_STR(host, "s3.example.com");
    CHECK(bc_http_url_host("http://127.0.0.1:80?x", host, sizeof host) == 0, "host");
    CHECK_STR(host, "127.0.0.1");
    CHECK(bc_http_url_host("http://127.0.0.1:4568/b", host, sizeof host) == 0, "host");
    CHECK_STR(host, "127.0.0.1:4568");
    CHECK(bc_http_url_host("http://[::1]:9000/b", host, sizeof host) == 0, "host");
    CHECK_STR(host, "[::1]:9000");
    CHECK(bc_http_url_host("no-scheme/b", host, sizeof host) < 0, "no scheme");
}

static void test_file_payload_hash(void)
{
    char path[] = "/tmp/test_sigv4_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    unlink(path);
    static const char text[] = "xxWelcome to Amazon S3.yy";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write");
    bc_source src = { .fd = fd, .size = (int64_t)strlen(text) };
    char hex[65];
    CHECK(bc_sigv4_payload_hash(&src, 2, 21, hex) == BC_OK, "hash file range");
    CHECK_STR(hex, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    CHECK(bc_sigv4_payload_hash(&src, 2, 0, hex) == BC_OK, "hash empty");
    CHECK_STR(hex, EMPTY_SHA);
    CHECK(bc_sigv4_payload_hash(&src, 20, 21, hex) == BC_ERR_IO, "short file is an error");
    /* Hashed on the way by its reader (the WAL archiver): used as is for
     * the whole source, which is not read again; a range is still read. */
    char whole[65];
    bc_sha256_of(text, strlen(text), whole);
    src.sha256 = whole;
    CHECK(bc_sigv4_payload_hash(&src, 0, src.size, hex) == BC_OK, "precomputed");
    CHECK_STR(hex, whole);
    src.fd = -1;    /* nothing to read: only the precomputed hash can answer */
    CHECK(bc_sigv4_payload_hash(&src, 0, src.size, hex) == BC_OK, "precomputed, no reading");
    CHECK_STR(hex, whole);
    src.fd = fd;
    CHECK(bc_sigv4_payload_hash(&src, 2, 21, hex) == BC_OK, "a range is read");
    CHECK_STR(hex, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    close(fd);
}

/* ---- XML -------------------------------------------------------------- */

static const char list_reply[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>bucket</Name><Prefix>pg/</Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys>"
    "<Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "<Contents><Key>pg/a&amp;b &lt;1&gt;</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
    "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>pg/caf&#xe9;&#33;</Key><Size>0</Size></Contents>"
    "<!-- a comment with <Key>fake</Key> inside -->"
    "<CommonPrefixes><Prefix>pg/base/</Prefix></CommonPrefixes>"
    "<CommonPrefixes><Prefix>pg/wals/</Prefix></CommonPrefixes>"
    "</ListBucketResult>";

static const char error_reply[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist</Message>"
    "<Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>";

static const char initiate_reply[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Bucket>example-bucket</Bucket><Key>example-object</Key>"
    "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
    "</InitiateMultipartUploadResult>";

static const char delete_reply[] =
    "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
    "<Error><Key>sample3.txt</Key><Code>InternalError</Code><Message>Internal Error</Message></Error>"
    "</DeleteResult>";

static bc_xml_span span_of(const char *s)
{
    bc_xml_span sp = { s, strlen(s) };
    return sp;
}

static void test_xml_replies(void)
{
    bc_xml_span doc = span_of(list_reply), result, item, inner;
    char buf[256];
    CHECK(bc_xml_find(doc, "ListBucketResult", &result), "ListBucketResult");
    CHECK(bc_xml_child_text(result, "IsTruncated", buf, sizeof buf) == 4, "IsTruncated");
    CHECK_STR(buf, "true");
    bc_xml_child_text(result, "NextContinuationToken", buf, sizeof buf);
    CHECK_STR(buf, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");

    size_t pos = 0;
    int n = 0;
    const char *want_keys[] = { "pg/a&b <1>", "pg/caf\xc3\xa9!" };
    while (bc_xml_next(result, &pos, "Contents", &item)) {
        char *key = bc_xml_find(item, "Key", &inner) ? bc_xml_text_dup(inner) : NULL;
        if (n < 2)
            CHECK_STR(key, want_keys[n]);
        free(key);
        n++;
    }
    CHECK(n == 2, "%d Contents, want 2", n);
    pos = 0;
    CHECK(bc_xml_next(result, &pos, "Contents", &item), "first Contents");
    bc_xml_child_text(item, "Size", buf, sizeof buf);
    CHECK_STR(buf, "434234");
    bc_xml_child_text(item, "ETag", buf, sizeof buf);
    CHECK_STR(buf, "\"fba9dede5f27731c9771645a39863328\"");

    pos = 0;
    n = 0;
    while (bc_xml_next(result, &pos, "CommonPrefixes", &item)) {
        bc_xml_child_text(item, "Prefix", buf, sizeof buf);
        CHECK_STR(buf, n == 0 ? "pg/base/" : "pg/wals/");
        n++;
    }
    CHECK(n == 2, "%d CommonPrefixes, want 2", n);
    /* The comment's <Key> is not an element. */
    pos = 0;
    n = 0;
    while (bc_xml_next(result, &pos, "Key", &inner))
        n++;
    CHECK(n == 2, "%d Key elements, want 2", n);

    bc_xml_span err;
    CHECK(bc_xml_find(span_of(error_reply), "Error", &err), "Error");
    bc_xml_child_text(err, "Code", buf, sizeof buf);
    CHECK_STR(buf, "NoSuchKey");
    bc_xml_child_text(err, "Message", buf, sizeof buf);
    CHECK_STR(buf, "The resource you requested does not exist");

    CHECK(bc_xml_child_text(span_of(initiate_reply), "UploadId", buf, sizeof buf) > 0, "UploadId");
    CHECK_STR(buf, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");

    pos = 0;
    n = 0;
    CHECK(bc_xml_find(span_of(delete_reply), "DeleteResult", &result), "DeleteResult");
    while (bc_xml_next(result, &pos, "Error", &err)) {
        bc_xml_child_text(err, "Key", buf, sizeof buf);
        CHECK_STR(buf, n == 0 ? "sample2.txt" : "sample3.txt");
        bc_xml_child_text(err, "Code", buf, sizeof buf);
        CHECK_STR(buf, n == 0 ? "AccessDenied" : "InternalError");
        n++;
    }
    CHECK(n == 2, "%d delete errors, want 2", n);

    /* Self-closing, attributes with '>' in quotes, nesting of the same name. */
    CHECK(bc_xml_find(span_of("<a><Empty/><b x='1>2'>t</b></a>"), "Empty", &inner) && inner.len == 0,
          "empty element");
    CHECK(bc_xml_child_text(span_of("<a><b x='1>2'>t</b></a>"), "b", buf, sizeof buf) == 1, "attr");
    CHECK_STR(buf, "t");
    CHECK(bc_xml_find(span_of("<a><a>x</a>y</a>"), "a", &inner) && inner.len == 9, "nested same name");
    CHECK(bc_xml_child_text(span_of("<k><![CDATA[<raw & text>]]></k>"), "k", buf, sizeof buf) == 12,
          "CDATA");
    CHECK_STR(buf, "<raw & text>");
    /* A name is matched whole, not as a prefix. */
    CHECK(!bc_xml_find(span_of("<Keys>x</Keys>"), "Key", &inner), "prefix of a name");
}

static void test_xml_text(void)
{
    char buf[64];
    CHECK(bc_xml_text(span_of("&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x20AC;&#x1F600;"), buf, sizeof buf) > 0,
          "entities");
    CHECK_STR(buf, "<>&\"'AB\xe2\x82\xac\xf0\x9f\x98\x80");
    const char *bad[] = {
        "&bogus;", "&#0;", "&#xD800;", "&#x110000;", "&lt", "a & b", "&#;", "&#x;", "&#12a;",
        "x<y", "<![CDATA[open", "&#99999999999999999999;", "&;",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(bc_xml_text(span_of(bad[i]), buf, sizeof buf) == -1, "\"%s\" should not decode", bad[i]);
        CHECK(buf[0] == '\0', "output cleared on failure");
    }
    /* Exactly fitting and one too long. */
    CHECK(bc_xml_text(span_of("abc"), buf, 4) == 3, "fits");
    CHECK(bc_xml_text(span_of("abcd"), buf, 4) == -1, "too long");
    CHECK(bc_xml_text(span_of("&#x20AC;"), buf, 3) == -1, "multibyte too long");
    CHECK(bc_xml_text(span_of("x"), buf, 0) == -1, "no room at all");

    char *esc = bc_xml_escape("a&b<c>d\"e'f");
    CHECK_STR(esc, "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    bc_xml_span sp = { esc, esc ? strlen(esc) : 0 };
    char *back = bc_xml_text_dup(sp);
    CHECK_STR(back, "a&b<c>d\"e'f");
    free(esc);
    free(back);
}

/* Runs every query on a heap copy of exactly len bytes (no NUL after it),
 * so ASan flags any read past the end. */
static void scan_everything(const char *data, size_t len)
{
    static const char *const names[] = {
        "ListBucketResult", "Contents", "Key", "Size", "LastModified", "CommonPrefixes", "Prefix",
        "IsTruncated", "NextContinuationToken", "UploadId", "Error", "Code", "Message", "DeleteResult", "a",
    };
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return;
    memcpy(copy, data, len);
    bc_xml_span doc = { copy, len }, inner;
    char out[128];
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t pos = 0;
        int guard = 0;
        while (bc_xml_next(doc, &pos, names[k], &inner) && guard++ < 10000) {
            if (inner.p < copy || inner.p + inner.len > copy + len || pos > len) {
                failed++;
                printf("FAIL: span outside the document\n");
                break;
            }
            bc_xml_text(inner, out, sizeof out);
            free(bc_xml_text_dup(inner));
        }
    }
    bc_xml_text(doc, out, sizeof out);
    free(copy);
}

static void test_xml_malformed(void)
{
    const char *docs[] = { list_reply, error_reply, initiate_reply, delete_reply };
    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        size_t len = strlen(docs[d]);
        for (size_t cut = 0; cut <= len; cut++)
            scan_everything(docs[d], cut);
    }
    const char *odd[] = {
        "<", "<<<<", ">", "</", "</>", "<a", "<a ", "<a/", "<a>", "<a></b>", "<a x=\"", "<a x='>'",
        "<!--", "<!-- -->", "<?", "<?x", "<![CDATA[", "<!", "<a><a><a>", "</a></a>", "&", "<a>&#x",
        "<Contents><Key>k</Key>", "<Error><Code>", "<a>\0</a>",
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        scan_everything(odd[i], strlen(odd[i]));

    /* Random mutations of the samples (deterministic). */
    unsigned long long seed = 0x9E3779B97F4A7C15ull;
    char buf[2048];
    static const char alphabet[] = "<>/&;#x![]-?=\"' aZ0";
    for (int iter = 0; iter < 20000; iter++) {
        const char *src = docs[iter % 4];
        size_t len = strlen(src);
        memcpy(buf, src, len);
        for (int m = 0; m < 1 + iter % 8; m++) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            size_t at = (size_t)(seed % len);
            switch ((seed >> 32) % 3) {
            case 0: buf[at] = alphabet[(seed >> 40) % (sizeof alphabet - 1)]; break;
            case 1: buf[at] = (char)(seed >> 48); break;
            default: len = at; break;   /* truncate */
            }
            if (len == 0)
                break;
        }
        scan_everything(buf, len);
    }
    passed++;   /* survived (ASan would have aborted) */
}

/* ---- credentials ------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_credentials(void)
{
    char dir[] = "/tmp/test_creds_XXXXXX", cred[128], conf[128];
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    snprintf(cred, sizeof cred, "%s/credentials", dir);
    snprintf(conf, sizeof conf, "%s/config", dir);
    write_file(cred,
               "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = secret-default\n\n"
               "[prod]\naws_access_key_id=AKIDPROD\n aws_access_key_id = ignored-nested\n"
               "aws_secret_access_key=secret-prod\naws_session_token = token-prod\n"
               "[half]\naws_access_key_id = AKIDHALF\n");
    write_file(conf, "[default]\nregion = eu-west-3\n[profile prod]\nregion=ap-south-1\n"
                     "[profile cfgonly]\naws_access_key_id = AKIDCFG\naws_secret_access_key = secret-cfg\n"
                     "[prod]\nregion = wrong-section\n");
    const char *vars[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                           "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION" };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
    setenv("AWS_CONFIG_FILE", conf, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1); /* never 169.254.169.254 */

    bc_aws_credentials c;
    CHECK(bc_aws_credentials_load(NULL, NULL, &c) == BC_OK, "default profile: %s", bc_error_msg());
    CHECK_STR(c.access_key, "AKIDDEFAULT");
    CHECK_STR(c.secret_key, "secret-default");
    CHECK(c.session_token == NULL, "no token");
    CHECK_STR(c.region, "eu-west-3");
    bc_aws_credentials_free(&c);

    CHECK(bc_aws_credentials_load("prod", NULL, &c) == BC_OK, "prod profile");
    CHECK_STR(c.access_key, "AKIDPROD");
    CHECK_STR(c.session_token, "token-prod");
    CHECK_STR(c.region, "ap-south-1");
    bc_aws_credentials_free(&c);

    /* The secret and token are redacted from anything logged. */
    char red[128];
    bc_log_redact("key secret-prod and token-prod", red, sizeof red);
    CHECK_STR(red, "key *** and ***");

    setenv("AWS_PROFILE", "cfgonly", 1);
    CHECK(bc_aws_credentials_load(NULL, NULL, &c) == BC_OK, "keys from the config file");
    CHECK_STR(c.access_key, "AKIDCFG");
    CHECK_STR(c.region, "us-east-1");
    bc_aws_credentials_free(&c);
    unsetenv("AWS_PROFILE");

    /* Environment keys win over the default profile; region variables too. */
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret-env", 1);
    setenv("AWS_SESSION_TOKEN", "token-env", 1);
    setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    CHECK(bc_aws_credentials_load(NULL, NULL, &c) == BC_OK, "env");
    CHECK_STR(c.access_key, "AKIDENV");
    CHECK_STR(c.session_token, "token-env");
    CHECK_STR(c.region, "us-west-2");
    CHECK_STR(c.source, "environment variables");
    bc_aws_credentials_free(&c);
    setenv("AWS_REGION", "sa-east-1", 1);
    CHECK(bc_aws_credentials_load(NULL, NULL, &c) == BC_OK, "env");
    CHECK_STR(c.region, "sa-east-1");
    bc_aws_credentials_free(&c);

    /* An explicit profile (-P) beats environment keys, as in botocore. */
    CHECK(bc_aws_credentials_load("prod", NULL, &c) == BC_OK, "explicit profile");
    CHECK_STR(c.access_key, "AKIDPROD");
    bc_aws_credentials_free(&c);

    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK(bc_aws_credentials_load(NULL, NULL, &c) == BC_ERR_AUTH && strstr(bc_error_msg(), "AWS_SECRET_ACCESS_KEY"),
          "partial env: %s", bc_error_msg());
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SESSION_TOKEN");

    CHECK(bc_aws_credentials_load("nosuch", NULL, &c) == BC_ERR_AUTH && strstr(bc_error_msg(), "'nosuch' not found"),
          "unknown profile: %s", bc_error_msg());
    CHECK(bc_aws_credentials_load("half", NULL, &c) == BC_ERR_AUTH &&
              strstr(bc_error_msg(), "no aws_secret_access_key"),
          "half profile: %s", bc_error_msg());
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    CHECK(bc_aws_credentials_load(NULL, NULL, &c) == BC_ERR_AUTH && strstr(bc_error_msg(), "AWS_ACCESS_KEY_ID"),
          "no credentials: %s", bc_error_msg());

    unlink(cred);
    unlink(conf);
    rmdir(dir);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unsetenv("AWS_CONFIG_FILE");
}

int main(void)
{
    test_get_object();
    test_put_object();
    test_bucket_examples();
    test_session_token_and_sorting();
    test_encoding_and_hosts();
    test_file_payload_hash();
    test_xml_replies();
    test_xml_text();
    test_xml_malformed();
    test_credentials();
    printf("sigv4: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
