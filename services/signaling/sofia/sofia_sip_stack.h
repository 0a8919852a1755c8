// SipStack on Sofia-SIP's transaction layer (nta).
//
// Why nta and not nua: a B2BUA owns both legs' dialogs and must build every
// header itself (Via, Contact, Call-ID, From/To for topology hiding; number
// rewriting), and it relays rather than answers. nua is a user agent: it
// answers, refreshes and routes on its own, which we would have to undo.
// nta gives transactions, dialog matching (legs) and retransmissions, and
// nothing else.
//
// Threading: one thread runs Sofia's su_root loop and owns every nta object
// and every call. Post() is the only entry from other threads: it queues a
// closure under a mutex and wakes the loop through an eventfd registered
// with the root. This header deliberately includes no Sofia header.
#ifndef TRUNKLINE_SERVICES_SIGNALING_SOFIA_SOFIA_SIP_STACK_H_
#define TRUNKLINE_SERVICES_SIGNALING_SOFIA_SOFIA_SIP_STACK_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "services/signaling/peer_directory.h"
#include "services/signaling/sip_stack.h"
#include "services/signaling/sip_trace.h"

namespace trunkline::signaling {

class SofiaSipStack final : public SipStack {
 public:
  // Starts the loop thread (no sockets yet).
  static absl::StatusOr<std::unique_ptr<SofiaSipStack>> Create();
  // Stops the loop and joins its thread.
  ~SofiaSipStack() override;

  // Binds `listeners` and hands every new request to `handler` (used on the
  // loop thread only). Call from any thread but the loop; waits for the
  // loop. Fails, naming the socket, when one cannot be bound.
  absl::Status Start(const std::vector<ListenSpec>& listeners,
                     InviteHandler* handler);
  // Binds more listeners while running (a reloaded topology's new ones).
  // Those before a failure stay bound. Not from the loop thread.
  absl::Status AddListeners(const std::vector<ListenSpec>& listeners);
  // Runs `task` on the loop and waits for it. Not from the loop thread.
  void RunAndWait(const std::function<void()>& task);
  // Closes the sockets and stops the loop thread (idempotent).
  void Stop();

  // The SIP trace: `tap` gets every message sent or received, on the loop,
  // while tracing is on. Both loop thread only. Off by default: while on,
  // every message is copied out of Sofia's transport layer (its dump hook,
  // TPTAG_DUMP, into a pipe that a thread of ours reads).
  void SetTraceTap(std::function<void(const SipTraceRecord&)> tap);
  void EnableTrace(bool on);

  std::unique_ptr<ClientLeg> SendInvite(const OutgoingInvite& invite,
                                        ClientLegObserver* observer) override;
  std::unique_ptr<ClientTransaction> SendRequest(
      const OutgoingRequest& request,
      std::function<void(const SipResponse&)> on_final) override;
  std::unique_ptr<Timer> StartTimer(absl::Duration delay,
                                    std::function<void()> fire) override;
  void Post(std::function<void()> task) override;

  class Impl;

 private:
  explicit SofiaSipStack(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_SOFIA_SOFIA_SIP_STACK_H_
