// MediaController over the media service's gRPC API (media.proto).
//
// Each call is anchored on one media instance, the least loaded when the
// call's first offer is made (loads come from GetLoad, polled in the
// background, so choosing costs no round trip on the call path). Every RPC
// is asynchronous with a deadline; results are posted to the SIP loop
// (Delete's figures excepted: see MediaController::Delete). The
// call-to-instance map is touched only on the SIP loop thread.
#ifndef TRUNKLINE_SERVICES_SIGNALING_GRPC_MEDIA_CONTROLLER_H_
#define TRUNKLINE_SERVICES_SIGNALING_GRPC_MEDIA_CONTROLLER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/common/grpc_metrics.h"
#include "services/signaling/grpc_completion_thread.h"
#include "services/signaling/media_controller.h"
#include "services/signaling/media_event_watcher.h"
#include "trunkline/v1/media.grpc.pb.h"

namespace trunkline::signaling {

class GrpcMediaController final : public MediaController {
 public:
  using Poster = std::function<void(std::function<void()>)>;
  // `addresses`: the media instances (--media). `post` hands a closure to
  // the SIP loop. `latency`, when set, measures every call. `completions`:
  // the thread that finishes Offer, Update, Answer and Delete (shared with
  // the routing client); null: one of its own.
  GrpcMediaController(const std::vector<std::string>& addresses, Poster post,
                      absl::Duration timeout, GrpcLatency* latency = nullptr,
                      std::shared_ptr<GrpcCompletionThread> completions = {});
  ~GrpcMediaController() override;

  void Offer(const std::string& call_id, const v1::Candidate& candidate,
             const std::string& sdp, SdpDone done) override;
  void OfferFromCallee(const std::string& call_id,
                       const v1::Candidate& candidate, const std::string& sdp,
                       SdpDone done) override;
  void Update(const std::string& call_id, MediaLeg from, const std::string& sdp,
              SdpDone done) override;
  void Retarget(const std::string& call_id, MediaLeg side,
                const v1::Candidate& candidate, const std::string& sdp,
                SdpDone done) override;
  void Answer(const std::string& call_id, MediaLeg from, const std::string& sdp,
              SdpDone done) override;
  void Delete(const std::string& call_id, QueryDone done) override;
  // Asks the call's instance, with at most kQueryTimeout.
  void Query(const std::string& call_id, QueryDone done) override;
  std::string InstanceOf(const std::string& call_id) const override;
  // Opens a WatchEvents stream to every instance (kept open, reopened when
  // it ends). Called once, on the loop.
  void WatchEvents(EventHandler handler) override;

  // An operator waits on Query: it gets no more than this (nor more than
  // the timeout of the other calls).
  static constexpr absl::Duration kQueryTimeout = absl::Seconds(1);

  // The instance a new call would go to now (index into addresses), or -1
  // when every instance is unreachable or draining. Exposed for tests.
  int PickInstance() const;

 private:
  struct Instance {
    std::string address;
    std::unique_ptr<v1::Media::Stub> stub;
    // From the last GetLoad; -1: unreachable or draining.
    std::atomic<int64_t> capacity_left{-1};
  };
  struct CallMedia {
    int instance = -1;
    int requests = 0;  // makes each request id unique within the call
  };
  void PollLoads();
  // The session's first offer (or a later candidate's), from `from`.
  void FirstOffer(const std::string& call_id, const v1::Candidate& candidate,
                  MediaLeg from, const std::string& sdp, SdpDone done);
  // Runs `rpc` on the call's instance and posts the SDP (or the error) to
  // the loop.
  enum class SdpMethod { kOffer, kUpdate, kAnswer };
  template <typename Request>
  void SdpRpc(int instance, SdpMethod method, Request request, SdpDone done);

  std::shared_ptr<GrpcCompletionThread> completions_;
  std::vector<std::unique_ptr<Instance>> instances_;
  Poster post_;
  absl::Duration timeout_;
  absl::flat_hash_map<std::string, CallMedia> calls_;  // SIP loop only
  absl::Notification stop_;
  std::thread poller_;
  // After instances_: goes first, while the stubs it uses still exist.
  std::unique_ptr<MediaEventWatcher> watcher_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_GRPC_MEDIA_CONTROLLER_H_
