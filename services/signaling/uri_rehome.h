// A URI from one leg, made to point at us on the other (topology hiding
// for the URIs that requests within a call carry end to end).
#ifndef TRUNKLINE_SERVICES_SIGNALING_URI_REHOME_H_
#define TRUNKLINE_SERVICES_SIGNALING_URI_REHOME_H_

#include <functional>
#include <string>

#include "absl/strings/string_view.h"

namespace trunkline::signaling {

// RFC 3986 percent-decoding, as a URI's user part and embedded headers are
// escaped (RFC 3261 19.1.1); a '%' not followed by two hex digits stays.
std::string PercentDecode(absl::string_view in);

// `value`, a header value holding one URI (name-addr or addr-spec, as in
// Refer-To and Referred-By), with its URI's scheme, host, port and
// transport replaced by those of `our_contact` (our Contact on the leg it
// is sent on, e.g. "<sip:203.0.113.10:5070;transport=tcp>"); its user
// part, other URI parameters (user=phone), embedded headers (Replaces),
// display name and header parameters are kept. A passed-through REFER's
// target then names a number at us rather than an address in the
// referrer's network: the referee's INVITE comes to us, on the port that
// tells which trunk it is, and is routed like any call. Anything but a
// sip or sips URI (tel:) names no address and is returned as it is, and
// so is `value` when `our_contact` has no host.
//
// With `replaces`, an embedded Replaces header (an attended transfer) is
// passed to it unescaped and its result goes in its place, escaped: the
// Replaces names the referrer's dialog with us, whose Call-ID and tags the
// referee must not see (topology hiding); the caller swaps them for ones
// of its own that it can map back.
std::string RehomeUri(
    absl::string_view value, absl::string_view our_contact,
    const std::function<std::string(const std::string&)>& replaces = {});

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_URI_REHOME_H_
