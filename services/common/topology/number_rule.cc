#include "services/common/topology/number_rule.h"

#include <cctype>

#include "absl/strings/str_cat.h"

namespace trunkline {
namespace {

constexpr int kMaxGroups = 32;

// Walks `translation`, calling `on_literal(text)` and `on_group(n)`.
// Returns an error for a malformed reference.
template <typename Literal, typename Group>
absl::Status WalkTranslation(absl::string_view translation, Literal on_literal,
                             Group on_group) {
  size_t i = 0;
  while (i < translation.size()) {
    size_t dollar = translation.find('$', i);
    if (dollar == absl::string_view::npos) {
      on_literal(translation.substr(i));
      return absl::OkStatus();
    }
    on_literal(translation.substr(i, dollar - i));
    if (dollar + 1 >= translation.size()) {
      return absl::InvalidArgumentError("translation ends with a lone \"$\"");
    }
    char next = translation[dollar + 1];
    if (next == '$') {
      on_literal("$");
      i = dollar + 2;
    } else if (std::isdigit(static_cast<unsigned char>(next))) {
      on_group(next - '0');
      i = dollar + 2;
    } else if (next == '{') {
      size_t close = translation.find('}', dollar);
      int group = 0;
      bool digits = close != absl::string_view::npos && close > dollar + 2;
      for (size_t k = dollar + 2; digits && k < close; ++k) {
        digits = std::isdigit(static_cast<unsigned char>(translation[k]));
        group = group * 10 + (translation[k] - '0');
        if (group > kMaxGroups) digits = false;
      }
      if (!digits) {
        return absl::InvalidArgumentError(
            "translation has a malformed ${n} group reference");
      }
      on_group(group);
      i = close + 1;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "translation has \"$", std::string(1, next),
          "\": write $1..$9 or ${n} for a group, $$ for a dollar sign"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

const RE2::Options& TopologyRe2Options() {
  static const RE2::Options* options = [] {
    auto* o = new RE2::Options();
    o->set_log_errors(false);
    o->set_max_mem(1 << 20);
    return o;
  }();
  return *options;
}

absl::Status CheckTranslation(const RE2& pattern,
                              absl::string_view translation) {
  int highest = 0;
  absl::Status status = WalkTranslation(
      translation, [](absl::string_view) {},
      [&](int group) { highest = std::max(highest, group); });
  if (!status.ok()) return status;
  if (highest > pattern.NumberOfCapturingGroups()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "translation uses $", highest, " but the pattern has only ",
        pattern.NumberOfCapturingGroups(), " capture group",
        pattern.NumberOfCapturingGroups() == 1 ? "" : "s"));
  }
  return absl::OkStatus();
}

bool ApplyTranslation(const RE2& pattern, absl::string_view translation,
                      absl::string_view input, std::string* output) {
  const int groups = std::min(pattern.NumberOfCapturingGroups(), kMaxGroups);
  re2::StringPiece captures[kMaxGroups + 1];
  if (!pattern.Match(re2::StringPiece(input.data(), input.size()), 0,
                     input.size(), RE2::ANCHOR_BOTH, captures, groups + 1)) {
    return false;
  }
  output->clear();
  absl::Status status = WalkTranslation(
      translation,
      [&](absl::string_view text) { output->append(text.data(), text.size()); },
      [&](int group) {
        if (group <= groups) {
          output->append(captures[group].data(), captures[group].size());
        }
      });
  return status.ok();
}

}  // namespace trunkline
