/* Messages in and out of gRPC calls: the 5-byte frame around one (both
 * ends), and protobuf-c. */
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <stdlib.h>

#include "grpc/grpc_internal.h"
#include "grpc/server.h"

int bc_grpc_frame_parse(const uint8_t *body, size_t len, size_t *msg_len)
{
    *msg_len = 0;
    if (len < 5 || body[0] > 1)
        return BC_GRPC_FRAME_MALFORMED;
    if (body[0] == 1)
        return BC_GRPC_FRAME_COMPRESSED;
    uint32_t n = (uint32_t)body[1] << 24 | (uint32_t)body[2] << 16 | (uint32_t)body[3] << 8 |
                 body[4];
    if ((size_t)n != len - 5)
        return BC_GRPC_FRAME_NOT_ONE;
    *msg_len = n;
    return BC_GRPC_FRAME_OK;
}

void bc_grpc_frame_prefix(uint8_t prefix[5], size_t msg_len)
{
    prefix[0] = 0;
    prefix[1] = (uint8_t)(msg_len >> 24);
    prefix[2] = (uint8_t)(msg_len >> 16);
    prefix[3] = (uint8_t)(msg_len >> 8);
    prefix[4] = (uint8_t)msg_len;
}

ProtobufCMessage *bc_grpc_decode(const ProtobufCMessageDescriptor *type, const uint8_t *request,
                                 size_t len, bc_grpc_reply *reply)
{
    ProtobufCMessage *msg = protobuf_c_message_unpack(type, NULL, len, request);
    if (!msg) {
        reply->status = BC_GRPC_INVALID_ARGUMENT;
        snprintf(reply->message, sizeof reply->message, "malformed %s message", type->name);
    }
    return msg;
}

void bc_grpc_reply_message(bc_grpc_reply *reply, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    reply->body = malloc(len ? len : 1);
    if (!reply->body) {
        reply->status = BC_GRPC_RESOURCE_EXHAUSTED;
        snprintf(reply->message, sizeof reply->message, "out of memory");
        return;
    }
    reply->body_len = protobuf_c_message_pack(msg, reply->body);
    reply->status = BC_GRPC_OK;
}
