/* libFuzzer target for the JSON replies the gs:// backend reads
 * (lib/store/gcs): the same input as
 *   - an objects.list page (bc_gcs_list_page_parse, through the paged
 *     listing bc_list_pages): entries reach the caller in name order with
 *     sizes not negative, all of the page's items and prefixes or, when one
 *     has no name, none; its nextPageToken is the one handed on; a callback
 *     that stops the listing stops it at once; the same page again is
 *     refused by the listing guard (a page with a token is handed out
 *     twice); the entries written out as a page of our own (sizes as
 *     strings, times as RFC 3339) list the same again;
 *   - an error reply (bc_gcs_json_failure): the status only ever becomes
 *     BC_ERR_NOBUCKET, on a 404 that says so, and the message is bounded;
 *   - a token endpoint's reply (bc_google_token_parse): a token, and an
 *     expiry after now, or BC_ERR_AUTH naming the endpoint.
 * Build and run: make fuzz  (clang with -fsanitize=fuzzer,address). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "store/gcs/gcs_internal.h"
#include "util/timefmt.h"

/* 9999-12-31T23:59:59Z, the last time RFC 3339 writes with four digits. */
#define LAST_TIME ((time_t)253402300799)

typedef struct seen {
    bc_list_entry *e;
    size_t n, cap;
    size_t stop_after; /* 0: never stop */
} seen;

static int collect(void *ctx, const bc_object_info *obj)
{
    seen *s = ctx;
    if (!obj->key || obj->size < 0 || (obj->is_prefix & ~1))
        abort();
    if (s->n && strcmp(s->e[s->n - 1].key, obj->key) > 0)
        abort();
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        if (!(s->e = realloc(s->e, s->cap * sizeof *s->e)))
            abort();
    }
    bc_list_entry *e = &s->e[s->n++];
    if (!(e->key = strdup(obj->key)))
        abort();
    e->size = obj->size;
    e->mtime = obj->mtime > 0 && obj->mtime <= LAST_TIME ? obj->mtime : 0;
    e->is_prefix = obj->is_prefix;
    return s->stop_after && s->n == s->stop_after ? 42 : 0;
}

static void forget(seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->e[i].key);
    s->n = 0;
}

/* Whether every item has a string name and every prefix is a string. */
static int all_named(json_t *doc)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(doc, "items"), i, v)
        if (!json_is_string(json_object_get(v, "name")))
            return 0;
    json_array_foreach(json_object_get(doc, "prefixes"), i, v)
        if (!json_is_string(v))
            return 0;
    return 1;
}

/* The entries as an objects.list page of our own. */
static json_t *page_of(const seen *s, const char *token)
{
    json_t *items = json_array(), *prefixes = json_array(), *doc = json_object();
    if (!items || !prefixes || !doc)
        abort();
    for (size_t i = 0; i < s->n; i++) {
        const bc_list_entry *e = &s->e[i];
        if (e->is_prefix) {
            json_array_append_new(prefixes, json_string(e->key));
            continue;
        }
        char size[32], when[32];
        snprintf(size, sizeof size, "%lld", (long long)e->size);
        json_t *item = json_pack("{s:s, s:s}", "name", e->key, "size", size);
        if (!item)
            abort();
        if (e->mtime) {
            bc_time_to_rfc3339(e->mtime, when, sizeof when);
            json_object_set_new(item, "updated", json_string(when));
        }
        json_array_append_new(items, item);
    }
    json_object_set_new(doc, "kind", json_string("storage#objects"));
    json_object_set_new(doc, "items", items);
    json_object_set_new(doc, "prefixes", prefixes);
    if (token)
        json_object_set_new(doc, "nextPageToken", json_string(token));
    return doc;
}

/* Hands the same reply out as every page of a listing. */
typedef struct replay {
    json_t *doc;
    int calls;
} replay;

static bc_status replay_page(bc_lister *l, const char *token, bc_list_page *page, char **next)
{
    replay *r = l->backend;
    (void)token;
    if (++r->calls > 2) /* the guard refuses the second page at the latest */
        abort();
    return bc_gcs_list_page_parse(r->doc, page, next);
}

