// A SipStack for unit tests: records what the B2BUA sends and lets the test
// play the peers (responses, BYE, CANCEL) and the clock (timers, posts).
#ifndef TRUNKLINE_SERVICES_SIGNALING_FAKE_SIP_STACK_H_
#define TRUNKLINE_SERVICES_SIGNALING_FAKE_SIP_STACK_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "services/signaling/sip_stack.h"

namespace trunkline::signaling::testing {

// A request the B2BUA sent within a dialog; the test answers it as the peer.
struct SentDialogRequest {
  DialogRequest request;
  std::function<void(const SipResponse&)> on_final;
  // The ACKs sent for its 2xx: (content type, body).
  std::vector<std::pair<std::string, std::string>> acks;
  bool abandoned = false;
  // The peer's final response (unless the sender dropped the transaction).
  void Answer(int code, const std::string& body = "") {
    if (abandoned) return;
    SipResponse r;
    r.code = code;
    r.phrase = "x";
    r.body = body;
    if (!body.empty()) r.content_type = "application/sdp";
    on_final(r);
  }
};

struct FakeDialogTransaction : DialogTransaction {
  std::shared_ptr<SentDialogRequest> sent;
  ~FakeDialogTransaction() override { sent->abandoned = true; }
  void Ack(const std::string& type, const std::string& body) override {
    sent->acks.emplace_back(type, body);
  }
};

// Records the dialog requests a fake leg sends.
struct FakeDialog {
  std::vector<std::shared_ptr<SentDialogRequest>> requests;
  std::unique_ptr<DialogTransaction> Send(
      const DialogRequest& request,
      std::function<void(const SipResponse&)> on_final) {
    auto sent = std::make_shared<SentDialogRequest>();
    sent->request = request;
    sent->on_final = std::move(on_final);
    requests.push_back(sent);
    auto t = std::make_unique<FakeDialogTransaction>();
    t->sent = requests.back();
    return t;
  }
};

// An in-dialog request from a peer: what the B2BUA answered.
struct FakeServerTransaction : ServerTransaction {
  std::shared_ptr<std::vector<SipResponse>> responses =
      std::make_shared<std::vector<SipResponse>>();
  void Respond(const SipResponse& r) override { responses->push_back(r); }
};

struct FakeServerLeg : ServerLeg {
  ServerLegObserver* observer = nullptr;
  std::vector<SipResponse> responses;
  std::vector<std::string> byes;
  bool* destroyed = nullptr;
  // Also gets every response, for legs the B2BUA drops at once.
  std::vector<SipResponse>* sink = nullptr;
  ~FakeServerLeg() override {
    if (destroyed) *destroyed = true;
  }
  void SetObserver(ServerLegObserver* o) override { observer = o; }
  DialogId dialog_id() const override { return ids; }
  DialogId ids;
  std::string contact() const override { return "<sip:192.0.2.10:5060>"; }
  void Respond(const SipResponse& r) override {
    responses.push_back(r);
    if (sink) sink->push_back(r);
  }
  int final_status() const override {
    for (const SipResponse& r : responses) {
      if (r.code >= 200) return r.code;
    }
    return 0;
  }
  void SendBye(const std::string& reason) override { byes.push_back(reason); }
  std::unique_ptr<DialogTransaction> SendRequest(
      const DialogRequest& request,
      std::function<void(const SipResponse&)> on_final) override {
    return dialog.Send(request, std::move(on_final));
  }
  FakeDialog dialog;
};

struct FakeClientLeg : ClientLeg {
  OutgoingInvite invite;
  std::string id;  // this leg's Call-ID
  ClientLegObserver* observer = nullptr;
  int cancels = 0, acks = 0, byes = 0;
  bool alive = true;
  ~FakeClientLeg() override { alive = false; }
  void Cancel() override { ++cancels; }
  bool Resend(const HeaderList& extra) override {
    resent.push_back(extra);
    return true;
  }
  std::vector<HeaderList> resent;
  void Ack(const std::string&, const std::string& body) override {
    ++acks;
    ack_body = body;
  }
  std::string ack_body;  // the last ACK's
  void Prack(const std::string&, const std::string& body) override {
    pracks.push_back(body);
  }
  std::vector<std::string> pracks;  // the bodies of held-back PRACKs sent
  void SendBye(const std::string&) override { ++byes; }
  std::unique_ptr<DialogTransaction> SendRequest(
      const DialogRequest& request,
      std::function<void(const SipResponse&)> on_final) override {
    return dialog.Send(request, std::move(on_final));
  }
  std::string call_id() const override { return id; }
  DialogId dialog_id() const override {
    DialogId d = ids;
    d.call_id = id;
    return d;
  }
  DialogId ids;  // the tags (the Call-ID is `id`)
  std::string contact() const override {
    return "<sip:192.0.2.20:5160;transport=tcp>";
  }
  FakeDialog dialog;
};

class FakeSipStack : public SipStack {
 public:
  struct FakeTimer : Timer {
    FakeSipStack* stack;
    int id;
    ~FakeTimer() override {
      stack->timers_[id] = nullptr;
      stack->deadlines_[id] = absl::InfiniteFuture();
    }
  };

