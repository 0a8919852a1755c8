// What the B2BUA sees of a SIP request, read out of Sofia-SIP's parsed
// message; and Sofia's parser run over one raw datagram, for the fuzzer and
// tests. Includes Sofia's headers: only code under sofia/ may include this.
#ifndef TRUNKLINE_SERVICES_SIGNALING_SOFIA_SIP_MESSAGE_H_
#define TRUNKLINE_SERVICES_SIGNALING_SOFIA_SIP_MESSAGE_H_

#include <sofia-sip/sip.h>
#include <sofia-sip/su_alloc.h>

#include <optional>

#include "absl/strings/string_view.h"
#include "services/signaling/sip_stack.h"

namespace trunkline::signaling {

// Sofia's SIP parser with the headers we read beyond the default set
// (P-Asserted-Identity and its kin, RFC 3325): the agent's and the fuzzer's.
// Built once; never freed.
msg_mclass_t const* SipParser();

// A message's body as the B2BUA takes it: a multipart one (RFC 5621), when
// `split` (a message that may carry an offer or answer), split into its SDP
// (`body`, `content_type` "application/sdp", both empty when it has none)
// and the other parts; an SDP body as it is ("application/sdp" whatever its
// parameters); any other body as it is, its Content-Type with its
// parameters (a boundary, a charset).
struct MessageBody {
  std::string content_type;
  std::string body;
  std::vector<BodyPart> others;
  // A multipart body that could not be taken apart: why (the body and its
  // Content-Type stay as received).
  std::string error;
};
MessageBody BodyOf(su_home_t* home, const sip_t* sip, bool split = true);

// The request's fields as IncomingRequest has them (source left empty: the
// transport knows it). `sip` must be a request.
IncomingRequest DescribeRequest(su_home_t* home, const sip_t* sip);

// A request within a dialog as DialogRequest has it: the method, the body
// and the end-to-end headers (IsEndToEndHeader) in their order.
DialogRequest DescribeDialogRequest(su_home_t* home, const sip_t* sip);

// Parses `datagram` as Sofia's transport does a UDP datagram (one message;
// trailing octets ignored) and describes it. Nothing when it is not a
// request Sofia would hand on: unparsable, a response, or missing what
// nta requires (Via, Call-ID, From, To, CSeq).
std::optional<IncomingRequest> ParseDatagram(absl::string_view datagram);
// The same, described as a request within a dialog.
std::optional<DialogRequest> ParseDialogDatagram(absl::string_view datagram);

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_SOFIA_SIP_MESSAGE_H_
