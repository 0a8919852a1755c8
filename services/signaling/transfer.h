// Carries out one REFER in the trunk's terminate mode (Lync: the Mediation
// Server completes the transfer for a gateway that cannot): the party on the
// other side (the transferee) stays in the call; the transferor's side gets a
// new leg to the Refer-To target, chosen by routing like any call.
//
// The new INVITE carries no SDP (RFC 3725's third-party call control, flow
// I): the target's 2xx brings the offer, which goes to the transferee in a
// re-INVITE (through media Retarget when the call is anchored); the
// transferee's answer goes back in our ACK. So it works the same anchored
// or bypassed, and no one-way audio is left behind. The transferor hears how
// it went in NOTIFYs with a message/sipfrag body (RFC 3515): 100, 18x, then
// the final status, unless it asked for no subscription (RFC 4488).
//
// Refer-To's embedded Replaces (an attended transfer) is passed on as the
// INVITE's Replaces header, and Referred-By as received. When the Replaces
// names a dialog of ours (both calls go through this node), the caller of
// the plan has translated it to the far leg of that call and named the
// candidate that reaches it (Plan::direct): no routing then.
//
// Loop thread only, like the call that owns it.
#ifndef TRUNKLINE_SERVICES_SIGNALING_TRANSFER_H_
#define TRUNKLINE_SERVICES_SIGNALING_TRANSFER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/signaling/media_controller.h"
#include "services/signaling/routing_client.h"
#include "services/signaling/sip_stack.h"
#include "trunkline/v1/routing.pb.h"

namespace trunkline::signaling {

// What a REFER's Refer-To says (RFC 3515 2.1): the target URI without its
// headers, and the Replaces header embedded in it, unescaped.
struct ReferTarget {
  std::string uri;   // e.g. "sip:+35318881234@contoso.example;user=phone"
  std::string user;  // e.g. "+35318881234"; the number routing gets
  std::string replaces;
};
// INVALID_ARGUMENT naming what is wrong: no Refer-To, more than one, not a
// sip, sips or tel URI, or without a user part (allowed with a Replaces: an
// attended transfer's target is the transferor's peer's Contact, which
// may have none).
absl::StatusOr<ReferTarget> ParseReferTo(const HeaderList& headers);

// A Replaces header's value (RFC 3891 6.1). Its tags are from the point of
// view of the UA that is to match it: to-tag is that UA's own tag of the
// dialog, from-tag its peer's.
struct ReplacesValue {
  std::string call_id;
  std::string to_tag;
  std::string from_tag;
  bool early_only = false;
};
// Empty when the value lacks a Call-ID or either tag.
std::optional<ReplacesValue> ParseReplaces(absl::string_view value);
// Whether `replaces` names `dialog`, as the side that knows it so sees it.
bool Names(const ReplacesValue& replaces, const DialogId& dialog);
// The Replaces that the peer of `dialog` (our leg) matches against its end
// of it.
std::string ReplacesFor(const DialogId& dialog, bool early_only);

class Transfer final : public ClientLegObserver {
 public:
  // The call a transfer belongs to.
  class Host {
   public:
    virtual ~Host() = default;
    // The leg on `side` now (the transferor's for NOTIFYs, the transferee's
    // for the re-INVITE).
    virtual DialogLeg* LegOn(MediaLeg side) = 0;
    // The transferee talks to the target: `side` is now transfer->leg().
    virtual void Transferred(Transfer* transfer) = 0;
    // It did not work; the call goes on as before (the transferor was told).
    virtual void TransferFailed(Transfer* transfer) = 0;
    // Once Transferred: what comes on the new leg.
    virtual void OnTransferredBye(Transfer* transfer) = 0;
    virtual void OnTransferredRequest(
        Transfer* transfer, const DialogRequest& request,
        std::unique_ptr<ServerTransaction> txn) = 0;
    virtual void OnTransferredAck(Transfer* transfer,
                                  const std::string& content_type,
                                  const std::string& body) = 0;
  };

