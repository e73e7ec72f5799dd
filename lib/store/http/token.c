#include "store/http/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARGIN 300 /* seconds of life left when a token is replaced */

time_t bc_token_refresh_time(time_t now, time_t expires_at)
{
    time_t ttl = expires_at - now;
    time_t margin = ttl > 2 * MARGIN ? MARGIN : ttl / 2;
    return expires_at - margin;
}

void bc_token_cache_init(bc_token_cache *c, bc_token_fetch_fn fetch, void *ctx)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    c->fetch = fetch;
    c->ctx = ctx;
}

static void drop(bc_token_cache *c)
{
    if (c->token)
        explicit_bzero(c->token, strlen(c->token));
    free(c->token);
    c->token = NULL;
}

bc_status bc_token_cache_bearer(bc_token_cache *c, char *out, size_t outlen)
{
    bc_status st = BC_OK;
    pthread_mutex_lock(&c->lock);
    time_t now = time(NULL);
    if (!c->token || now >= c->refresh_at) {
        char *token = NULL;
        time_t expires_at = 0;
        st = c->fetch(c->ctx, &token, &expires_at);
        if (st == BC_OK) {
            drop(c);
            c->token = token;
            c->refresh_at = bc_token_refresh_time(now, expires_at);
        }
    }
    if (st == BC_OK && (size_t)snprintf(out, outlen, "Bearer %s", c->token) >= outlen)
        st = bc_error(BC_ERR_AUTH, "the access token is longer than %zu bytes", outlen);
    pthread_mutex_unlock(&c->lock);
    return st;
}

void bc_token_cache_invalidate(bc_token_cache *c, const char *token)
{
    pthread_mutex_lock(&c->lock);
    if (c->token && (!token || strcmp(c->token, token) == 0))
        c->refresh_at = 0;
    pthread_mutex_unlock(&c->lock);
}

void bc_token_cache_free(bc_token_cache *c)
{
    drop(c);
    pthread_mutex_destroy(&c->lock);
}
