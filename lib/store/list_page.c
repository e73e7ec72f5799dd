#include "store/list_page.h"

#include <stdlib.h>
#include <string.h>

int bc_list_page_add(bc_list_page *p, bc_list_entry e)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        bc_list_entry *items = realloc(p->items, cap * sizeof *items);
        if (!items)
            return -1;
        p->items = items;
        p->cap = cap;
    }
    p->items[p->n++] = e;
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const bc_list_entry *)a)->key, ((const bc_list_entry *)b)->key);
}

void bc_list_page_sort(bc_list_page *p)
{
    if (p->n > 1)
        qsort(p->items, p->n, sizeof *p->items, cmp_entry);
}

void bc_list_page_clear(bc_list_page *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i].key);
    p->n = 0;
}

void bc_list_page_free(bc_list_page *p)
{
    bc_list_page_clear(p);
    free(p->items);
    p->items = NULL;
    p->cap = 0;
}
