// Loads a topology file: YAML -> proto -> semantic checks -> defaults.
//
//   std::vector<TopologyError> errors;
//   auto topology = LoadTopologyFile("topology.yaml", &errors);
//   if (topology == nullptr) for (auto& e : errors) puts(e.ToString());
//
// Every error names the file, the line and the reason, and all of them come
// at once: `topology.yaml:42: trunk "itsp-a": gateway "itsp-gw" is not
// defined`.
#ifndef TRUNKLINE_SERVICES_COMMON_TOPOLOGY_LOADER_H_
#define TRUNKLINE_SERVICES_COMMON_TOPOLOGY_LOADER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "trunkline/v1/topology.pb.h"

namespace trunkline {

// A topology that passed validation, with defaults filled in. Immutable once
// built; shared between threads through std::shared_ptr<const ...>.
struct LoadedTopology {
  v1::Topology topology;
  // Where it came from.
  std::string file;
  // `topology.version`, or "sha-" and a hash of the content when unset.
  std::string version;
};

struct TopologyError {
  std::string file;
  int line = 0;
  std::string message;
  // "file:line: message" (no line part when the line is unknown).
  std::string ToString() const;
};

// Returns nullptr and fills `errors` when the file cannot be read or is not a
// valid topology.
std::shared_ptr<const LoadedTopology> LoadTopologyFile(
    const std::string& path, std::vector<TopologyError>* errors);

// The same for text already in memory; `file` names it in errors.
std::shared_ptr<const LoadedTopology> LoadTopologyText(
    absl::string_view text, const std::string& file,
    std::vector<TopologyError>* errors);

// The errors as one Status (INVALID_ARGUMENT, one error per line).
absl::Status ErrorsToStatus(const std::vector<TopologyError>& errors);

// A stable content hash (FNV-1a over the deterministic serialization).
std::string TopologyContentHash(const v1::Topology& topology);

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_TOPOLOGY_LOADER_H_
