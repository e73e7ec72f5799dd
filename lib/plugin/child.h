/* Child processes of bc-plugin: the bc tools, run with posix_spawn (no
 * shell) from the directory bc-plugin itself lives in, watched by the
 * gRPC server's loop. Each child's stderr is relayed line by line into
 * the plugin's log (JSON lines stay JSON, tagged with the tool and pid);
 * its stdout is collected for the caller. SIGCHLD wakes the loop through
 * a pipe; a child is done once it has exited and both pipes are at EOF. */
#ifndef BC_PLUGIN_CHILD_H
#define BC_PLUGIN_CHILD_H

#include <sys/types.h>

#include "grpc/server.h"
#include "util/strv.h"

typedef struct bc_child_result {
    int exit_code;        /* the tool's exit status; -1 if a signal killed it */
    int signal;           /* that signal, else 0 */
    const char *out;      /* stdout (NUL-terminated, at most 4 MiB kept) */
    size_t out_len;
    const char *last_error; /* the last error or warning the tool logged, else its
                               last message, or "" */
} bc_child_result;

typedef void (*bc_child_done)(void *ctx, const bc_child_result *r);

/* Installs the SIGCHLD handler and watches its pipe; once per process. */
bc_status bc_child_init(bc_grpc_server *s);
/* Starts tool (a file name, found beside bc-plugin) with argv (argv[0]
 * included) and exactly env; done runs from the loop when it is over. */
bc_status bc_child_start(const char *tool, const bc_strv *argv, const bc_strv *env,
                         bc_child_done done, void *ctx, pid_t *pid);
/* Asks a running child to stop (SIGTERM); done still runs. */
void bc_child_stop(pid_t pid);
/* The directory the tools are taken from (bc-plugin's own). */
const char *bc_child_tool_dir(void);

#endif
