// Fuzzes the topology loader: YAML parsing, conversion and validation must
// turn any bytes into either a topology or errors, never a crash or a hang.
#include <cstdint>
#include <string>
#include <vector>

#include "services/common/topology/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // yaml-cpp recurses per nesting level; bound the input so that deep
  // nesting tests our code, not the fuzzer's stack.
  if (size > 64 * 1024) return 0;
  std::vector<trunkline::TopologyError> errors;
  auto topology = trunkline::LoadTopologyText(
      std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml",
      &errors);
  // Exactly one of the two outcomes.
  if ((topology == nullptr) == errors.empty()) __builtin_trap();
  return 0;
}
