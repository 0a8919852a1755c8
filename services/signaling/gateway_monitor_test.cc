#include "services/signaling/gateway_monitor.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/signaling/fake_sip_stack.h"

namespace trunkline::signaling {
namespace {

using ::testing::ElementsAre;
using testing::FakeSipStack;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

TrunkInfo Trunk(const std::string& name, uint32_t interval = 5,
                uint32_t threshold = 2) {
  TrunkInfo t;
  t.name = name;
  t.gateway = "gw-" + name;
  t.host = "127.0.0.21";
  t.port = 5060;
  t.local_port = 5160;
  t.advertised = "127.0.0.1";
  t.interval_seconds = interval;
  t.down_threshold = threshold;
  return t;
}

double Metric(prometheus::Registry& registry, const std::string& name) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name || family.metric.empty()) continue;
    return family.metric[0].gauge.value;
  }
  return -1;
}

class GatewayMonitorTest : public ::testing::Test {
 protected:
  prometheus::Registry registry_;
  SignalingMetrics metrics_{&registry_};
  FakeSipStack stack_;
  GatewayMonitor monitor_{&stack_, &metrics_};
};

TEST_F(GatewayMonitorTest, ProbesAtOnceFromTheTrunksSocket) {
  monitor_.SetTrunks({Trunk("pstn-dub")});
  ASSERT_EQ(stack_.requests.size(), 1u);
  const OutgoingRequest& r = stack_.requests[0]->request;
  EXPECT_EQ(r.method, "OPTIONS");
  EXPECT_EQ(r.request_uri, "sip:127.0.0.21:5060");
  EXPECT_EQ(r.next_hop_host, "127.0.0.21");
  EXPECT_EQ(r.local_port, 5160u);
  EXPECT_EQ(r.contact, "<sip:127.0.0.1:5160>");
  stack_.Advance(absl::Seconds(5));
  EXPECT_EQ(stack_.requests.size(), 2u);
}

TEST_F(GatewayMonitorTest, TlsProbeNamesWhatTheCertificateMustCarry) {
  TrunkInfo t = Trunk("pstn-tls");
  t.transport = v1::TRANSPORT_TLS;
  t.tls_name = "gw.example";
  monitor_.SetTrunks({t});
  ASSERT_EQ(stack_.requests.size(), 1u);
  EXPECT_EQ(stack_.requests[0]->request.tls_name, "gw.example");
  EXPECT_EQ(stack_.requests[0]->request.next_hop_host, "127.0.0.21");
}

TEST_F(GatewayMonitorTest, SipsProbeToAGatewayThatTakesSipsUris) {
  TrunkInfo t = Trunk("pstn-tls");
  t.transport = v1::TRANSPORT_TLS;
  t.sips = true;
  monitor_.SetTrunks({t});
  ASSERT_EQ(stack_.requests.size(), 1u);
  const OutgoingRequest& r = stack_.requests[0]->request;
  EXPECT_EQ(r.request_uri, "sips:127.0.0.21:5060");
  EXPECT_EQ(r.from, "<sips:trunkline@127.0.0.1>");
  EXPECT_EQ(r.contact, "<sips:127.0.0.1:5160>");
  EXPECT_EQ(r.transport, v1::TRANSPORT_TLS);
}

// A UC-side next hop is watched under its gateway's name (how routing
// skips it) and its series say trunk="uc-side"; a gateway no longer watched
// leaves no series behind (a last 0 would alert for ever).
TEST_F(GatewayMonitorTest, UcNextHopsAndGatewaysNoLongerWatched) {
  TrunkInfo fe = Trunk("fe-dub-1", 5, 1);
  fe.gateway = "fe-dub-1";
  fe.uc_side = true;
  monitor_.SetTrunks({Trunk("pstn-dub", 5, 1), fe});
  stack_.Advance(absl::Seconds(5));  // both unanswered: down
  EXPECT_THAT(monitor_.DownTrunks(), ElementsAre("pstn-dub", "fe-dub-1"));
  auto series = [this] {
    std::vector<std::string> out;
    for (const auto& family : registry_.Collect()) {
      if (family.name != "trunkline_signaling_gateway_up") continue;
      for (const auto& m : family.metric) {
        std::string labels;
        for (const auto& l : m.label) {
          absl::StrAppend(&labels, l.name, "=", l.value, " ");
        }
        out.push_back(absl::StrCat(labels, m.gauge.value));
      }
    }
    return out;
  };
  EXPECT_THAT(series(),
              UnorderedElementsAre("gateway=gw-pstn-dub trunk=pstn-dub 0",
                                   "gateway=fe-dub-1 trunk=uc-side 0"));
  monitor_.SetTrunks({Trunk("pstn-dub", 5, 1)});
  EXPECT_THAT(series(),
              UnorderedElementsAre("gateway=gw-pstn-dub trunk=pstn-dub 0"));
}

