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

// The first byte of `text` that is not part of well-formed UTF-8 (RFC 3629
// section 4: no overlong forms, no surrogates, nothing above U+10FFFF), as
// a message with its line; nullopt when the whole text is UTF-8. YAML text
// must be Unicode, and every name and number in it ends up in protobuf
// string fields, which peers refuse to parse unless they are UTF-8: a file
// saved as Latin-1 would load here and then break every RPC that carries
// one of its names.
std::optional<SourceError> FirstNonUtf8Byte(absl::string_view text) {
  int line = 1;
  size_t line_start = 0;
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](size_t k) { return uint8_t(text[k]); };
    const uint8_t b = byte(i);
    size_t length = 0;
    uint8_t second_min = 0x80, second_max = 0xBF;
    if (b < 0x80) {
      length = 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
      length = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      length = 3;
      if (b == 0xE0) second_min = 0xA0;  // overlong
      if (b == 0xED) second_max = 0x9F;  // surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      length = 4;
      if (b == 0xF0) second_min = 0x90;  // overlong
      if (b == 0xF4) second_max = 0x8F;  // above U+10FFFF
    }
    bool ok = length > 0 && i + length <= text.size();
    for (size_t k = 1; ok && k < length; ++k) {
      const uint8_t lo = k == 1 ? second_min : 0x80;
      const uint8_t hi = k == 1 ? second_max : 0xBF;
      ok = byte(i + k) >= lo && byte(i + k) <= hi;
    }
    if (!ok) {
      return SourceError{
          line, absl::StrFormat(
                    "not valid UTF-8: byte 0x%02X at column %d (YAML text "
                    "must be UTF-8; was the file saved as Latin-1 or "
                    "Windows-1252?)",
                    b, int(i - line_start + 1))};
    }
    if (b == '\n') {
      ++line;
      line_start = i + 1;
    }
    i += length;
  }
  return std::nullopt;
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
