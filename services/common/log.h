// Structured logging: one logfmt line per event on stderr.
//
//   TL_LOG(kInfo, "topology loaded").With("version", v).With("file", path);
//
// prints
//
//   ts=2026-11-24T10:00:00.123Z level=info service=routing
//   msg="topology loaded" version=abc file=/etc/t.yaml
//
// The line is written when the statement ends, in one write(2), so lines from
// different threads never interleave. Levels below the one set by
// --log_level cost one comparison.
#ifndef TRUNKLINE_SERVICES_COMMON_LOG_H_
#define TRUNKLINE_SERVICES_COMMON_LOG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace trunkline {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Parses "debug", "info", "warning" (or "warn"), "error".
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);
absl::string_view LogLevelName(LogLevel level);

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// The `service=` field of every line, set once by main.
void SetLogService(absl::string_view service);

// One log line under construction. Quotes values that need it.
class LogLine {
 public:
  LogLine(LogLevel level, absl::string_view message);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  template <typename T>
  LogLine& With(absl::string_view key, const T& value) {
    AppendField(key, absl::StrCat(value));
    return *this;
  }
  LogLine& With(absl::string_view key, bool value) {
    AppendField(key, value ? "true" : "false");
    return *this;
  }

 private:
  void AppendField(absl::string_view key, absl::string_view value);
  std::string line_;
};

// Renders a value for logfmt: bare when safe, quoted and escaped otherwise.
std::string LogfmtValue(absl::string_view value);

}  // namespace trunkline

#define TL_LOG(level, message)                                  \
  if (!::trunkline::LogEnabled(::trunkline::LogLevel::level)) { \
  } else                                                        \
    ::trunkline::LogLine(::trunkline::LogLevel::level, (message))

#endif  // TRUNKLINE_SERVICES_COMMON_LOG_H_