TEST_F(GatewayMonitorTest, DownAfterThresholdMissesUpOnAnyAnswer) {
  monitor_.SetTrunks({Trunk("pstn-dub", 5, 2)});
  EXPECT_THAT(monitor_.DownTrunks(), IsEmpty());
  stack_.Advance(absl::Seconds(5));  // first probe unanswered: one miss
  EXPECT_THAT(monitor_.DownTrunks(), IsEmpty());
  stack_.Advance(absl::Seconds(5));  // second: down
  EXPECT_THAT(monitor_.DownTrunks(), ElementsAre("pstn-dub"));
  EXPECT_EQ(Metric(registry_, "trunkline_signaling_gateway_up"), 0);
  // A 404 is still an answer: the gateway is alive.
  stack_.Advance(absl::Milliseconds(40));
  stack_.Answer(2, 404);
  EXPECT_THAT(monitor_.DownTrunks(), IsEmpty());
  EXPECT_EQ(Metric(registry_, "trunkline_signaling_gateway_up"), 1);
  EXPECT_DOUBLE_EQ(Metric(registry_, "trunkline_signaling_options_rtt_seconds"),
                   0.04);
  EXPECT_DOUBLE_EQ(monitor_.Find("pstn-dub")->rtt_seconds, 0.04);
}

TEST_F(GatewayMonitorTest, LocalTimeoutOrTransportErrorIsAMiss) {
  monitor_.SetTrunks({Trunk("pstn-dub", 5, 1)});
  stack_.Answer(0, 503, /*local=*/true);
  EXPECT_THAT(monitor_.DownTrunks(), ElementsAre("pstn-dub"));
  // The next probe is not a second miss for the same, finished, probe.
  stack_.Advance(absl::Seconds(5));
  stack_.Answer(1, 200);
  EXPECT_THAT(monitor_.DownTrunks(), IsEmpty());
  EXPECT_EQ(monitor_.Find("pstn-dub")->consecutive_misses, 0);
}

// A gateway that answers 503 is alive but takes no calls (out of channels,
// draining): a miss, like no answer; any other answer brings it back.
TEST_F(GatewayMonitorTest, A503FromTheGatewayIsAMiss) {
  monitor_.SetTrunks({Trunk("pstn-dub", 5, 1)});
  stack_.Answer(0, 503);
  EXPECT_THAT(monitor_.DownTrunks(), ElementsAre("pstn-dub"));
  stack_.Advance(absl::Seconds(5));
  stack_.Answer(1, 200);
  EXPECT_THAT(monitor_.DownTrunks(), IsEmpty());
}

TEST_F(GatewayMonitorTest, AnswersResetTheMissCount) {
  monitor_.SetTrunks({Trunk("pstn-dub", 5, 2)});
  stack_.Advance(absl::Seconds(5));  // miss 1
  stack_.Answer(1, 200);
  stack_.Advance(absl::Seconds(5));  // answered: no miss
  stack_.Advance(absl::Seconds(5));  // miss 1 again
  EXPECT_THAT(monitor_.DownTrunks(), IsEmpty());
}

TEST_F(GatewayMonitorTest, KeepaliveDisabledSendsNothingAndStaysUp) {
  TrunkInfo t = Trunk("pbx-lon");
  t.keepalive = false;
  monitor_.SetTrunks({t});
  stack_.Advance(absl::Seconds(600));
  EXPECT_TRUE(stack_.requests.empty());
  EXPECT_THAT(monitor_.DownTrunks(), IsEmpty());
}

TEST_F(GatewayMonitorTest, DisabledTrunkIsDownForRoutingAndSurvivesReload) {
  monitor_.SetTrunks({Trunk("pstn-dub"), Trunk("itsp")});
  EXPECT_FALSE(monitor_.SetEnabled("nope", false));
  EXPECT_TRUE(monitor_.SetEnabled("itsp", false));
  EXPECT_THAT(monitor_.DownTrunks(), ElementsAre("itsp"));
  TrunkInfo changed = Trunk("itsp", 10);
  monitor_.SetTrunks({Trunk("pstn-dub"), changed});
  EXPECT_THAT(monitor_.DownTrunks(), ElementsAre("itsp"));
  EXPECT_TRUE(monitor_.SetEnabled("itsp", true));
  EXPECT_THAT(monitor_.DownTrunks(), IsEmpty());
}

TEST_F(GatewayMonitorTest, UnchangedTrunkKeepsItsScheduleOnReload) {
  monitor_.SetTrunks({Trunk("pstn-dub")});
  monitor_.SetTrunks({Trunk("pstn-dub")});
  EXPECT_EQ(stack_.requests.size(), 1u);
  monitor_.SetTrunks({});
  stack_.Advance(absl::Seconds(60));
  EXPECT_EQ(stack_.requests.size(), 1u);
}

}  // namespace
}  // namespace trunkline::signaling