static bc_status list_doc(json_t *doc, seen *s, bc_list_end *end)
{
    replay r = {doc, 0};
    bc_lister l = {.backend = &r, .token_name = "nextPageToken", .fetch = replay_page};
    bc_status st = bc_list_pages(&l, collect, s);
    *end = l.end;
    return st;
}

static void list_page(json_t *doc)
{
    static seen s, again;
    const char *next = json_string_value(json_object_get(doc, "nextPageToken"));
    const char *token = next && *next ? next : NULL;
    size_t n = json_array_size(json_object_get(doc, "items")) +
               json_array_size(json_object_get(doc, "prefixes"));
    bc_list_end end;

    /* The page alone, and the token it hands on. */
    bc_list_page p = {0};
    char *got = NULL;
    bc_status st = bc_gcs_list_page_parse(doc, &p, &got);
    if (st == BC_OK ? p.n != n || !all_named(doc) || (token ? !got || strcmp(got, token) : !!got)
                    : st != BC_ERR_DATA || got || all_named(doc))
        abort();
    free(got);
    bc_list_page_free(&p);

    /* As a listing: a page with a token comes again, and makes no progress. */
    st = list_doc(doc, &s, &end);
    if (!all_named(doc) ? st != BC_ERR_DATA || end != BC_LIST_FAILED || s.n != 0
        : token         ? st != BC_ERR_DATA || end != BC_LIST_ENDLESS || s.n != n
                        : st != BC_OK || end != BC_LIST_DONE || s.n != n)
        abort();
    if (!all_named(doc)) {
        forget(&s);
        return;
    }

    /* Written out again, it lists the same. */
    json_t *mine = page_of(&s, NULL);
    st = list_doc(mine, &again, &end);
    if (st != BC_OK || again.n != s.n || !fuzz_same_entries(s.e, again.e, s.n))
        abort();
    json_decref(mine);

    /* A callback that stops the listing at the first entry. */
    if (n) {
        forget(&again);
        again.stop_after = 1;
        st = list_doc(doc, &again, &end);
        if ((int)st != 42 || end != BC_LIST_STOPPED || again.n != 1)
            abort();
        again.stop_after = 0;
    }
    forget(&s);
    forget(&again);
}

static void error_reply(const char *body, size_t len)
{
    static const long statuses[] = {401, 403, 404, 500};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        gcs_call c = {.resp = {.status = statuses[i], .body = (char *)body, .body_len = len}};
        bc_status before = statuses[i] == 404 ? BC_ERR_NOTFOUND : BC_ERR_AUTH;
        bc_error(before, "unchanged");
        bc_status st = bc_gcs_json_failure(&c, before);
        const char *msg = bc_error_msg();
        if (st != before && !(st == BC_ERR_NOBUCKET && statuses[i] == 404))
            abort();
        if (strcmp(msg, "unchanged") != 0) {
            char want[64];
            snprintf(want, sizeof want, "HTTP %ld: ", statuses[i]);
            if (!strstr(msg, want) || strlen(msg) > 400 + 64)
                abort();
        }
    }
}

static void token_reply(const char *body, size_t len)
{
    static const char uri[] = "https://oauth2.googleapis.com/token";
    const time_t now = 1733134531; /* 2024-12-02 */
    char *token = (char *)"unset";
    time_t expires = 0;
    bc_status st = bc_google_token_parse(body, len, uri, now, &token, &expires);
    if (st == BC_OK) {
        if (!token || !*token || strlen(token) > len || expires <= now)
            abort();
        free(token);
    } else if (token || st != BC_ERR_AUTH || !strstr(bc_error_msg(), uri)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_text(data, size);
    json_t *doc = json_loadb(body, size, 0, NULL);
    if (doc)
        list_page(doc);
    json_decref(doc);
    error_reply(body, size);
    token_reply(body, size);
    free(body);
    return 0;
}
