/* JSON as Python writes it: ast.literal_eval() of a Python literal turned
 * into the JSON value json.dumps() would write for it, and json.dumps()'s
 * own text (", " and ": " separators, non-ASCII as \uXXXX, floats as
 * repr()). bc-ls uses it to print byte for byte what barman-cloud prints. */
#ifndef BC_UTIL_PYJSON_H
#define BC_UTIL_PYJSON_H

#include <jansson.h>
#include <stdio.h>

/* The value of the Python literal text (strings, numbers, None, True,
 * False, lists, tuples, dicts), with dict keys made strings as json.dumps
 * does; NULL when it is not one or holds what json.dumps could not write
 * (sets, bytes, complex), so the caller can fall back to the text. */
json_t *bc_pyjson_from_literal(const char *text);

/* json.dumps(v) with the default options (ensure_ascii, no indent). */
void bc_pyjson_write(FILE *out, json_t *v);

#endif