  struct Plan {
    // The media session's id (the call's); with `media` null the call is
    // not anchored and SDP crosses unchanged.
    std::string call_id;
    MediaController* media = nullptr;
    // The transferor's side: the new leg takes its place.
    MediaLeg side = MediaLeg::kCaller;
    ReferTarget target;
    // Referred-By as received ("" when absent).
    std::string referred_by;
    // Send NOTIFYs (false: the REFER said Refer-Sub: false).
    bool notify = true;
    // Asks routing where the target is: origin, caller (the transferee's
    // number) and callee (the target's user part).
    v1::RouteRequest route;
    // Set instead when the target is the far party of another call of
    // ours (a Replaces naming it): the INVITE goes through this candidate.
    std::optional<v1::Candidate> direct;
    // Told of each session description sent to a leg (the session refresh
    // repeats the last one).
    std::function<void(MediaLeg to, const std::string& sdp)> sdp_sent;
    // When set, the SDP of the re-INVITE to the party that stays is what
    // this returns of it (the call keeps that party's o= line).
    std::function<std::string(MediaLeg to, const std::string& sdp)> rewrite_sdp;
    // The request the INVITE to a candidate is built from (BuildInvite):
    // its caller identity is the transferee's.
    IncomingRequest as_if;
  };

  Transfer(SipStack* stack, RoutingClient* routing, Host* host, Plan plan);
  ~Transfer() override;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  // NOTIFY 100 Trying, then routing. The REFER was already answered 202.
  void Start();
  // The call is ending while the transfer runs: the new leg is cancelled
  // (or ACKed and ended) with `reason`; nothing more reaches the host.
  void Abandon(const std::string& reason);
  // The transferor hung up (some do right after the 202): no more NOTIFYs.
  void TransferorLeft() { plan_.notify = false; }

  MediaLeg side() const { return plan_.side; }
  bool connected() const { return state_ == State::kConnected; }
  // The new leg (once Transferred) and the candidate that reached it.
  ClientLeg* leg() const { return leg_.get(); }
  const v1::Candidate* candidate() const;

  // ClientLegObserver (the new leg)
  void OnResponse(const SipResponse& response) override;
  void OnBye(const std::string& reason) override;
  void OnAck(const std::string& content_type, const std::string& body) override;
  void OnDialogRequest(const DialogRequest& request,
                       std::unique_ptr<ServerTransaction> txn) override;

 private:
  enum class State { kRouting, kInviting, kConnecting, kConnected, kDone };

  void OnRouted(absl::StatusOr<v1::RouteDecision> decision);
  void TryNext();
  void OnOfferForTransferee(absl::StatusOr<std::string> sdp);
  void OnTransfereeAnswer(const SipResponse& response);
  void OnAnswerForTarget(absl::StatusOr<std::string> sdp);
  // Tells the transferor (NOTIFY) and the host; ends the new leg if it was
  // answered.
  void Fail(int code, const std::string& phrase);
  void Notify(int code, const std::string& phrase, bool final);
  // A callback that runs `step` only while this transfer lives.
  template <typename Arg>
  std::function<void(Arg)> Guard(void (Transfer::*step)(Arg));

  SipStack* stack_;
  RoutingClient* routing_;
  Host* host_;
  Plan plan_;
  State state_ = State::kRouting;
  v1::RouteDecision decision_;
  int next_candidate_ = 0;
  int current_candidate_ = -1;
  std::unique_ptr<ClientLeg> leg_;
  // Legs given up on (a failover); kept until their final responses.
  std::vector<std::unique_ptr<ClientLeg>> dropped_;
  int last_notified_ = 0;
  SipResponse last_failure_;
  std::unique_ptr<DialogTransaction> reinvite_;
  // NOTIFYs in flight: destroying one would stop its retransmissions.
  std::vector<std::unique_ptr<DialogTransaction>> notifies_;
  std::shared_ptr<Transfer*> self_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_TRANSFER_H_
