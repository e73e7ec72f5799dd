/* libFuzzer target for the gRPC server as a client reaches it
 * (lib/grpc/server.c, message.c): the input, after the HTTP/2 client
 * preface, is what a client sends on the Unix socket; the server runs
 * its loop until it has closed that connection. Handlers decode the
 * request with the plugin's descriptors (build/proto) and answer with
 * the message packed again: some at once, some on the loop's next turn,
 * so that a client that resets its stream or goes away leaves calls
 * behind. A handler runs only for a registered method, with a request no
 * larger than the limit, at most once per HEADERS frame the input could
 * hold; a cancel hook runs at most once a call; every call ends.
 * Build and run: make fuzz  (clang with -fsanitize=fuzzer,address). */
#include <errno.h>
#include <poll.h>
#include <protobuf-c/protobuf-c.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "grpc/server.h"
#include "util/log.h"

#include "backup.pb-c.h"
#include "identity.pb-c.h"
#include "operator_lifecycle.pb-c.h"
#include "wal.pb-c.h"

#define MAX_PENDING 128
#define INPUT_LIMIT (64 * 1024)

typedef struct method_type {
    const char *path;
    const ProtobufCMessageDescriptor *type;
    int later; /* answer on the next turn of the loop */
} method_type;

static const method_type methods[] = {
    {"/cnpgi.wal.v1.WAL/Archive", &cnpgi__wal__v1__walarchive_request__descriptor, 1},
    {"/cnpgi.wal.v1.WAL/Restore", &cnpgi__wal__v1__walrestore_request__descriptor, 0},
    {"/cnpgi.identity.v1.Identity/Probe", &cnpgi__identity__v1__probe_request__descriptor, 0},
    {"/cnpgi.backup.v1.Backup/Backup", &cnpgi__backup__v1__backup_request__descriptor, 1},
    {"/cnpgi.operator_lifecycle.v1.OperatorLifecycle/LifecycleHook",
     &cnpgi__operator_lifecycle__v1__operator_lifecycle_request__descriptor, 0},
};

typedef struct pending {
    bc_grpc_call *call;
    bc_grpc_reply reply;
    int cancelled;
} pending;

static pending waiting[MAX_PENDING];
static size_t nwaiting, ncalls;
static int client_fd = -1;
static volatile sig_atomic_t stop;
static bc_grpc_server *server;
static char path[108];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    /* The socket beside the binary (build/fuzz), else here. */
    const char *self = (*argv)[0], *slash = strrchr(self, '/');
    int dir = slash ? (int)(slash - self) : 0;
    if (!slash || snprintf(path, sizeof path, "%.*s/grpc-%ld.sock", dir, self, (long)getpid()) >=
                      (int)sizeof path)
        snprintf(path, sizeof path, "grpc-%ld.sock", (long)getpid());
    bc_log_init("fuzz_grpc_server", BC_LOG_TEXT, -2);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void on_cancel(void *arg)
{
    pending *p = arg;
    if (p->cancelled++)
        abort();
}

static void answer(bc_grpc_reply *reply, const method_type *m, const uint8_t *req, size_t len)
{
    ProtobufCMessage *msg = bc_grpc_decode(m->type, req, len, reply);
    if (!msg)
        return;
    bc_grpc_reply_message(reply, msg);
    protobuf_c_message_free_unpacked(msg, NULL);
}

static void handle(void *ctx, bc_grpc_call *call, const uint8_t *req, size_t len)
{
    const method_type *m = ctx;
    if (strcmp(bc_grpc_call_method(call), m->path) != 0 || len > BC_GRPC_MAX_MESSAGE)
        abort();
    ncalls++;
    if (m->later && nwaiting < MAX_PENDING) {
        pending *p = &waiting[nwaiting++];
        memset(p, 0, sizeof *p);
        p->call = call;
        answer(&p->reply, m, req, len);
        bc_grpc_call_on_cancel(call, on_cancel, p);
        return;
    }
    bc_grpc_reply reply = {0};
    answer(&reply, m, req, len);
    bc_grpc_call_reply(call, &reply);
}

static void reply_waiting(void *ctx)
{
    (void)ctx;
    for (size_t i = 0; i < nwaiting; i++)
        bc_grpc_call_reply(waiting[i].call, &waiting[i].reply);
    nwaiting = 0;
}

/* The client's end: what the server answers is read and dropped; once it
 * has closed the connection, the calls left are answered and the loop
 * stops. */
static void on_client(void *ctx, int fd, short revents)
{
    (void)ctx;
    (void)revents;
    char buf[16384];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
        return;
    bc_grpc_server_unwatch(server, fd);
    close(fd);
    client_fd = -1;
    reply_waiting(NULL);
    stop = 1;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    if (size > INPUT_LIMIT)
        return 0;
    if (bc_grpc_server_new(path, &server) != BC_OK)
        abort();
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
        if (bc_grpc_server_add(server, methods[i].path, handle, (void *)&methods[i]) != BC_OK)
            abort();
    bc_grpc_server_on_tick(server, reply_waiting, NULL);

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    client_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (client_fd < 0 || connect(client_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        write_all(client_fd, preface, sizeof preface - 1) != 0 ||
        write_all(client_fd, data, size) != 0 || shutdown(client_fd, SHUT_WR) != 0 ||
        bc_grpc_server_watch(server, client_fd, on_client, NULL) != BC_OK)
        abort();

    stop = 0;
    ncalls = 0;
    if (bc_grpc_server_run(server, &stop) != BC_OK || client_fd >= 0 || nwaiting)
        abort();
    /* One HEADERS frame (9 bytes at the least) per call. */
    if (ncalls > size / 9)
        abort();
    bc_grpc_server_free(server);
    server = NULL;
    return 0;
}
