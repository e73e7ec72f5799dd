/* A minimal scanner for the flat XML replies of S3-style object stores.
 *
 * Why our own: we read a small fixed subset (ListObjectsV2 Contents and
 * CommonPrefixes, InitiateMultipartUploadResult/UploadId, Error/Code/Message,
 * DeleteResult errors), all element text without mixed content, and the
 * project's dependency list has no XML library. This finds elements by name
 * and decodes their text (the five predefined entities, numeric character
 * references, CDATA). It never validates the document and never reads
 * outside the span it is given: malformed input just yields "not found" or
 * a decoding failure. */
#ifndef BC_STORE_XML_H
#define BC_STORE_XML_H

#include <stddef.h>
#include <sys/types.h>

typedef struct bc_xml_span {
    const char *p;
    size_t len;
} bc_xml_span;

/* Finds the next element named `name` (at any depth) inside `in`, starting
 * at offset *pos. On success sets *inner to its content, advances *pos past
 * its end tag and returns 1; returns 0 if there is none (or the rest of the
 * document is malformed). */
int bc_xml_next(bc_xml_span in, size_t *pos, const char *name, bc_xml_span *inner);

/* First element named `name` inside `in`. */
int bc_xml_find(bc_xml_span in, const char *name, bc_xml_span *inner);

/* Decodes the text of a span into out (always NUL-terminated when outlen >
 * 0). Returns the decoded length, or -1 if the text is malformed (a bad
 * entity, a nested tag) or does not fit. */
ssize_t bc_xml_text(bc_xml_span s, char *out, size_t outlen);

/* Decoded text in a new string; NULL if malformed or out of memory. */
char *bc_xml_text_dup(bc_xml_span s);

/* Decoded text of the first element `name` inside `in` into out;
 * -1 if absent or malformed. */
ssize_t bc_xml_child_text(bc_xml_span in, const char *name, char *out, size_t outlen);

/* The <Error><Code>..</Code><Message>..</Message></Error> reply S3 and
 * Azure both send: code and message, each "" when absent. */
void bc_xml_error_reply(const char *body, size_t len, char *code, size_t codelen,
                        char *message, size_t messagelen);

/* `s` with & < > " ' escaped, in a new string; NULL if out of memory. */
char *bc_xml_escape(const char *s);

#endif
