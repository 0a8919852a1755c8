// Converts a YAML document into a protobuf message by reflection, keeping the
// line every field came from.
//
// Field names are matched against the proto's JSON names (lowerCamelCase)
// and its field names (snake_case). Enum values may be written in full
// (SRTP_MODE_REQUIRED) or by their short name in any case style
// ("required", "NotSupported", "pstn-gateway"). Unknown fields and values of
// the wrong type are errors; conversion goes on after an error so that a
// file's problems are all reported at once.
#ifndef TRUNKLINE_SERVICES_COMMON_TOPOLOGY_YAML_TO_PROTO_H_
#define TRUNKLINE_SERVICES_COMMON_TOPOLOGY_YAML_TO_PROTO_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace YAML {
class Node;
}

namespace trunkline {

// Where each field of a converted message was written. Paths use proto field
// names and list indexes: "trunks[2].configuration".
class SourceMap {
 public:
  void Record(const std::string& path, int line) { lines_[path] = line; }
  // The line of `path`, or of its closest recorded ancestor; 0 if none.
  int LineOf(absl::string_view path) const;

 private:
  std::map<std::string, int, std::less<>> lines_;
};

struct SourceError {
  int line = 0;  // 1-based; 0 when unknown.
  std::string message;
};

// Fills `message` from `node`. `path` is the message's own path ("" for the
// root). Lines are 1-based.
void YamlToMessage(const YAML::Node& node, google::protobuf::Message* message,
                   const std::string& path, SourceMap* source_map,
                   std::vector<SourceError>* errors);

// Parses `text` as YAML and converts it. YAML syntax errors become
// SourceErrors with their line.
void YamlTextToMessage(absl::string_view text,
                       google::protobuf::Message* message,
                       SourceMap* source_map, std::vector<SourceError>* errors);

// The short form of an enum value name: SRTP_MODE_NOT_SUPPORTED in enum
// SrtpMode is "NOT_SUPPORTED". Input in any case style is normalised to
// UPPER_SNAKE first. Exposed for tests.
std::string NormalizeEnumSpelling(absl::string_view text);

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_TOPOLOGY_YAML_TO_PROTO_H_
