/* bc_strv: argv and environment vectors for child processes. */
#include "util/strv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bc_status append(bc_strv *sv, char *s)
{
    if (!s)
        return bc_oom();
    if (sv->n + 2 > sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 16;
        char **v = realloc(sv->v, cap * sizeof *v);
        if (!v) {
            free(s);
            return bc_oom();
        }
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
    return BC_OK;
}

bc_status bc_strv_add(bc_strv *sv, const char *s)
{
    return append(sv, strdup(s));
}

bc_status bc_strv_addf(bc_strv *sv, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return append(sv, n < 0 ? NULL : s);
}

static ssize_t find_env(const bc_strv *sv, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < sv->n; i++)
        if (strncmp(sv->v[i], name, len) == 0 && sv->v[i][len] == '=')
            return (ssize_t)i;
    return -1;
}

bc_status bc_strv_setenv(bc_strv *sv, const char *name, const char *value)
{
    ssize_t i = find_env(sv, name);
    if (i >= 0) {
        char *s = NULL;
        if (asprintf(&s, "%s=%s", name, value) < 0)
            return bc_oom();
        explicit_bzero(sv->v[i], strlen(sv->v[i]));
        free(sv->v[i]);
        sv->v[i] = s;
        return BC_OK;
    }
    return bc_strv_addf(sv, "%s=%s", name, value);
}

long bc_strv_find(const bc_strv *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (strcmp(sv->v[i], s) == 0)
            return (long)i;
    return -1;
}

const char *bc_strv_getenv(const bc_strv *sv, const char *name)
{
    ssize_t i = find_env(sv, name);
    return i < 0 ? NULL : sv->v[i] + strlen(name) + 1;
}

void bc_strv_free(bc_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++) {
        explicit_bzero(sv->v[i], strlen(sv->v[i]));
        free(sv->v[i]);
    }
    free(sv->v);
    *sv = (bc_strv){0};
}
