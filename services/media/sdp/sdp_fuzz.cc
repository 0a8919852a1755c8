// Fuzzes the SDP parser and the offer/answer rewriter: any bytes must become
// either an SDP or an error, never a crash, a hang or an SDP the relay cannot
// read back. SDP arrives from untrusted peers in every INVITE.
#include <cstddef>
#include <cstdint>
#include <string>

#include "services/media/sdp/rewriter.h"
#include "services/media/sdp/sdp.h"

namespace {

using trunkline::media::sdp::AnswerRewrite;
using trunkline::media::sdp::OfferRewrite;
using trunkline::media::sdp::Parse;
using trunkline::media::sdp::RelaySide;
using trunkline::media::sdp::Serialize;
using trunkline::media::sdp::SessionDescription;

RelaySide Side(const char* address, uint32_t base_port,
               trunkline::v1::SrtpMode srtp, bool rtcp_mux) {
  RelaySide side;
  side.address = address;
  side.srtp = srtp;
  side.rtcp_mux = rtcp_mux;
  side.media_types = {"audio", "video"};
  for (uint32_t i = 0; i < 64; ++i) {
    side.ports.push_back({base_port + 2 * i, base_port + 2 * i + 1});
  }
  side.keys = {
      {"AES_CM_128_HMAC_SHA1_80",
       "inline:QS1zaWRlIEFFU19DTSA4MCBrZXkrc2FsdCAzMG9j"},
      {"AEAD_AES_128_GCM", "inline:QS1zaWRlIEdDTSBrZXkrc2FsdCAyOCBvY3RzLg=="}};
  side.session_id = 1;
  side.session_version = 1;
  return side;
}

// What the relay sends must parse, and parse to the same text.
void CheckReadsBack(const SessionDescription& sdp) {
  const std::string text = Serialize(sdp);
  auto again = Parse(text);
  if (!again.ok() || Serialize(*again) != text) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Real SDP is a few KB; bigger inputs only slow the fuzzer down.
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto sdp = Parse(text);
  if (!sdp.ok()) {
    if (sdp.status().message().empty()) __builtin_trap();  // errors explain
    return 0;
  }
  CheckReadsBack(*sdp);

  // The first byte picks the policies, so the fuzzer explores them all.
  const uint8_t pick = size > 0 ? data[0] : 0;
  const auto mode = [](uint8_t bits) {
    switch (bits % 3) {
      case 0:
        return trunkline::v1::SRTP_MODE_REQUIRED;
      case 1:
        return trunkline::v1::SRTP_MODE_OPTIONAL;
      default:
        return trunkline::v1::SRTP_MODE_NOT_SUPPORTED;
    }
  };
  const RelaySide a = Side("203.0.113.10", 30000, mode(pick), pick & 0x10);
  const RelaySide b = Side("2001:db8::20", 40000, mode(pick >> 2), pick & 0x20);

  auto offer = trunkline::media::sdp::RewriteOffer(*sdp, a, b);
  if (offer.ok()) {
    CheckReadsBack(offer->sdp);
    if (offer->streams.size() != sdp->media.size()) __builtin_trap();
  }
  // The same SDP as an answer to itself exercises the answer path on
  // arbitrary input, including mismatched m-lines and crypto.
  auto answer = trunkline::media::sdp::RewriteAnswer(*sdp, *sdp, b, a);
  if (answer.ok()) {
    CheckReadsBack(answer->sdp);
    if (answer->sdp.media.size() != sdp->media.size()) __builtin_trap();
  }
  return 0;
}
