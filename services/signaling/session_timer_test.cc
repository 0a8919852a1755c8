#include "services/signaling/session_timer.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::signaling {
namespace {

using ::testing::Contains;
using ::testing::Pair;

v1::SessionTimer Settings(uint32_t expires, uint32_t min_se,
                          v1::SessionRefresher refresher) {
  v1::SessionTimer s;
  s.set_enabled(true);
  s.set_session_expires_seconds(expires);
  s.set_min_se_seconds(min_se);
  s.set_refresher(refresher);
  return s;
}

SipResponse With(int code, HeaderList headers) {
  SipResponse r;
  r.code = code;
  r.headers = std::move(headers);
  return r;
}

TEST(SessionTimerTest, ParsesSessionExpires) {
  auto se = ParseSessionExpires("1800;refresher=UAS");
  ASSERT_TRUE(se.has_value());
  EXPECT_EQ(se->seconds, 1800u);
  EXPECT_EQ(se->refresher, "uas");
  EXPECT_EQ(ParseSessionExpires(" 90 ")->refresher, "");
  EXPECT_FALSE(ParseSessionExpires("soon").has_value());
}

TEST(SessionTimerTest, OurInviteAsksAndTheAnswerDecidesWhoRefreshes) {
  SessionTimer t(Settings(900, 0, v1::SESSION_REFRESHER_LOCAL));
  EXPECT_THAT(t.InviteHeaders(), Contains(Pair("Supported", "timer")));
  EXPECT_THAT(t.InviteHeaders(),
              Contains(Pair("Session-Expires", "900;refresher=uac")));
  EXPECT_THAT(t.InviteHeaders(), Contains(Pair("Min-SE", "90")));
  t.OnAnswer(With(200, {{"Session-Expires", "900;refresher=uac"}}));
  ASSERT_TRUE(t.active());
  EXPECT_TRUE(t.we_refresh());
  EXPECT_EQ(t.RefreshAfter(), absl::Seconds(450));
  EXPECT_THAT(t.RefreshHeaders(),
              Contains(Pair("Session-Expires", "900;refresher=uac")));

  SessionTimer peer(Settings(1800, 0, v1::SESSION_REFRESHER_NEGOTIATE));
  EXPECT_THAT(peer.InviteHeaders(), Contains(Pair("Session-Expires", "1800")));
  peer.OnAnswer(With(200, {{"Session-Expires", "1200;refresher=uas"}}));
  EXPECT_TRUE(peer.active());
  EXPECT_FALSE(peer.we_refresh());
  // The peer's refresh is due before 1200 - 32 s.
  EXPECT_EQ(peer.ExpireAfter(), absl::Seconds(1168));

  SessionTimer none(Settings(1800, 0, v1::SESSION_REFRESHER_LOCAL));
  none.OnAnswer(With(200, {}));
  EXPECT_FALSE(none.active()) << "a 2xx without Session-Expires: no timer";
}

TEST(SessionTimerTest, A422RaisesTheIntervalOnce) {
  SessionTimer t(Settings(90, 90, v1::SESSION_REFRESHER_LOCAL));
  EXPECT_TRUE(t.On422(With(422, {{"Min-SE", "300"}})));
  EXPECT_THAT(t.InviteHeaders(),
              Contains(Pair("Session-Expires", "300;refresher=uac")));
  EXPECT_THAT(t.InviteHeaders(), Contains(Pair("Min-SE", "300")));
  EXPECT_FALSE(t.On422(With(422, {{"Min-SE", "300"}})))
      << "asking for what we already offer again: give up";
  EXPECT_FALSE(t.On422(With(422, {})));
}

TEST(SessionTimerTest, PeersInviteGets422WhenTooShortElseOurAnswer) {
  SessionTimer t(Settings(1800, 120, v1::SESSION_REFRESHER_NEGOTIATE));
  std::optional<SipResponse> r = t.OnInvite("100", "", true);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->code, 422);
  EXPECT_EQ(r->Header("Min-SE"), "120");

  SessionTimer ok(Settings(1800, 90, v1::SESSION_REFRESHER_NEGOTIATE));
  EXPECT_FALSE(ok.OnInvite("600;refresher=uac", "90", true).has_value());
  EXPECT_TRUE(ok.active());
  EXPECT_FALSE(ok.we_refresh()) << "the peer asked to refresh";
  EXPECT_THAT(ok.AnswerHeaders(),
              Contains(Pair("Session-Expires", "600;refresher=uac")));
  EXPECT_THAT(ok.AnswerHeaders(), Contains(Pair("Require", "timer")));

  // A peer without timer support cannot refresh: we do.
  SessionTimer legacy(Settings(1800, 90, v1::SESSION_REFRESHER_REMOTE));
  EXPECT_FALSE(legacy.OnInvite("", "", false).has_value());
  EXPECT_TRUE(legacy.we_refresh());
  EXPECT_EQ(legacy.interval_seconds(), 1800u);
  EXPECT_THAT(legacy.AnswerHeaders(),
              Contains(Pair("Session-Expires", "1800;refresher=uas")));
  EXPECT_THAT(legacy.AnswerHeaders(),
              ::testing::Not(Contains(Pair("Require", "timer"))));
}

TEST(SessionTimerTest, MinSeNeverBelowRfcFloor) {
  SessionTimer t(Settings(30, 10, v1::SESSION_REFRESHER_LOCAL));
  EXPECT_THAT(t.InviteHeaders(), Contains(Pair("Min-SE", "90")));
  EXPECT_THAT(t.InviteHeaders(),
              Contains(Pair("Session-Expires", "90;refresher=uac")));
}

}  // namespace
}  // namespace trunkline::signaling
