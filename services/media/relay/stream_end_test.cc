#include "services/media/relay/stream_end.h"

#include <vector>

#include "gtest/gtest.h"
#include "services/media/srtp/sdes.h"

namespace trunkline::media::relay {
namespace {

TEST(PayloadClocksTest, UnknownTypesAndNarrowbandReadEightThousand) {
  PayloadClocks clocks;
  EXPECT_EQ(clocks.ClockRate(0), 8000u);
  const std::vector<PayloadClock> table = {{0, 8000}, {8, 8000}, {101, 8000}};
  clocks.Assign(table.data(), table.size());
  EXPECT_EQ(clocks.kept(), 0u);  // nothing stored for a narrowband stream
  EXPECT_EQ(clocks.ClockRate(0), 8000u);
  EXPECT_EQ(clocks.ClockRate(101), 8000u);
  EXPECT_EQ(clocks.ClockRate(96), 8000u);
}

TEST(PayloadClocksTest, KeepsTheOtherClocks) {
  PayloadClocks clocks;
  const std::vector<PayloadClock> table = {
      {111, 48000}, {0, 8000}, {6, 16000}, {101, 48000}, {31, 90000}};
  clocks.Assign(table.data(), table.size());
  EXPECT_EQ(clocks.kept(), 4u);
  EXPECT_EQ(clocks.ClockRate(111), 48000u);
  EXPECT_EQ(clocks.ClockRate(0), 8000u);
  EXPECT_EQ(clocks.ClockRate(6), 16000u);
  EXPECT_EQ(clocks.ClockRate(101), 48000u);
  EXPECT_EQ(clocks.ClockRate(31), 90000u);
  EXPECT_EQ(clocks.ClockRate(96), 8000u);
}

TEST(PayloadClocksTest, TheFirstEntryOfATypeCounts) {
  // As a lookup in the order of the table: a later entry of the same type is
  // never read, whichever clock it has.
  PayloadClocks clocks;
  const std::vector<PayloadClock> table = {
      {96, 8000}, {96, 48000}, {97, 16000}, {97, 8000}};
  clocks.Assign(table.data(), table.size());
  EXPECT_EQ(clocks.ClockRate(96), 8000u);
  EXPECT_EQ(clocks.ClockRate(97), 16000u);
  EXPECT_EQ(clocks.kept(), 1u);
}

TEST(PayloadClocksTest, AssignReplacesTheTable) {
  PayloadClocks clocks;
  const std::vector<PayloadClock> wideband = {{9, 16000}, {111, 48000}};
  clocks.Assign(wideband.data(), wideband.size());
  EXPECT_EQ(clocks.ClockRate(111), 48000u);
  const std::vector<PayloadClock> other = {{96, 90000}};
  clocks.Assign(other.data(), other.size());
  EXPECT_EQ(clocks.ClockRate(111), 8000u);
  EXPECT_EQ(clocks.ClockRate(9), 8000u);
  EXPECT_EQ(clocks.ClockRate(96), 90000u);
  clocks.Assign(nullptr, 0);
  EXPECT_EQ(clocks.kept(), 0u);
  EXPECT_EQ(clocks.ClockRate(96), 8000u);
}

TEST(PayloadClocksTest, IgnoresWhatIsNotAnRtpType) {
  PayloadClocks clocks;
  const std::vector<PayloadClock> table = {{255, 48000}, {96, 48000}};
  clocks.Assign(table.data(), table.size());
  EXPECT_EQ(clocks.kept(), 1u);
  EXPECT_EQ(clocks.ClockRate(96), 48000u);
  EXPECT_EQ(clocks.ClockRate(255), 8000u);
}

TEST(StreamEndTest, PlainRtpHasNoSrtpState) {
  StreamEnd end;
  EXPECT_EQ(end.srtp, nullptr);
  EXPECT_EQ(end.inbound_srtp(), nullptr);
  EXPECT_EQ(end.outbound_srtp(), nullptr);
}

TEST(StreamEndTest, SrtpContextsAreReadThroughTheState) {
  StreamEnd end;
  srtp::MasterKey key =
      *srtp::GenerateMasterKey(srtp::Suite::kAesCm128HmacSha1_80);
  // A state with only candidates (a re-offer's keys) has no context yet.
  end.MutableSrtp().inbound_candidates.push_back(
      {*srtp::InboundSrtp::Create(key)});
  EXPECT_EQ(end.inbound_srtp(), nullptr);
  EXPECT_EQ(end.outbound_srtp(), nullptr);
  SrtpState* state = end.srtp.get();
  end.MutableSrtp().inbound = {*srtp::InboundSrtp::Create(key)};
  end.MutableSrtp().outbound = *srtp::OutboundSrtp::Create(key);
  EXPECT_EQ(end.srtp.get(), state);  // made once
  EXPECT_EQ(end.inbound_srtp(), state->inbound.context.get());
  EXPECT_EQ(end.outbound_srtp(), state->outbound.get());
}

// An idle stream is two of these (docs/media.md, "Memory"): a guard against
// growing them back by accident.
TEST(StreamEndTest, StaysSmall) { EXPECT_LE(sizeof(StreamEnd), 240u); }

TEST(StreamEndTest, AnIdleEndHasNoTelemetryAndReadsZeros) {
  StreamEnd end;
  EXPECT_EQ(end.telemetry, nullptr);
  EXPECT_EQ(end.stats().packets(), 0u);
  EXPECT_EQ(end.stats().dropped(), 0u);
  EXPECT_EQ(end.telemetry, nullptr) << "reading must not allocate";
  end.MutableStats().OnDrop();
  ASSERT_NE(end.telemetry, nullptr);
  EXPECT_EQ(end.stats().dropped(), 1u);
  // Another end still reads zeros (the shared empty figures were not
  // written to).
  StreamEnd other;
  EXPECT_EQ(other.stats().dropped(), 0u);
}

}  // namespace
}  // namespace trunkline::media::relay
