// The release cause of a SIP-I/SIP-T gateway's ISUP message (RFC 3204,
// ITU-T Q.1912.5), for a Reason header (RFC 3326) on the other leg.
//
// A SIP-I carrier or gateway ends a call with a BYE, or refuses one with a
// 4xx-6xx, whose body carries the ISUP REL message and its Q.850 cause;
// many put no Reason header beside it. The ISUP part ends at our border
// (message_body.h), and the cause with it unless it is carried over: the
// UC side's call records then say "normal clearing" for a busy or
// unallocated number. Plain byte handling, no SIP stack.
#ifndef TRUNKLINE_SERVICES_SIGNALING_ISUP_CAUSE_H_
#define TRUNKLINE_SERVICES_SIGNALING_ISUP_CAUSE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/signaling/message_body.h"

namespace trunkline::signaling {

// The Q.850 cause value (0-127) of an ISUP Release message as an
// application/ISUP body carries it (from its message type code on: no
// routing label, no CIC), or nothing when `isup` is no well-formed REL.
std::optional<int> ReleaseCause(absl::string_view isup);

// "Q.850;cause=17;text=\"User busy\"" (the text for the causes Q.850 names
// that calls commonly end with; the cause alone for the others).
std::string Q850Reason(int cause);

// The Reason header value for a message that carries an ISUP REL: among
// the parts split off a multipart body, or as the whole body
// (`content_type` and `body`, when it was not multipart); "" otherwise.
std::string ReasonFromIsup(const std::vector<BodyPart>& parts,
                           absl::string_view content_type = "",
                           absl::string_view body = "");

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_ISUP_CAUSE_H_
