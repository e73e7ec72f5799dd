/* Starting the other bc tools without a shell: posix_spawn from the
 * directory the running binary lives in, with a clean start (stdin
 * /dev/null, default signal handling, nothing blocked). */
#ifndef BC_UTIL_SPAWN_H
#define BC_UTIL_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "util/status.h"

/* The directory of the running binary (/proc/self/exe), or ".". */
const char *bc_self_dir(void);

/* Starts path with argv (argv[0] included, NULL-terminated) and exactly
 * env, its stdout on out_fd and its stderr on err_fd (-1: ours). */
bc_status bc_spawn(const char *path, char *const argv[], char *const env[], int out_fd,
                   int err_fd, pid_t *pid);

/* Runs path to its end, its stderr on ours, and returns its stdout in
 * *out (malloc'd, NUL-terminated, at most max_out bytes kept) and its exit
 * status in *exit_code (-1 when a signal ended it). On failure to start
 * it, *out is NULL. */
bc_status bc_spawn_capture(const char *path, char *const argv[], char *const env[],
                           size_t max_out, char **out, size_t *out_len, int *exit_code);

#endif
