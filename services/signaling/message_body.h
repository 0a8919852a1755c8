// Message bodies of more than one part (RFC 5621): an INVITE from a UC
// front end that carries the caller's location (a PIDF-LO, RFC 6442) beside
// its SDP for an emergency call, or a SIP-I/SIP-T carrier's INVITE and
// responses that carry the ISUP message (RFC 3204) beside theirs. The B2BUA
// works on the SDP alone; the other parts are kept apart, to be forwarded
// where the trunk's configuration says so, or dropped.
//
// Plain text handling, no SIP stack: the Sofia layer splits what it
// receives, the B2BUA joins what it sends.
#ifndef TRUNKLINE_SERVICES_SIGNALING_MESSAGE_BODY_H_
#define TRUNKLINE_SERVICES_SIGNALING_MESSAGE_BODY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trunkline::signaling {

// One body part other than the session description.
struct BodyPart {
  // Content-Type as received, parameters included ("application/pidf+xml").
  std::string content_type;
  // Its type/subtype, lowercase, without parameters.
  std::string media_type;
  // Content-ID and Content-Disposition as received, or "".
  std::string content_id;
  std::string disposition;
  // Content-Disposition's handling parameter is "required", or absent
  // (RFC 3261 20.11: then "required" is assumed).
  bool required = true;
  std::string body;
};

// A body split into its session description and the rest.
struct SplitBody {
  std::string sdp;  // the application/sdp part; "" when there is none
  std::vector<BodyPart> others;
};

// Splits a message body. `content_type` is the Content-Type header's value
// with its parameters; `disposition` the message's Content-Disposition
// (applies to a body of one part). multipart/mixed and
// multipart/alternative bodies are taken apart (nested ones too, a few
// levels deep); of an alternative, the SDP is kept and the rest dropped.
// INVALID_ARGUMENT naming what is wrong: no boundary, no closing
// delimiter, a part without its blank line, two SDP parts.
absl::StatusOr<SplitBody> Split(absl::string_view content_type,
                                absl::string_view body,
                                absl::string_view disposition = "");

// A multipart/mixed body of `sdp` (first, when not empty) and `parts`;
// `content_type` gets "multipart/mixed;boundary=..." with a boundary that
// occurs in none of them.
std::string JoinMultipart(const std::string& sdp,
                          const std::vector<BodyPart>& parts,
                          std::string* content_type);

// The lowercase type/subtype of a Content-Type value, without parameters.
std::string MediaTypeOf(absl::string_view content_type);

// The types the B2BUA takes in a request's body (RFC 3261 21.4.13's Accept
// of a 415): the SDP, location objects, and the multipart bodies carrying
// them. ISUP and QSIG parts are taken too but not listed: SIP-I and SIP-T
// end here, their parts are dropped.
inline constexpr char kAcceptedBodies[] =
    "application/sdp, application/pidf+xml, multipart/mixed";

// Whether the B2BUA knows what to do with a part of this media type other
// than SDP: forward it (location) or drop it on purpose (ISUP, QSIG).
bool IsKnownPart(absl::string_view media_type);

// A PIDF-LO location object (RFC 4119, RFC 6442).
inline bool IsLocationPart(const BodyPart& part) {
  return part.media_type == "application/pidf+xml";
}

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_MESSAGE_BODY_H_
