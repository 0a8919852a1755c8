#include "services/signaling/call_record.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::signaling {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::StreamStats Stream(v1::Leg leg, uint32_t mline, uint64_t packets,
                       uint64_t lost, double jitter, double rtt, double mos) {
  v1::StreamStats s;
  s.set_leg(leg);
  s.set_mline(mline);
  s.set_packets(packets);
  s.set_packets_lost(lost);
  s.set_jitter_ms(jitter);
  s.set_rtt_ms(rtt);
  s.set_mos(mos);
  return s;
}

std::string Record(const v1::QueryResponse& figures) {
  const LogLevel level = LogEnabled(LogLevel::kDebug)     ? LogLevel::kDebug
                         : LogEnabled(LogLevel::kInfo)    ? LogLevel::kInfo
                         : LogEnabled(LogLevel::kWarning) ? LogLevel::kWarning
                                                          : LogLevel::kError;
  SetLogLevel(LogLevel::kInfo);
  ::testing::internal::CaptureStderr();
  {
    LogLine line(LogLevel::kInfo, "cdr");
    AddMediaFigures(Summarize(figures), line);
  }
  SetLogLevel(level);
  return ::testing::internal::GetCapturedStderr();
}

TEST(CallRecordTest, EachLegsFiguresOverItsStreams) {
  v1::QueryResponse figures;
  // Audio and video from the caller; audio only from the callee.
  *figures.add_streams() = Stream(v1::LEG_CALLER, 0, 1000, 10, 4.25, 0, 4.31);
  *figures.add_streams() = Stream(v1::LEG_CALLEE, 0, 990, 0, 1.0, 12.5, 4.40);
  *figures.add_streams() = Stream(v1::LEG_CALLER, 1, 500, 90, 9.5, 0, 3.60);
  *figures.add_streams() = Stream(v1::LEG_CALLEE, 1, 0, 0, 0, 0, 0);
  auto& callee_failures = *figures.mutable_streams(1);
  callee_failures.set_srtp_auth_failures(3);
  const std::string line = Record(figures);
  for (const char* field :
       {"caller_packets=1500 ", "caller_lost=100 ", "caller_loss_pct=6.25 ",
        "caller_jitter_ms=9.5 ", "caller_mos=3.60", "callee_packets=990 ",
        "callee_lost=0 ", "callee_loss_pct=0.00 ", "callee_jitter_ms=1.0 ",
        "callee_rtt_ms=12.5 ", "callee_mos=4.40",
        "callee_srtp_auth_failures=3"}) {
    EXPECT_THAT(line, HasSubstr(field)) << field;
  }
  // No RTCP round trip from the caller, no failures: not printed as 0.
  EXPECT_THAT(line, Not(HasSubstr("caller_rtt_ms")));
  EXPECT_THAT(line, Not(HasSubstr("caller_srtp_auth_failures")));
}

TEST(CallRecordTest, SummarizeTakesEachLegsWorstStream) {
  v1::QueryResponse figures;
  *figures.add_streams() = Stream(v1::LEG_CALLEE, 0, 900, 100, 3.0, 20, 4.1);
  *figures.add_streams() = Stream(v1::LEG_CALLEE, 1, 0, 0, 7.5, 0, 0);
  *figures.add_streams() = Stream(v1::LEG_CALLER, 0, 10, 0, 50, 0, 1.5);
  const LegQuality q = Summarize(figures).callee;
  EXPECT_TRUE(q.seen);
  EXPECT_EQ(q.packets, 900u);
  EXPECT_EQ(q.lost, 100u);
  EXPECT_DOUBLE_EQ(q.loss_ratio(), 0.1);
  EXPECT_DOUBLE_EQ(q.jitter_ms, 7.5);
  EXPECT_DOUBLE_EQ(q.rtt_ms, 20);
  EXPECT_DOUBLE_EQ(q.mos, 4.1) << "a stream without packets has no MOS";
  EXPECT_FALSE(Summarize(v1::QueryResponse()).caller.seen);
  EXPECT_DOUBLE_EQ(LegQuality().loss_ratio(), 0);
}

// A leg that sent nothing has counts of 0 and no MOS (none was measured);
// a call without streams adds nothing.
TEST(CallRecordTest, SilentLegAndNoStreams) {
  v1::QueryResponse figures;
  *figures.add_streams() = Stream(v1::LEG_CALLER, 0, 0, 0, 0, 0, 0);
  *figures.add_streams() = Stream(v1::LEG_CALLEE, 0, 50, 0, 0.5, 0, 4.41);
  const std::string line = Record(figures);
  EXPECT_THAT(line, HasSubstr("caller_packets=0 "));
  EXPECT_THAT(line, Not(HasSubstr("caller_loss_pct")));
  EXPECT_THAT(line, Not(HasSubstr("caller_mos")));
  EXPECT_THAT(line, HasSubstr("callee_mos=4.41"));

  const std::string empty = Record(v1::QueryResponse());
  EXPECT_THAT(empty, HasSubstr("msg=cdr"));
  EXPECT_THAT(empty, Not(HasSubstr("_packets")));
}

}  // namespace
}  // namespace trunkline::signaling
