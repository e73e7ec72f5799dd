/* libFuzzer target for the backup.info parser (lib/layout/backup_info.c):
 * whatever parses must format to text that parses again and formats the
 * same, and every typed getter must cope with every value.
 * Build and run: make fuzz  (clang with -fsanitize=fuzzer,address). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "layout/backup_info.h"

static void read_every_way(const bc_backup_info *info)
{
    for (size_t i = 0; i < bc_backup_info_count(info); i++) {
        const char *key, *raw, *s;
        bc_backup_info_entry(info, i, &key, &raw);
        if (!key || !raw || bc_backup_info_get(info, key) != raw)
            abort();
        int64_t v;
        uint64_t lsn;
        bc_backup_time t;
        bc_backup_info_get_str(info, key, &s);
        bc_backup_info_get_int(info, key, &v);
        bc_backup_info_get_lsn(info, key, &lsn);
        bc_backup_info_get_time(info, key, &t);
    }
    bc_backup_status status;
    bc_backup_info_get_status(info, &status);
    char *label = NULL;
    if (bc_backup_info_get_backup_label(info, &label) == BC_OK && !label)
        abort();
    free(label);
    bc_tablespace *ts = NULL;
    size_t n = 0;
    if (bc_backup_info_get_tablespaces(info, &ts, &n) == BC_OK) {
        for (size_t i = 0; i < n; i++)
            if (!ts[i].name || !ts[i].location)
                abort();
    }
    bc_tablespaces_free(ts, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bc_backup_info *info = NULL, *again = NULL;
    if (bc_backup_info_parse((const char *)data, size, &info) != BC_OK) {
        if (info)
            abort();
        return 0;
    }
    read_every_way(info);
    char *text = bc_backup_info_format(info);
    if (!text)
        abort();
    if (bc_backup_info_parse(text, strlen(text), &again) != BC_OK)
        abort();
    char *text2 = bc_backup_info_format(again);
    if (!text2 || strcmp(text, text2) != 0)
        abort();
    /* the typed setters accept what the getters returned */
    char *label = NULL;
    if (bc_backup_info_get_backup_label(info, &label) == BC_OK &&
        bc_backup_info_set_backup_label(again, label) != BC_OK)
        abort();
    free(label);
    bc_tablespace *ts = NULL;
    size_t n = 0;
    if (bc_backup_info_get_tablespaces(info, &ts, &n) == BC_OK &&
        bc_backup_info_set_tablespaces(again, ts, n) != BC_OK)
        abort();
    bc_tablespaces_free(ts, n);
    bc_backup_time t;
    if (bc_backup_info_get_time(info, BC_BI_BEGIN_TIME, &t) == BC_OK && t.utc_offset % 60 == 0 &&
        bc_backup_info_set_time(again, BC_BI_BEGIN_TIME, &t) != BC_OK)
        abort();
    free(text);
    free(text2);
    bc_backup_info_free(info);
    bc_backup_info_free(again);
    return 0;
}
