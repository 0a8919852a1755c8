// Credentials for the admin API: mutual TLS, or a bearer token from a file.
//
// With --admin_tls_cert/--admin_tls_key/--admin_tls_ca the admin port is
// TLS and requires a client certificate signed by that CA: the transport
// authenticates, every request is taken. Otherwise each request must carry
// `authorization: Bearer <token>`, the token being the content of
// --admin_token_file (created with a random token, mode 0600, when it does
// not exist, so a laptop needs no set-up). Denials are logged and counted.
#ifndef TRUNKLINE_SERVICES_COMMON_ADMIN_AUTH_H_
#define TRUNKLINE_SERVICES_COMMON_ADMIN_AUTH_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_context.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"

namespace trunkline {

inline constexpr char kDefaultAdminTokenFile[] = "/tmp/trunkline/admin.token";

struct AdminCredentialFiles {
  std::string token_file;  // used when the TLS files are empty
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  bool mutual_tls() const { return !tls_cert.empty(); }
};

// Reads the token; creates the file with a fresh random token when absent.
absl::StatusOr<std::string> LoadOrCreateAdminToken(const std::string& path);
// Reads the token (clients: never creates it).
absl::StatusOr<std::string> ReadAdminToken(const std::string& path);

class AdminAuth {
 public:
  // Fails with a message naming the file that cannot be read.
  static absl::StatusOr<std::unique_ptr<AdminAuth>> Create(
      const AdminCredentialFiles& files, prometheus::Registry* registry,
      const std::string& service);

  // Credentials for the admin server port.
  std::shared_ptr<grpc::ServerCredentials> server_credentials() const {
    return server_credentials_;
  }
  // OK, or UNAUTHENTICATED (logged and counted) for a request without valid
  // credentials.
  grpc::Status Check(const grpc::ServerContextBase& context,
                     const char* method) const;

 private:
  AdminAuth() = default;
  std::string token_;  // empty with mutual TLS
  std::shared_ptr<grpc::ServerCredentials> server_credentials_;
  prometheus::Counter* denied_ = nullptr;
};

// Client side (trunkctl): channel credentials and per-call metadata for the
// same files.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
AdminChannelCredentials(const AdminCredentialFiles& files);
// Adds the bearer token to a call (no-op with mutual TLS).
absl::Status AddAdminToken(const AdminCredentialFiles& files,
                           grpc::ClientContext* context);

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_ADMIN_AUTH_H_
