/* Protobuf messages in and out of gRPC calls (protobuf-c). */
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <stdlib.h>

#include "grpc/server.h"

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
