#include "services/media/sdp/rewriter.h"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::media::sdp {
namespace {

using ::testing::HasSubstr;
using trunkline::v1::SRTP_MODE_NOT_SUPPORTED;
using trunkline::v1::SRTP_MODE_OPTIONAL;
using trunkline::v1::SRTP_MODE_REQUIRED;
using trunkline::v1::SrtpMode;

// The relay's own keys in the plans (base64 of readable 30/28-octet strings).
constexpr char kA80[] = "inline:QS1zaWRlIEFFU19DTSA4MCBrZXkrc2FsdCAzMG9j";
constexpr char kA32[] = "inline:QS1zaWRlIEFFU19DTSAzMiBrZXkrc2FsdCAzMG9j";
constexpr char kAGcm[] = "inline:QS1zaWRlIEdDTSBrZXkrc2FsdCAyOCBvY3RzLg==";
constexpr char kB80[] = "inline:Qi1zaWRlIEFFU19DTSA4MCBrZXkrc2FsdCAzMG9j";
constexpr char kB32[] = "inline:Qi1zaWRlIEFFU19DTSAzMiBrZXkrc2FsdCAzMG9j";
constexpr char kBGcm[] = "inline:Qi1zaWRlIEdDTSBrZXkrc2FsdCAyOCBvY3RzLg==";
// Keys the peers put in the golden inputs.
constexpr char kPeerA80[] =
    "inline:cGVlciBBIG9mZmVyZWQga2V5IDgwIDMwIG9jdGV0|2^31|1:1";
constexpr char kPeerA32[] =
    "inline:cGVlciBBIG9mZmVyZWQga2V5IDMyIDMwIG9jdGV0|2^31";
constexpr char kPeerAGcm[] = "inline:cGVlciBBIEdDTSBrZXkgMjggb2N0ZXRzLi4uLg==";
constexpr char kPeerARekeyed[] =
    "inline:cGVlciBBIHJla2V5ZWQgODAga2V5IDMwIG9jdGV0";
constexpr char kPeerB80[] = "inline:cGVlciBCIGFuc3dlcmVkIDgwIGtleSAzMCBvY3Qu";

// The caller's side (A): the relay faces it on 203.0.113.10.
RelaySide SideA(SrtpMode srtp, bool rtcp_mux = false) {
  RelaySide side;
  side.address = "203.0.113.10";
  side.srtp = srtp;
  side.rtcp_mux = rtcp_mux;
  side.ports = {{30000, 30001}, {30002, 30003}, {30004, 30005}};
  side.keys = {{std::string(kAesCm128HmacSha1_80), kA80},
               {std::string(kAesCm128HmacSha1_32), kA32},
               {std::string(kAeadAes128Gcm), kAGcm}};
  side.session_id = 1000;
  side.session_version = 1;
  return side;
}

// The callee's side (B): the relay faces it on 198.51.100.20.
RelaySide SideB(SrtpMode srtp, bool rtcp_mux = false) {
  RelaySide side;
  side.address = "198.51.100.20";
  side.srtp = srtp;
  side.rtcp_mux = rtcp_mux;
  side.ports = {{40000, 40001}, {40002, 40003}, {40004, 40005}};
  side.keys = {{std::string(kAesCm128HmacSha1_80), kB80},
               {std::string(kAesCm128HmacSha1_32), kB32},
               {std::string(kAeadAes128Gcm), kBGcm}};
  side.session_id = 2000;
  side.session_version = 1;
  return side;
}

RelaySide WithVersion(RelaySide side, uint64_t version) {
  side.session_version = version;
  return side;
}

RelaySide WithPorts(RelaySide side, std::vector<StreamPorts> ports) {
  side.ports = std::move(ports);
  return side;
}

RelaySide WithMedia(RelaySide side, std::vector<std::string> types) {
  side.media_types = std::move(types);
  return side;
}

RelaySide WithAddress(RelaySide side, std::string address) {
  side.address = std::move(address);
  return side;
}

std::string SdpDir() {
  const char* root = std::getenv("TRUNKLINE_SOURCE_DIR");
  return absl::StrCat(root != nullptr ? root : ".",
                      "/services/media/testdata/sdp/");
}

bool ReadFile(const std::string& path, std::string* content) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream bytes;
  bytes << in.rdbuf();
  *content = bytes.str();
  return true;
}

