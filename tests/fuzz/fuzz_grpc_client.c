/* libFuzzer target for the gRPC client's reading of an answer
 * (lib/grpc/client.c, the `bc-plugin healthcheck` probe): the input is
 * what the server sends, through an in-memory bc_grpc_io, ending when the
 * input does. A call that succeeds has a grpc-status, the message cut to
 * its buffer and NUL-terminated in it, and on status 0 exactly the one
 * response message, no larger than the input; one that fails is
 * BC_ERR_NET naming the method, with status -1 and nothing returned.
 * Build and run: make fuzz  (clang with -fsanitize=fuzzer,address). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "grpc/grpc_internal.h"
#include "grpc/server.h"

typedef struct feed {
    const uint8_t *data;
    size_t size, at;
} feed;

/* A few bytes at a time, so that frames arrive split. */
static ssize_t feed_read(void *ctx, uint8_t *buf, size_t len)
{
    feed *f = ctx;
    size_t n = f->size - f->at;
    if (n > len)
        n = len;
    if (n > 1000)
        n = 1000;
    memcpy(buf, f->data + f->at, n);
    f->at += n;
    return (ssize_t)n;
}

static ssize_t feed_write(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    return (ssize_t)len;
}

/* Always: the next read answers at once, with bytes or the end. */
static int feed_pending(void *ctx)
{
    (void)ctx;
    return 1;
}

#define METHOD "/cnpgi.identity.v1.Identity/Probe"
#define MESSAGE_LEN 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    feed f = {data, size, 0};
    bc_grpc_io io = {.fd = -1, .ctx = &f, .read = feed_read, .write = feed_write,
                     .pending = feed_pending, .scheme = "http", .authority = "localhost",
                     .name = "the fuzz input"};
    char message[MESSAGE_LEN + 16];
    memset(message, 'x', sizeof message);
    int status = 12345;
    uint8_t *resp = (uint8_t *)"unset";
    size_t resp_len = 12345;
    bc_status st = bc_grpc_unary_io(&io, METHOD, (const uint8_t *)"\x0a\x01x", 3, 60000, &status,
                                    message, MESSAGE_LEN, &resp, &resp_len);
    for (size_t i = MESSAGE_LEN; i < sizeof message; i++)
        if (message[i] != 'x')
            abort();
    if (!memchr(message, '\0', MESSAGE_LEN))
        abort();
    if (st != BC_OK) {
        if (st != BC_ERR_NET || status != -1 || resp || resp_len || *message ||
            !strstr(bc_error_msg(), METHOD))
            abort();
        return 0;
    }
    if (status < 0)
        abort();
    if (status == BC_GRPC_OK ? !resp || resp_len > size : resp || resp_len)
        abort();
    free(resp);
    return 0;
}
