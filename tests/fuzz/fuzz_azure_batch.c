/* libFuzzer target for the Azure Blob Batch reply check
 * (bc_azure_batch_check, lib/store/azure/azure_batch.c) and through it the
 * batch reply reader Cloud Storage's deletes share (bc_http_batch_answers,
 * lib/store/http/batch.c): the same reply
 * is checked as the answer to 0 to 4 deletes. It may be accepted for one
 * count at most, and then every other count is refused as a reply with
 * the wrong number of answers (BC_ERR_DATA); a refusal names the
 * container, and a refused delete names one of the keys asked for.
 * Build and run: make fuzz  (clang with -fsanitize=fuzzer,address). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "store/azure/azure_internal.h"

#define MAX_KEYS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[MAX_KEYS] = {"pg/wals/k0", "pg/wals/k1", "pg/wals/k2",
                                               "pg/wals/k3"};
    char location[] = "https://a.blob.core.windows.net/c";
    azure_backend b = {.location = location};
    char *body = fuzz_text(data, size);
    bc_http_response r = {.status = 202, .body = body, .body_len = size};

    bc_status st[MAX_KEYS + 1];
    int accepted = -1;
    for (size_t n = 0; n <= MAX_KEYS; n++) {
        st[n] = bc_azure_batch_check(&b, &r, keys, n);
        if (st[n] == BC_OK) {
            if (accepted >= 0)
                abort();
            accepted = (int)n;
            continue;
        }
        const char *msg = bc_error_msg();
        if (!strstr(msg, location))
            abort();
        if (st[n] == BC_ERR_DATA)
            continue;
        if (st[n] != BC_ERR_AUTH && st[n] != BC_ERR_NET && st[n] != BC_ERR_INTERNAL)
            abort();
        /* "delete LOCATION/KEY: HTTP ...", KEY one of the n asked for */
        char want[128];
        int named = 0;
        for (size_t k = 0; k < n && !named; k++) {
            snprintf(want, sizeof want, "delete %s/%s: HTTP ", location, keys[k]);
            named = strncmp(msg, want, strlen(want)) == 0;
        }
        if (!named)
            abort();
    }
    for (size_t n = 0; accepted >= 0 && n <= MAX_KEYS; n++)
        if ((int)n != accepted && st[n] != BC_ERR_DATA)
            abort();
    free(body);
    return 0;
}
