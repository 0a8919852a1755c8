#include "services/signaling/isup_cause.h"

#include <string>

#include "gtest/gtest.h"

namespace trunkline::signaling {
namespace {

// REL (0x0C): pointer to the cause indicators (2: two octets on), pointer to
// the optional part (0: none), then the cause: length 2, ITU coding and
// location "public network serving the local user" (0x82 with the
// extension bit), cause value with the extension bit.
std::string Release(int cause) {
  return std::string({'\x0C', '\x02', '\x00', '\x02', '\x82',
                      static_cast<char>(0x80 | cause)});
}

TEST(IsupCauseTest, ReadsTheCauseOfARelease) {
  EXPECT_EQ(ReleaseCause(Release(16)), 16);
  EXPECT_EQ(ReleaseCause(Release(17)), 17);
  EXPECT_EQ(ReleaseCause(Release(127)), 127);
}

TEST(IsupCauseTest, SkipsTheRecommendationOctet) {
  // Octet 1 without its extension bit: octet 1a follows, then the value.
  const std::string rel({'\x0C', '\x02', '\x00', '\x03', '\x02', '\x80',
                         static_cast<char>(0x80 | 1)});
  EXPECT_EQ(ReleaseCause(rel), 1);
}

TEST(IsupCauseTest, FollowsThePointerPastAnOptionalPart) {
  // The optional part's pointer set (3) and an optional parameter after the
  // cause (type 0x12, length 1, then the end-of-optional-parameters octet).
  const std::string rel({'\x0C', '\x02', '\x03', '\x02', '\x82', '\x92', '\x12',
                         '\x01', '\x00', '\x00'});
  EXPECT_EQ(ReleaseCause(rel), 18);
}

TEST(IsupCauseTest, RefusesWhatIsNoWellFormedRelease) {
  EXPECT_FALSE(ReleaseCause("").has_value());
  // ANM, ACM: not a release.
  EXPECT_FALSE(ReleaseCause(std::string({'\x09', '\x01', '\x00'})).has_value());
  EXPECT_FALSE(
      ReleaseCause(std::string({'\x06', '\x16', '\x14', '\x01'})).has_value());
  // Truncated anywhere.
  const std::string whole = Release(16);
  for (size_t n = 1; n < whole.size(); ++n) {
    EXPECT_FALSE(ReleaseCause(whole.substr(0, n)).has_value()) << n;
  }
  // A pointer past the end, a pointer of 0, a cause of one octet.
  EXPECT_FALSE(ReleaseCause(std::string({'\x0C', '\x09', '\x00', '\x02', '\x82',
                                         '\x90'}))
                   .has_value());
  EXPECT_FALSE(ReleaseCause(std::string({'\x0C', '\x00', '\x00', '\x02', '\x82',
                                         '\x90'}))
                   .has_value());
  EXPECT_FALSE(
      ReleaseCause(std::string({'\x0C', '\x02', '\x00', '\x01', '\x82'}))
          .has_value());
  // Octet 1a announced but the parameter ends before the value.
  EXPECT_FALSE(ReleaseCause(std::string({'\x0C', '\x02', '\x00', '\x02', '\x02',
                                         '\x80'}))
                   .has_value());
}

TEST(IsupCauseTest, MakesTheReasonHeader) {
  EXPECT_EQ(Q850Reason(17), "Q.850;cause=17;text=\"User busy\"");
  EXPECT_EQ(Q850Reason(16), "Q.850;cause=16;text=\"Normal call clearing\"");
  EXPECT_EQ(Q850Reason(99), "Q.850;cause=99");
}

TEST(IsupCauseTest, FindsTheReleaseAmongTheParts) {
  BodyPart pidf{"application/pidf+xml", "application/pidf+xml", "", "", false,
                "<presence/>"};
  BodyPart isup{"application/ISUP;version=itu-t92+",
                "application/isup",
                "",
                "signal;handling=optional",
                false,
                Release(21)};
  EXPECT_EQ(ReasonFromIsup({pidf, isup}),
            "Q.850;cause=21;text=\"Call rejected\"");
  EXPECT_EQ(ReasonFromIsup({pidf}), "");
  isup.body = std::string({'\x09', '\x01', '\x00'});  // ANM
  EXPECT_EQ(ReasonFromIsup({isup}), "");
  // A body of the ISUP message alone.
  EXPECT_EQ(
      ReasonFromIsup({}, "application/ISUP; version=itu-t92+", Release(1)),
      "Q.850;cause=1;text=\"Unallocated (unassigned) number\"");
  EXPECT_EQ(ReasonFromIsup({}, "application/sdp", Release(1)), "");
}

}  // namespace
}  // namespace trunkline::signaling
