/* libFuzzer target for the Azure List Blobs page parser
 * (bc_azure_list_page_parse, lib/store/azure/azure.c): a page it accepts
 * is sorted, its keys and NextMarker are strings no longer than the
 * reply, its times are not negative; a page it refuses gives no marker
 * and says why. An accepted page written out again as an
 * EnumerationResults reply (names escaped with bc_xml_escape) parses to
 * the same entries and marker.
 * Build and run: make fuzz  (clang with -fsanitize=fuzzer,address). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "store/azure/azure_internal.h"
#include "store/http/xml.h"
#include "util/buffer.h"

/* 9999-12-31T23:59:59Z: Last-Modified has four digits for the year. */
#define LAST_TIME ((time_t)253402300799)

static void add_escaped(bc_buffer *b, const char *s)
{
    char *e = bc_xml_escape(s);
    if (!e)
        abort();
    bc_buffer_adds(b, e);
    free(e);
}

/* The page as Azure would send it. */
static char *format(const bc_list_page *p, const char *marker)
{
    bc_buffer b = {0};
    bc_buffer_adds(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults "
                       "ServiceEndpoint=\"https://a.blob.core.windows.net/\" ContainerName=\"c\">"
                       "<MaxResults>1000</MaxResults><Blobs>");
    for (size_t i = 0; i < p->n; i++) {
        const bc_list_entry *e = &p->items[i];
        bc_buffer_adds(&b, e->is_prefix ? "<BlobPrefix><Name>" : "<Blob><Name>");
        add_escaped(&b, e->key);
        bc_buffer_addf(&b, "</Name><Properties><Content-Length>%lld</Content-Length>",
                       (long long)e->size);
        if (e->mtime > 0 && e->mtime <= LAST_TIME) {
            struct tm tm;
            char when[64];
            gmtime_r(&e->mtime, &tm);
            strftime(when, sizeof when, "%a, %d %b %Y %H:%M:%S GMT", &tm);
            bc_buffer_addf(&b, "<Last-Modified>%s</Last-Modified>", when);
        }
        bc_buffer_adds(&b, e->is_prefix ? "</Properties></BlobPrefix>" : "</Properties></Blob>");
    }
    bc_buffer_adds(&b, "</Blobs><NextMarker>");
    if (marker)
        add_escaped(&b, marker);
    bc_buffer_adds(&b, "</NextMarker></EnumerationResults>");
    char *text = bc_buffer_take(&b);
    if (!text)
        abort();
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_text(data, size);
    bc_http_response r = {.body = body, .body_len = size};
    bc_list_page p = {0}, again = {0};
    char *marker = (char *)"unset", *marker2 = (char *)"unset";

    bc_status st = bc_azure_list_page_parse(&r, &p, &marker);
    if (st != BC_OK) {
        if (marker || (st != BC_ERR_DATA && st != BC_ERR_INTERNAL) || !*bc_error_msg())
            abort();
        goto out;
    }
    if (marker && (!*marker || strlen(marker) > size))
        abort();
    if (p.n > size / 7) /* <Blob> and its end tag at the least */
        abort();
    for (size_t i = 0; i < p.n; i++) {
        const bc_list_entry *e = &p.items[i];
        if (!e->key || strlen(e->key) > size || e->mtime < 0 || (e->is_prefix & ~1))
            abort();
        if (i && strcmp(p.items[i - 1].key, e->key) > 0)
            abort();
    }

    char *text = format(&p, marker);
    bc_http_response r2 = {.body = text, .body_len = strlen(text)};
    if (bc_azure_list_page_parse(&r2, &again, &marker2) != BC_OK || again.n != p.n ||
        (!marker != !marker2) || (marker && strcmp(marker, marker2) != 0))
        abort();
    /* Times past what Last-Modified can say were left out. */
    for (size_t i = 0; i < p.n; i++)
        if (p.items[i].mtime > LAST_TIME)
            p.items[i].mtime = 0;
    if (!fuzz_same_entries(p.items, again.items, p.n))
        abort();
    free(text);
    free(marker);
    free(marker2);
out:
    bc_list_page_free(&p);
    bc_list_page_free(&again);
    free(body);
    return 0;
}
