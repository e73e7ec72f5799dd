/* The command-line helpers that reach into the store and codec modules.
 * They live apart from cli.c so that a program using only the option
 * parsing (bc-plugin) does not link the store and the codec libraries:
 * with --as-needed, those libraries are then not even loaded. */
#include "cli/cli.h"

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

int bc_cli_codec_option(const char *program, int opt, const char *arg, int *codec, int *level)
{
    bc_codec_id id;
    long v;
    switch (opt) {
    case 'z': id = BC_CODEC_GZIP; break;
    case 'j': id = BC_CODEC_BZIP2; break;
    case BC_CLI_OPT_SNAPPY: id = BC_CODEC_SNAPPY; break;
    case BC_CLI_OPT_LZ4: id = BC_CODEC_LZ4; break;
    case BC_CLI_OPT_XZ: id = BC_CODEC_XZ; break;
    case BC_CLI_OPT_ZSTD: id = BC_CODEC_ZSTD; break;
    case BC_CLI_OPT_LEVEL:
        if (bc_cli_parse_int(arg, 1, 22, &v))
            bc_cli_usage_error(program, "invalid --compression-level '%s': give 1-22", arg);
        *level = (int)v;
        return 1;
    default:
        return 0;
    }
    if (*codec != BC_CODEC_NONE && *codec != (int)id)
        bc_cli_usage_error(program, "choose one compression: --%s and --%s both given",
                           bc_codec_name((bc_codec_id)*codec), bc_codec_name(id));
    *codec = (int)id;
    return 1;
}
