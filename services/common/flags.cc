#include "services/common/flags.h"

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "services/common/status_macros.h"

ABSL_FLAG(std::string, topology, trunkline::kDefaultTopology,
          "Topology file (YAML in the schema of "
          "proto/trunkline/v1/topology.proto).");
ABSL_FLAG(std::string, grpc_address, "",
          "host:port of this service's API (default: the local stack's).");
ABSL_FLAG(std::string, admin_address, "",
          "host:port of this service's admin API.");
ABSL_FLAG(std::string, metrics_address, "",
          "host:port serving Prometheus /metrics.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error.");
ABSL_FLAG(std::string, routing, trunkline::kRoutingDefaults.grpc,
          "host:port of the routing service.");
ABSL_FLAG(std::string, media, trunkline::kMediaDefaults.grpc,
          "Comma-separated host:port list of media instances.");
ABSL_FLAG(std::string, signaling, trunkline::kSignalingDefaults.admin,
          "host:port of the signaling service's admin API.");

ABSL_FLAG(std::string, admin_token_file, trunkline::kDefaultAdminTokenFile,
          "File holding the admin API bearer token (created with a random "
          "token when absent).");
ABSL_FLAG(std::string, admin_tls_cert, "",
          "PEM certificate for mutual TLS on the admin API (instead of the "
          "token); with --admin_tls_key and --admin_tls_ca.");
ABSL_FLAG(std::string, admin_tls_key, "", "PEM key for --admin_tls_cert.");
ABSL_FLAG(std::string, admin_tls_ca, "",
          "PEM CA bundle that signs the other side's certificate.");

namespace trunkline {

AdminCredentialFiles ReadAdminCredentialFlags() {
  AdminCredentialFiles files;
  files.token_file = absl::GetFlag(FLAGS_admin_token_file);
  files.tls_cert = absl::GetFlag(FLAGS_admin_tls_cert);
  files.tls_key = absl::GetFlag(FLAGS_admin_tls_key);
  files.tls_ca = absl::GetFlag(FLAGS_admin_tls_ca);
  return files;
}

absl::Status ValidateListenAddress(absl::string_view flag,
                                   absl::string_view address) {
  size_t colon = address.rfind(':');
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "=", address, ": ", why, " (expected host:port)"));
  };
  if (colon == absl::string_view::npos || colon == 0) return bad("no host");
  absl::string_view host = address.substr(0, colon);
  if (host.front() == '[' && host.back() != ']') return bad("unclosed [");
  uint32_t port;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port > 65535) {
    return bad("port is not a number from 0 to 65535");
  }
  return absl::OkStatus();
}

absl::StatusOr<ServiceFlags> ReadServiceFlags(
    const ServiceAddresses& defaults) {
  ServiceFlags flags;
  flags.topology = absl::GetFlag(FLAGS_topology);
  auto pick = [](const std::string& value, const char* fallback) {
    return value.empty() ? std::string(fallback) : value;
  };
  flags.grpc_address = pick(absl::GetFlag(FLAGS_grpc_address), defaults.grpc);
  flags.admin_address =
      pick(absl::GetFlag(FLAGS_admin_address), defaults.admin);
  flags.metrics_address =
      pick(absl::GetFlag(FLAGS_metrics_address), defaults.metrics);
  RETURN_IF_ERROR(ValidateListenAddress("grpc_address", flags.grpc_address));
  RETURN_IF_ERROR(ValidateListenAddress("admin_address", flags.admin_address));
  RETURN_IF_ERROR(
      ValidateListenAddress("metrics_address", flags.metrics_address));
  ASSIGN_OR_RETURN(flags.log_level,
                   ParseLogLevel(absl::GetFlag(FLAGS_log_level)));
  flags.routing = absl::GetFlag(FLAGS_routing);
  RETURN_IF_ERROR(ValidateListenAddress("routing", flags.routing));
  for (absl::string_view media :
       absl::StrSplit(absl::GetFlag(FLAGS_media), ',', absl::SkipEmpty())) {
    RETURN_IF_ERROR(ValidateListenAddress("media", media));
    flags.media.emplace_back(media);
  }
  flags.signaling = absl::GetFlag(FLAGS_signaling);
  RETURN_IF_ERROR(ValidateListenAddress("signaling", flags.signaling));
  flags.admin_credentials = ReadAdminCredentialFlags();
  const AdminCredentialFiles& admin = flags.admin_credentials;
  const int tls_files =
      !admin.tls_cert.empty() + !admin.tls_key.empty() + !admin.tls_ca.empty();
  if (tls_files != 0 && tls_files != 3) {
    return absl::InvalidArgumentError(
        "--admin_tls_cert, --admin_tls_key and --admin_tls_ca go together");
  }
  return flags;
}

}  // namespace trunkline
