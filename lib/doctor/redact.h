/* Taking credentials out of what bc-doctor bundle writes. Nothing here
 * knows a secret's value: values are recognised by where they sit (a key
 * or an environment variable named like a credential, a query-string or
 * connection-string parameter, an Authorization header) or by their
 * shape (an AWS access key id, a JWT, a PEM private key, a long opaque
 * token of mixed letters and digits). Each is replaced by "[REDACTED]"
 * and recorded by place and rule, never by value. */
#ifndef BC_DOCTOR_REDACT_H
#define BC_DOCTOR_REDACT_H

#include <jansson.h>
#include <stddef.h>

#include "util/status.h"

#define BC_REDACTED "[REDACTED]"

/* What was redacted: "WHERE: PLACE (RULE)" lines. */
typedef struct bc_redactions {
    char **items;
    size_t n, cap;
    int oom;
} bc_redactions;

void bc_redactions_add(bc_redactions *log, const char *where, const char *rule);
void bc_redactions_free(bc_redactions *log);

/* A redacted copy of len bytes of text (any bytes, NULs included):
 * malloc'd, NUL-terminated, *out_len bytes before the NUL; each
 * replacement recorded as "WHERE: line N (RULE)". NULL when out of
 * memory. */
char *bc_redact_text(const char *text, size_t len, const char *where, bc_redactions *log,
                     size_t *out_len);

/* A JSON document, in place: a string under a credential-like key, the
 * value of an env entry {"name": CREDENTIAL_LIKE, "value": ...} and the
 * last-applied-configuration annotation become "[REDACTED]"; every other
 * string goes through the text rules. Recorded as "WHERE: PATH (RULE)"
 * (items[0].spec.containers[1].env[3].value). BC_OK or bc_oom(). */
bc_status bc_redact_json(json_t *doc, const char *where, bc_redactions *log);

#endif
