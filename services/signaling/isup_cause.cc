#include "services/signaling/isup_cause.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace trunkline::signaling {
namespace {

// ITU-T Q.763: the message type code of Release.
constexpr uint8_t kRelease = 0x0C;

// Q.850's names of the causes calls commonly end with.
const char* CauseText(int cause) {
  switch (cause) {
    case 1:
      return "Unallocated (unassigned) number";
    case 3:
      return "No route to destination";
    case 16:
      return "Normal call clearing";
    case 17:
      return "User busy";
    case 18:
      return "No user responding";
    case 19:
      return "No answer from user (user alerted)";
    case 20:
      return "Subscriber absent";
    case 21:
      return "Call rejected";
    case 22:
      return "Number changed";
    case 27:
      return "Destination out of order";
    case 28:
      return "Invalid number format (address incomplete)";
    case 29:
      return "Facility rejected";
    case 31:
      return "Normal, unspecified";
    case 34:
      return "No circuit/channel available";
    case 38:
      return "Network out of order";
    case 41:
      return "Temporary failure";
    case 42:
      return "Switching equipment congestion";
    case 44:
      return "Requested circuit/channel not available";
    case 47:
      return "Resource unavailable, unspecified";
    case 57:
      return "Bearer capability not authorized";
    case 58:
      return "Bearer capability not presently available";
    case 65:
      return "Bearer capability not implemented";
    case 88:
      return "Incompatible destination";
    case 102:
      return "Recovery on timer expiry";
    case 111:
      return "Protocol error, unspecified";
    case 127:
      return "Interworking, unspecified";
    default:
      return nullptr;
  }
}

}  // namespace

std::optional<int> ReleaseCause(absl::string_view isup) {
  // Message type, then the mandatory variable part's one pointer (to the
  // cause indicators) and the pointer to the optional part; each pointer
  // counts octets from itself to its parameter's length octet.
  if (isup.size() < 3 || static_cast<uint8_t>(isup[0]) != kRelease) {
    return std::nullopt;
  }
  const size_t at = 1 + static_cast<uint8_t>(isup[1]);
  if (static_cast<uint8_t>(isup[1]) == 0 || at >= isup.size()) {
    return std::nullopt;
  }
  const size_t length = static_cast<uint8_t>(isup[at]);
  if (length < 2 || at + 1 + length > isup.size()) {
    return std::nullopt;
  }
  // Cause indicators (Q.850 2.2.5): octet 1 coding standard and location,
  // with 1a (recommendation) after it when its extension bit is 0; then
  // the cause value in the low 7 bits.
  size_t value_at = at + 2;
  if ((static_cast<uint8_t>(isup[at + 1]) & 0x80) == 0) ++value_at;
  if (value_at > at + length) return std::nullopt;
  return static_cast<uint8_t>(isup[value_at]) & 0x7F;
}

std::string Q850Reason(int cause) {
  if (const char* text = CauseText(cause)) {
    return absl::StrCat("Q.850;cause=", cause, ";text=\"", text, "\"");
  }
  return absl::StrCat("Q.850;cause=", cause);
}

std::string ReasonFromIsup(const std::vector<BodyPart>& parts,
                           absl::string_view content_type,
                           absl::string_view body) {
  std::optional<int> cause;
  for (const BodyPart& part : parts) {
    if (part.media_type == "application/isup" &&
        (cause = ReleaseCause(part.body))) {
      break;
    }
  }
  if (!cause && MediaTypeOf(content_type) == "application/isup") {
    cause = ReleaseCause(body);
  }
  return cause ? Q850Reason(*cause) : "";
}

}  // namespace trunkline::signaling
