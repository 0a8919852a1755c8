#include "services/common/topology/number_rule.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

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

// RE2's metacharacters: any other printable ASCII character matches itself.
bool IsMeta(char c) {
  return absl::string_view("\\.+*?()|[]{}^$").find(c) !=
         absl::string_view::npos;
}

// The number of characters `regex` matches when it is made only of
// literal characters (escaped punctuation included), or -1.
int LiteralLength(absl::string_view regex) {
  int n = 0;
  for (size_t i = 0; i < regex.size(); ++i) {
    const unsigned char c = regex[i];
    if (c == '\\') {
      // \+, \*, \#: punctuation escaped. \d, \x41, \1...: not literal.
      if (i + 1 == regex.size() ||
          !std::ispunct(static_cast<unsigned char>(regex[i + 1]))) {
        return -1;
      }
      ++i;
    } else if (c < 0x20 || c > 0x7e || IsMeta(static_cast<char>(c))) {
      return -1;
    }
    ++n;
  }
  return n;
}

// N for a group body that matches exactly N ASCII digits ("\d{N}",
// "[0-9]{N}"), or -1.
int FixedDigitCount(absl::string_view body) {
  if (!absl::ConsumePrefix(&body, "\\d") &&
      !absl::ConsumePrefix(&body, "[0-9]")) {
    return -1;
  }
  if (!absl::ConsumePrefix(&body, "{") || !absl::ConsumeSuffix(&body, "}") ||
      body.empty() || body.size() > 2) {
    return -1;
  }
  int n = 0;
  for (char c : body) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
    n = n * 10 + (c - '0');
  }
  return n;
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

absl::StatusOr<PreparedTranslation> PreparedTranslation::Prepare(
    const RE2& pattern, absl::string_view translation) {
  absl::Status valid = CheckTranslation(pattern, translation);
  if (!valid.ok()) return valid;
  PreparedTranslation prepared;
  prepared.translation_ = std::string(translation);
  int highest = 0;
  (void)WalkTranslation(
      translation,
      [&](absl::string_view text) {
        if (text.empty()) return;
        if (!prepared.pieces_.empty() && prepared.pieces_.back().group < 0) {
          prepared.pieces_.back().text.append(text.data(), text.size());
        } else {
          prepared.pieces_.push_back({std::string(text), -1});
        }
      },
      [&](int group) {
        highest = std::max(highest, group);
        prepared.pieces_.push_back({"", group});
      });
  if (highest == 0) {  // literal text and the whole number ($0) only
    prepared.direct_ = true;
    return prepared;
  }
  if (highest > 1 || pattern.NumberOfCapturingGroups() != 1) return prepared;
  // The pattern's shape: [^] prefix ( body ) [$], one group, no alternation.
  absl::string_view core = pattern.pattern();
  absl::ConsumePrefix(&core, "^");
  if (absl::EndsWith(core, "$")) {
    size_t backslashes = 0;
    while (backslashes + 1 < core.size() &&
           core[core.size() - 2 - backslashes] == '\\') {
      ++backslashes;
    }
    if (backslashes % 2 == 1) return prepared;  // an escaped "$"
    core.remove_suffix(1);
  }
  size_t open = absl::string_view::npos;
  for (size_t i = 0; i < core.size(); ++i) {
    const char c = core[i];
    if (c == '\\') {
      ++i;
    } else if (c == '[' && open == absl::string_view::npos) {
      return prepared;  // a class before the group could hide "(" or "|"
    } else if (c == '|') {
      return prepared;
    } else if (c == '(') {
      if (open != absl::string_view::npos) return prepared;
      open = i;
    } else if (c == ')') {
      if (open == absl::string_view::npos || i + 1 != core.size()) {
        return prepared;  // the group must end the pattern
      }
    }
  }
  if (open == absl::string_view::npos || !absl::EndsWith(core, ")") ||
      absl::StartsWith(core.substr(open), "(?")) {
    return prepared;
  }
  const absl::string_view prefix = core.substr(0, open);
  const absl::string_view body = core.substr(open + 1, core.size() - open - 2);
  if (body.find_first_of("()|") != absl::string_view::npos) return prepared;
  const int literal = LiteralLength(prefix);
  if (literal >= 0) {
    prepared.direct_ = true;
    prepared.group_begin_ = static_cast<size_t>(literal);
  } else if (int digits = FixedDigitCount(body); digits >= 0) {
    prepared.direct_ = true;
    prepared.group_length_ = digits;
  }
  return prepared;
}

void PreparedTranslation::ExpandMatched(const RE2& pattern,
                                        absl::string_view input,
                                        std::string* output) const {
  if (!direct_) {
    ApplyTranslation(pattern, translation_, input, output);
    return;
  }
  absl::string_view group;
  if (group_length_ >= 0) {
    const size_t n = std::min(input.size(), static_cast<size_t>(group_length_));
    group = input.substr(input.size() - n);
  } else {
    group = input.substr(std::min(group_begin_, input.size()));
  }
  output->clear();
  for (const Piece& piece : pieces_) {
    if (piece.group < 0) {
      output->append(piece.text);
    } else if (piece.group == 0) {
      output->append(input.data(), input.size());
    } else {
      output->append(group.data(), group.size());
    }
  }
}

}  // namespace trunkline