  // A request sent with SendRequest; `abandoned` once its sender destroyed
  // the transaction or it got its final response.
  struct SentRequest {
    OutgoingRequest request;
    std::function<void(const SipResponse&)> on_final;
    bool abandoned = false;
  };
  std::unique_ptr<ClientTransaction> SendRequest(
      const OutgoingRequest& request,
      std::function<void(const SipResponse&)> on_final) override {
    requests.push_back(
        std::make_shared<SentRequest>(SentRequest{request, on_final}));
    struct Handle : ClientTransaction {
      std::shared_ptr<SentRequest> sent;
      ~Handle() override { sent->abandoned = true; }
    };
    auto h = std::make_unique<Handle>();
    h->sent = requests.back();
    return h;
  }
  // Answers request `i` as its peer would (unless it was abandoned).
  void Answer(size_t i, int code, bool local = false) {
    auto sent = requests.at(i);
    if (sent->abandoned) return;
    SipResponse r;
    r.code = code;
    r.phrase = "x";
    r.local = local;
    sent->abandoned = true;  // one final response only
    sent->on_final(r);
  }
  absl::Time Now() override { return now_; }
  // Moves the fake clock forward, firing the timers that fall due in order.
  void Advance(absl::Duration d) {
    const absl::Time end = now_ + d;
    for (;;) {
      int next = -1;
      for (size_t i = 0; i < timers_.size(); ++i) {
        if (timers_[i] && deadlines_[i] <= end &&
            (next < 0 || deadlines_[i] < deadlines_[next])) {
          next = static_cast<int>(i);
        }
      }
      if (next < 0) break;
      now_ = deadlines_[next];
      auto f = timers_[next];
      timers_[next] = nullptr;
      f();
    }
    now_ = end;
  }

  std::unique_ptr<ClientLeg> SendInvite(const OutgoingInvite& invite,
                                        ClientLegObserver* observer) override {
    auto leg = std::make_unique<FakeClientLeg>();
    leg->invite = invite;
    leg->observer = observer;
    leg->id = "callee-leg-" + std::to_string(sent.size() + 1);
    sent.push_back(leg.get());
    return leg;
  }
  std::unique_ptr<Timer> StartTimer(absl::Duration delay,
                                    std::function<void()> fire) override {
    auto t = std::make_unique<FakeTimer>();
    t->stack = this;
    t->id = static_cast<int>(timers_.size());
    timers_.push_back(std::move(fire));
    deadlines_.push_back(now_ + delay);
    return t;
  }
  void Post(std::function<void()> task) override {
    posted_.push_back(std::move(task));
  }
  // Runs what was posted (call clean-up, routing results).
  void RunPosted() {
    while (!posted_.empty()) {
      auto t = std::move(posted_.front());
      posted_.pop_front();
      t();
    }
  }
  // Runs the first closure posted (what the call posted for its next turn,
  // not the clean-up that may follow it).
  void RunFirstPosted() {
    if (posted_.empty()) return;
    auto t = std::move(posted_.front());
    posted_.pop_front();
    t();
  }
  // Fires every armed timer.
  void FireTimers() {
    for (size_t i = 0; i < timers_.size(); ++i) {
      if (timers_[i]) {
        auto f = timers_[i];
        timers_[i] = nullptr;
        f();
      }
    }
  }

  std::vector<FakeClientLeg*> sent;
  std::vector<std::shared_ptr<SentRequest>> requests;

 private:
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  std::vector<absl::Time> deadlines_;
  std::vector<std::function<void()>> timers_;
  std::deque<std::function<void()>> posted_;
};

}  // namespace trunkline::signaling::testing

#endif  // TRUNKLINE_SERVICES_SIGNALING_FAKE_SIP_STACK_H_
