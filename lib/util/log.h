/* Logging to stderr, as text or JSON lines, with secrets redacted.
 *
 * Every message passes through the redactor: any string registered with
 * bc_log_add_secret() is replaced by "***" before it is written, so a secret
 * that leaks into an error message (a URL, a server reply) never reaches the
 * terminal or a log collector. */
#ifndef BC_UTIL_LOG_H
#define BC_UTIL_LOG_H

#include <stddef.h>

typedef enum bc_log_level {
    BC_LOG_ERROR = 0,
    BC_LOG_WARNING = 1,
    BC_LOG_INFO = 2,
    BC_LOG_DEBUG = 3
} bc_log_level;

typedef enum bc_log_format { BC_LOG_TEXT, BC_LOG_JSON } bc_log_format;

/* verbosity: 0 = warnings and errors, 1 = info, 2 = debug, -1 = errors only,
 * -2 = nothing. */
void bc_log_init(const char *program, bc_log_format format, int verbosity);
int bc_log_enabled(bc_log_level level);
/* Register a secret to redact (copied; strings shorter than 4 bytes are
 * ignored, they would redact ordinary words). */
void bc_log_add_secret(const char *secret);
/* Copy `in` to `out` with every registered secret replaced. */
void bc_log_redact(const char *in, char *out, size_t outlen);

void bc_log(bc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define bc_log_error(...) bc_log(BC_LOG_ERROR, __VA_ARGS__)
#define bc_log_warning(...) bc_log(BC_LOG_WARNING, __VA_ARGS__)
#define bc_log_info(...) bc_log(BC_LOG_INFO, __VA_ARGS__)
#define bc_log_debug(...) bc_log(BC_LOG_DEBUG, __VA_ARGS__)

/* Relays one line a child process wrote to stderr into this log: a JSON
 * object line (a tool run with --log-format json) keeps its fields and
 * gets logger and pid; other lines become an info message. Redacted like
 * every message. The line's message goes to msg (for error replies);
 * returns its level. */
bc_log_level bc_log_relay(const char *logger, long pid, const char *line, char *msg,
                          size_t msglen);

void bc_log_shutdown(void);

#endif
