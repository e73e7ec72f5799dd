/* Percent-encoding for URLs: paths and query values of every provider. */
#ifndef BC_STORE_HTTP_URL_H
#define BC_STORE_HTTP_URL_H

#include <stddef.h>

#include "store/store.h"
#include "util/buffer.h"

/* Percent-encodes every byte except A-Z a-z 0-9 - _ . ~ (and '/' when
 * keep_slash), uppercase hex: RFC 3986's unreserved set, which is also
 * S3's SigV4 rule, so one encoding serves the URL and the signature.
 * Returns a new string, NULL if out of memory. */
char *bc_url_encode(const char *s, int keep_slash);

/* Appends "key=value" pairs joined by '&' to b, keys and values
 * percent-encoded as above; with plus, a space is '+' (Python's
 * urlencode(), which S3 tags follow). Pairs with a NULL value are left
 * out. `first` goes before the first pair written ('?', '&' or 0): the
 * one builder of query strings and tag headers. */
void bc_url_add_pairs(bc_buffer *b, char first, const bc_tag *pairs, size_t n, int plus);

#endif
