/* One page of a cloud listing, shared by the backends: entries collected
 * from a reply, sorted by key, handed to the caller's bc_list_fn. */
#ifndef BC_STORE_LIST_PAGE_H
#define BC_STORE_LIST_PAGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

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

#endif
