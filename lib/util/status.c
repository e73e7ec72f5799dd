#include "util/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char error_msg[BC_ERROR_MAX];

bc_status bc_error(bc_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_msg, sizeof error_msg, fmt, ap);
    va_end(ap);
    return code;
}

bc_status bc_error_context(bc_status code, const char *fmt, ...)
{
    char prefix[1024], old[sizeof error_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, error_msg, sizeof old);
    /* Keep the prefix whole and cut the old message to what still fits. */
    int n = snprintf(error_msg, sizeof error_msg, "%.1000s: ", prefix);
    snprintf(error_msg + n, sizeof error_msg - (size_t)n, "%.1000s", old);
    return code;
}

const char *bc_error_msg(void)
{
    return error_msg[0] ? error_msg : "unknown error";
}

void bc_error_clear(void)
{
    error_msg[0] = '\0';
}

const char *bc_status_name(bc_status code)
{
    switch (code) {
    case BC_OK: return "ok";
    case BC_ERR_NOTFOUND: return "not found";
    case BC_ERR_CONFLICT: return "conflict";
    case BC_ERR_NET: return "network error";
    case BC_ERR_AUTH: return "authentication error";
    case BC_ERR_NOBUCKET: return "no such bucket";
    case BC_ERR_USAGE: return "usage error";
    case BC_ERR_IO: return "I/O error";
    case BC_ERR_DATA: return "corrupt data";
    case BC_ERR_INTERNAL: return "internal error";
    }
    return "unknown";
}

int bc_status_exit_code(bc_status code)
{
    switch (code) {
    case BC_OK: return BC_EXIT_OK;
    case BC_ERR_NOTFOUND:
    case BC_ERR_CONFLICT: return BC_EXIT_OPERATION;
    case BC_ERR_NET:
    case BC_ERR_AUTH:
    case BC_ERR_NOBUCKET: return BC_EXIT_NETWORK;
    case BC_ERR_USAGE: return BC_EXIT_USAGE;
    default: return BC_EXIT_GENERAL;
    }
}

bc_status bc_oom(void)
{
    return bc_error(BC_ERR_INTERNAL, "out of memory");
}

bc_status bc_error_save(bc_err *e, bc_status st)
{
    e->status = st;
    if (st == BC_OK)
        e->message[0] = '\0';
    else
        snprintf(e->message, sizeof e->message, "%s", bc_error_msg());
    return st;
}

bc_status bc_error_restore(const bc_err *e)
{
    return e->status == BC_OK ? BC_OK : bc_error(e->status, "%s", e->message);
}
