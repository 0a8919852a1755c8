// The one table that maps an absl::Status to what each protocol says.
//
// Code anywhere in Trunkline returns absl::Status with a message a person can
// act on. At the edges the status becomes a SIP response (signaling) or a
// gRPC status (every API); both come from this table so that a given failure
// reads the same everywhere.
#ifndef TRUNKLINE_SERVICES_COMMON_ERROR_TABLE_H_
#define TRUNKLINE_SERVICES_COMMON_ERROR_TABLE_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace trunkline {

struct SipError {
  int code;
  const char* reason_phrase;
};

// The SIP final response for a failure, e.g. kUnavailable -> 503.
SipError SipErrorFor(absl::StatusCode code);

// The gRPC status for a failure, keeping the message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The absl::Status for a gRPC failure (a client's view of a remote error).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_ERROR_TABLE_H_
