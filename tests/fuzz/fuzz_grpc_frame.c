/* libFuzzer target for what a gRPC request body goes through before a
 * handler sees it (lib/grpc/message.c): the 5-byte message frame
 * (bc_grpc_frame_parse) and the protobuf decoding (bc_grpc_decode) with
 * the descriptors the plugin's handlers use, from build/proto. The first
 * input byte picks the message type, the rest is the body.
 *   - the frame verdict agrees with the prefix, and a frame found good
 *     has the prefix bc_grpc_frame_prefix() writes for its length;
 *   - a message refused is INVALID_ARGUMENT naming its type; one
 *     accepted passes protobuf_c_message_check, packs to the size it
 *     says (bc_grpc_reply_message), and decodes and packs again to the
 *     same bytes: unless it holds a field numbered 0, which protobuf-c
 *     1.4 takes in a tag written in two bytes (0x80 0x00), packs in one
 *     and then refuses (a quirk of the library; nothing here packs a
 *     request again).
 * Build and run: make fuzz  (clang with -fsanitize=fuzzer,address). */
#include <protobuf-c/protobuf-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/grpc_internal.h"
#include "grpc/server.h"

#include "backup.pb-c.h"
#include "identity.pb-c.h"
#include "metrics.pb-c.h"
#include "operator.pb-c.h"
#include "operator_lifecycle.pb-c.h"
#include "reconciler.pb-c.h"
#include "restore_job.pb-c.h"
#include "wal.pb-c.h"

static const ProtobufCMessageDescriptor *const types[] = {
    &cnpgi__wal__v1__walarchive_request__descriptor,
    &cnpgi__wal__v1__walrestore_request__descriptor,
    &cnpgi__wal__v1__walstatus_request__descriptor,
    &cnpgi__wal__v1__set_first_required_request__descriptor,
    &cnpgi__wal__v1__restore_request__descriptor,
    &cnpgi__backup__v1__backup_request__descriptor,
    &cnpgi__operator__v1__operator_validate_cluster_create_request__descriptor,
    &cnpgi__operator__v1__operator_validate_cluster_change_request__descriptor,
    &cnpgi__operator_lifecycle__v1__operator_lifecycle_request__descriptor,
    &cnpgi__reconciler__v1__reconciler_hooks_request__descriptor,
    &cnpgi__metrics__v1__collect_metrics_request__descriptor,
    &cnpgi__identity__v1__probe_request__descriptor,
};

static void check_frame(const uint8_t *body, size_t len, int verdict, size_t msg_len)
{
    uint32_t declared = len < 5 ? 0 : (uint32_t)body[1] << 24 | (uint32_t)body[2] << 16 |
                                      (uint32_t)body[3] << 8 | body[4];
    switch (verdict) {
    case BC_GRPC_FRAME_OK: {
        uint8_t prefix[5];
        bc_grpc_frame_prefix(prefix, msg_len);
        if (len < 5 || msg_len != len - 5 || memcmp(prefix, body, 5) != 0)
            abort();
        return;
    }
    case BC_GRPC_FRAME_MALFORMED:
        if (msg_len || (len >= 5 && body[0] <= 1))
            abort();
        return;
    case BC_GRPC_FRAME_COMPRESSED:
        if (msg_len || len < 5 || body[0] != 1)
            abort();
        return;
    case BC_GRPC_FRAME_NOT_ONE:
        if (msg_len || len < 5 || body[0] != 0 || declared == len - 5)
            abort();
        return;
    default:
        abort();
    }
}

/* Whether protobuf-c kept a field numbered 0 anywhere in m. */
static int holds_field_zero(const ProtobufCMessage *m)
{
    if (!m)
        return 0;
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return 1;
    const char *base = (const char *)m;
    for (unsigned i = 0; i < m->descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &m->descriptor->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t k = 0; k < n; k++)
                if (holds_field_zero(v[k]))
                    return 1;
        } else if (holds_field_zero(*(const ProtobufCMessage *const *)(base + f->offset))) {
            return 1;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const ProtobufCMessageDescriptor *type = types[data[0] % (sizeof types / sizeof *types)];
    const uint8_t *body = data + 1;
    size_t len = size - 1, msg_len = 12345;
    int verdict = bc_grpc_frame_parse(body, len, &msg_len);
    check_frame(body, len, verdict, msg_len);
    if (verdict != BC_GRPC_FRAME_OK)
        return 0;

    bc_grpc_reply reply = {0}, packed = {0};
    ProtobufCMessage *msg = bc_grpc_decode(type, body + 5, msg_len, &reply);
    if (!msg) {
        if (reply.status != BC_GRPC_INVALID_ARGUMENT || reply.body ||
            !memchr(reply.message, '\0', sizeof reply.message) ||
            !strstr(reply.message, type->name))
            abort();
        return 0;
    }
    if (reply.status != BC_GRPC_OK || !protobuf_c_message_check(msg))
        abort();
    bc_grpc_reply_message(&packed, msg);
    if (packed.status != BC_GRPC_OK || !packed.body ||
        packed.body_len != protobuf_c_message_get_packed_size(msg))
        abort();
    ProtobufCMessage *again = bc_grpc_decode(type, packed.body, packed.body_len, &reply);
    if (!again) {
        if (!holds_field_zero(msg))
            abort();
        free(packed.body);
        protobuf_c_message_free_unpacked(msg, NULL);
        return 0;
    }
    if (protobuf_c_message_get_packed_size(again) != packed.body_len)
        abort();
    uint8_t *bytes = malloc(packed.body_len ? packed.body_len : 1);
    if (!bytes || protobuf_c_message_pack(again, bytes) != packed.body_len ||
        memcmp(bytes, packed.body, packed.body_len) != 0)
        abort();
    free(bytes);
    free(packed.body);
    protobuf_c_message_free_unpacked(again, NULL);
    protobuf_c_message_free_unpacked(msg, NULL);
    return 0;
}
