/* store/gcs: reading a token endpoint's reply (bc_google_token_parse):
 * the token, when to stop using it, and the replies without one. */
#include "store/gcs/google_credentials.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

static const char uri[] = "https://oauth2.googleapis.com/token";
static const time_t now = 1733134531;

static bc_status parse(const char *body, char **token, time_t *expires)
{
    *token = NULL;
    *expires = 0;
    return bc_google_token_parse(body, strlen(body), uri, now, token, expires);
}

int main(void)
{
    char *token;
    time_t expires;

    /* the expiry the reply promises (the token cache replaces it ahead) */
    CHECK(parse("{\"access_token\":\"ya29.a\",\"expires_in\":3599,\"token_type\":\"Bearer\"}",
                &token, &expires) == BC_OK);
    CHECK(token && strcmp(token, "ya29.a") == 0 && expires == now + 3599);
    free(token);
    /* no expires_in: five minutes */
    CHECK(parse("{\"access_token\":\"t\"}", &token, &expires) == BC_OK && expires == now + 300);
    free(token);
    CHECK(parse("{\"access_token\":\"t\",\"expires_in\":10}", &token, &expires) == BC_OK &&
          expires == now + 10);
    free(token);
    /* Found by fuzz_gcs_json: now + expires_in overflowed (undefined, and
     * a token expired before it was used). More than a day is a day. */
    CHECK(parse("{\"access_token\":\"t\",\"expires_in\":9223372036854775807}", &token,
                &expires) == BC_OK);
    CHECK(expires == now + 24 * 3600);
    free(token);

    /* no token: an authentication failure naming the endpoint */
    CHECK(parse("{\"error\":\"invalid_grant\"}", &token, &expires) == BC_ERR_AUTH && !token &&
          strstr(bc_error_msg(), uri));
    CHECK(parse("{\"access_token\":\"\"}", &token, &expires) == BC_ERR_AUTH && !token);
    CHECK(parse("not json", &token, &expires) == BC_ERR_AUTH && !token);
    CHECK(bc_google_token_parse(NULL, 0, uri, now, &token, &expires) == BC_ERR_AUTH && !token);

    return check_report("google_token");
}
