#include "services/signaling/grpc_media_controller.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/common/error_table.h"
#include "services/common/log.h"
#include "services/common/utf8.h"

namespace trunkline::signaling {
namespace {

// SDP's free text (s=, i=, a=tool) may be in another charset than UTF-8
// (RFC 4566 a=charset), but the request's field is a protobuf string, which
// media would refuse to parse: such bytes go as '?'. The relay reads none
// of that text.
std::string SdpForMedia(const std::string& sdp) {
  return IsValidUtf8(sdp) ? sdp : ReplaceInvalidUtf8(sdp);
}

constexpr absl::Duration kLoadPollInterval = absl::Seconds(2);

v1::SidePlan CallerSide(const v1::Candidate& c) {
  v1::SidePlan side;
  side.set_srtp(c.media().caller_srtp());
  // From a trunk: its leg's settings and its listener's address; from the
  // UC side, none are set and the instance's own (--advertised_address)
  // is advertised.
  side.set_latching(c.media().caller_latching());
  side.set_strict_source(c.media().caller_strict_source());
  side.set_rtcp_mux(c.media().caller_rtcp_mux());
  side.set_advertised_address(c.media().caller_advertised_address());
  side.set_rtp_timeout_seconds(c.media().caller_media_timeout_seconds());
  side.set_expect_rtcp(c.media().caller_rtcp_active_calls());
  side.set_expect_rtcp_on_hold(c.media().caller_rtcp_calls_on_hold());
  return side;
}

v1::SidePlan CalleeSide(const v1::Candidate& c) {
  v1::SidePlan side;
  side.set_srtp(c.media().callee_srtp());
  side.set_latching(c.media().callee_latching());
  side.set_strict_source(c.media().callee_strict_source());
  side.set_rtcp_mux(c.media().callee_rtcp_mux());
  side.set_advertised_address(c.next_hop().advertised_address());
  side.set_rtp_timeout_seconds(c.media().media_timeout_seconds());
  side.set_expect_rtcp(c.media().rtcp_active_calls());
  side.set_expect_rtcp_on_hold(c.media().rtcp_calls_on_hold());
  return side;
}

}  // namespace

GrpcMediaController::GrpcMediaController(
    const std::vector<std::string>& addresses, Poster post,
    absl::Duration timeout, GrpcLatency* latency,
    std::shared_ptr<GrpcCompletionThread> completions)
    : completions_(completions != nullptr
                       ? std::move(completions)
                       : std::make_shared<GrpcCompletionThread>()),
      post_(std::move(post)),
      timeout_(timeout) {
  for (const std::string& address : addresses) {
    auto instance = std::make_unique<Instance>();
    instance->address = address;
    instance->stub = v1::Media::NewStub(
        GrpcCompletionThread::CallPathChannel(address, latency));
    instances_.push_back(std::move(instance));
  }
  poller_ = std::thread([this] {
    do {
      PollLoads();
    } while (!stop_.WaitForNotificationWithTimeout(kLoadPollInterval));
  });
}

GrpcMediaController::~GrpcMediaController() {
  watcher_.reset();
  stop_.Notify();
  poller_.join();
}

void GrpcMediaController::WatchEvents(EventHandler handler) {
  std::vector<MediaEventWatcher::Instance> instances;
  for (const auto& instance : instances_) {
    instances.push_back({instance->address, instance->stub.get()});
  }
  watcher_ = std::make_unique<MediaEventWatcher>(
      std::move(instances), post_, std::move(handler), completions_->queue());
}

void GrpcMediaController::PollLoads() {
  for (auto& instance : instances_) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(timeout_));
    v1::Load load;
    grpc::Status status =
        instance->stub->GetLoad(&context, v1::GetLoadRequest(), &load);
    const int64_t left =
        status.ok() && !load.draining() ? load.capacity_left() : -1;
    if ((left < 0) != (instance->capacity_left.load() < 0)) {
      TL_LOG(kInfo, "media instance state")
          .With("media", instance->address)
          .With("usable", left >= 0)
          .With("detail",
                status.ok() ? std::string("ok") : status.error_message());
    }
    instance->capacity_left = left;
  }
}

int GrpcMediaController::PickInstance() const {
  int best = -1;
  int64_t best_left = 0;
  for (size_t i = 0; i < instances_.size(); ++i) {
    const int64_t left = instances_[i]->capacity_left.load();
    if (left > best_left) {
      best = static_cast<int>(i);
      best_left = left;
    }
  }
  return best;
}

namespace {
v1::Leg ToProto(MediaLeg leg) {
  return leg == MediaLeg::kCaller ? v1::LEG_CALLER : v1::LEG_CALLEE;
}
}  // namespace

