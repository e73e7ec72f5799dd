/* libFuzzer target for what bc-verify reads out of WAL it did not write:
 * timeline history files and a segment's first page header
 * (lib/layout/wal.c). Entries must come out in bounds with a
 * non-zero timeline; the header parser must cope with any length.
 * Build and run: make fuzz  (clang with -fsanitize=fuzzer,address). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "layout/wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bc_wal_history_entry e[BC_WAL_HISTORY_MAX];
    size_t n = bc_wal_history_parse((const char *)data, size, e);
    if (n > BC_WAL_HISTORY_MAX)
        abort();
    for (size_t i = 0; i < n; i++)
        if (e[i].tli == 0)
            abort();
    bc_wal_header h;
    bc_wal_header_parse(data, size, &h);
    if (h.valid && size < BC_WAL_LONG_HEADER_SIZE)
        abort();
    return 0;
}
