/* libFuzzer target for the backup_manifest and bc_archives.json parsers
 * (lib/backup/manifest.c): anything may be refused, nothing may crash; a
 * parsed manifest answers a check of any name; an archive list that
 * parses formats to text that parses to the same list.
 * Build and run: make fuzz  (clang with -fsanitize=fuzzer,address). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "backup/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bc_manifest *m = NULL;
    if (bc_manifest_parse((const char *)data, size, "fuzz", &m) == BC_OK) {
        bc_manifest_check *c = NULL;
        bc_extract_observer o;
        if (bc_manifest_check_new(m, "data.tar", "", &c) != BC_OK)
            abort();
        bc_manifest_check_observer(c, &o);
        if (o.entry_begin(o.ctx, "PG_VERSION", 1, 3) == BC_OK) {
            o.entry_data(o.ctx, "15\n", 3);
            o.entry_end(o.ctx);
        }
        bc_manifest_check_complete(m);
        bc_manifest_check_free(c);
        bc_manifest_free(m);
    } else if (m) {
        abort();
    }
    bc_archive_list l, again;
    if (bc_archive_list_parse((const char *)data, size, "fuzz", &l) == BC_OK) {
        char *text = bc_archive_list_format(&l);
        if (!text || bc_archive_list_parse(text, strlen(text), "again", &again) != BC_OK ||
            again.n != l.n || again.manifest_size != l.manifest_size)
            abort();
        for (size_t i = 0; i < l.n; i++)
            if (strcmp(l.items[i].name, again.items[i].name) || l.items[i].size != again.items[i].size)
                abort();
        free(text);
        bc_archive_list_free(&again);
        bc_archive_list_free(&l);
    }
    return 0;
}
