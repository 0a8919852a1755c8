// The example topology (deploy/examples/topology.yaml) for the signaling
// unit tests, found through TRUNKLINE_SOURCE_DIR as ctest sets it.
#ifndef TRUNKLINE_SERVICES_SIGNALING_EXAMPLE_TOPOLOGY_FOR_TEST_H_
#define TRUNKLINE_SERVICES_SIGNALING_EXAMPLE_TOPOLOGY_FOR_TEST_H_

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/common/topology/loader.h"
#include "trunkline/v1/topology.pb.h"

namespace trunkline::signaling::testing {

// The example, or an empty topology and a test failure if it cannot load.
inline v1::Topology ExampleTopology() {
  const char* dir = std::getenv("TRUNKLINE_SOURCE_DIR");
  std::vector<TopologyError> errors;
  auto loaded = LoadTopologyFile(
      std::string(dir ? dir : ".") + "/deploy/examples/topology.yaml", &errors);
  if (loaded == nullptr) {
    ADD_FAILURE() << "cannot load deploy/examples/topology.yaml";
    return v1::Topology();
  }
  return loaded->topology;
}

// `topology` with every credential's password in a file of this test's own
// (ctest runs tests in parallel processes), as a Secret mount would hold it.
inline v1::Topology WithPasswordFile(v1::Topology topology,
                                     const std::string& password = "s3cret") {
  const std::string file =
      ::testing::TempDir() + "/itsp-password-" +
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::ofstream(file) << password << "\n";
  for (v1::Credential& c : *topology.mutable_credentials()) {
    c.set_password_file(file);
  }
  return topology;
}

}  // namespace trunkline::signaling::testing

#endif  // TRUNKLINE_SERVICES_SIGNALING_EXAMPLE_TOPOLOGY_FOR_TEST_H_
