// What `trunkctl calls show` and `trunkctl node status` print of the media
// streams and the node load.
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/trunkctl/node_commands.h"
#include "tools/trunkctl/signaling_commands.h"

namespace trunkline::trunkctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kNow = 1700000010000;

v1::CallDetail AnchoredCall() {
  v1::CallDetail d;
  d.mutable_summary()->set_call_id("abc@fe");
  d.mutable_summary()->set_start_unix_ms(kNow - 42000);
  d.set_route("pstn-lon via gw-lon");
  d.set_media_instance("10.0.3.7:7300");
  v1::StreamStats* caller = d.add_media_streams();
  caller->set_leg(v1::LEG_CALLER);
  caller->set_mline(0);
  caller->set_ssrc(0xCA11E400);
  caller->set_packets(2100);
  caller->set_packets_lost(3);
  caller->set_jitter_ms(1.25);
  caller->set_rtt_ms(20.5);
  caller->set_mos(4.38);
  caller->set_last_packet_unix_ms(kNow - 300);
  caller->set_srtp_auth_failures(2);
  v1::StreamStats* callee = d.add_media_streams();
  callee->set_leg(v1::LEG_CALLEE);
  return d;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(CallsShowTest, PrintsEveryStreamAsATableRow) {
  std::ostringstream out;
  PrintCallDetail(AnchoredCall(), kNow, out);
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("age       42s\n"));
  EXPECT_THAT(text, HasSubstr("media     10.0.3.7:7300\n"));
  std::vector<std::string> lines = Lines(text);
  ASSERT_GE(lines.size(), 3u);
  const std::string& header = lines[lines.size() - 3];
  EXPECT_THAT(header, HasSubstr("LEG"));
  EXPECT_THAT(header, HasSubstr("JITTER ms"));
  EXPECT_THAT(header, HasSubstr("SRTP AUTH FAILS"));
  // caller, m-line 0, SSRC, packets, lost, jitter, RTT, MOS, age, failures.
  std::istringstream row(lines[lines.size() - 2]);
  std::vector<std::string> cells;
  for (std::string c; row >> c;) cells.push_back(c);
  EXPECT_THAT(cells, ElementsAre("caller", "0", "ca11e400", "2100", "3", "1.2",
                                 "20.5", "4.38", "0.3s", "2"));
  // The callee leg has sent nothing yet: no packet age.
  EXPECT_THAT(lines.back(), HasSubstr("callee"));
  EXPECT_THAT(lines.back(), HasSubstr(" - "));
}

TEST(CallsShowTest, SaysWhyFiguresAreMissingAndWhenMediaIsBypassed) {
  v1::CallDetail failed = AnchoredCall();
  failed.clear_media_streams();
  failed.set_media_error("media Query at 10.0.3.7:7300: Deadline Exceeded");
  std::ostringstream out;
  PrintCallDetail(failed, kNow, out);
  EXPECT_THAT(out.str(), HasSubstr("no figures: media Query at 10.0.3.7:7300: "
                                   "Deadline Exceeded"));
  EXPECT_THAT(out.str(), Not(HasSubstr("PACKETS")));

  v1::CallDetail bypass = AnchoredCall();
  bypass.clear_media_instance();
  bypass.clear_media_streams();
  std::ostringstream bypass_out;
  PrintCallDetail(bypass, kNow, bypass_out);
  EXPECT_THAT(bypass_out.str(), HasSubstr("media     bypass"));
}

TEST(NodeStatusTest, LoadCellsShowWorkCpuMemoryAndSortedFigures) {
  v1::NodeLoad load;
  load.set_active(3);
  load.set_active_unit("calls");
  load.set_cpu_seconds(12.34);
  load.set_resident_bytes(45 * 1024 * 1024 + 512 * 1024);
  (*load.mutable_figures())["trunks"] = 6;
  (*load.mutable_figures())["call_limit"] = 40;
  EXPECT_THAT(LoadCells(load), ElementsAre("3 calls", "12.3s", "45.5 MiB",
                                           "call_limit=40 trunks=6"));
  EXPECT_THAT(LoadCells(v1::NodeLoad()), ElementsAre("0", "0.0s", "-", "-"));
}

}  // namespace
}  // namespace trunkline::trunkctl
