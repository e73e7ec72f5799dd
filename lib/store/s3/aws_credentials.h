/* AWS credentials and region, found the way the AWS CLI and boto3 do, in
 * the SDKs' order (the first source that is configured wins; a configured
 * source that fails is a failure, as in botocore, not a reason to try the
 * next):
 *
 *  1. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
 *  2. Web identity (IRSA): AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE
 *     (+ AWS_ROLE_SESSION_NAME, default "botocore-session-<time>"): the
 *     token file's JWT traded for temporary keys by an unsigned STS
 *     AssumeRoleWithWebIdentity at AWS_ENDPOINT_URL_STS, else
 *     AWS_ENDPOINT_URL, else https://sts.REGION.amazonaws.com.
 *  3. The profile (-P, else AWS_PROFILE, else "default"): aws_access_key_id
 *     / aws_secret_access_key / aws_session_token in the shared credentials
 *     file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials, `[name]`
 *     sections), else in the config file (AWS_CONFIG_FILE, else
 *     ~/.aws/config, `[profile name]` / `[default]` sections); or the
 *     profile's role_arn + web_identity_token_file (+ role_session_name),
 *     the same STS call as 2. Not supported: source_profile and
 *     credential_source role chains, SSO, credential_process. As in
 *     botocore, a profile given explicitly (-P) takes precedence over 1
 *     and 2.
 *  4. Container credentials (ECS, EKS Pod Identity):
 *     AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on http://169.254.170.2),
 *     else AWS_CONTAINER_CREDENTIALS_FULL_URI, which over http must name a
 *     loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23 (the
 *     hosts botocore allows); AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, else
 *     AWS_CONTAINER_AUTHORIZATION_TOKEN, is sent as Authorization.
 *  5. EC2 instance metadata, IMDSv2 (a session token PUT first, IMDSv1
 *     only where botocore falls back: the PUT answered 403/404/405 or
 *     not at all, and AWS_EC2_METADATA_V1_DISABLED unset), at
 *     AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254;
 *     skipped when AWS_EC2_METADATA_DISABLED=true. One attempt, 1 s
 *     timeouts, so a machine without IMDS fails within about 2 s (the
 *     token PUT, then botocore's IMDSv1 try).
 *
 * region: AWS_REGION, AWS_DEFAULT_REGION, else the profile's `region` in the
 * config file, else "us-east-1".
 *
 * Temporary keys (2 to 5) are fetched again once their remaining life is
 * under the margin of store/http/token.h (5 minutes, or half the lifetime
 * of shorter-lived keys): the policy every provider's tokens follow, and
 * longer than any one signed request takes to start. When the refresh
 * fails while the keys still hold, they are used with a warning.
 * bc_aws_credentials_keys() is safe from any number of threads.
 *
 * Secret keys, session tokens, web identity and container tokens are
 * registered with bc_log_add_secret() so no message ever shows them; no
 * message is built from them either. Every failure is BC_ERR_AUTH with one
 * line naming the source tried. */
#ifndef BC_STORE_AWS_CREDENTIALS_H
#define BC_STORE_AWS_CREDENTIALS_H

#include <stddef.h>
#include <time.h>

#include "util/status.h"

/* One set of keys; expires_at 0 for keys that do not expire. */
typedef struct bc_aws_keys {
    char *access_key;
    char *secret_key;
    char *session_token;   /* NULL when none */
    time_t expires_at;
} bc_aws_keys;

/* How temporary keys are fetched again (private to the module). */
typedef struct bc_aws_refresh bc_aws_refresh;

typedef struct bc_aws_credentials {
    /* The keys found at load: for fixed keys the ones signed with, for
     * temporary ones the first issued (messages name access_key). */
    char *access_key;
    char *secret_key;
    char *session_token;   /* NULL when none */
    char *region;
    char *source;          /* where the keys came from, for messages */
    bc_aws_refresh *refresh; /* NULL: fixed keys */
} bc_aws_credentials;

/* profile: the -P option, or NULL (then AWS_PROFILE, else "default").
 * ca_bundle: the PEM file trusted for https STS and container endpoints
 * (NULL: the system's). BC_ERR_AUTH with a message naming what to set when
 * no keys are found, or naming the source that failed. On failure *out is
 * zeroed. */
bc_status bc_aws_credentials_load(const char *profile, const char *ca_bundle,
                                  bc_aws_credentials *out);
void bc_aws_credentials_free(bc_aws_credentials *c);

/* Copies of the keys to sign with now, fetched anew first when due. On
 * failure *out is zeroed. Free with bc_aws_keys_free(). */
bc_status bc_aws_credentials_keys(const bc_aws_credentials *c, bc_aws_keys *out);
/* The store refused access_key as expired while its own expiry said
 * otherwise (a clock off, keys revoked): when the keys are temporary, the
 * next bc_aws_credentials_keys() fetches new ones (unless that already
 * happened since access_key was handed out). 1 when signing again may
 * help, 0 for fixed keys. Thread-safe. */
int bc_aws_credentials_renew(const bc_aws_credentials *c, const char *access_key);
/* The same at a given time (tests). */
bc_status bc_aws_credentials_keys_at(const bc_aws_credentials *c, time_t now, bc_aws_keys *out);
/* Wipes and frees; accepts a zeroed struct. */
void bc_aws_keys_free(bc_aws_keys *k);

/* ---- the replies of the sources (untrusted input; fuzzed) ------------- */

/* An STS AssumeRoleWithWebIdentity reply: its Credentials. BC_ERR_AUTH
 * naming what is missing when it has none; never quotes the reply. */
bc_status bc_aws_sts_parse(const char *body, size_t len, bc_aws_keys *out);
/* A container endpoint's or IMDS's JSON: AccessKeyId, SecretAccessKey,
 * Token, Expiration (and IMDS's Code, "Success"). Same contract. */
bc_status bc_aws_json_parse(const char *body, size_t len, bc_aws_keys *out);
/* Whether a container endpoint URL may be asked over its scheme: https to
 * any host, http only to the hosts botocore allows. */
int bc_aws_container_host_allowed(const char *url);

/* ---- for aws_credentials.c: the remote sources (aws_remote.c) --------- */

/* Web identity: fetches the first keys into c (source already set). */
bc_status bc_aws_web_identity(bc_aws_credentials *c, const char *role_arn,
                              const char *token_file, const char *session_name,
                              const char *sts_url, const char *ca_bundle);
/* Container credentials at url (checked with bc_aws_container_host_allowed). */
bc_status bc_aws_container(bc_aws_credentials *c, const char *url, const char *auth_token,
                           const char *auth_token_file, const char *ca_bundle);
/* EC2 instance metadata at endpoint ("http://169.254.169.254"). */
bc_status bc_aws_imds(bc_aws_credentials *c, const char *endpoint, int v1_disabled);
void bc_aws_refresh_free(bc_aws_refresh *r);
/* *dst = a copy of src (nothing when src is NULL). */
bc_status bc_aws_dup(char **dst, const char *src);

#endif
