#include "services/routing/pattern_set.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/common/topology/number_rule.h"

namespace trunkline::routing {
namespace {

re2::StringPiece Piece(absl::string_view s) {
  return re2::StringPiece(s.data(), s.size());
}

// A whole-text match without submatches (RE2::FullMatch's argument
// handling skipped).
bool Re2Matches(absl::string_view text, const RE2& re) {
  return re.Match(Piece(text), 0, text.size(), RE2::ANCHOR_BOTH, nullptr, 0);
}

// A budget per RE2::Set big enough for thousands of number patterns; when a
// DFA still runs out, matching falls back to trying each pattern (correct,
// slower) rather than failing the call.
constexpr int64_t kSetMaxMem = 64 << 20;

// `s` begins with ASCII digits: their value (at most 4 digits), advancing.
int ReadCount(absl::string_view* s) {
  int n = 0, digits = 0;
  while (!s->empty() && absl::ascii_isdigit(s->front()) && digits < 4) {
    n = n * 10 + (s->front() - '0');
    s->remove_prefix(1);
    ++digits;
  }
  return digits == 0 ? -1 : n;
}

}  // namespace

std::optional<LiteralDigitsPattern> LiteralDigitsPattern::Parse(
    absl::string_view p) {
  LiteralDigitsPattern out;
  absl::ConsumePrefix(&p, "^");
  if (absl::EndsWith(p, "$")) {
    size_t backslashes = 0;
    while (backslashes + 1 < p.size() &&
           p[p.size() - 2 - backslashes] == '\\') {
      ++backslashes;
    }
    if (backslashes % 2 == 1) return std::nullopt;  // an escaped "$"
    p.remove_suffix(1);
  }
  // The literal: printable ASCII that is not an RE2 metacharacter, or
  // escaped punctuation. A literal followed by a quantifier ("1?") is not
  // this shape: the digits part below refuses anything but "(" and \d.
  static constexpr absl::string_view kMeta = "\\.+*?()|[]{}^$";
  while (!p.empty()) {
    const char c = p.front();
    if (c == '\\' && p.size() >= 2 &&
        absl::ascii_ispunct(static_cast<unsigned char>(p[1]))) {
      out.literal.push_back(p[1]);
      p.remove_prefix(2);
    } else if (c >= 0x20 && c <= 0x7e && kMeta.find(c) == kMeta.npos) {
      out.literal.push_back(c);
      p.remove_prefix(1);
    } else {
      break;
    }
  }
  if (p.empty()) return out;  // the literal alone
  const bool group = absl::ConsumePrefix(&p, "(");
  if (!absl::ConsumePrefix(&p, "\\d") && !absl::ConsumePrefix(&p, "[0-9]")) {
    return std::nullopt;
  }
  out.min_digits = out.max_digits = 1;
  if (absl::ConsumePrefix(&p, "+")) {
    out.max_digits = -1;
  } else if (absl::ConsumePrefix(&p, "*")) {
    out.min_digits = 0;
    out.max_digits = -1;
  } else if (absl::ConsumePrefix(&p, "{")) {
    out.min_digits = out.max_digits = ReadCount(&p);
    if (out.min_digits < 0) return std::nullopt;
    if (absl::ConsumePrefix(&p, ",")) {
      out.max_digits = p.empty() || p.front() == '}' ? -1 : ReadCount(&p);
      if (out.max_digits == -1 && !p.empty() && p.front() != '}') {
        return std::nullopt;
      }
    }
    if (!absl::ConsumePrefix(&p, "}")) return std::nullopt;
    if (out.max_digits >= 0 && out.max_digits < out.min_digits) {
      return std::nullopt;
    }
  }
  if (group && !absl::ConsumePrefix(&p, ")")) return std::nullopt;
  if (!p.empty()) return std::nullopt;
  return out;
}

bool LiteralDigitsPattern::Matches(absl::string_view text) const {
  if (!absl::ConsumePrefix(&text, literal)) return false;
  const int n = static_cast<int>(text.size());
  if (n < min_digits || (max_digits >= 0 && n > max_digits)) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

absl::Status PatternSet::Build(const std::vector<std::string>& patterns,
                               absl::string_view what) {
  for (const std::string& pattern : patterns) {
    auto re = std::make_unique<RE2>(pattern, TopologyRe2Options());
    if (!re->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": pattern \"", pattern, "\": ", re->error()));
    }
    regexes_.push_back(std::move(re));
    simple_.push_back(LiteralDigitsPattern::Parse(pattern));
  }
  std::map<std::string, std::vector<int>> grouped;
  for (size_t i = 0; i < regexes_.size(); ++i) {
    std::string prefix;
    std::string min, max;
    if (regexes_.size() > kScanLimit &&
        regexes_[i]->PossibleMatchRange(&min, &max, kMaxPrefix + 1)) {
      // Every match lies between min and max, so starts with their common
      // prefix.
      size_t n = 0;
      while (n < min.size() && n < max.size() && n < kMaxPrefix &&
             min[n] == max[n]) {
        ++n;
      }
      prefix = min.substr(0, n);
    }
    grouped[prefix].push_back(static_cast<int>(i));
  }
  for (auto& [prefix, ids] : grouped) {
    Bucket bucket;
    const bool all_simple = std::all_of(ids.begin(), ids.end(), [this](int id) {
      return simple_[id].has_value();
    });
    if (ids.size() > kScanLimit && !all_simple) {
      RE2::Options options = TopologyRe2Options();
      options.set_max_mem(kSetMaxMem);
      bucket.set = std::make_unique<RE2::Set>(options, RE2::ANCHOR_BOTH);
      for (int id : ids) {
        std::string error;
        if (bucket.set->Add(Piece(patterns[id]), &error) < 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(what, ": pattern \"", patterns[id], "\": ", error));
        }
      }
      if (!bucket.set->Compile()) {
        return absl::ResourceExhaustedError(absl::StrCat(
            what, ": the patterns together exceed RE2's memory budget"));
      }
    }
    bucket.ids = std::move(ids);
    prefix_lengths_ |= 1u << prefix.size();
    buckets_.emplace(prefix, std::move(bucket));
  }
  if (buckets_.size() == 1 && buckets_.begin()->first.empty() &&
      buckets_.begin()->second.set == nullptr) {
    only_scan_ = &buckets_.begin()->second;
  }
  return absl::OkStatus();
}

