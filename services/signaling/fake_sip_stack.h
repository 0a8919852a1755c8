// A SipStack for unit tests: records what the B2BUA sends and lets the test
// play the peers (responses, BYE, CANCEL) and the clock (timers, posts).
#ifndef TRUNKLINE_SERVICES_SIGNALING_FAKE_SIP_STACK_H_
#define TRUNKLINE_SERVICES_SIGNALING_FAKE_SIP_STACK_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "services/signaling/sip_stack.h"

namespace trunkline::signaling::testing {

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
  void Respond(const SipResponse& r) override {
    responses.push_back(r);
    if (sink) sink->push_back(r);
  }
  void SendBye(const std::string& reason) override { byes.push_back(reason); }
};

struct FakeClientLeg : ClientLeg {
  OutgoingInvite invite;
  std::string id;  // this leg's Call-ID
  ClientLegObserver* observer = nullptr;
  int cancels = 0, acks = 0, byes = 0;
  bool alive = true;
  ~FakeClientLeg() override { alive = false; }
  void Cancel() override { ++cancels; }
  void Ack(const std::string&, const std::string&) override { ++acks; }
  void SendBye(const std::string&) override { ++byes; }
  std::string call_id() const override { return id; }
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