// A golden case: testdata/sdp/<name>.in.sdp is the SDP a leg sent; for an
// answer, <name>.offer.sdp is the offer it answers. <name>.out.sdp is the
// SDP the relay must produce, byte for byte; cases without it must fail with
// `error`.
enum class Kind { kOffer, kAnswer, kParseError };

struct GoldenCase {
  std::string name;
  Kind kind = Kind::kOffer;
  // `from`: the side the input came from; `to`: where the output goes.
  RelaySide from;
  RelaySide to;
  std::string error;  // substring of the expected error, when it must fail
  absl::StatusCode code = absl::StatusCode::kOk;
  std::function<void(const OfferRewrite&)> check_offer;
  std::function<void(const AnswerRewrite&)> check_answer;
};

GoldenCase Offer(std::string name, RelaySide from, RelaySide to) {
  GoldenCase c;
  c.name = std::move(name);
  c.kind = Kind::kOffer;
  c.from = std::move(from);
  c.to = std::move(to);
  return c;
}

GoldenCase Answer(std::string name, RelaySide from, RelaySide to) {
  GoldenCase c = Offer(std::move(name), std::move(from), std::move(to));
  c.kind = Kind::kAnswer;
  return c;
}

GoldenCase Fails(GoldenCase c, absl::StatusCode code, std::string error) {
  c.code = code;
  c.error = std::move(error);
  return c;
}

GoldenCase Malformed(std::string name, std::string error) {
  GoldenCase c;
  c.name = std::move(name);
  c.kind = Kind::kParseError;
  c.code = absl::StatusCode::kInvalidArgument;
  c.error = std::move(error);
  return c;
}

GoldenCase CheckOffer(GoldenCase c,
                      std::function<void(const OfferRewrite&)> check) {
  c.check_offer = std::move(check);
  return c;
}

GoldenCase CheckAnswer(GoldenCase c,
                       std::function<void(const AnswerRewrite&)> check) {
  c.check_answer = std::move(check);
  return c;
}

