/* Status codes and the per-thread error message.
 *
 * Every library function that can fail returns a bc_status and, on failure,
 * leaves a one-line human message in a thread-local buffer (bc_error_msg()).
 * The tools map the status to their documented exit code with
 * bc_status_exit_code(). */
#ifndef BC_UTIL_STATUS_H
#define BC_UTIL_STATUS_H

#include <stddef.h>

typedef enum bc_status {
    BC_OK = 0,
    BC_ERR_NOTFOUND,  /* object or WAL does not exist in the store */
    BC_ERR_CONFLICT,  /* a different object already exists under that name */
    BC_ERR_NET,       /* DNS, TCP, TLS, timeout, 5xx after retries */
    BC_ERR_AUTH,      /* credentials rejected or missing, access denied */
    BC_ERR_NOBUCKET,  /* bucket / container / directory does not exist */
    BC_ERR_USAGE,     /* bad command line or configuration */
    BC_ERR_IO,        /* local file system error */
    BC_ERR_DATA,      /* corrupt or truncated data (codec, protocol) */
    BC_ERR_INTERNAL   /* anything else: out of memory, library failure */
} bc_status;

/* Exit codes shared by every tool; they match barman-cloud's. */
enum {
    BC_EXIT_OK = 0,
    BC_EXIT_OPERATION = 1, /* reached the store, the operation failed
                              (WAL not found, content conflict) */
    BC_EXIT_NETWORK = 2,   /* could not talk to the store: connection,
                              TLS, timeout, authentication, no bucket */
    BC_EXIT_USAGE = 3,     /* bad command line or input */
    BC_EXIT_GENERAL = 4    /* anything else (local I/O, corrupt data) */
};

/* Record an error for this thread and return `code` (for `return bc_error(...)`). */
bc_status bc_error(bc_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix the current message with more context ("uploading X: <old>"). */
bc_status bc_error_context(bc_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *bc_error_msg(void);
/* An error as a value: a status with its message, to carry a worker's
 * failure back to the thread that reports it, or to keep the first
 * failure while cleanup code (which may fail too) runs. */
#define BC_ERROR_MAX 2048
typedef struct bc_err {
    bc_status status;
    char message[BC_ERROR_MAX];
} bc_err;
/* Saves st and, when it is not BC_OK, this thread's message; returns st. */
bc_status bc_error_save(bc_err *e, bc_status st);
/* Makes e this thread's error again (nothing to do for BC_OK); returns
 * its status. */
bc_status bc_error_restore(const bc_err *e);

/* bc_error(BC_ERR_INTERNAL, "out of memory"): the one way to say it. */
bc_status bc_oom(void);
void bc_error_clear(void);

/* Receives a stream's bytes (a download, a codec's output, a tar writer's
 * archive); returns 0 to go on, non-zero to stop, having set the error
 * message. */
typedef int (*bc_sink_fn)(void *ctx, const void *data, size_t len);

/* What a stopped sink's return value means: sinks (bc_sink_fn) return 0
 * or the bc_status of their failure, having set the message; anything
 * else (such as -1) counts as a local I/O error. */
static inline bc_status bc_sink_status(int rc)
{
    return rc > BC_OK && rc <= BC_ERR_INTERNAL ? (bc_status)rc : BC_ERR_IO;
}

const char *bc_status_name(bc_status code);
int bc_status_exit_code(bc_status code);

#endif
