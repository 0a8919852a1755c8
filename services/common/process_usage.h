// What the process itself uses, from /proc/self (Linux): CPU time, resident
// memory and threads, for the node status every service serves.
#ifndef TRUNKLINE_SERVICES_COMMON_PROCESS_USAGE_H_
#define TRUNKLINE_SERVICES_COMMON_PROCESS_USAGE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trunkline {

struct ProcessUsage {
  // User and system CPU time since the process started.
  double cpu_seconds = 0;
  uint64_t resident_bytes = 0;
  uint32_t threads = 0;
};

// Parses the contents of /proc/<pid>/stat and /proc/<pid>/statm (see
// proc(5)); `ticks_per_second` is sysconf(_SC_CLK_TCK), `page_size`
// sysconf(_SC_PAGESIZE). INVALID_ARGUMENT when either text is not in that
// format.
absl::StatusOr<ProcessUsage> ParseProcessUsage(absl::string_view stat,
                                               absl::string_view statm,
                                               int64_t ticks_per_second,
                                               int64_t page_size);

// This process's usage now. UNAVAILABLE when /proc/self cannot be read.
absl::StatusOr<ProcessUsage> ReadProcessUsage();

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_PROCESS_USAGE_H_
