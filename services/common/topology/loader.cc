#include "services/common/topology/loader.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "services/common/topology/defaults.h"
#include "services/common/topology/validator.h"
#include "services/common/topology/yaml_to_proto.h"
#include "services/common/utf8.h"

namespace trunkline {

std::string TopologyError::ToString() const {
  if (line > 0) return absl::StrCat(file, ":", line, ": ", message);
  return absl::StrCat(file, ": ", message);
}

std::string TopologyContentHash(const v1::Topology& topology) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    topology.SerializeToCodedStream(&coded);
  }
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64 offset basis
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return absl::StrFormat("%016x", hash);
}

namespace {

// A topology that is not UTF-8 (a file saved as Latin-1, say) is refused
// at its first such byte: YAML text must be Unicode, and its names and
// numbers end up in protobuf string fields (utf8.h).
std::optional<SourceError> FirstNonUtf8Byte(absl::string_view text) {
  const std::optional<size_t> at = FirstInvalidUtf8(text);
  if (!at) return std::nullopt;
  const absl::string_view before = text.substr(0, *at);
  const size_t line_start = before.rfind('\n');
  const size_t column =
      line_start == absl::string_view::npos ? *at + 1 : *at - line_start;
  return SourceError{
      int(std::count(before.begin(), before.end(), '\n')) + 1,
      absl::StrFormat("not valid UTF-8: byte 0x%02X at column %d (YAML text "
                      "must be UTF-8; was the file saved as Latin-1 or "
                      "Windows-1252?)",
                      uint8_t(text[*at]), int(column))};
}

}  // namespace

std::shared_ptr<const LoadedTopology> LoadTopologyText(
    absl::string_view text, const std::string& file,
    std::vector<TopologyError>* errors) {
  if (std::optional<SourceError> e = FirstNonUtf8Byte(text)) {
    errors->push_back({file, e->line, std::move(e->message)});
    return nullptr;
  }
  auto loaded = std::make_shared<LoadedTopology>();
  loaded->file = file;
  SourceMap source_map;
  std::vector<SourceError> source_errors;
  YamlTextToMessage(text, &loaded->topology, &source_map, &source_errors);
  // Semantic checks only make sense on a document that converted cleanly;
  // otherwise they would report the consequences of the syntax errors.
  if (source_errors.empty()) {
    source_errors = ValidateTopology(loaded->topology, source_map);
  }
  if (!source_errors.empty()) {
    std::stable_sort(source_errors.begin(), source_errors.end(),
                     [](const SourceError& a, const SourceError& b) {
                       return a.line < b.line;
                     });
    for (SourceError& e : source_errors) {
      errors->push_back({file, e.line, std::move(e.message)});
    }
    return nullptr;
  }
  ApplyTopologyDefaults(&loaded->topology);
  loaded->version = loaded->topology.version().empty()
                        ? "sha-" + TopologyContentHash(loaded->topology)
                        : loaded->topology.version();
  return loaded;
}

std::shared_ptr<const LoadedTopology> LoadTopologyFile(
    const std::string& path, std::vector<TopologyError>* errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors->push_back({path, 0, "cannot open the file"});
    return nullptr;
  }
  std::stringstream text;
  text << in.rdbuf();
  return LoadTopologyText(text.str(), path, errors);
}

absl::Status ErrorsToStatus(const std::vector<TopologyError>& errors) {
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrJoin(errors, "\n", [](std::string* out, const TopologyError& e) {
        out->append(e.ToString());
      }));
}

}  // namespace trunkline
