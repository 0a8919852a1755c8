#include "tools/trunkctl/trace_command.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::trunkctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::TraceEvent Invite() {
  v1::TraceEvent e;
  e.set_unix_ms(1700000000250);  // 22:13:20.250 UTC
  e.set_direction("in");
  e.set_peer("127.0.0.11:5060/udp");
  e.set_summary("INVITE sip:0871234567@127.0.0.1 SIP/2.0");
  e.set_message("INVITE sip:0871234567@127.0.0.1 SIP/2.0\r\n\r\n");
  e.set_call_id("abc@fe");
  e.set_trunk("pstn-dub");
  return e;
}

TEST(TraceCommandTest, LadderLineShowsTimeArrowPeerAndFirstLine) {
  const std::string line = LadderLine(Invite(), absl::UTCTimeZone());
  EXPECT_EQ(line,
            "22:13:20.250 <- 127.0.0.11:5060/udp    INVITE "
            "sip:0871234567@127.0.0.1 SIP/2.0  [call abc@fe trunk pstn-dub]");
  v1::TraceEvent out = Invite();
  out.set_direction("out");
  out.clear_call_id();
  out.clear_trunk();
  EXPECT_THAT(LadderLine(out, absl::UTCTimeZone()),
              HasSubstr(" -> 127.0.0.11:5060/udp"));
  EXPECT_THAT(LadderLine(out, absl::UTCTimeZone()), Not(HasSubstr("[")));
}

TEST(TraceCommandTest, JsonIsOneLine) {
  const std::string json = JsonLine(Invite());
  EXPECT_THAT(json, Not(HasSubstr("\n")));
  EXPECT_THAT(json, HasSubstr("\"direction\":\"in\""));
  EXPECT_THAT(json, HasSubstr("\"callId\":\"abc@fe\""));
}

}  // namespace
}  // namespace trunkline::trunkctl