void PatternSet::MatchBucket(const Bucket& bucket, absl::string_view text,
                             std::vector<int>* matches) const {
  if (bucket.set != nullptr) {
    thread_local std::vector<int> hits;
    RE2::Set::ErrorInfo info;
    if (bucket.set->Match(Piece(text), &hits, &info)) {
      for (int hit : hits) matches->push_back(bucket.ids[hit]);
      return;
    }
    if (info.kind == RE2::Set::kNoError) return;
    // Out of DFA memory: try each pattern below (still linear time each).
  }
  for (int id : bucket.ids) {
    if (Matches(id, text)) matches->push_back(id);
  }
}

bool PatternSet::Matches(int id, absl::string_view text) const {
  const std::optional<LiteralDigitsPattern>& simple = simple_[id];
  return simple ? simple->Matches(text) : Re2Matches(text, *regexes_[id]);
}

void PatternSet::MatchAll(absl::string_view text,
                          std::vector<int>* matches) const {
  matches->clear();
  for (uint32_t lengths = prefix_lengths_; lengths != 0;
       lengths &= lengths - 1) {
    const size_t n = static_cast<size_t>(__builtin_ctz(lengths));
    if (n > text.size()) break;
    auto it = buckets_.find(text.substr(0, n));
    if (it != buckets_.end()) MatchBucket(it->second, text, matches);
  }
  std::sort(matches->begin(), matches->end());
}

int PatternSet::FirstMatch(absl::string_view text) const {
  if (regexes_.empty()) return -1;
  if (only_scan_ != nullptr) {  // ids ascending: the first hit wins
    for (int id : only_scan_->ids) {
      if (Matches(id, text)) return id;
    }
    return -1;
  }
  thread_local std::vector<int> matches;
  MatchAll(text, &matches);
  return matches.empty() ? -1 : matches.front();
}

}  // namespace trunkline::routing
