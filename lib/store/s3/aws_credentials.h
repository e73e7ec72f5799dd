/* AWS credentials and region, found the way the AWS CLI and boto3 do:
 *
 * keys: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN from
 * the environment, else the profile's aws_access_key_id /
 * aws_secret_access_key / aws_session_token in the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials, `[name]`
 * sections), else in the config file (AWS_CONFIG_FILE, else ~/.aws/config,
 * `[profile name]` / `[default]` sections). As in botocore, a profile given
 * explicitly (-P) takes precedence over the environment keys.
 *
 * region: AWS_REGION, AWS_DEFAULT_REGION, else the profile's `region` in the
 * config file, else "us-east-1".
 *
 * The secret key and session token are registered with bc_log_add_secret()
 * so no message ever shows them. */
#ifndef BC_STORE_AWS_CREDENTIALS_H
#define BC_STORE_AWS_CREDENTIALS_H

#include "util/status.h"

typedef struct bc_aws_credentials {
    char *access_key;
    char *secret_key;
    char *session_token;   /* NULL when none */
    char *region;
    char *source;          /* where the keys came from, for messages */
} bc_aws_credentials;

/* profile: the -P option, or NULL (then AWS_PROFILE, else "default").
 * BC_ERR_AUTH with a message naming what to set when no keys are found. */
bc_status bc_aws_credentials_load(const char *profile, bc_aws_credentials *out);
void bc_aws_credentials_free(bc_aws_credentials *c);

#endif
