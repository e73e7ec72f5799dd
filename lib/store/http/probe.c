#include "store/http/probe.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "store/http/http.h"

/* The reply's Date header, parsed by libcurl's own date parser. */
static size_t on_header(char *line, size_t size, size_t n, void *ctx)
{
    bc_probe_result *r = ctx;
    size_t len = size * n;
    if (len > 5 && strncasecmp(line, "Date:", 5) == 0) {
        char value[128];
        snprintf(value, sizeof value, "%.*s", (int)(len - 5), line + 5);
        time_t t = curl_getdate(value, NULL);
        if (t > 0)
            r->server_date = t;
    }
    return len;
}

/* The body is not needed. */
static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * n;
}

void bc_http_probe(const char *url, const char *ca_bundle, long timeout_s, bc_probe_result *out)
{
    memset(out, 0, sizeof *out);
    out->https = strncasecmp(url, "https://", 8) == 0;
    bc_http_url_host(url, out->host, sizeof out->host);
    CURL *h = bc_http_global_init() == BC_OK ? curl_easy_init() : NULL;
    if (!h) {
        snprintf(out->error, sizeof out->error, "libcurl could not start");
        return;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout_s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 2 * timeout_s);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (ca_bundle)
        curl_easy_setopt(h, CURLOPT_CAINFO, ca_bundle);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    CURLcode rc = curl_easy_perform(h);
    out->local_date = time(NULL);

    char *ip = NULL;
    curl_off_t resolve = 0, connect = 0, tls = 0, total = 0;
    curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip);
    curl_easy_getinfo(h, CURLINFO_NAMELOOKUP_TIME_T, &resolve);
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect);
    curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &tls);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    if (ip)
        snprintf(out->address, sizeof out->address, "%s", ip);
    out->connect_ms = (double)connect / 1e3;
    out->tls_ms = (double)tls / 1e3;
    out->total_ms = (double)total / 1e3;

    if (rc == CURLE_OK || out->status > 0) {
        out->stage = BC_PROBE_REPLIED;
    } else if (rc == CURLE_COULDNT_RESOLVE_HOST) {
        out->stage = BC_PROBE_NOTHING;
    } else if (rc == CURLE_COULDNT_CONNECT || (rc == CURLE_OPERATION_TIMEDOUT && connect == 0)) {
        out->stage = BC_PROBE_RESOLVED;
    } else if (out->https && tls == 0) {
        out->stage = BC_PROBE_CONNECTED;
    } else {
        out->stage = BC_PROBE_SECURED;
    }
    if (rc != CURLE_OK)
        snprintf(out->error, sizeof out->error, "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
    curl_easy_cleanup(h);
}
