/* What several fuzz targets share. */
#ifndef BC_TESTS_FUZZ_H
#define BC_TESTS_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/http/list_page.h"

/* The input as the HTTP layer hands a body over: NUL-terminated. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

/* A total order on listing entries, for comparing two pages whose equal
 * keys qsort may have put either way round. */
static inline int fuzz_entry_cmp(const void *a, const void *b)
{
    const bc_list_entry *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    if (x->is_prefix != y->is_prefix)
        return x->is_prefix - y->is_prefix;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* Whether a[0..n) and b[0..n) hold the same entries, in whatever order
 * (both are sorted). */
static inline int fuzz_same_entries(bc_list_entry *a, bc_list_entry *b, size_t n)
{
    if (!n)
        return 1;
    qsort(a, n, sizeof *a, fuzz_entry_cmp);
    qsort(b, n, sizeof *b, fuzz_entry_cmp);
    for (size_t i = 0; i < n; i++)
        if (fuzz_entry_cmp(&a[i], &b[i]) != 0)
            return 0;
    return 1;
}

#endif
