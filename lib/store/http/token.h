/* An OAuth access token shared by a store's threads (Azure's and Google's
 * bearer tokens): fetched on first use; fetched again once its remaining
 * life falls under the margin, 5 minutes or half the lifetime of a
 * shorter-lived token, so a request never leaves with a token about to
 * expire; dropped when the server refuses it. One policy for every
 * provider. */
#ifndef BC_STORE_HTTP_TOKEN_H
#define BC_STORE_HTTP_TOKEN_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "util/status.h"

/* Gets a new token (malloc'd; registered with the log redactor by the
 * fetcher) and when it expires (absolute time). */
typedef bc_status (*bc_token_fetch_fn)(void *ctx, char **token, time_t *expires_at);

typedef struct bc_token_cache {
    pthread_mutex_t lock;
    char *token;
    time_t refresh_at;            /* when to fetch the next one */
    bc_token_fetch_fn fetch;
    void *ctx;
} bc_token_cache;

void bc_token_cache_init(bc_token_cache *c, bc_token_fetch_fn fetch, void *ctx);
/* "Bearer <token>" into out, fetching first when due. */
bc_status bc_token_cache_bearer(bc_token_cache *c, char *out, size_t outlen);
/* The server refused token (NULL: whichever is cached): fetch anew next time. */
void bc_token_cache_invalidate(bc_token_cache *c, const char *token);
void bc_token_cache_free(bc_token_cache *c);

/* When a token valid for ttl seconds from now should be replaced. */
time_t bc_token_refresh_time(time_t now, time_t expires_at);

#endif
