// Anchors a call's media on a media instance (SDP offer/answer through the
// relay). Like RoutingClient, results come back on the SIP loop thread.
//
// Kept to the operations the B2BUA and the admin API need so that changes in
// media.proto touch one implementation, not the call logic.
#ifndef TRUNKLINE_SERVICES_SIGNALING_MEDIA_CONTROLLER_H_
#define TRUNKLINE_SERVICES_SIGNALING_MEDIA_CONTROLLER_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "trunkline/v1/media.pb.h"
#include "trunkline/v1/routing.pb.h"

namespace trunkline::signaling {

// Which leg of a call an SDP came from.
enum class MediaLeg { kCaller, kCallee };

class MediaController {
 public:
  using SdpDone = std::function<void(absl::StatusOr<std::string>)>;
  virtual ~MediaController() = default;
  // The caller's offer in, the offer to send to `candidate` out.
  virtual void Offer(const std::string& call_id, const v1::Candidate& candidate,
                     const std::string& sdp, SdpDone done) = 0;
  // The callee's offer in (in its 2xx to an INVITE we sent without SDP,
  // because the caller's INVITE had none: a delayed offer), the offer for
  // the caller out; the session is made as by Offer, with the candidate's
  // plan for each side.
  virtual void OfferFromCallee(const std::string& call_id,
                               const v1::Candidate& candidate,
                               const std::string& sdp, SdpDone done) = 0;
  // A new offer within the call (re-INVITE, UPDATE) from leg `from` in, the
  // offer for the other leg out. Media keeps flowing as before until the
  // other leg's Answer.
  virtual void Update(const std::string& call_id, MediaLeg from,
                      const std::string& sdp, SdpDone done) = 0;
  // Leg `side` now reaches another party (a transfer we carry out) through
  // `candidate`: that party's offer in, with `side`'s plan (SRTP, latching,
  // advertised address) taken from the candidate's callee side; the offer
  // for the other leg out. The default keeps the plan (fakes).
  virtual void Retarget(const std::string& call_id, MediaLeg side,
                        const v1::Candidate& candidate, const std::string& sdp,
                        SdpDone done) {
    (void)candidate;
    Update(call_id, side, sdp, std::move(done));
  }
  // The answer from leg `from` to the last offer in (the callee's to the
  // first Offer), the answer for the offering leg out.
  virtual void Answer(const std::string& call_id, MediaLeg from,
                      const std::string& sdp, SdpDone done) = 0;
  // Per stream and leg figures of a call (Query, and Delete's last ones).
  using QueryDone = std::function<void(absl::StatusOr<v1::QueryResponse>)>;
  // The call is over (or the candidate abandoned): free the session. When
  // `done` is set it gets the session's last figures (for the call's
  // record and the trunks' quality metrics), or the error, on any thread
  // (the RPC's completion thread: no wake-up of the loop per call), so it
  // must touch nothing of the call; null: nothing waits.
  virtual void Delete(const std::string& call_id, QueryDone done) = 0;

  // For the admin API (GetCall), called on the loop like the rest.
  // The call's streams as its media instance measures them now (Query),
  // with a short deadline; NOT_FOUND when the call is not anchored here.
  virtual void Query(const std::string& call_id, QueryDone done) = 0;
  // The instance anchoring the call (its address), empty when none.
  virtual std::string InstanceOf(const std::string& call_id) const = 0;

  // Media events of every call (RTP/RTCP timeouts, DTMF, SRTP failures)
  // from now on, each handed to `handler` on the loop. Without media
  // instances, none ever come.
  using EventHandler = std::function<void(const v1::MediaEvent&)>;
  virtual void WatchEvents(EventHandler handler) { (void)handler; }
};

// Used when no media instance is configured (--media empty): anchored calls
// fail with 503 and a Reason saying so; media-bypass calls are unaffected.
class NoMediaController final : public MediaController {
 public:
  explicit NoMediaController(std::string why) : why_(std::move(why)) {}
  void Offer(const std::string&, const v1::Candidate&, const std::string&,
             SdpDone done) override {
    done(absl::UnavailableError(why_));
  }
  void OfferFromCallee(const std::string&, const v1::Candidate&,
                       const std::string&, SdpDone done) override {
    done(absl::UnavailableError(why_));
  }
  void Update(const std::string&, MediaLeg, const std::string&,
              SdpDone done) override {
    done(absl::UnavailableError(why_));
  }
  void Answer(const std::string&, MediaLeg, const std::string&,
              SdpDone done) override {
    done(absl::UnavailableError(why_));
  }
  void Delete(const std::string&, QueryDone done) override {
    if (done) done(absl::UnavailableError(why_));
  }
  void Query(const std::string&, QueryDone done) override {
    done(absl::UnavailableError(why_));
  }
  std::string InstanceOf(const std::string&) const override { return ""; }

 private:
  std::string why_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_MEDIA_CONTROLLER_H_
