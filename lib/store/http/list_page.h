/* One page of a cloud listing, shared by the backends: entries collected
 * from a reply, sorted by key, handed to the caller's bc_list_fn; and the
 * loop every provider's list is, from page to page by the token the store
 * hands back, guarded against a listing that would never end. */
#ifndef BC_STORE_LIST_PAGE_H
#define BC_STORE_LIST_PAGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/http/http.h"
#include "store/store.h"
#include "util/status.h"
#include "util/strv.h"

typedef struct bc_list_entry {
    char *key;        /* owned by the page */
    int64_t size;
    time_t mtime;
    int is_prefix;
} bc_list_entry;

typedef struct bc_list_page {
    bc_list_entry *items;
    size_t n, cap;
} bc_list_page;

/* Takes e.key; -1 (nothing taken) when out of memory. */
int bc_list_page_add(bc_list_page *p, bc_list_entry e);
/* Objects and common prefixes often come as two sorted lists: merges them. */
void bc_list_page_sort(bc_list_page *p);
/* Empties the page for the next reply, keeping its memory. */
void bc_list_page_clear(bc_list_page *p);
void bc_list_page_free(bc_list_page *p);

/* Guards a paged listing against a store that would make it endless.
 *
 * Every provider pages its listings with a token the store hands back
 * (S3 NextContinuationToken, Azure NextMarker, GCS nextPageToken), and the
 * loop goes on while one comes back. A store that repeats a token, serves
 * the same keys again, or never stops handing out empty pages would keep
 * every tool (archive_command and restore_command included) looping
 * forever; the guard turns that into BC_ERR_DATA instead. Listings are in
 * key order on every provider, so progress is the greatest key growing.
 * Zero-initialise; free with bc_list_guard_free(). */
typedef struct bc_list_guard {
    char *last_key;      /* greatest key listed so far */
    char *sent_token;    /* the token that asked for the page being checked */
    bc_strv idle_tokens; /* tokens given since the keys last advanced */
    size_t pages;
} bc_list_guard;

/* Checks one page, called before its entries reach the caller: first and
 * last are its smallest and greatest keys (NULL when it is empty),
 * next_token the token it gave for the following page (NULL at the end);
 * token_name names that token in the message. BC_OK to go on. */
bc_status bc_list_guard_page(bc_list_guard *g, const char *token_name, const char *first,
                             const char *last, const char *next_token);
void bc_list_guard_free(bc_list_guard *g);

typedef struct bc_lister bc_lister;

/* Fetches one page of l's listing: the page token asks for (NULL: the
 * first) into page (empty when called; left sorted by key), and the token
 * of the following page into *next (malloc'd; NULL on the last page). On
 * failure the message is the fetcher's; *next may be set, and is freed. */
typedef bc_status (*bc_list_fetch_fn)(bc_lister *l, const char *token, bc_list_page *page,
                                      char **next);

/* How bc_list_pages() ended, for the caller's message. */
typedef enum bc_list_end {
    BC_LIST_DONE,      /* every page listed */
    BC_LIST_NO_CLIENT, /* no connection could be borrowed from the pool */
    BC_LIST_FAILED,    /* fetching or reading a page failed: fetch's message */
    BC_LIST_ENDLESS,   /* the guard stopped a store that would never finish */
    BC_LIST_STOPPED,   /* fn stopped it: its status, returned as is */
} bc_list_end;

/* One listing as a provider runs it. */
struct bc_lister {
    /* Set by the provider: */
    void *backend;
    const char *prefix, *delimiter;    /* as bc_store_list() got them (may be NULL) */
    const char *token_name;            /* the store's name of its page token, for messages */
    bc_list_fetch_fn fetch;
    bc_http_pool *pool;                /* set: one client borrowed for the whole listing */
    /* Set by bc_list_pages(): */
    const char *query_prefix;          /* prefix and delimiter, NULL when empty */
    const char *query_delimiter;       /* (a query leaves those out) */
    bc_http_client *hc;                /* the borrowed client, NULL without pool */
    bc_list_end end;
};

/* Lists every page: fetches the first, checks it with a bc_list_guard,
 * hands its entries to fn in key order, and goes on with the token it gave
 * until one comes without. l->end says where it stopped. */
bc_status bc_list_pages(bc_lister *l, bc_list_fn fn, void *ctx);

#endif
