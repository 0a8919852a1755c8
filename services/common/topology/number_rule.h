// Pattern-and-translation rules, as in dial plans and trunk translation rules.
//
// A rule's pattern is RE2 and must match the whole number; its translation
// refers to capture groups as $1..$9 (or ${10} and above); "$$" is a literal
// dollar sign. The validator and the routing service share these so a rule
// that validates is a rule that runs.
#ifndef TRUNKLINE_SERVICES_COMMON_TOPOLOGY_NUMBER_RULE_H_
#define TRUNKLINE_SERVICES_COMMON_TOPOLOGY_NUMBER_RULE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "re2/re2.h"

namespace trunkline {

// RE2 options for topology patterns: no logging of errors to stderr (they
// are reported through the validator), and a memory budget so that a
// pathological pattern is refused rather than slow.
const RE2::Options& TopologyRe2Options();

// Checks that `translation` only refers to groups that `pattern` has.
absl::Status CheckTranslation(const RE2& pattern,
                              absl::string_view translation);

// Matches `input` in full against `pattern` and expands `translation`.
// Returns false when the pattern does not match.
bool ApplyTranslation(const RE2& pattern, absl::string_view translation,
                      absl::string_view input, std::string* output);

// A translation prepared once for its pattern, for the request path: the
// translation split into literal text and group references, and, for the
// shapes number rules nearly always have, where group 1 lies in a number
// the pattern matches, so that expanding it needs no second, capturing,
// regex run (the costliest regex work of a routing decision):
//
//   ^\+1(\d{10})$, ^9(\d+)$   a literal, then the group to the end:
//                              group 1 is the number after the literal;
//   ^\+?1?(\d{10})$           anything without groups or alternation, then
//                              a fixed count of \d at the end: group 1 is
//                              that many last characters.
//
// Any other pattern expands through ApplyTranslation (same result, slower).
class PreparedTranslation {
 public:
  // Fails as CheckTranslation does.
  static absl::StatusOr<PreparedTranslation> Prepare(
      const RE2& pattern, absl::string_view translation);

  // Writes the translation of `input`, which `pattern` (the one prepared
  // for) is known to match in full.
  void ExpandMatched(const RE2& pattern, absl::string_view input,
                     std::string* output) const;

  // True when expanding runs no regex.
  bool direct() const { return direct_; }

 private:
  struct Piece {
    std::string text;  // when group < 0
    int group = -1;
  };
  std::string translation_;
  std::vector<Piece> pieces_;
  bool direct_ = false;
  // Where group 1 is, when direct_: from `group_begin_` to the end, or, when
  // group_length_ >= 0, the last `group_length_` characters.
  size_t group_begin_ = 0;
  int group_length_ = -1;
};

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_TOPOLOGY_NUMBER_RULE_H_
