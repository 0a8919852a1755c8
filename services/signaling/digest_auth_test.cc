#include "services/signaling/digest_auth.h"

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::signaling {
namespace {

using ::testing::HasSubstr;

// RFC 7616 section 3.9.1: the same request answered with SHA-256 and MD5.
constexpr char kRfc7616Challenge[] =
    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", "
    "algorithm=%s, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";

DigestAnswer Mufasa(const std::string& cnonce) {
  DigestAnswer a;
  a.username = "Mufasa";
  a.password = "Circle of Life";
  a.method = "GET";
  a.uri = "/dir/index.html";
  a.cnonce = cnonce;
  a.nonce_count = 1;
  return a;
}

TEST(DigestAuthTest, Rfc7616Sha256Vector) {
  absl::StatusOr<DigestChallenge> c =
      ParseDigestChallenge(absl::StrFormat(kRfc7616Challenge, "SHA-256"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->realm, "http-auth@example.org");
  EXPECT_TRUE(c->qop_auth);
  EXPECT_EQ(DigestResponse(
                *c, Mufasa("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

TEST(DigestAuthTest, Rfc7616Md5Vector) {
  absl::StatusOr<DigestChallenge> c =
      ParseDigestChallenge(absl::StrFormat(kRfc7616Challenge, "MD5"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(DigestResponse(
                *c, Mufasa("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")),
            "8ca523f5e9506fed4657c9700eebdbec");
}

TEST(DigestAuthTest, Rfc2617Md5VectorAndTheHeaderWeSend) {
  absl::StatusOr<DigestChallenge> c = ParseDigestChallenge(
      "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
      "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
      "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->algorithm, "MD5");  // absent means MD5
  DigestAnswer a = Mufasa("0a4f113b");
  a.password = "Circle Of Life";  // RFC 2617 capitalises it; 7616 does not
  EXPECT_EQ(DigestResponse(*c, a), "6629fae49393a05397450978507c4ef1");
  const std::string header = DigestAuthorization(*c, a);
  EXPECT_THAT(header, HasSubstr("Digest username=\"Mufasa\""));
  EXPECT_THAT(header,
              HasSubstr("response=\"6629fae49393a05397450978507c4ef1\""));
  EXPECT_THAT(header, HasSubstr("qop=auth, nc=00000001"));
  EXPECT_THAT(header, HasSubstr("cnonce=\"0a4f113b\""));
  EXPECT_THAT(header, HasSubstr("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
}

TEST(DigestAuthTest, WithoutQopTheResponseIsRfc2069s) {
  // RFC 3261's plain form: response = H(HA1:nonce:HA2), no cnonce or nc.
  absl::StatusOr<DigestChallenge> c = ParseDigestChallenge(
      "Digest realm=\"itsp.example\", nonce=\"abc\", algorithm=MD5");
  ASSERT_TRUE(c.ok()) << c.status();
  DigestAnswer a;
  a.username = "trunk";
  a.password = "secret";
  a.method = "INVITE";
  a.uri = "sip:+35318881234@itsp.example";
  // Computed independently (Python hashlib) from RFC 2617 3.2.2.1.
  EXPECT_EQ(DigestResponse(*c, a), "6b705c1a6026e0dcc33f888c81b2f291");
  EXPECT_THAT(DigestAuthorization(*c, a), ::testing::Not(HasSubstr("qop")));
}

TEST(DigestAuthTest, RefusesWhatItCannotAnswer) {
  EXPECT_EQ(ParseDigestChallenge("Basic realm=\"x\"").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDigestChallenge("Digest realm=\"x\"").status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<DigestChallenge> aka = ParseDigestChallenge(
      "Digest realm=\"x\", nonce=\"n\", algorithm=AKAv1-MD5");
  EXPECT_EQ(aka.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(aka.status().message(), HasSubstr("AKAv1-MD5"));
  EXPECT_EQ(
      ParseDigestChallenge("Digest realm=\"x\", nonce=\"n\", qop=auth-int")
          .status()
          .code(),
      absl::StatusCode::kUnimplemented);
  absl::StatusOr<DigestChallenge> stale = ParseDigestChallenge(
      "Digest realm=\"x\", nonce=\"n\", stale=TRUE, algorithm=SHA-256-sess");
  ASSERT_TRUE(stale.ok());
  EXPECT_TRUE(stale->stale);
}

TEST(DigestAuthTest, AnswerChallengePicksTheRealmAndStopsAtARefusal) {
  SipResponse r;
  r.code = 407;
  r.headers = {
      {"Proxy-Authenticate", "Digest realm=\"other\", nonce=\"a\""},
      {"Proxy-Authenticate", "Digest realm=\"itsp.example\", nonce=\"b\""}};
  DigestCredential credential{"trunk", "itsp.example", "secret"};
  ChallengeAnswer first =
      AnswerChallenge(r, credential, "INVITE", "sip:1@itsp.example", 0, "c");
  ASSERT_EQ(first.outcome, ChallengeAnswer::Outcome::kAnswer);
  ASSERT_EQ(first.authorization.size(), 1u);
  EXPECT_EQ(first.authorization[0].first, "Proxy-Authorization");
  EXPECT_THAT(first.authorization[0].second,
              HasSubstr("realm=\"itsp.example\", nonce=\"b\""));
  // Challenged again, not stale: refused; stale: answered once more.
  EXPECT_EQ(AnswerChallenge(r, credential, "INVITE", "u", 1, "c").outcome,
            ChallengeAnswer::Outcome::kRefused);
  r.headers[1].second += ", stale=true";
  EXPECT_EQ(AnswerChallenge(r, credential, "INVITE", "u", 1, "c").outcome,
            ChallengeAnswer::Outcome::kAnswer);
  EXPECT_EQ(AnswerChallenge(r, credential, "INVITE", "u", 2, "c").outcome,
            ChallengeAnswer::Outcome::kRefused);
  // No challenge for our realm: nothing to answer, and it says why.
  DigestCredential elsewhere{"trunk", "nowhere.example", "secret"};
  ChallengeAnswer none = AnswerChallenge(r, elsewhere, "INVITE", "u", 0, "c");
  EXPECT_EQ(none.outcome, ChallengeAnswer::Outcome::kUnanswerable);
  EXPECT_THAT(none.detail, HasSubstr("nowhere.example"));
}

}  // namespace
}  // namespace trunkline::signaling
