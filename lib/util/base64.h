/* Standard base64 (RFC 4648) decoding, as Kubernetes Secrets and
 * kubeconfigs and Azure account keys hold it. */
#ifndef BC_UTIL_BASE64_H
#define BC_UTIL_BASE64_H

#include <stddef.h>

/* Decodes in (line breaks and blanks allowed) into a NUL-terminated
 * malloc'd buffer, its length in *outlen (may be NULL); -1 when the text is
 * not base64 or memory runs out. The work copy is wiped: it may be a key. */
int bc_base64_decode(const char *in, size_t inlen, char **out, size_t *outlen);

#endif
