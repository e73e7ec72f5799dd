/* libFuzzer target for the credential replies the s3:// backend reads
 * (lib/store/s3/aws_remote.c) from STS, a container endpoint or IMDS, the
 * same input as
 *   - an STS AssumeRoleWithWebIdentity reply (bc_aws_sts_parse);
 *   - a container endpoint's or IMDS's JSON (bc_aws_json_parse);
 * each either gives every key (access key id, secret, session token, all
 * non-empty) and an expiry after the epoch, or fails with BC_ERR_AUTH and
 * a bounded one-line message, with nothing left to free;
 *   - a container URL (bc_aws_container_host_allowed): an http URL the
 *     rule allows names one of botocore's hosts.
 * Build and run: make fuzz  (clang with -fsanitize=fuzzer,address). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "store/s3/aws_credentials.h"

static void check(bc_status st, bc_aws_keys *k)
{
    if (st == BC_OK) {
        if (!k->access_key || !*k->access_key || !k->secret_key || !*k->secret_key ||
            !k->session_token || !*k->session_token || k->expires_at <= 0)
            abort();
        bc_aws_keys_free(k);
        return;
    }
    if (st != BC_ERR_AUTH || k->access_key || k->secret_key || k->session_token)
        abort();
    const char *m = bc_error_msg();
    if (strchr(m, '\n') || strlen(m) > 200)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    bc_aws_keys k;
    check(bc_aws_sts_parse(text, size, &k), &k);
    check(bc_aws_json_parse(text, size, &k), &k);
    if (bc_aws_container_host_allowed(text) && strncmp(text, "http://", 7) == 0) {
        const char *h = text + 7;
        static const char *const hosts[] = { "127.", "[::1]", "localhost", "169.254.170.2",
                                             "169.254.170.23", "[fd00:ec2::23]" };
        int ok = 0;
        for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++)
            ok |= strncmp(h, hosts[i], strlen(hosts[i])) == 0;
        if (!ok)
            abort();
    }
    free(text);
    return 0;
}