std::vector<GoldenCase> Cases() {
  const RelaySide a_plain = SideA(SRTP_MODE_NOT_SUPPORTED);
  const RelaySide b_plain = SideB(SRTP_MODE_NOT_SUPPORTED);
  return {
      // Plain RTP both ways: only addresses, ports and o= change; the
      // implicit RTCP port (rtp + 1) needs no a=rtcp.
      CheckOffer(Offer("plain_offer", a_plain, b_plain),
                 [](const OfferRewrite& r) {
                   ASSERT_EQ(r.streams.size(), 1u);
                   const OfferedStream& s = r.streams[0];
                   EXPECT_TRUE(s.relayed);
                   EXPECT_EQ(s.offerer.address, "192.0.2.10");
                   EXPECT_EQ(s.offerer.rtp_port, 49170u);
                   EXPECT_EQ(s.offerer.rtcp_port, 49171u);
                   EXPECT_FALSE(s.srtp_offered);
                   EXPECT_FALSE(s.rtcp_mux_offered);
                 }),
      CheckAnswer(Answer("plain_answer", b_plain, a_plain),
                  [](const AnswerRewrite& r) {
                    ASSERT_EQ(r.streams.size(), 1u);
                    const AnsweredStream& s = r.streams[0];
                    EXPECT_TRUE(s.relayed);
                    // The offerer's addresses, read from the offer again.
                    EXPECT_EQ(s.offerer.address, "192.0.2.10");
                    EXPECT_EQ(s.offerer.rtp_port, 49170u);
                    EXPECT_EQ(s.offerer.rtcp_address, "192.0.2.10");
                    EXPECT_EQ(s.offerer.rtcp_port, 49171u);
                    EXPECT_FALSE(s.offerer.null_address);
                    EXPECT_EQ(s.answerer.address, "198.51.100.77");
                    EXPECT_EQ(s.answerer.rtp_port, 20000u);
                    EXPECT_EQ(s.answerer.rtcp_port, 20001u);
                    EXPECT_FALSE(s.offerer_crypto.has_value());
                    EXPECT_FALSE(s.answerer_crypto.has_value());
                  }),

      // SRTP (Lync-like, with lifetime and MKI) to plain RTP, and back.
      Offer("srtp_to_rtp_offer", SideA(SRTP_MODE_REQUIRED), b_plain),
      CheckAnswer(
          Answer("srtp_to_rtp_answer", b_plain, SideA(SRTP_MODE_REQUIRED)),
          [](const AnswerRewrite& r) {
            const AnsweredStream& s = r.streams.at(0);
            // Tag 1 (AES_256_CM) is not ours: the first usable is tag 2.
            ASSERT_TRUE(s.offerer_crypto.has_value());
            EXPECT_EQ(s.offerer_crypto->tag, 2u);
            EXPECT_EQ(s.offerer_crypto->suite, "AES_CM_128_HMAC_SHA1_32");
            EXPECT_EQ(s.offerer_crypto->remote_key_params, kPeerA32);
            EXPECT_EQ(s.offerer_crypto->local_key_params, kA32);
            EXPECT_FALSE(s.answerer_crypto.has_value());
          }),

      // Plain RTP to SRTP (required: RTP/SAVP), rtcp-mux offered to B.
      CheckOffer(Offer("rtp_to_srtp_offer", a_plain,
                       SideB(SRTP_MODE_REQUIRED, /*rtcp_mux=*/true)),
                 [](const OfferRewrite& r) {
                   EXPECT_TRUE(r.streams.at(0).srtp_offered);
                   EXPECT_TRUE(r.streams.at(0).rtcp_mux_offered);
                 }),
      CheckAnswer(Answer("rtp_to_srtp_answer",
                         SideB(SRTP_MODE_REQUIRED, /*rtcp_mux=*/true), a_plain),
                  [](const AnswerRewrite& r) {
                    const AnsweredStream& s = r.streams.at(0);
                    ASSERT_TRUE(s.answerer_crypto.has_value());
                    EXPECT_EQ(s.answerer_crypto->tag, 1u);
                    EXPECT_EQ(s.answerer_crypto->suite,
                              "AES_CM_128_HMAC_SHA1_80");
                    EXPECT_EQ(s.answerer_crypto->remote_key_params, kPeerB80);
                    EXPECT_EQ(s.answerer_crypto->local_key_params, kB80);
                    EXPECT_TRUE(s.answerer_rtcp_mux);
                    EXPECT_FALSE(s.offerer_crypto.has_value());
                    EXPECT_FALSE(s.offerer_rtcp_mux);
                  }),

      // Optional SRTP: offered as RTP/AVP + a=crypto; the answer to A takes
      // A's first suite (GCM) although B stayed on plain RTP.
      Offer("srtp_optional_offer", SideA(SRTP_MODE_OPTIONAL),
            SideB(SRTP_MODE_OPTIONAL)),
      CheckAnswer(Answer("srtp_optional_answer", SideB(SRTP_MODE_OPTIONAL),
                         SideA(SRTP_MODE_OPTIONAL)),
                  [](const AnswerRewrite& r) {
                    const AnsweredStream& s = r.streams.at(0);
                    ASSERT_TRUE(s.offerer_crypto.has_value());
                    EXPECT_EQ(s.offerer_crypto->tag, 1u);
                    EXPECT_EQ(s.offerer_crypto->suite, "AEAD_AES_128_GCM");
                    EXPECT_EQ(s.offerer_crypto->remote_key_params, kPeerAGcm);
                    EXPECT_EQ(s.offerer_crypto->local_key_params, kAGcm);
                    EXPECT_FALSE(s.answerer_crypto.has_value());
                  }),

      // Hold and resume (re-offers: the o= version grows).
      Offer("hold_sendonly_offer", a_plain, WithVersion(b_plain, 2)),
      Answer("hold_sendonly_answer", b_plain, WithVersion(a_plain, 2)),
      Offer("hold_inactive_offer", a_plain, WithVersion(b_plain, 2)),
      CheckOffer(Offer("hold_legacy_offer", a_plain, WithVersion(b_plain, 2)),
                 [](const OfferRewrite& r) {
                   EXPECT_TRUE(r.streams.at(0).offerer.null_address);
                 }),
      CheckOffer(Offer("resume_offer", a_plain, WithVersion(b_plain, 3)),
                 [](const OfferRewrite& r) {
                   EXPECT_FALSE(r.streams.at(0).offerer.null_address);
                 }),

      // Rekey: A re-offers with a new key; the answer hands it to the relay.
      Offer("rekey_offer", SideA(SRTP_MODE_REQUIRED),
            WithVersion(SideB(SRTP_MODE_REQUIRED), 2)),
      CheckAnswer(Answer("rekey_answer", SideB(SRTP_MODE_REQUIRED),
                         WithVersion(SideA(SRTP_MODE_REQUIRED), 2)),
                  [](const AnswerRewrite& r) {
                    const AnsweredStream& s = r.streams.at(0);
                    ASSERT_TRUE(s.offerer_crypto.has_value());
                    EXPECT_EQ(s.offerer_crypto->remote_key_params,
                              kPeerARekeyed);
                    ASSERT_TRUE(s.answerer_crypto.has_value());
                    EXPECT_EQ(s.answerer_crypto->remote_key_params, kPeerB80);
                  }),

      // rtcp-mux: offered to B on a mux-only port (a=rtcp names the RTP
      // port); removed towards B, with a separate, non-adjacent RTCP port.
      Offer("rtcp_mux_offered", a_plain,
            WithPorts(SideB(SRTP_MODE_NOT_SUPPORTED, true), {{40000, 0}})),
      CheckOffer(Offer("rtcp_mux_removed", a_plain,
                       WithPorts(b_plain, {{40010, 40021}})),
                 [](const OfferRewrite& r) {
                   EXPECT_TRUE(r.streams.at(0).offerer_rtcp_mux);
                   EXPECT_FALSE(r.streams.at(0).rtcp_mux_offered);
                   EXPECT_EQ(r.streams.at(0).offerer.rtcp_port, 49170u);
                 }),
      CheckAnswer(
          Answer("rtcp_mux_accepted_answer", b_plain,
                 WithPorts(SideA(SRTP_MODE_NOT_SUPPORTED, true), {{30000, 0}})),
          [](const AnswerRewrite& r) {
            EXPECT_TRUE(r.streams.at(0).offerer_rtcp_mux);
            EXPECT_FALSE(r.streams.at(0).answerer_rtcp_mux);
          }),
      CheckAnswer(Answer("rtcp_mux_declined_answer", b_plain,
                         WithPorts(a_plain, {{30010, 30013}})),
                  [](const AnswerRewrite& r) {
                    EXPECT_FALSE(r.streams.at(0).offerer_rtcp_mux);
                  }),

      // Several m-lines: video not relayed for this call and refused; then
      // audio + video relayed with the disabled T.38 line kept at port 0.
      CheckOffer(Offer("multi_audio_only_offer", a_plain, b_plain),
                 [](const OfferRewrite& r) {
                   ASSERT_EQ(r.streams.size(), 2u);
                   EXPECT_TRUE(r.streams[0].relayed);
                   EXPECT_FALSE(r.streams[1].relayed);
                   EXPECT_THAT(r.streams[1].refusal, HasSubstr("'video'"));
                 }),
      CheckAnswer(Answer("multi_audio_only_answer", b_plain, a_plain),
                  [](const AnswerRewrite& r) {
                    ASSERT_EQ(r.streams.size(), 2u);
                    EXPECT_TRUE(r.streams[0].relayed);
                    EXPECT_FALSE(r.streams[1].relayed);
                  }),
      CheckOffer(
          Offer("multi_video_offer", WithMedia(a_plain, {"audio", "video"}),
                WithMedia(b_plain, {"audio", "video"})),
          [](const OfferRewrite& r) {
            ASSERT_EQ(r.streams.size(), 3u);
            EXPECT_EQ(r.streams[1].offerer.address, "192.0.2.71");
            EXPECT_FALSE(r.streams[2].relayed);
            EXPECT_THAT(r.streams[2].refusal, HasSubstr("port 0"));
          }),

      // ICE, BUNDLE and their kin go; mid, rtcp-fb, ssrc and codecs stay.
      CheckOffer(Offer("ice_stripped_offer", SideA(SRTP_MODE_OPTIONAL),
                       SideB(SRTP_MODE_OPTIONAL)),
                 [](const OfferRewrite& r) {
                   const OfferedStream& s = r.streams.at(0);
                   EXPECT_TRUE(s.offerer_rtcp_mux);
                   EXPECT_EQ(s.offerer.address, "192.0.2.60");
                   EXPECT_EQ(s.offerer.rtcp_address, "0.0.0.0");
                   EXPECT_EQ(s.offerer.rtcp_port, 9u);
                 }),

      CheckOffer(Offer("ipv6_offer", a_plain,
                       WithAddress(b_plain, "2001:db8:ffff::20")),
                 [](const OfferRewrite& r) {
                   const OfferedStream& s = r.streams.at(0);
                   EXPECT_EQ(s.offerer.address, "2001:db8::10");
                   EXPECT_EQ(s.offerer.rtcp_address, "2001:db8::11");
                   EXPECT_EQ(s.offerer.rtcp_port, 49175u);
                 }),

      // Valid SDP the relay cannot take.
      Fails(Offer("dtls_only_offer", SideA(SRTP_MODE_OPTIONAL),
                  SideB(SRTP_MODE_OPTIONAL)),
            absl::StatusCode::kFailedPrecondition,
            "no m-line of the offer can be relayed: m-line 0: transport "
            "'UDP/TLS/RTP/SAVPF' needs DTLS-SRTP"),
      Fails(Offer("srtp_required_plain_offer", SideA(SRTP_MODE_REQUIRED),
                  b_plain),
            absl::StatusCode::kFailedPrecondition,
            "SRTP is required on this side but the offer has no a=crypto"),
      Fails(Answer("answer_mline_count", b_plain, a_plain),
            absl::StatusCode::kInvalidArgument,
            "the answer has 1 m-lines but the offer had 2"),

      // Malformed SDP: each rejected with the line and the reason.
      Malformed("malformed_empty", "SDP is empty"),
      Malformed("malformed_no_version", "SDP line 1: SDP must start with v=0"),
      Malformed("malformed_not_sdp",
                "SDP line 1: expected '<letter>=<value>', got 'INVITE sip:"),
      Malformed("malformed_origin", "SDP line 2: o= needs 6 fields"),
      Malformed("malformed_connection",
                "SDP line 4: c= address type 'IP5' is not IP4 or IP6"),
      Malformed("malformed_port",
                "SDP line 6: m= port '70000' is not in 0..65535"),
      Malformed("malformed_mline_fields",
                "SDP line 6: m= needs '<media> <port> <proto> <fmt> ...'"),
      Malformed("malformed_rtpmap",
                "SDP line 8: a=rtpmap needs '<pt> <encoding>/<clock rate>'"),
      Malformed("malformed_crypto",
                "SDP line 7: a=crypto needs '<tag> <crypto-suite> "
                "<key-params>'"),
      Malformed("malformed_crypto_key",
                "SDP line 8: a=crypto key parameter 'cGVl"),
      Malformed("malformed_rtcp",
                "SDP line 7: a=rtcp port 'port' is not in 0..65535"),
      Malformed("malformed_direction",
                "SDP line 7: a=sendonly is a flag and takes no value"),
      Malformed("malformed_duplicate_connection",
                "SDP line 7: second c= line in an m= section"),
      Malformed("malformed_binary", "SDP line 7: control character 0x00"),
  };
}

