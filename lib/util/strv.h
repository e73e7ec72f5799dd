/* A growable, NULL-terminated vector of malloc'd strings: the argv and the
 * environment (NAME=VALUE) handed to a child process. */
#ifndef BC_UTIL_STRV_H
#define BC_UTIL_STRV_H

#include <stddef.h>

#include "util/status.h"

typedef struct bc_strv {
    char **v;      /* v[n] == NULL once anything was added */
    size_t n, cap;
} bc_strv;

/* Appends a copy of s. */
bc_status bc_strv_add(bc_strv *sv, const char *s);
/* Appends a printf-formatted string. */
bc_status bc_strv_addf(bc_strv *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Argv: the index of the first string equal to s, or -1. */
long bc_strv_find(const bc_strv *sv, const char *s);
/* Environment: sets NAME=VALUE, replacing an earlier NAME. */
bc_status bc_strv_setenv(bc_strv *sv, const char *name, const char *value);
/* Environment: the value of NAME, or NULL. */
const char *bc_strv_getenv(const bc_strv *sv, const char *name);
/* Frees every string, overwriting each first (they may hold secrets). */
void bc_strv_free(bc_strv *sv);

#endif
