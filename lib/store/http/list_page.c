#include "store/http/list_page.h"

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

/* Empty pages are legal (GCS and Azure return some when a page's time runs
 * out, or when a delimiter rolls many keys up), so a few in a row are
 * fine; this many without a new key is a store that will never finish. */
#define MAX_IDLE_PAGES 100

static int idle_token_seen(const bc_list_guard *g, const char *token)
{
    return (g->sent_token && strcmp(g->sent_token, token) == 0) ||
           bc_strv_find(&g->idle_tokens, token) >= 0;
}

bc_status bc_list_guard_page(bc_list_guard *g, const char *token_name, const char *first,
                             const char *last, const char *next_token)
{
    g->pages++;
    if (first && last) {
        /* Equal is allowed: a common prefix may close one page and open the
         * next when the keys it rolls up straddle the page boundary. */
        if (g->last_key && strcmp(first, g->last_key) < 0)
            return bc_error(BC_ERR_DATA,
                            "page %zu of the listing starts at '%.200s', before '%.200s' "
                            "already listed: the store went back (does it ignore the %s?) "
                            "and the listing would never end",
                            g->pages, first, g->last_key, token_name);
        if (g->last_key && strcmp(last, g->last_key) <= 0)
            return bc_error(BC_ERR_DATA,
                            "page %zu of the listing holds nothing after '%.200s' yet the "
                            "store gave another %s: the listing would never end",
                            g->pages, g->last_key, token_name);
        char *k = strdup(last);
        if (!k)
            return bc_oom();
        free(g->last_key);
        g->last_key = k;
        bc_strv_free(&g->idle_tokens);
    }
    if (!next_token) {
        free(g->sent_token);
        g->sent_token = NULL;
        return BC_OK;
    }
    /* Only tokens given since the last new key can come back without the
     * key check above noticing, so those are all that must be kept. */
    if (idle_token_seen(g, next_token))
        return bc_error(BC_ERR_DATA,
                        "the store handed out the same %s again after page %zu without "
                        "listing anything new: the listing would never end",
                        token_name, g->pages);
    if (g->idle_tokens.n >= MAX_IDLE_PAGES)
        return bc_error(BC_ERR_DATA,
                        "%d pages in a row listed nothing new, each with another %s: "
                        "giving up rather than looping", MAX_IDLE_PAGES, token_name);
    /* An empty page's token joins the idle ones. */
    bc_status st = g->sent_token && !first ? bc_strv_add(&g->idle_tokens, g->sent_token) : BC_OK;
    char *copy = st == BC_OK ? strdup(next_token) : NULL;
    if (st == BC_OK && !copy)
        st = bc_oom();
    if (st != BC_OK)
        return st;
    free(g->sent_token);
    g->sent_token = copy;
    return BC_OK;
}

void bc_list_guard_free(bc_list_guard *g)
{
    bc_strv_free(&g->idle_tokens);
    free(g->sent_token);
    free(g->last_key);
    memset(g, 0, sizeof *g);
}

bc_status bc_list_pages(bc_lister *l, bc_list_fn fn, void *ctx)
{
    l->query_prefix = l->prefix && *l->prefix ? l->prefix : NULL;
    l->query_delimiter = l->delimiter && *l->delimiter ? l->delimiter : NULL;
    l->hc = NULL;
    l->end = BC_LIST_DONE;
    bc_status st = l->pool ? bc_http_client_acquire(l->pool, &l->hc) : BC_OK;
    if (st != BC_OK) {
        l->end = BC_LIST_NO_CLIENT;
        return st;
    }
    bc_list_page page = {0};
    bc_list_guard guard = {0};
    char *token = NULL;
    do {
        char *next = NULL;
        bc_list_page_clear(&page);
        st = l->fetch(l, token, &page, &next);
        free(token);
        token = next;
        if (st != BC_OK) {
            l->end = BC_LIST_FAILED;
            break;
        }
        st = bc_list_guard_page(&guard, l->token_name, page.n ? page.items[0].key : NULL,
                                page.n ? page.items[page.n - 1].key : NULL, token);
        if (st != BC_OK) {
            l->end = BC_LIST_ENDLESS;
            break;
        }
        for (size_t i = 0; st == BC_OK && i < page.n; i++) {
            bc_object_info info = {page.items[i].key, page.items[i].size, page.items[i].mtime,
                                   page.items[i].is_prefix};
            int rc = fn(ctx, &info);
            if (rc) {
                st = (bc_status)rc;
                l->end = BC_LIST_STOPPED;
            }
        }
    } while (st == BC_OK && token);
    free(token);
    bc_list_page_free(&page);
    bc_list_guard_free(&guard);
    if (l->hc)
        bc_http_client_release(l->pool, l->hc);
    l->hc = NULL;
    return st;
}