// Failures name the case, not 400 bytes of struct.
void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.name; }

class SdpGoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(SdpGoldenTest, MatchesExpectedSdp) {
  const GoldenCase& c = GetParam();
  const std::string base = SdpDir() + c.name;
  std::string input;
  ASSERT_TRUE(ReadFile(base + ".in.sdp", &input)) << base << ".in.sdp";
  absl::StatusOr<SessionDescription> parsed = Parse(input);
  if (c.kind == Kind::kParseError) {
    ASSERT_FALSE(parsed.ok()) << "parsed although malformed";
    EXPECT_EQ(parsed.status().code(), c.code);
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.error));
    return;
  }
  ASSERT_TRUE(parsed.ok()) << parsed.status();

  std::string produced;
  absl::Status status;
  if (c.kind == Kind::kOffer) {
    absl::StatusOr<OfferRewrite> result = RewriteOffer(*parsed, c.from, c.to);
    status = result.status();
    if (result.ok()) {
      produced = Serialize(result->sdp);
      if (c.check_offer) c.check_offer(*result);
    }
  } else {
    std::string offer_text;
    ASSERT_TRUE(ReadFile(base + ".offer.sdp", &offer_text));
    absl::StatusOr<SessionDescription> offer = Parse(offer_text);
    ASSERT_TRUE(offer.ok()) << offer.status();
    absl::StatusOr<AnswerRewrite> result =
        RewriteAnswer(*offer, *parsed, c.from, c.to);
    status = result.status();
    if (result.ok()) {
      produced = Serialize(result->sdp);
      if (c.check_answer) c.check_answer(*result);
    }
  }

  if (!c.error.empty()) {
    ASSERT_FALSE(status.ok()) << "succeeded, produced:\n" << produced;
    EXPECT_EQ(status.code(), c.code) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.error));
    return;
  }
  ASSERT_TRUE(status.ok()) << status;
  std::string expected;
  ASSERT_TRUE(ReadFile(base + ".out.sdp", &expected)) << base << ".out.sdp";
  EXPECT_EQ(produced, expected);
  // What the relay sends must read back as the same SDP.
  absl::StatusOr<SessionDescription> reparsed = Parse(produced);
  ASSERT_TRUE(reparsed.ok()) << reparsed.status();
  EXPECT_EQ(Serialize(*reparsed), produced);
}

