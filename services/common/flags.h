// The flags every Trunkline binary shares, so operators and scripts meet the
// same names everywhere. Defined once here; each main reads them through
// ReadServiceFlags() after absl::ParseCommandLine.
#ifndef TRUNKLINE_SERVICES_COMMON_FLAGS_H_
#define TRUNKLINE_SERVICES_COMMON_FLAGS_H_

#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "services/common/admin_auth.h"
#include "services/common/log.h"

ABSL_DECLARE_FLAG(std::string, topology);
ABSL_DECLARE_FLAG(std::string, grpc_address);
ABSL_DECLARE_FLAG(std::string, admin_address);
ABSL_DECLARE_FLAG(std::string, metrics_address);
ABSL_DECLARE_FLAG(std::string, log_level);
ABSL_DECLARE_FLAG(std::string, routing);
ABSL_DECLARE_FLAG(std::string, media);
ABSL_DECLARE_FLAG(std::string, signaling);
ABSL_DECLARE_FLAG(std::string, admin_token_file);
ABSL_DECLARE_FLAG(std::string, admin_tls_cert);
ABSL_DECLARE_FLAG(std::string, admin_tls_key);
ABSL_DECLARE_FLAG(std::string, admin_tls_ca);

namespace trunkline {

// Addresses of the local stack: what `make run` starts and what every flag
// defaults to, so a laptop needs no flags at all.
struct ServiceAddresses {
  const char* grpc;
  const char* admin;
  const char* metrics;
};
inline constexpr ServiceAddresses kSignalingDefaults = {
    "127.0.0.1:50051", "127.0.0.1:50052", "127.0.0.1:9451"};
inline constexpr ServiceAddresses kRoutingDefaults = {
    "127.0.0.1:50061", "127.0.0.1:50062", "127.0.0.1:9461"};
inline constexpr ServiceAddresses kMediaDefaults = {
    "127.0.0.1:50071", "127.0.0.1:50072", "127.0.0.1:9471"};
inline constexpr char kDefaultTopology[] = "deploy/examples/topology.yaml";

struct ServiceFlags {
  std::string topology;
  std::string grpc_address;
  std::string admin_address;
  std::string metrics_address;
  LogLevel log_level = LogLevel::kInfo;
  std::string routing;
  std::vector<std::string> media;
  std::string signaling;
  AdminCredentialFiles admin_credentials;
};

// The admin credential flags (services and trunkctl share them).
AdminCredentialFiles ReadAdminCredentialFlags();

// Reads the shared flags; empty addresses take `defaults`. Fails with a
// message naming the flag when a value is malformed.
absl::StatusOr<ServiceFlags> ReadServiceFlags(const ServiceAddresses& defaults);

// Checks "host:port", "[v6]:port" (port 0..65535; 0 picks a free port).
absl::Status ValidateListenAddress(absl::string_view flag,
                                   absl::string_view address);

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_FLAGS_H_
