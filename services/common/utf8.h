// UTF-8 checks at the edges where outside text enters protobuf string
// fields: a topology file, SIP headers, SDP. Protobuf refuses to parse a
// string field that is not UTF-8, so such text would load or be accepted
// here and then fail every RPC that carries it (the peer answers "unable
// to parse request").
#ifndef TRUNKLINE_SERVICES_COMMON_UTF8_H_
#define TRUNKLINE_SERVICES_COMMON_UTF8_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace trunkline {

// The offset of the first byte of `text` that is not part of well-formed
// UTF-8 (RFC 3629 section 4: no overlong forms, no surrogates, nothing
// above U+10FFFF); nullopt when all of it is.
std::optional<size_t> FirstInvalidUtf8(absl::string_view text);

inline bool IsValidUtf8(absl::string_view text) {
  return !FirstInvalidUtf8(text).has_value();
}

// `text` with each byte that is not part of well-formed UTF-8 replaced by
// `replacement` (an ASCII character); valid text comes back unchanged.
std::string ReplaceInvalidUtf8(absl::string_view text, char replacement = '?');

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_UTF8_H_
