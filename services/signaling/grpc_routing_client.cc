#include "services/signaling/grpc_routing_client.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/common/error_table.h"

namespace trunkline::signaling {

GrpcRoutingClient::GrpcRoutingClient(const std::string& address, Poster post,
                                     absl::Duration timeout,
                                     GrpcLatency* latency)
    : stub_(v1::Routing::NewStub(
          latency != nullptr
              ? InstrumentedChannel(address, grpc::InsecureChannelCredentials(),
                                    latency)
              : grpc::CreateChannel(address,
                                    grpc::InsecureChannelCredentials()))),
      post_(std::move(post)),
      timeout_(timeout) {}

void GrpcRoutingClient::Route(const v1::RouteRequest& request, Done done) {
  // Lives until the completion callback, which runs on a gRPC thread.
  struct Rpc {
    grpc::ClientContext context;
    v1::RouteRequest request;
    v1::RouteDecision decision;
    Done done;
  };
  auto* rpc = new Rpc;
  rpc->request = request;
  rpc->done = std::move(done);
  rpc->context.set_deadline(std::chrono::system_clock::now() +
                            absl::ToChronoMilliseconds(timeout_));
  stub_->async()->Route(
      &rpc->context, &rpc->request, &rpc->decision,
      [this, rpc](grpc::Status status) {
        absl::StatusOr<v1::RouteDecision> result =
            status.ok()
                ? absl::StatusOr<v1::RouteDecision>(std::move(rpc->decision))
                : absl::StatusOr<v1::RouteDecision>(
                      absl::Status(FromGrpcStatus(status).code(),
                                   absl::StrCat("routing service: ",
                                                status.error_message())));
        post_([done = std::move(rpc->done), result = std::move(result)]() {
          done(result);
        });
        delete rpc;
      });
}

}  // namespace trunkline::signaling
