/* One page of a cloud listing, shared by the backends: entries collected
 * from a reply, sorted by key, handed to the caller's bc_list_fn. */
#ifndef BC_STORE_LIST_PAGE_H
#define BC_STORE_LIST_PAGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

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

#endif