INSTANTIATE_TEST_SUITE_P(Cases, SdpGoldenTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) {
                           return info.param.name;
                         });

// Every file in testdata/sdp belongs to a case: a golden nobody checks is a
// spec nobody enforces.
TEST(SdpGoldenFilesTest, EveryFileBelongsToACase) {
  std::set<std::string> expected;
  for (const GoldenCase& c : Cases()) {
    expected.insert(c.name + ".in.sdp");
    if (c.kind == Kind::kAnswer) expected.insert(c.name + ".offer.sdp");
    if (c.kind != Kind::kParseError && c.error.empty()) {
      expected.insert(c.name + ".out.sdp");
    }
  }
  std::set<std::string> found;
  DIR* dir = opendir(SdpDir().c_str());
  ASSERT_NE(dir, nullptr) << SdpDir();
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (absl::EndsWith(name, ".sdp")) found.insert(name);
  }
  closedir(dir);
  EXPECT_EQ(found, expected);
}

// ---------------------------------------------------------------------------
// Unit tests for what the golden files do not show.

SessionDescription MustParse(absl::string_view text) {
  absl::StatusOr<SessionDescription> sdp = Parse(text);
  EXPECT_TRUE(sdp.ok()) << sdp.status();
  return sdp.ok() ? *std::move(sdp) : SessionDescription();
}