template <typename Request>
void GrpcMediaController::SdpRpc(int instance, SdpMethod method,
                                 Request request, SdpDone done) {
  // One SDP exchange in flight; the completion thread deletes it once
  // finished.
  struct SdpCall final : GrpcCompletionThread::Call {
    grpc::ClientContext context;
    v1::SdpResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::SdpResponse>> reader;
    SdpDone done;
    Poster post;
    const char* what;
    std::string address;

    void Finished() override {
      absl::StatusOr<std::string> result =
          status.ok()
              ? absl::StatusOr<std::string>(std::move(*response.mutable_sdp()))
              // The B2BUA says "media: " before it in a Reason.
              : absl::StatusOr<std::string>(
                    GrpcCompletionThread::CallFailure(what, address, status));
      post([done = std::move(done), result = std::move(result)] {
        done(result);
      });
    }
  };
  auto* call = new SdpCall;
  call->done = std::move(done);
  call->post = post_;
  call->what = method == SdpMethod::kOffer    ? "Offer"
               : method == SdpMethod::kUpdate ? "Update"
                                              : "Answer";
  Instance& target = *instances_[instance];
  call->address = target.address;
  call->context.set_deadline(std::chrono::system_clock::now() +
                             absl::ToChronoMilliseconds(timeout_));
  grpc::CompletionQueue* cq = completions_->queue();
  if constexpr (std::is_same_v<Request, v1::OfferRequest>) {
    call->reader = method == SdpMethod::kUpdate
                       ? target.stub->AsyncUpdate(&call->context, request, cq)
                       : target.stub->AsyncOffer(&call->context, request, cq);
  } else {
    call->reader = target.stub->AsyncAnswer(&call->context, request, cq);
  }
  call->reader->Finish(&call->response, &call->status,
                       static_cast<GrpcCompletionThread::Tag*>(call));
}

void GrpcMediaController::Offer(const std::string& call_id,
                                const v1::Candidate& candidate,
                                const std::string& sdp, SdpDone done) {
  FirstOffer(call_id, candidate, MediaLeg::kCaller, sdp, std::move(done));
}

void GrpcMediaController::OfferFromCallee(const std::string& call_id,
                                          const v1::Candidate& candidate,
                                          const std::string& sdp,
                                          SdpDone done) {
  FirstOffer(call_id, candidate, MediaLeg::kCallee, sdp, std::move(done));
}

void GrpcMediaController::FirstOffer(const std::string& call_id,
                                     const v1::Candidate& candidate,
                                     MediaLeg from, const std::string& sdp,
                                     SdpDone done) {
  CallMedia& call = calls_[call_id];
  if (call.instance < 0) call.instance = PickInstance();
  if (call.instance < 0) {
    calls_.erase(call_id);
    done(absl::UnavailableError("no media instance is reachable"));
    return;
  }
  v1::OfferRequest request;
  request.set_call_id(call_id);
  request.set_from_leg(ToProto(from));
  // A new candidate is a new offer within the same session.
  request.set_request_id(absl::StrCat("offer-", ++call.requests));
  request.set_sdp(SdpForMedia(sdp));
  const bool caller_offers = from == MediaLeg::kCaller;
  *request.mutable_from_side() =
      caller_offers ? CallerSide(candidate) : CalleeSide(candidate);
  *request.mutable_to_side() =
      caller_offers ? CalleeSide(candidate) : CallerSide(candidate);
  SdpRpc(call.instance, SdpMethod::kOffer, std::move(request), std::move(done));
}

void GrpcMediaController::Update(const std::string& call_id, MediaLeg from,
                                 const std::string& sdp, SdpDone done) {
  auto it = calls_.find(call_id);
  if (it == calls_.end()) {
    done(absl::FailedPreconditionError("media Update before any Offer"));
    return;
  }
  v1::OfferRequest request;
  request.set_call_id(call_id);
  request.set_from_leg(ToProto(from));
  request.set_request_id(absl::StrCat("update-", ++it->second.requests));
  request.set_sdp(SdpForMedia(sdp));
  // No side plans: the session keeps the ones of its first offer.
  SdpRpc(it->second.instance, SdpMethod::kUpdate, std::move(request),
         std::move(done));
}

void GrpcMediaController::Retarget(const std::string& call_id, MediaLeg side,
                                   const v1::Candidate& candidate,
                                   const std::string& sdp, SdpDone done) {
  auto it = calls_.find(call_id);
  if (it == calls_.end()) {
    done(absl::FailedPreconditionError("media Retarget before any Offer"));
    return;
  }
  v1::OfferRequest request;
  request.set_call_id(call_id);
  request.set_from_leg(ToProto(side));
  request.set_request_id(absl::StrCat("retarget-", ++it->second.requests));
  request.set_sdp(SdpForMedia(sdp));
  // The new party is reached like a callee of `candidate`; the other side
  // keeps its plan (to_side unset).
  *request.mutable_from_side() = CalleeSide(candidate);
  SdpRpc(it->second.instance, SdpMethod::kUpdate, std::move(request),
         std::move(done));
}

