#include "services/routing/pattern_set.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "services/common/topology/number_rule.h"

namespace trunkline::routing {
namespace {

re2::StringPiece Piece(absl::string_view s) {
  return re2::StringPiece(s.data(), s.size());
}

// A whole-text match without submatches (RE2::FullMatch's argument
// handling skipped).
bool Matches(absl::string_view text, const RE2& re) {
  return re.Match(Piece(text), 0, text.size(), RE2::ANCHOR_BOTH, nullptr, 0);
}

// A budget per RE2::Set big enough for thousands of number patterns; when a
// DFA still runs out, matching falls back to trying each pattern (correct,
// slower) rather than failing the call.
constexpr int64_t kSetMaxMem = 64 << 20;

}  // namespace

absl::Status PatternSet::Build(const std::vector<std::string>& patterns,
                               absl::string_view what) {
  for (const std::string& pattern : patterns) {
    auto re = std::make_unique<RE2>(pattern, TopologyRe2Options());
    if (!re->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": pattern \"", pattern, "\": ", re->error()));
    }
    regexes_.push_back(std::move(re));
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
    if (ids.size() > kScanLimit) {
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
    if (Matches(text, *regexes_[id])) matches->push_back(id);
  }
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
      if (Matches(text, *regexes_[id])) return id;
    }
    return -1;
  }
  thread_local std::vector<int> matches;
  MatchAll(text, &matches);
  return matches.empty() ? -1 : matches.front();
}

}  // namespace trunkline::routing