constexpr char kPlainOffer[] =
    "v=0\n"
    "o=a 1 1 IN IP4 192.0.2.1\n"
    "s=-\n"
    "c=IN IP4 192.0.2.1\n"
    "t=0 0\n"
    "m=audio 5000 RTP/AVP 0\n";

TEST(SdpRewriteOfferTest, RejectsAnIncompletePlan) {
  SessionDescription offer = MustParse(kPlainOffer);
  RelaySide a = SideA(SRTP_MODE_NOT_SUPPORTED);
  RelaySide b = SideB(SRTP_MODE_NOT_SUPPORTED);

  RelaySide unspecified = b;
  unspecified.srtp = trunkline::v1::SRTP_MODE_UNSPECIFIED;
  EXPECT_THAT(RewriteOffer(offer, a, unspecified).status().message(),
              HasSubstr("SRTP mode is unspecified"));

  RelaySide no_address = WithAddress(b, "");
  EXPECT_THAT(RewriteOffer(offer, a, no_address).status().message(),
              HasSubstr("no relay address"));

  RelaySide no_ports = WithPorts(b, {});
  absl::Status status = RewriteOffer(offer, a, no_ports).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("no valid relay ports for m-line 0"));

  RelaySide no_keys = SideB(SRTP_MODE_REQUIRED);
  no_keys.keys.clear();
  EXPECT_THAT(RewriteOffer(offer, a, no_keys).status().message(),
              HasSubstr("has no local keys"));

  RelaySide duplicate = SideB(SRTP_MODE_REQUIRED);
  duplicate.keys.push_back(duplicate.keys[0]);
  EXPECT_THAT(RewriteOffer(offer, a, duplicate).status().message(),
              HasSubstr("two keys for suite AES_CM_128_HMAC_SHA1_80"));

  RelaySide unknown_suite = SideB(SRTP_MODE_REQUIRED);
  unknown_suite.keys[0].suite = "F8_128_HMAC_SHA1_80";
  EXPECT_THAT(RewriteOffer(offer, a, unknown_suite).status().message(),
              HasSubstr("unsupported suite 'F8_128_HMAC_SHA1_80'"));

  RelaySide mux_only_without_mux = WithPorts(b, {{40000, 0}});
  EXPECT_THAT(RewriteOffer(offer, a, mux_only_without_mux).status().message(),
              HasSubstr("no RTCP port for m-line 0"));
}

