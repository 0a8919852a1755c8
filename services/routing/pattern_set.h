// An ordered list of number patterns matched together, as routing needs
// them: a dial plan's rules, a route's exceptions, the policy assignments,
// every voice route of a topology. "First match wins" means the smallest
// matching index.
//
// Most number patterns start with a literal prefix ("^\+3531", "^\+44"),
// which RE2::PossibleMatchRange reveals. A long list is bucketed by that
// prefix, so a number is matched only against the patterns whose prefix it
// has: ten thousand routes cost a few hash lookups and a few DFA runs, not
// ten thousand. A bucket of a few patterns is tried pattern by pattern; a
// big one (many patterns sharing a prefix) is one RE2::Set pass.
#ifndef TRUNKLINE_SERVICES_ROUTING_PATTERN_SET_H_
#define TRUNKLINE_SERVICES_ROUTING_PATTERN_SET_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "re2/re2.h"
#include "re2/set.h"

namespace trunkline::routing {

// The shape most number patterns have, matched without RE2: a literal, then
// a run of ASCII digits of bounded length, the digits optionally in one
// capture group: "^\+1(\d{10})$", "^\+1555\d{6}$", "^9\d+$", "^112$".
// With ten thousand routes, RE2's objects (the regex, its program, its DFA
// cache and lock) are cold memory on every decision; this is one short
// string and two numbers.
struct LiteralDigitsPattern {
  std::string literal;
  int min_digits = 0;
  int max_digits = 0;  // -1: unbounded

  // The pattern read this way, or nullopt for any other pattern (RE2 then
  // matches it).
  static std::optional<LiteralDigitsPattern> Parse(absl::string_view pattern);
  // Whole-text match, as RE2::FullMatch with the pattern.
  bool Matches(absl::string_view text) const;
};

class PatternSet {
 public:
  // Fails with the pattern's own error; `what` names the list in it.
  absl::Status Build(const std::vector<std::string>& patterns,
                     absl::string_view what);
  // Indexes of every matching pattern, ascending.
  void MatchAll(absl::string_view text, std::vector<int>* matches) const;
  // The smallest matching index, or -1.
  int FirstMatch(absl::string_view text) const;
  bool empty() const { return regexes_.empty(); }
  const RE2& regex(int i) const { return *regexes_[i]; }

 private:
  // Prefixes longer than this add no selectivity worth the lookups.
  static constexpr size_t kMaxPrefix = 8;
  // Up to this many patterns are tried one by one: cheaper than a Set,
  // whose Match allocates its result set on every call.
  static constexpr size_t kScanLimit = 4;

  struct Bucket {
    std::vector<int> ids;           // ascending
    std::unique_ptr<RE2::Set> set;  // only for big buckets of RE2 patterns
  };
  void MatchBucket(const Bucket& bucket, absl::string_view text,
                   std::vector<int>* matches) const;
  bool Matches(int id, absl::string_view text) const;

  std::vector<std::unique_ptr<RE2>> regexes_;
  // Parallel to regexes_: the pattern without RE2, when it has that shape.
  std::vector<std::optional<LiteralDigitsPattern>> simple_;
  // Short lists: one bucket under "". Long lists: one per literal prefix.
  absl::flat_hash_map<std::string, Bucket> buckets_;
  // Bit n set: some bucket's prefix has n characters. A number is looked up
  // only at those lengths (a topology's routes mostly share one or two).
  uint32_t prefix_lengths_ = 0;
  // The list is one bucket, tried pattern by pattern (short lists).
  const Bucket* only_scan_ = nullptr;
};

}  // namespace trunkline::routing

#endif  // TRUNKLINE_SERVICES_ROUTING_PATTERN_SET_H_
