#include "services/common/log.h"

#include <unistd.h>

#include <atomic>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace trunkline {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
// Set once by main before threads start; read-only afterwards.
std::string& ServiceName() {
  static std::string* name = new std::string("trunkline");
  return *name;
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown log level \"", name, "\": use debug, info, warning or error"));
}

absl::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void SetLogLevel(LogLevel level) {
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void SetLogService(absl::string_view service) {
  ServiceName() = std::string(service);
}

std::string LogfmtValue(absl::string_view value) {
  bool needs_quotes = value.empty();
  for (char c : value) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) {
      needs_quotes = true;
      break;
    }
  }
  if (!needs_quotes) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  out += '"';
  return out;
}

LogLine::LogLine(LogLevel level, absl::string_view message) {
  line_.reserve(160);
  absl::StrAppend(&line_, "ts=",
                  absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                   absl::UTCTimeZone()),
                  " level=", LogLevelName(level), " service=", ServiceName(),
                  " msg=", LogfmtValue(message));
}

LogLine::~LogLine() {
  line_ += '\n';
  // One write so concurrent lines do not interleave; a failed log write has
  // nowhere better to go.
  ssize_t ignored = ::write(STDERR_FILENO, line_.data(), line_.size());
  (void)ignored;
}

void LogLine::AppendField(absl::string_view key, absl::string_view value) {
  absl::StrAppend(&line_, " ", key, "=", LogfmtValue(value));
}

}  // namespace trunkline