void GrpcMediaController::Answer(const std::string& call_id, MediaLeg from,
                                 const std::string& sdp, SdpDone done) {
  auto it = calls_.find(call_id);
  if (it == calls_.end()) {
    done(absl::FailedPreconditionError("media Answer before any Offer"));
    return;
  }
  v1::AnswerRequest request;
  request.set_call_id(call_id);
  request.set_from_leg(ToProto(from));
  request.set_request_id(absl::StrCat("answer-", ++it->second.requests));
  request.set_sdp(SdpForMedia(sdp));
  SdpRpc(it->second.instance, SdpMethod::kAnswer, std::move(request),
         std::move(done));
}

void GrpcMediaController::Delete(const std::string& call_id, QueryDone done) {
  auto it = calls_.find(call_id);
  if (it == calls_.end()) {
    if (done) {
      done(absl::NotFoundError(absl::StrCat(
          "call \"", call_id, "\" is not anchored on any media instance")));
    }
    return;
  }
  // The figures go to `done` on the completion thread (see
  // MediaController::Delete); a failure is logged there too.
  struct DeleteCall final : GrpcCompletionThread::Call {
    grpc::ClientContext context;
    v1::DeleteResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::DeleteResponse>> reader;
    std::string call_id;
    QueryDone done;

    void Finished() override {
      // Nothing else frees the session: media keeps it (and its ports)
      // until a Delete or its orphan time, so a failure is worth a warning.
      if (!status.ok()) {
        TL_LOG(kWarning, "media Delete failed")
            .With("call_id", call_id)
            .With("error", status.error_message());
      }
      if (!done) return;
      absl::StatusOr<v1::QueryResponse> figures;
      if (status.ok()) {
        v1::QueryResponse q;
        q.mutable_streams()->Swap(response.mutable_streams());
        figures = std::move(q);
      } else {
        figures = absl::Status(FromGrpcStatus(status).code(),
                               "Delete: no figures from media");
      }
      done(std::move(figures));
    }
  };
  auto* call = new DeleteCall;
  call->call_id = call_id;
  const Instance& instance = *instances_[it->second.instance];
  call->done = std::move(done);
  call->context.set_deadline(std::chrono::system_clock::now() +
                             absl::ToChronoMilliseconds(timeout_));
  v1::DeleteRequest request;
  request.set_call_id(call_id);
  call->reader = instance.stub->AsyncDelete(&call->context, request,
                                            completions_->queue());
  call->reader->Finish(&call->response, &call->status,
                       static_cast<GrpcCompletionThread::Tag*>(call));
  calls_.erase(it);
}

void GrpcMediaController::Query(const std::string& call_id, QueryDone done) {
  auto it = calls_.find(call_id);
  if (it == calls_.end()) {
    done(absl::NotFoundError(absl::StrCat("call \"", call_id,
                                          "\" is not anchored on any media "
                                          "instance of this signaling node")));
    return;
  }
  // The completion thread posts the result to the loop and deletes it.
  struct QueryCall final : GrpcCompletionThread::Call {
    void Finished() override {
      absl::StatusOr<v1::QueryResponse> result =
          status.ok() ? absl::StatusOr<v1::QueryResponse>(std::move(response))
                      : absl::StatusOr<v1::QueryResponse>(
                            GrpcCompletionThread::CallFailure("Query", address,
                                                              status));
      post([done = std::move(done), result = std::move(result)] {
        done(result);
      });
    }
    grpc::ClientContext context;
    v1::QueryResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::QueryResponse>> reader;
    std::string address;
    Poster post;
    QueryDone done;
  };
  Instance& target = *instances_[it->second.instance];
  auto* call = new QueryCall;
  call->address = target.address;
  call->post = post_;
  call->done = std::move(done);
  call->context.set_deadline(
      std::chrono::system_clock::now() +
      absl::ToChronoMilliseconds(std::min(timeout_, kQueryTimeout)));
  v1::QueryRequest request;
  request.set_call_id(call_id);
  call->reader =
      target.stub->AsyncQuery(&call->context, request, completions_->queue());
  call->reader->Finish(&call->response, &call->status,
                       static_cast<GrpcCompletionThread::Tag*>(call));
}

std::string GrpcMediaController::InstanceOf(const std::string& call_id) const {
  auto it = calls_.find(call_id);
  if (it == calls_.end() || it->second.instance < 0) return "";
  return instances_[it->second.instance]->address;
}

}  // namespace trunkline::signaling
