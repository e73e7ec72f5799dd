/* The command-line helpers that reach into the store and codec modules.
 * They live apart from cli.c so that a program using only the option
 * parsing (bc-plugin) does not link the store and the codec libraries:
 * with --as-needed, those libraries are then not even loaded. */
#include "cli/cli.h"

#include <string.h>

#include "codec/codec.h"
#include "layout/wal.h"

bc_status bc_cli_open_store(bc_cli_common *c, const char *server, bc_store **store)
{
    *store = NULL;
    bc_status st = bc_server_name_check(server);
    if (st == BC_OK)
        st = bc_store_open(&c->store, store);
    if (st == BC_OK && c->test) {
        st = bc_store_check(*store);
        if (st == BC_OK)
            bc_log_info("%s is reachable", bc_store_describe(*store));
    }
    return st;
}

int bc_cli_codec(const bc_cli_common *c)
{
    for (int id = BC_CODEC_GZIP; id <= BC_CODEC_ZSTD; id++)
        if (c->compression && strcmp(c->compression, bc_codec_name((bc_codec_id)id)) == 0)
            return id;
    return BC_CODEC_NONE;
}
