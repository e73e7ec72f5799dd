/* Google OAuth 2.0 access tokens for the gs:// backend, found the way
 * Google's client libraries find Application Default Credentials:
 *
 *   1. GOOGLE_APPLICATION_CREDENTIALS: a JSON key file, either a service
 *      account's ("type": "service_account": an RS256-signed JWT is traded
 *      at its token_uri for an access token) or a user's
 *      ("type": "authorized_user", as `gcloud auth application-default
 *      login` writes it: its refresh token is traded instead);
 *   2. with STORAGE_EMULATOR_HOST set and no key file: none, requests go
 *      unauthenticated as Google's clients send them to an emulator;
 *   3. the gcloud well-known file
 *      (~/.config/gcloud/application_default_credentials.json);
 *   4. the metadata server of GCE / GKE workload identity
 *      (GCE_METADATA_HOST, else metadata.google.internal).
 *
 * Tokens are cached until a minute before they expire; the cache is shared
 * by every thread. Private keys, refresh tokens, JWTs and access tokens are
 * registered with bc_log_add_secret() and never appear in messages. */
#ifndef BC_STORE_GOOGLE_CREDENTIALS_H
#define BC_STORE_GOOGLE_CREDENTIALS_H

#include <stddef.h>
#include <time.h>

#include "store/http/http.h"
#include "util/status.h"

typedef struct bc_google_credentials bc_google_credentials;

/* Finds the credentials (reads a key file, checks it); emulator: whether
 * STORAGE_EMULATOR_HOST is in use. No network traffic yet. */
bc_status bc_google_credentials_load(const bc_http_config *http, int emulator,
                                     bc_google_credentials **out);
void bc_google_credentials_free(bc_google_credentials *c);

/* 1 when requests go without a token. */
int bc_google_credentials_anonymous(const bc_google_credentials *c);
/* Where the credentials come from, for messages ("service account X from
 * FILE", "the metadata server at HOST", "none (emulator)"). */
const char *bc_google_credentials_source(const bc_google_credentials *c);

/* Sets "Authorization: Bearer TOKEN" on the request, fetching a token when
 * the cached one is missing or about to expire. BC_ERR_AUTH when the token
 * endpoint refuses the credentials, BC_ERR_NET when it cannot be reached;
 * the message says which endpoint and why. A bc_http_sign_fn (ctx: the
 * credentials). */
bc_status bc_google_sign(void *creds, bc_http_request *req);

/* Forgets the cached token if it is still `token` (the server refused it). */
void bc_google_credentials_invalidate(bc_google_credentials *c, const char *token);

/* The access token in a token endpoint's reply (body[0..len), JSON) into
 * *token (malloc'd), and in *expires_at when to stop using it: now plus
 * its expires_in (300 s when absent), less a margin. BC_ERR_AUTH naming
 * uri when the reply has no token; then *token is NULL. The fuzz target
 * fuzz_gcs_json calls it. */
bc_status bc_google_token_parse(const char *body, size_t len, const char *uri, time_t now,
                                char **token, time_t *expires_at);

#endif
