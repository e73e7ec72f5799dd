/* Percent-encoding for URLs: paths and query values of every provider. */
#ifndef BC_STORE_HTTP_URL_H
#define BC_STORE_HTTP_URL_H

/* Percent-encodes every byte except A-Z a-z 0-9 - _ . ~ (and '/' when
 * keep_slash), uppercase hex: RFC 3986's unreserved set, which is also
 * S3's SigV4 rule, so one encoding serves the URL and the signature.
 * Returns a new string, NULL if out of memory. */
char *bc_url_encode(const char *s, int keep_slash);

#endif
