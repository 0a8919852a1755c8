// Pattern-and-translation rules, as in dial plans and trunk translation rules.
//
// A rule's pattern is RE2 and must match the whole number; its translation
// refers to capture groups as $1..$9 (or ${10} and above); "$$" is a literal
// dollar sign. The validator and the routing service share these so a rule
// that validates is a rule that runs.
#ifndef TRUNKLINE_SERVICES_COMMON_TOPOLOGY_NUMBER_RULE_H_
#define TRUNKLINE_SERVICES_COMMON_TOPOLOGY_NUMBER_RULE_H_

#include <string>

#include "absl/status/status.h"
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

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_TOPOLOGY_NUMBER_RULE_H_
