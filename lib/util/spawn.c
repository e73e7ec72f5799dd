/* Starting the bc tools (see spawn.h). */
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/buffer.h"

const char *bc_self_dir(void)
{
    static char dir[PATH_MAX];
    if (!*dir) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = '\0';
        snprintf(dir, sizeof dir, "%s", n > 0 ? dirname(self) : ".");
    }
    return dir;
}

bc_status bc_spawn(const char *path, char *const argv[], char *const env[], int out_fd,
                   int err_fd, pid_t *pid)
{
    /* A supervisor ignores SIGPIPE, which exec would keep: the child gets
     * the defaults back and no blocked signals. */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGCHLD);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    if (err_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    int rc = posix_spawn(pid, path, &fa, &attr, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return bc_error(BC_ERR_INTERNAL, "cannot run %s: %s", path, strerror(rc));
    return BC_OK;
}

bc_status bc_spawn_capture(const char *path, char *const argv[], char *const env[],
                           size_t max_out, char **out, size_t *out_len, int *exit_code)
{
    *out = NULL;
    *out_len = 0;
    *exit_code = -1;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return bc_error(BC_ERR_INTERNAL, "pipe: %s", strerror(errno));
    pid_t pid;
    bc_status st = bc_spawn(path, argv, env, fds[1], -1, &pid);
    close(fds[1]);
    if (st != BC_OK) {
        close(fds[0]);
        return st;
    }
    bc_buffer b = {0};
    char chunk[16384];
    ssize_t n;
    while ((n = read(fds[0], chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        /* read on past the limit: a child blocked on a full pipe never ends */
        if (b.len < max_out)
            bc_buffer_append(&b, chunk, (size_t)n < max_out - b.len ? (size_t)n : max_out - b.len);
    }
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (b.failed) {
        bc_buffer_free(&b);
        return bc_oom();
    }
    *out_len = b.len;
    *out = bc_buffer_take(&b);
    return BC_OK;
}