TEST(SdpRewriteOfferTest, LegacyHoldOfARecvOnlyStreamBecomesInactive) {
  SessionDescription offer = MustParse(
      "v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
      "m=audio 5000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\na=recvonly\r\n"
      "m=audio 5002 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\na=recvonly\r\n");
  RelaySide a = SideA(SRTP_MODE_NOT_SUPPORTED);
  absl::StatusOr<OfferRewrite> result =
      RewriteOffer(offer, a, SideB(SRTP_MODE_NOT_SUPPORTED));
  ASSERT_TRUE(result.ok()) << result.status();
  // Held with c=0.0.0.0: "send me nothing" on top of "I send nothing".
  EXPECT_EQ(result->sdp.media[0].attributes.direction(), Direction::kInactive);
  // Not held: the peer's direction passes through.
  EXPECT_EQ(result->sdp.media[1].attributes.direction(), Direction::kRecvOnly);
}

TEST(SdpRewriteOfferTest, SessionLevelDirectionIsKept) {
  SessionDescription offer = MustParse(
      "v=0\no=a 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
      "a=sendonly\nm=audio 5000 RTP/AVP 0\n");
  absl::StatusOr<OfferRewrite> result = RewriteOffer(
      offer, SideA(SRTP_MODE_NOT_SUPPORTED), SideB(SRTP_MODE_NOT_SUPPORTED));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(EffectiveDirection(result->sdp, result->sdp.media[0]),
            Direction::kSendOnly);
}

TEST(SdpRewriteOfferTest, NotSupportedSideRefusesSavpButTakesBestEffortSrtp) {
  RelaySide a = SideA(SRTP_MODE_NOT_SUPPORTED);
  RelaySide b = SideB(SRTP_MODE_NOT_SUPPORTED);
  SessionDescription savp = MustParse(
      "v=0\no=a 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
      "m=audio 5000 RTP/SAVP 0\n"
      "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" +
      std::string(kPeerB80 + 7) + "\n");
  absl::Status status = RewriteOffer(savp, a, b).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(),
              HasSubstr("RTP/SAVP needs SRTP, which is not supported"));

  SessionDescription best_effort = savp;
  best_effort.media[0].proto = "RTP/AVP";
  absl::StatusOr<OfferRewrite> result = RewriteOffer(best_effort, a, b);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->sdp.media[0].attributes.Has("crypto"));
}

TEST(SdpRewriteOfferTest, CryptoWithSessionParamsOrSeveralKeysIsNotUsable) {
  // RFC 4568: an answerer must not accept parameters it does not know, and
  // the relay handles one key per direction.
  for (const char* crypto :
       {"1 AES_CM_128_HMAC_SHA1_80 inline:QUFB UNENCRYPTED_SRTP",
        "1 AES_CM_128_HMAC_SHA1_80 inline:QUFB|2^20|1:4;inline:QkJC|2^20|2:4",
        "1 AES_CM_128_HMAC_SHA1_80 uri:https://example.com/key"}) {
    SessionDescription offer = MustParse(
        absl::StrCat("v=0\no=a 1 1 IN IP4 192.0.2.1\ns=-\n"
                     "c=IN IP4 192.0.2.1\nt=0 0\nm=audio 5000 RTP/SAVP 0\n"
                     "a=crypto:",
                     crypto, "\n"));
    absl::Status status = RewriteOffer(offer, SideA(SRTP_MODE_REQUIRED),
                                       SideB(SRTP_MODE_REQUIRED))
                              .status();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << crypto;
  }
}

constexpr char kSrtpOffer[] =
    "v=0\no=a 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
    "m=audio 5000 RTP/SAVP 0\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
    "inline:cGVlciBBIG9mZmVyZWQga2V5IDgwIDMwIG9jdGV0\n";

std::string AnswerWithCrypto(absl::string_view crypto_lines) {
  return absl::StrCat(
      "v=0\no=b 1 1 IN IP4 198.51.100.77\ns=-\nc=IN IP4 198.51.100.77\n"
      "t=0 0\nm=audio 6000 RTP/SAVP 0\n",
      crypto_lines);
}

