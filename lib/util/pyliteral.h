/* Python's text rules, for the files barman writes with str() and repr()
 * and reads back with ast.literal_eval(): UTF-8 as Python's strict decoder
 * takes it, repr() of a str, and string literals read as literal_eval reads
 * them. Shared by the backup.info model (layout/backup_info.c) and bc-ls's
 * JSON (util/pyjson.c); needs nothing but libc, so the backup.info fuzz
 * target can link it alone. */
#ifndef BC_UTIL_PYLITERAL_H
#define BC_UTIL_PYLITERAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the strict UTF-8 sequence at s (what Python's decoder accepts:
 * no overlong forms, no surrogates, nothing above U+10FFFF), 0 if invalid
 * or n is 0. */
size_t bc_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
bool bc_utf8_valid(const char *s, size_t n);

/* s past the white space Python allows between tokens: ' ', '\t', '\f',
 * and with newlines also '\r' and '\n' (lines join inside brackets). */
const char *bc_py_skip_space(const char *s, bool newlines);

/* repr() of the str whose UTF-8 is s (valid UTF-8 expected): malloc'd,
 * NULL when out of memory. */
char *bc_py_repr_str(const char *s);

/* Flags of bc_py_parse_str(). */
enum {
    /* Adjacent literals may also be separated by line breaks, as inside
     * brackets; otherwise only by blanks, as on one line of backup.info. */
    BC_PY_STR_JOIN_LINES = 1,
    /* Refuse escapes of NUL ("\0", "\x00", ...): the caller wants a C string. */
    BC_PY_STR_NO_NUL = 2,
};

/* Reads the string literal at *s, or several adjacent ones (Python joins
 * them), each with an optional u or r prefix and on one line: what repr()
 * writes and a bit more. false if there is none or literal_eval would refuse
 * it (or it holds what UTF-8 cannot: surrogates; \N{...} is not supported).
 * true: *s is moved past it and, if out is not NULL, *out is the value,
 * malloc'd and NUL-terminated (NULL when out of memory); *len (if len is
 * not NULL) is its length, which counts NULs from escapes. */
bool bc_py_parse_str(const char **s, unsigned flags, char **out, size_t *len);

#endif
