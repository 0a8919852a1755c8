// libFuzzer entry point: one raw datagram through what a SIP message meets
// in the signaling service. Sofia's parser (as its UDP transport runs it),
// our description of the request, the B2BUA's trust and RFC 3261 8.2
// checks and, for an INVITE that passes, a whole call over the fake stack
// (routing answers one candidate; 180, 200, ACK, BYE). The same bytes go
// through the SIP trace's own readers (Call-ID, first line, UTF-8
// escaping, the transport dump parser), which see every message raw, and
// the ISUP Release reader.
//
// The source is a trusted UC next hop of the example topology, so that
// the fuzzer reaches past the 403.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/common/log.h"
#include "services/common/topology/loader.h"
#include "services/signaling/b2bua.h"
#include "services/signaling/fake_sip_stack.h"
#include "services/signaling/isup_cause.h"
#include "services/signaling/sip_trace.h"
#include "services/signaling/sofia/sip_message.h"

namespace trunkline::signaling {
namespace {

class OneCandidateRouting : public RoutingClient {
 public:
  void Route(const v1::RouteRequest&, Done done) override {
    v1::RouteDecision d;
    v1::Candidate* c = d.add_candidates();
    c->set_trunk("pstn-dub");
    c->set_called_number("0871234567");
    c->set_calling_number("015551234");
    c->mutable_next_hop()->set_gateway("gw-dub");
    c->mutable_next_hop()->set_host("127.0.0.21");
    c->mutable_next_hop()->set_port(5060);
    c->mutable_next_hop()->set_advertised_address("127.0.0.1");
    c->mutable_next_hop()->set_local_port(5160);
    c->mutable_headers()->set_forward_p_asserted_identity(true);
    c->mutable_headers()->set_forward_call_history(true);
    done(d);
  }
};

std::shared_ptr<const PeerDirectory> Peers() {
  static const std::shared_ptr<const PeerDirectory> peers = [] {
    std::vector<TopologyError> errors;
    auto topology = LoadTopologyFile(
        absl::StrCat(TRUNKLINE_SOURCE_DIR, "/deploy/examples/topology.yaml"),
        &errors);
    if (topology == nullptr) abort();  // the fuzzer's own setup is broken
    auto peers = PeerDirectory::Create(topology->topology, "");
    if (!peers.ok()) abort();
    return std::shared_ptr<const PeerDirectory>(std::move(*peers));
  }();
  return peers;
}

void Run(absl::string_view datagram) {
  const std::string text(datagram);
  (void)RawCallId(text);
  (void)Utf8Safe(FirstLine(text));
  TportDumpParser dump;
  (void)dump.Feed(absl::StrCat("recv ", text.size(),
                               " bytes from udp/[127.0.0.11]:5060 at 0:\n"),
                  absl::UnixEpoch());
  (void)dump.Feed(text, absl::UnixEpoch());

  // The ISUP Release reader sees the raw bytes too (a SIP-I body is
  // binary).
  (void)ReleaseCause(datagram);

  std::optional<IncomingRequest> request = ParseDatagram(datagram);
  if (!request) return;
  (void)ReasonFromIsup(request->body_parts);
  request->source.remote_address = "127.0.0.11";
  request->source.remote_port = 5060;
  request->source.local_port = 5060;

  prometheus::Registry registry;
  SignalingMetrics metrics(&registry);
  testing::FakeSipStack stack;
  OneCandidateRouting routing;
  NoMediaController media("no media in the fuzzer");
  B2bua b2bua(&stack, &routing, &media, &metrics);
  b2bua.SetPeers(Peers());
  SipTraceHub hub(
      [&b2bua](const std::string& call_id, const std::string& address) {
        return b2bua.TraceTagFor(call_id, address);
      },
      nullptr);
  struct Sink : TraceSubscriber {
    void OnTraceEvent(v1::TraceEvent) override {}
  } sink;
  hub.Subscribe({}, &sink);

  if (request->method != "INVITE") {
    (void)b2bua.OnRequest(*request);
    return;
  }
  auto leg = std::make_unique<testing::FakeServerLeg>();
  testing::FakeServerLeg* caller = leg.get();
  bool caller_gone = false;
  leg->destroyed = &caller_gone;
  b2bua.OnInvite(*request, std::move(leg));
  hub.Publish({absl::UnixEpoch(), true, "127.0.0.11:5060/udp", text});
  if (caller_gone || stack.sent.empty()) {
    stack.RunPosted();
    return;
  }
  testing::FakeClientLeg* callee = stack.sent[0];
  // The leg is gone once the call is (RunPosted below).
  const std::string callee_call_id = callee->call_id();
  SipResponse r;
  r.code = 180;
  callee->observer->OnResponse(r);
  r.code = 200;
  r.content_type = "application/sdp";
  r.body = request->body;
  callee->observer->OnResponse(r);
  if (caller->observer != nullptr) caller->observer->OnAck("", "");
  if (caller->observer != nullptr) caller->observer->OnBye("");
  stack.RunPosted();
  hub.Publish({absl::UnixEpoch(), true, "127.0.0.21:5060/udp",
               absl::StrCat("SIP/2.0 200 OK\r\nCall-ID: ", callee_call_id,
                            "\r\n\r\n")});
}

}  // namespace
}  // namespace trunkline::signaling

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Each call the fuzzer completes would log its call record (info): at
  // thousands of inputs a second that is the run's output and most of its
  // time. Warnings and errors still show.
  static const bool quiet = [] {
    trunkline::SetLogLevel(trunkline::LogLevel::kWarning);
    return true;
  }();
  (void)quiet;
  trunkline::signaling::Run(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
