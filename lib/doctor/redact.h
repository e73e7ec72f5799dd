/* Taking credentials out of what bc-doctor bundle writes. Nothing here
 * knows a secret's value: values are recognised by where they sit (a key
 * or an environment variable named like a credential, a query-string or
 * connection-string parameter, a header, a URL's password) or by their
 * shape (an AWS access key id, a JWT, a PEM private key, a long opaque
 * token of mixed letters and digits). Each is replaced by "[REDACTED]"
 * and recorded by place and rule, never by value.
 *
 * Names are compared without case and without '-', '_' and '.'; one
 * names a credential when it holds password, passwd, secret, token,
 * apikey, accesskey, privatekey, connectionstring, storagekey, sastoken,
 * credential, signature, authorization or cookie, or ends in ".key"
 * (tls.key), unless it ends in name or ref (secretName, a Secret's name)
 * or is an annotation key ending in secret (cnpg.io/pluginServerSecret).
 *
 * The rules, by the name each is recorded with:
 *   credential key        a JSON string under such a key (in a document,
 *                         or "KEY": "VALUE" inside text)
 *   env NAME              the value of {"name": NAME, "value": ...}
 *   last-applied-configuration   that annotation, whole
 *   secret data           data and stringData of a kind: Secret object
 *   credential parameter  NAME=VALUE after a start, space, ?, &, ;, quote
 *                         or bracket (X-Amz-Signature, X-Amz-Credential,
 *                         sig, token, AccountKey, Password, --password,
 *                         AWS_SECRET_ACCESS_KEY, ...; quoted libpq values
 *                         too)
 *   credential header     NAME: VALUE at a line's start, to its end
 *                         (X-Amz-Security-Token:, Cookie:)
 *   authorization header  Authorization: or = to the line's end
 *   bearer token          "Bearer " and 8 or more characters
 *   url password          scheme://user:PASSWORD@host
 *   aws access key id     AKIA or ASIA and 16 of [A-Z0-9], alone
 *   jwt                   eyJ..., three base64url parts
 *   private key           -----BEGIN ... PRIVATE KEY----- to its END line
 *                         (or the text's end)
 *   opaque token          32 or more of [A-Za-z0-9+/_-] ('=' only as
 *                         padding at the end) with an upper and a lower
 *                         case letter and a digit; in a run that reads
 *                         as a path (two parts between / are lower-case
 *                         words of 4+ letters), each part on its own
 * Names of Kubernetes Secrets and backup paths are kept: a bundle is for
 * finding what is misnamed or missing.
 * The record's list latches out of memory in `oom`; both redactors then
 * fail, so that a bundle never goes out with an incomplete list. */
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
/* Accepts NULL and a zeroed list; leaves it zeroed. */
void bc_redactions_free(bc_redactions *log);

/* A redacted copy of len bytes of text (any bytes, NULs included):
 * malloc'd, NUL-terminated, *out_len bytes before the NUL; each
 * replacement recorded as "WHERE: line N (RULE)". NULL and *out_len 0
 * when out of memory. */
char *bc_redact_text(const char *text, size_t len, const char *where, bc_redactions *log,
                     size_t *out_len);

/* A JSON document, in place: a string under a credential-like key (or
 * in an array there), the value of an env entry {"name": CREDENTIAL_LIKE,
 * "value": ...} and the last-applied-configuration annotation become
 * "[REDACTED]"; an object under such a key is a Secret reference and is
 * walked as any; every other string goes through the text rules.
 * Recorded as "WHERE: PATH (RULE)" (items[0].spec.containers[1].env[3].value).
 * BC_OK or bc_oom(); after a failure doc may be partly redacted. */
bc_status bc_redact_json(json_t *doc, const char *where, bc_redactions *log);

#endif
