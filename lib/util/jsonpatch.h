/* RFC 6902 JSON Patch between two JSON documents: what the plugin answers
 * CloudNativePG's lifecycle hooks with (the operator applies it to the Pod
 * or Job it is about to create). */
#ifndef BC_UTIL_JSONPATCH_H
#define BC_UTIL_JSONPATCH_H

#include <jansson.h>

#include "util/status.h"

/* Appends to patch (a JSON array) the operations that turn `from` into
 * `to`: "remove" for members gone, "add" for new members and for elements
 * appended to an array, "replace" for everything else that changed.
 * Objects and same-length arrays are compared member by member, so the
 * patch touches only what changed; an array that did not only grow is
 * replaced whole. Keys are escaped as JSON Pointer requires (~0, ~1).
 * The same two documents always give the same patch. */
bc_status bc_json_patch_diff(const json_t *from, const json_t *to, json_t *patch);

#endif
