/* Child processes of bc-plugin (see child.h). */
#include "plugin/child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/log.h"
#include "util/spawn.h"

#define MAX_STDOUT (4 * 1024 * 1024)

typedef struct child {
    pid_t pid;
    char tool[64];
    int out_fd, err_fd;    /* -1 at EOF */
    int exited, status;
    char *out;
    size_t out_len;
    char err_buf[4096];    /* a stderr line being collected */
    size_t err_len;
    char last_error[512];  /* the last error or warning the tool logged */
    char last_line[512];   /* the last message of any level */
    bc_child_done done;
    void *ctx;
    struct child *next;
} child;

static bc_grpc_server *server;
static child *children;
static int sigchld_pipe[2] = {-1, -1};

static void on_sigchld(int sig)
{
    (void)sig;
    int saved = errno;
    ssize_t rc = write(sigchld_pipe[1], "", 1); /* full pipe: a wake-up is pending anyway */
    (void)rc;
    errno = saved;
}

const char *bc_child_tool_dir(void)
{
    return bc_self_dir();
}

/* Finishes a child that has exited and whose pipes are drained. */
static void maybe_finish(child *c)
{
    if (!c->exited || c->out_fd >= 0 || c->err_fd >= 0)
        return;
    for (child **p = &children; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    bc_child_result r = {
        .exit_code = WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1,
        .signal = WIFSIGNALED(c->status) ? WTERMSIG(c->status) : 0,
        .out = c->out ? c->out : "",
        .out_len = c->out_len,
        /* a tool that fails quietly (a WAL not found) said why at info level */
        .last_error = *c->last_error ? c->last_error : c->last_line,
    };
    bc_log_debug("%s[%ld] ended: exit %d, signal %d", c->tool, (long)c->pid, r.exit_code,
                 r.signal);
    c->done(c->ctx, &r);
    free(c->out);
    free(c);
}

static void relay_line(child *c)
{
    c->err_buf[c->err_len] = '\0';
    char msg[512];
    if (!c->err_len)
        return;
    bc_log_level level = bc_log_relay(c->tool, (long)c->pid, c->err_buf, msg, sizeof msg);
    snprintf(c->last_line, sizeof c->last_line, "%s", msg);
    if (level <= BC_LOG_WARNING)
        snprintf(c->last_error, sizeof c->last_error, "%s", msg);
    c->err_len = 0;
}

static void close_pipe(int *fd)
{
    bc_grpc_server_unwatch(server, *fd);
    close(*fd);
    *fd = -1;
}

static void on_output(void *ctx, int fd, short revents)
{
    (void)revents;
    child *c = ctx;
    char buf[16384];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (fd == c->err_fd) {
            relay_line(c);
            close_pipe(&c->err_fd);
        } else {
            close_pipe(&c->out_fd);
        }
        maybe_finish(c);
        return;
    }
    if (fd == c->out_fd) {
        size_t keep = c->out_len + (size_t)n > MAX_STDOUT ? MAX_STDOUT - c->out_len : (size_t)n;
        char *out = keep ? realloc(c->out, c->out_len + keep + 1) : c->out;
        if (keep && out) {
            memcpy(out + c->out_len, buf, keep);
            c->out = out;
            c->out_len += keep;
            c->out[c->out_len] = '\0';
        }
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || c->err_len == sizeof c->err_buf - 1)
            relay_line(c);
        if (buf[i] != '\n')
            c->err_buf[c->err_len++] = buf[i];
    }
}

static void on_sigchld_pipe(void *ctx, int fd, short revents)
{
    (void)ctx;
    (void)revents;
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    for (child *c = children, *next; c; c = next) {
        next = c->next;
        if (!c->exited && waitpid(c->pid, &c->status, WNOHANG) == c->pid) {
            c->exited = 1;
            maybe_finish(c);
        }
    }
}

bc_status bc_child_init(bc_grpc_server *s)
{
    server = s;
    if (pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return bc_error(BC_ERR_INTERNAL, "pipe: %s", strerror(errno));
    struct sigaction sa = {.sa_handler = on_sigchld, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, NULL) != 0)
        return bc_error(BC_ERR_INTERNAL, "sigaction: %s", strerror(errno));
    return bc_grpc_server_watch(s, sigchld_pipe[0], on_sigchld_pipe, NULL);
}

bc_status bc_child_start(const char *tool, const bc_strv *argv, const bc_strv *env,
                         bc_child_done done, void *ctx, pid_t *pid)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", bc_child_tool_dir(), tool);
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    child *c = calloc(1, sizeof *c);
    if (!c)
        return bc_oom();
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        bc_status st = bc_error(BC_ERR_INTERNAL, "pipe: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            if (out[i] >= 0)
                close(out[i]);
            if (err[i] >= 0)
                close(err[i]);
        }
        free(c);
        return st;
    }
    bc_status st = bc_spawn(path, argv->v, env->v, out[1], err[1], &c->pid);
    close(out[1]);
    close(err[1]);
    if (st != BC_OK) {
        close(out[0]);
        close(err[0]);
        free(c);
        return st;
    }
    snprintf(c->tool, sizeof c->tool, "%s", tool);
    c->out_fd = out[0];
    c->err_fd = err[0];
    c->done = done;
    c->ctx = ctx;
    fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
    c->next = children;
    children = c;
    int *fds[] = {&c->out_fd, &c->err_fd};
    for (int i = 0; i < 2; i++)
        if (bc_grpc_server_watch(server, *fds[i], on_output, c) != BC_OK) {
            bc_log_warning("%s[%ld]: its output is not read (too many children)", tool,
                           (long)c->pid);
            close(*fds[i]);
            *fds[i] = -1;
        }
    bc_log_info("started %s[%ld]", tool, (long)c->pid);
    if (pid)
        *pid = c->pid;
    /* It may have exited before it was on the list. */
    on_sigchld(SIGCHLD);
    return BC_OK;
}

void bc_child_stop(pid_t pid)
{
    for (child *c = children; c; c = c->next)
        if (c->pid == pid && !c->exited)
            kill(pid, SIGTERM);
}
