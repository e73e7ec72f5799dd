/* store/list_page: the guard every provider's list loop (S3, Azure, GCS)
 * runs each page through, so that a store that never ends a listing makes
 * it fail instead of loop. */
#include "store/http/list_page.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

/* Runs pages {first, last, next} through a fresh guard; returns the index
 * of the page refused, or -1 if all passed. */
typedef struct page { const char *first, *last, *next; } page;

static int run(const page *pages, size_t n)
{
    bc_list_guard g = {0};
    int refused = -1;
    for (size_t i = 0; i < n && refused < 0; i++)
        if (bc_list_guard_page(&g, "NextMarker", pages[i].first, pages[i].last, pages[i].next) !=
            BC_OK)
            refused = (int)i;
    bc_list_guard_free(&g);
    return refused;
}

int main(void)
{
    /* honest listings: one page; several; a page boundary splitting the
     * keys a common prefix rolls up; empty pages in between (GCS, Azure) */
    CHECK(run((page[]){{"a", "c", NULL}}, 1) == -1);
    CHECK(run((page[]){{NULL, NULL, NULL}}, 1) == -1);
    CHECK(run((page[]){{"a", "c", "t1"}, {"d", "f", "t2"}, {"g", "g", NULL}}, 3) == -1);
    CHECK(run((page[]){{"a/", "b/", "t1"}, {"b/", "c/", NULL}}, 2) == -1);
    CHECK(run((page[]){{"a", "c", "t1"}, {NULL, NULL, "t2"}, {NULL, NULL, "t3"},
                        {"d", "e", NULL}}, 4) == -1);
    /* an older token handed out again passes (keys advanced since: asking
     * for it again would list old keys, which the key check refuses) */
    CHECK(run((page[]){{"a", "c", "t"}, {"d", "f", "u"}, {"g", "h", "t"}}, 3) == -1);
    /* but the very token that asked for this page means the same request
     * next: refused at once */
    CHECK(run((page[]){{"a", "c", "t"}, {"d", "f", "t"}}, 2) == 1);

    /* the same page again under a new token (the token is ignored) */
    CHECK(run((page[]){{"a", "c", "t1"}, {"a", "c", "t2"}}, 2) == 1);
    /* a page of nothing new */
    CHECK(run((page[]){{"a", "c", "t1"}, {"c", "c", "t2"}}, 2) == 1);
    /* keys going back */
    CHECK(run((page[]){{"m", "p", "t1"}, {"b", "z", "t2"}}, 2) == 1);
    /* the token that asked for the page comes back with nothing new */
    CHECK(run((page[]){{"a", "c", "t1"}, {NULL, NULL, "t1"}}, 2) == 1);
    /* a cycle of empty pages */
    CHECK(run((page[]){{"a", "c", "t1"}, {NULL, NULL, "t2"}, {NULL, NULL, "t3"},
                        {NULL, NULL, "t1"}}, 4) == 3);
    /* empty from the start, token repeated */
    CHECK(run((page[]){{NULL, NULL, "t1"}, {NULL, NULL, "t1"}}, 2) == 1);

    /* endless empty pages with fresh tokens: refused after a bounded run */
    bc_list_guard g = {0};
    char token[32];
    int i;
    bc_status st = bc_list_guard_page(&g, "nextPageToken", "a", "b", "t0");
    for (i = 1; st == BC_OK && i < 100000; i++) {
        snprintf(token, sizeof token, "t%d", i);
        st = bc_list_guard_page(&g, "nextPageToken", NULL, NULL, token);
    }
    CHECK(st == BC_ERR_DATA);
    CHECK(i > 50 && i < 200);
    CHECK(strstr(bc_error_msg(), "nextPageToken") != NULL);
    bc_list_guard_free(&g);

    /* the message names the token and says what the store did */
    bc_list_guard_page(&g, "NextContinuationToken", "a", "c", "t1");
    CHECK(bc_list_guard_page(&g, "NextContinuationToken", "a", "c", "t2") == BC_ERR_DATA);
    CHECK(strstr(bc_error_msg(), "NextContinuationToken") != NULL);
    CHECK(strstr(bc_error_msg(), "never end") != NULL);
    bc_list_guard_free(&g);

    return check_report("list_page");
}
