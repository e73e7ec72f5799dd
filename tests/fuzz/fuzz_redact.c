/* libFuzzer target for bc-doctor bundle's redaction (lib/doctor/redact.c),
 * which reads log tails and objects it did not write. The same input as
 *   - text: the output is NUL-terminated at the length it reports and no
 *     longer than the input plus a placeholder per record;
 *   - text with credentials planted on lines of their own between two
 *     copies of it: whatever surrounds them, none is left in the output
 *     (no rule stops inside one, none hides one from the others);
 *   - a JSON document, when it parses, with a credential planted under a
 *     "password" key when it is an object: BC_OK, and the value is gone.
 * Redacting twice is not required to change nothing: a placeholder that
 * shortens a key or path can make what surrounds it match another rule.
 * Build and run: make fuzz. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/redact.h"

static const char planted[] =
    "\nAKIAIOSFODNN7EXAMPLE\npassword=hunter2planted\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    "Authorization: Bearer plantedbearer\n";
static const char *const secrets[] = {
    "AKIAIOSFODNN7EXAMPLE", "hunter2planted", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "plantedbearer",
};

static void text(const uint8_t *data, size_t size)
{
    bc_redactions log = {0};
    size_t n = 0;
    char *out = bc_redact_text((const char *)data, size, "fuzz", &log, &n);
    if (!out || out[n] != '\0' || n > size + log.n * strlen(BC_REDACTED))
        abort();
    free(out);
    bc_redactions_free(&log);

    size_t len = 2 * size + sizeof planted - 1;
    char *in = malloc(len);
    if (!in)
        abort();
    memcpy(in, data, size);
    memcpy(in + size, planted, sizeof planted - 1);
    memcpy(in + size + sizeof planted - 1, data, size);
    out = bc_redact_text(in, len, "fuzz", &log, &n);
    if (!out)
        abort();
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
        if (memmem(out, n, secrets[i], strlen(secrets[i])) &&
            !memmem(data, size, secrets[i], strlen(secrets[i])))   /* the input's own copy */
            abort();
    free(out);
    free(in);
    bc_redactions_free(&log);
}

static void json(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!doc)
        return;
    if (json_is_object(doc) && json_object_set_new(doc, "password", json_string("hunter2planted")))
        abort();
    bc_redactions log = {0};
    if (bc_redact_json(doc, "fuzz", &log) != BC_OK)
        abort();
    json_t *pw = json_object_get(doc, "password");
    if (pw && strcmp(json_string_value(pw), BC_REDACTED) != 0)
        abort();
    json_decref(doc);
    bc_redactions_free(&log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    text(data, size);
    json(data, size);
    return 0;
}
