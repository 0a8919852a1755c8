#include "services/common/utf8.h"

#include <cstdint>

namespace trunkline {
namespace {

// The length of the well-formed UTF-8 sequence at `text[i]`, or 0.
size_t SequenceAt(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return uint8_t(text[k]); };
  const uint8_t b = byte(i);
  size_t length = 0;
  uint8_t second_min = 0x80, second_max = 0xBF;
  if (b < 0x80) {
    return 1;
  } else if (b >= 0xC2 && b <= 0xDF) {
    length = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    length = 3;
    if (b == 0xE0) second_min = 0xA0;  // overlong
    if (b == 0xED) second_max = 0x9F;  // UTF-16 surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    length = 4;
    if (b == 0xF0) second_min = 0x90;  // overlong
    if (b == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // a continuation byte, C0, C1, F5..FF
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    const uint8_t lo = k == 1 ? second_min : 0x80;
    const uint8_t hi = k == 1 ? second_max : 0xBF;
    if (byte(i + k) < lo || byte(i + k) > hi) return 0;
  }
  return length;
}

}  // namespace

std::optional<size_t> FirstInvalidUtf8(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = SequenceAt(text, i);
    if (length == 0) return i;
    i += length;
  }
  return std::nullopt;
}

std::string ReplaceInvalidUtf8(absl::string_view text, char replacement) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t length = SequenceAt(text, i);
    if (length == 0) {
      out.push_back(replacement);
      ++i;
    } else {
      out.append(text.data() + i, length);
      i += length;
    }
  }
  return out;
}

}  // namespace trunkline
