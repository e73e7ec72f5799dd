/* libFuzzer target for the Kubernetes API reply framing (lib/kube/reply.c):
 * a reply found complete has its body inside the input, and chunked
 * decoding never writes past it. Build and run: make fuzz. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    size_t head = bc_kube_header_end(buf, size), body = 0;
    if (head > size)
        abort();
    for (int eof = 0; head && eof <= 1; eof++) {
        int r = bc_kube_reply_complete(buf, head, size, eof, &body);
        if (r == 1 && body > size - head)
            abort();
        /* a decoded chunked body changed buf: start again from the input */
        memcpy(buf, data, size);
    }
    free(buf);
    return 0;
}
