/* libFuzzer target for the S3 XML reply scanner (lib/store/http/xml.c): every
 * span it returns must lie inside the input, and decoding never grows text.
 * Build and run: make fuzz  (clang with -fsanitize=fuzzer,address). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "store/http/xml.h"

static const char *const names[] = {
    "ListBucketResult", "Contents", "Key", "Size", "CommonPrefixes", "Prefix", "IsTruncated",
    "NextContinuationToken", "UploadId", "Error", "Code", "Message", "DeleteResult", "a",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bc_xml_span doc = { (const char *)data, size }, inner, inner2;
    char out[256];
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t pos = 0;
        while (bc_xml_next(doc, &pos, names[k], &inner)) {
            if (inner.p < doc.p || inner.p + inner.len > doc.p + size || pos > size)
                abort();
            bc_xml_text(inner, out, sizeof out);
            free(bc_xml_text_dup(inner));
            if (bc_xml_find(inner, "Key", &inner2))
                bc_xml_child_text(inner, "Key", out, sizeof out);
        }
    }
    bc_xml_text(doc, out, sizeof out);
    char *t = bc_xml_text_dup(doc);
    if (t && strlen(t) > size)
        abort();
    free(t);
    return 0;
}
