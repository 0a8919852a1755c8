// Carries the requests made within an answered call from one leg to the
// other: re-INVITE and UPDATE (hold, resume, codec change, a new key or
// address; the SDP through media Update and Answer when the call is
// anchored), INFO, NOTIFY, REFER in the trunk's passthrough and reject
// modes (terminate mode is the call's: transfer.h), and the ACKs of
// re-INVITEs. Each leg keeps its own dialog (Call-ID, tags, CSeq, Contact):
// only the method, the body and the end-to-end headers cross.
//
// One offer/answer exchange at a time per call: a re-INVITE or UPDATE from
// either side while one is in progress gets 491 Request Pending (RFC 3261
// 14.1, RFC 3311 5.2), so both legs always agree on the session.
//
// Loop thread only, like the call that owns it.
#ifndef TRUNKLINE_SERVICES_SIGNALING_DIALOG_RELAY_H_
#define TRUNKLINE_SERVICES_SIGNALING_DIALOG_RELAY_H_

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/signaling/media_controller.h"
#include "services/signaling/sip_stack.h"
#include "trunkline/v1/topology.pb.h"

namespace trunkline::signaling {

class DialogRelay {
 public:
  struct Options {
    // The media session's id (the caller's Call-ID); with `media` null the
    // call is not anchored and SDP crosses unchanged.
    std::string call_id;
    MediaController* media = nullptr;
    v1::ReferMode refer_mode = v1::REFER_MODE_PASSTHROUGH;
    // How long a re-INVITE's 2xx waits for the ACK before we ACK the other
    // side ourselves (RFC 3261 Timer H: 64 * T1).
    absl::Duration ack_timeout = absl::Seconds(32);
    // Told of every session description sent to a leg (offer or answer),
    // so that the call can repeat it in a session refresh.
    std::function<void(MediaLeg to, const std::string& sdp)> sdp_sent;
    // When set, each session description for a leg is what this returns of
    // it (the call keeps a leg's o= line, SdpOriginKeeper); sdp_sent is told
    // of the result.
    std::function<std::string(MediaLeg to, const std::string& sdp)> rewrite_sdp;
    // Told of a leg's own session description (as that leg sent it) once
    // the exchange that carried it is complete: an offer answered with a
    // 2xx, an answer. A failover before the call is answered offers the
    // caller's to the next candidate.
    std::function<void(MediaLeg of, const std::string& sdp)> sdp_agreed;
    // A passed-through REFER's embedded Replaces (it names the referrer's
    // dialog with us) is replaced by what this returns, one the referee
    // may see (B2bua::HideReplaces); an empty result (it names no dialog)
    // refuses the REFER with 400. Unset, it goes as it came.
    std::function<std::string(const std::string&)> hide_replaces;
  };

  // Both legs must be confirmed dialogs and outlive the relay (or be
  // replaced first).
  DialogRelay(SipStack* stack, DialogLeg* caller, DialogLeg* callee,
              Options options);
  ~DialogRelay();
  DialogRelay(const DialogRelay&) = delete;
  DialogRelay& operator=(const DialogRelay&) = delete;

  // A request within the dialog of leg `from`.
  void OnRequest(MediaLeg from, const DialogRequest& request,
                 std::unique_ptr<ServerTransaction> transaction);
  // An ACK from leg `from`. True when it acknowledged a relayed re-INVITE
  // (and was passed on); false when it is not ours (the call's first ACK).
  bool OnAck(MediaLeg from, const std::string& content_type,
             const std::string& body);

  // Side `side` now reaches another party (a transfer carried out): later
  // requests go to `leg`. Only between exchanges (offer_answer_idle()).
  void ReplaceLeg(MediaLeg side, DialogLeg* leg) {
    (side == MediaLeg::kCaller ? caller_ : callee_) = leg;
  }
  // The call is anchored from now on (a delayed offer's 2xx, after the
  // early dialogs' requests): later offers go through `media`.
  void set_media(MediaController* media) { options_.media = media; }
  // No re-INVITE or UPDATE is being relayed (a transfer may start its own).
  bool offer_answer_idle() const { return !OfferAnswerInProgress(); }

  // Requests relayed and in progress (tests, the admin API).
  size_t in_progress() const { return exchanges_.size(); }

 private:
  struct Exchange;

  void SendOn(Exchange* e, const std::string& content_type,
              const std::string& body);
  void OnFinal(Exchange* e, const SipResponse& response);
  void Answered(Exchange* e, SipResponse up);
  void Forget(Exchange* e);
  bool OfferAnswerInProgress() const;
  // `body` as it goes to leg `to` (rewrite_sdp), once sdp_sent is told.
  std::string Outgoing(MediaLeg to, const std::string& content_type,
                       std::string body);
  void SdpAgreed(MediaLeg of, const std::string& content_type,
                 const std::string& body);
  Exchange* Find(uint64_t id);
  // Runs `then` with the result of media `call` unless the relay (or the
  // exchange) is gone by then.
  using SdpStep = void (DialogRelay::*)(Exchange*, absl::StatusOr<std::string>);
  MediaController::SdpDone Resume(Exchange* e, SdpStep then);
  void OnOfferRewritten(Exchange* e, absl::StatusOr<std::string> sdp);
  void OnAnswerRewritten(Exchange* e, absl::StatusOr<std::string> sdp);
  void OnLateOfferRewritten(Exchange* e, absl::StatusOr<std::string> sdp);
  void OnLateAnswerRewritten(Exchange* e, absl::StatusOr<std::string> sdp);

  SipStack* stack_;
  DialogLeg* caller_;
  DialogLeg* callee_;
  Options options_;
  uint64_t next_id_ = 1;
  std::list<std::unique_ptr<Exchange>> exchanges_;
  // Media results come back later on the loop: they find the relay through
  // this only while it lives.
  std::shared_ptr<DialogRelay*> self_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_DIALOG_RELAY_H_
