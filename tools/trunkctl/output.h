// Output helpers shared by trunkctl's commands: tables for people, proto
// JSON for scripts, and the exit codes scripts can rely on.
#ifndef TRUNKLINE_TOOLS_TRUNKCTL_OUTPUT_H_
#define TRUNKLINE_TOOLS_TRUNKCTL_OUTPUT_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace trunkline::trunkctl {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // invalid input, refused, not found
inline constexpr int kExitUsage = 2;        // bad command line
inline constexpr int kExitUnavailable = 3;  // a service could not be reached

enum class OutputFormat { kTable, kJson };
absl::StatusOr<OutputFormat> ParseOutputFormat(const std::string& text);

// Proto JSON (field names as in the proto's JSON form), pretty-printed.
std::string ToJson(const google::protobuf::Message& message);

// A left-aligned text table with a header row.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<std::string> row);
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace trunkline::trunkctl

#endif  // TRUNKLINE_TOOLS_TRUNKCTL_OUTPUT_H_
