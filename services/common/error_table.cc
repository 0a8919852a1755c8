#include "services/common/error_table.h"

#include <string>

namespace trunkline {
namespace {

struct Row {
  absl::StatusCode status;
  grpc::StatusCode grpc;
  SipError sip;
};

// Why these SIP codes: a caller's bad request is 400; a number that leads
// nowhere is 404 (RFC 3261 21.4.5); a capacity limit is 503 with Retry-After
// added by signaling; an internal fault is 500; a peer that did not answer
// in time is 504 (Server Time-out) as for a gateway timeout; a refused
// request from an untrusted peer is 403.
constexpr Row kRows[] = {
    {absl::StatusCode::kOk, grpc::StatusCode::OK, {200, "OK"}},
    {absl::StatusCode::kCancelled,
     grpc::StatusCode::CANCELLED,
     {487, "Request Terminated"}},
    {absl::StatusCode::kUnknown,
     grpc::StatusCode::UNKNOWN,
     {500, "Server Internal Error"}},
    {absl::StatusCode::kInvalidArgument,
     grpc::StatusCode::INVALID_ARGUMENT,
     {400, "Bad Request"}},
    {absl::StatusCode::kDeadlineExceeded,
     grpc::StatusCode::DEADLINE_EXCEEDED,
     {504, "Server Time-out"}},
    {absl::StatusCode::kNotFound,
     grpc::StatusCode::NOT_FOUND,
     {404, "Not Found"}},
    {absl::StatusCode::kAlreadyExists,
     grpc::StatusCode::ALREADY_EXISTS,
     {482, "Loop Detected"}},
    {absl::StatusCode::kPermissionDenied,
     grpc::StatusCode::PERMISSION_DENIED,
     {403, "Forbidden"}},
    {absl::StatusCode::kResourceExhausted,
     grpc::StatusCode::RESOURCE_EXHAUSTED,
     {503, "Service Unavailable"}},
    {absl::StatusCode::kFailedPrecondition,
     grpc::StatusCode::FAILED_PRECONDITION,
     {488, "Not Acceptable Here"}},
    {absl::StatusCode::kAborted,
     grpc::StatusCode::ABORTED,
     {500, "Server Internal Error"}},
    {absl::StatusCode::kOutOfRange,
     grpc::StatusCode::OUT_OF_RANGE,
     {416, "Unsupported URI Scheme"}},
    {absl::StatusCode::kUnimplemented,
     grpc::StatusCode::UNIMPLEMENTED,
     {501, "Not Implemented"}},
    {absl::StatusCode::kInternal,
     grpc::StatusCode::INTERNAL,
     {500, "Server Internal Error"}},
    {absl::StatusCode::kUnavailable,
     grpc::StatusCode::UNAVAILABLE,
     {503, "Service Unavailable"}},
    {absl::StatusCode::kDataLoss,
     grpc::StatusCode::DATA_LOSS,
     {500, "Server Internal Error"}},
    {absl::StatusCode::kUnauthenticated,
     grpc::StatusCode::UNAUTHENTICATED,
     {401, "Unauthorized"}},
};

const Row& RowFor(absl::StatusCode code) {
  for (const Row& row : kRows) {
    if (row.status == code) return row;
  }
  return kRows[2];  // kUnknown
}

}  // namespace

SipError SipErrorFor(absl::StatusCode code) { return RowFor(code).sip; }

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(RowFor(status.code()).grpc,
                      std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  for (const Row& row : kRows) {
    if (row.grpc == status.error_code()) {
      return absl::Status(row.status, status.error_message());
    }
  }
  return absl::UnknownError(status.error_message());
}

}  // namespace trunkline
