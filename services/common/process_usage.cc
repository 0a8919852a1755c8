#include "services/common/process_usage.h"

#include <time.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace trunkline {
namespace {

absl::StatusOr<std::string> ReadFile(const char* path) {
  std::ifstream in(path);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<ProcessUsage> ParseProcessUsage(absl::string_view stat,
                                               absl::string_view statm,
                                               int64_t ticks_per_second,
                                               int64_t page_size) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // the fields are counted from the last ')'. After it, field 3 (state) is
  // the first; utime and stime are fields 14 and 15, num_threads field 20.
  const size_t close = stat.rfind(')');
  if (close == absl::string_view::npos) {
    return absl::InvalidArgumentError("/proc stat: no ')' after the command");
  }
  const std::vector<absl::string_view> fields = absl::StrSplit(
      stat.substr(close + 1), absl::ByAnyChar(" \n"), absl::SkipEmpty());
  constexpr size_t kUtime = 14 - 3, kStime = 15 - 3, kThreads = 20 - 3;
  uint64_t utime = 0, stime = 0;
  uint32_t threads = 0;
  if (fields.size() <= kThreads || !absl::SimpleAtoi(fields[kUtime], &utime) ||
      !absl::SimpleAtoi(fields[kStime], &stime) ||
      !absl::SimpleAtoi(fields[kThreads], &threads)) {
    return absl::InvalidArgumentError(
        "/proc stat: utime, stime or num_threads missing or not a number");
  }
  // statm: "size resident shared text lib data dt", in pages.
  const std::vector<absl::string_view> pages =
      absl::StrSplit(statm, absl::ByAnyChar(" \n"), absl::SkipEmpty());
  uint64_t resident = 0;
  if (pages.size() < 2 || !absl::SimpleAtoi(pages[1], &resident)) {
    return absl::InvalidArgumentError(
        "/proc statm: the resident page count is missing or not a number");
  }
  if (ticks_per_second <= 0 || page_size <= 0) {
    return absl::InvalidArgumentError("clock ticks and page size must be > 0");
  }
  ProcessUsage usage;
  usage.cpu_seconds = static_cast<double>(utime + stime) /
                      static_cast<double>(ticks_per_second);
  usage.resident_bytes = resident * static_cast<uint64_t>(page_size);
  usage.threads = threads;
  return usage;
}

absl::StatusOr<ProcessUsage> ReadProcessUsage() {
  absl::StatusOr<std::string> stat = ReadFile("/proc/self/stat");
  if (!stat.ok()) return stat.status();
  absl::StatusOr<std::string> statm = ReadFile("/proc/self/statm");
  if (!statm.ok()) return statm.status();
  absl::StatusOr<ProcessUsage> usage = ParseProcessUsage(
      *stat, *statm, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE));
  // /proc counts CPU time in clock ticks (10 ms): a young or idle process
  // shows 0. The process CPU clock has nanoseconds.
  timespec cpu{};
  if (usage.ok() && clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0) {
    usage->cpu_seconds = static_cast<double>(cpu.tv_sec) +
                         static_cast<double>(cpu.tv_nsec) / 1e9;
  }
  return usage;
}

}  // namespace trunkline
