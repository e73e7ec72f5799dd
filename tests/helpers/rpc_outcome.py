"""How a CNPG-i call ended, in the form the bats files compare: 'OK', or
the gRPC status code's name and its details ('INVALID_ARGUMENT ...')."""
import grpc


def code_of(fn):
    try:
        fn()
        return 'OK'
    except grpc.RpcError as e:
        return '%s %s' % (e.code().name, e.details())