TEST(SdpRewriteAnswerTest, RefusesAnAnswerCryptoTheRelayDidNotOffer) {
  SessionDescription offer = MustParse(kSrtpOffer);
  RelaySide a = SideA(SRTP_MODE_REQUIRED);
  RelaySide b = SideB(SRTP_MODE_REQUIRED);
  struct {
    std::string crypto;
    std::string refusal;
  } cases[] = {
      // Tag 2 is the 32-bit suite in SideB's keys, not the 80-bit one.
      {"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:QUFB\n",
       "tag 2 with AES_CM_128_HMAC_SHA1_80 matches no crypto line"},
      {"a=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:QUFB\n", "tag 9"},
      {"", "its answer has no a=crypto"},
      {"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUFB\n"
       "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:QUFB\n",
       "2 a=crypto lines"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<AnswerRewrite> result =
        RewriteAnswer(offer, MustParse(AnswerWithCrypto(c.crypto)), b, a);
    ASSERT_TRUE(result.ok()) << result.status();
    const AnsweredStream& stream = result->streams.at(0);
    EXPECT_FALSE(stream.relayed) << c.crypto;
    EXPECT_THAT(stream.refusal, HasSubstr(c.refusal));
    // Refused towards A too, in A's offered form.
    EXPECT_EQ(result->sdp.media[0].port, 0u);
    EXPECT_EQ(result->sdp.media[0].proto, "RTP/SAVP");
    EXPECT_TRUE(result->sdp.media[0].attributes.empty());
  }
}

TEST(SdpRewriteAnswerTest, RefusesWhenNoOfferedSuiteHasALocalKey) {
  SessionDescription offer = MustParse(kSrtpOffer);
  RelaySide a = SideA(SRTP_MODE_REQUIRED);
  a.keys = {{std::string(kAeadAes128Gcm), kAGcm}};  // no AES_CM key for A
  RelaySide b = SideB(SRTP_MODE_NOT_SUPPORTED);
  absl::StatusOr<AnswerRewrite> result = RewriteAnswer(
      offer,
      MustParse("v=0\no=b 1 1 IN IP4 198.51.100.77\ns=-\n"
                "c=IN IP4 198.51.100.77\nt=0 0\nm=audio 6000 RTP/AVP 0\n"),
      b, a);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->streams[0].relayed);
  EXPECT_THAT(result->streams[0].refusal, HasSubstr("no offered SRTP suite"));
}

TEST(SdpRewriteAnswerTest, AnswerCannotReviveAStreamTheRelayRefused) {
  // Video was offered to B with port 0; B answers it with a live port anyway.
  SessionDescription offer = MustParse(
      "v=0\no=a 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
      "m=audio 5000 RTP/AVP 0\nm=video 5002 RTP/AVP 96\n");
  SessionDescription answer = MustParse(
      "v=0\no=b 1 1 IN IP4 198.51.100.77\ns=-\nc=IN IP4 198.51.100.77\n"
      "t=0 0\nm=audio 6000 RTP/AVP 0\nm=video 6002 RTP/AVP 96\n");
  RelaySide a = WithMedia(SideA(SRTP_MODE_NOT_SUPPORTED), {"audio", "video"});
  RelaySide b = SideB(SRTP_MODE_NOT_SUPPORTED);  // audio only
  absl::StatusOr<AnswerRewrite> result = RewriteAnswer(offer, answer, b, a);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->streams[0].relayed);
  EXPECT_FALSE(result->streams[1].relayed);
  EXPECT_THAT(result->streams[1].refusal,
              HasSubstr("'video' is not relayed to the answerer"));
  EXPECT_EQ(result->sdp.media[1].port, 0u);
}

TEST(SdpRewriteAnswerTest, AnswerWithoutMuxNeedsAnRtcpPort) {
  SessionDescription offer = MustParse(kPlainOffer);
  RelaySide a = WithPorts(SideA(SRTP_MODE_NOT_SUPPORTED), {{30000, 0}});
  RelaySide b = SideB(SRTP_MODE_NOT_SUPPORTED);
  absl::Status status =
      RewriteAnswer(offer,
                    MustParse("v=0\no=b 1 1 IN IP4 198.51.100.77\ns=-\n"
                              "c=IN IP4 198.51.100.77\nt=0 0\n"
                              "m=audio 6000 RTP/AVP 0\n"),
                    b, a)
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("no RTCP port for m-line 0"));
}

}  // namespace
}  // namespace trunkline::media::sdp
