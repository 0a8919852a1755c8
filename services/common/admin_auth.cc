#include "services/common/admin_auth.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "services/common/log.h"

namespace trunkline {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     const char* what) {
  std::ifstream in(path);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the ", what, " ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Constant time, so the comparison does not leak how much of a guess was
// right.
bool SameToken(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

}  // namespace

absl::StatusOr<std::string> ReadAdminToken(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path, "admin token file");
  if (!text.ok()) return text.status();
  std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the admin token file ", path, " is empty"));
  }
  return token;
}

absl::StatusOr<std::string> LoadOrCreateAdminToken(const std::string& path) {
  if (access(path.c_str(), F_OK) != 0) {
    size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
      mkdir(path.substr(0, slash).c_str(), 0700);
    }
    unsigned char random[24];
    if (getrandom(random, sizeof(random), 0) != sizeof(random)) {
      return absl::InternalError(
          "getrandom failed: cannot make an admin token");
    }
    const std::string token = absl::WebSafeBase64Escape(
        absl::string_view(reinterpret_cast<char*>(random), sizeof(random)));
    // O_EXCL: when several services start at once, one writes and the others
    // read what it wrote.
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
      const std::string line = token + "\n";
      bool written = write(fd, line.data(), line.size()) ==
                     static_cast<ssize_t>(line.size());
      close(fd);
      if (!written) {
        return absl::InternalError(
            absl::StrCat("cannot write the admin token file ", path));
      }
      TL_LOG(kInfo, "created the admin token file").With("file", path);
      return token;
    }
    if (errno != EEXIST) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot create the admin token file ", path, ": ", strerror(errno)));
    }
    usleep(50 * 1000);  // the other writer is finishing its one write
  }
  return ReadAdminToken(path);
}

absl::StatusOr<std::unique_ptr<AdminAuth>> AdminAuth::Create(
    const AdminCredentialFiles& files, prometheus::Registry* registry,
    const std::string& service) {
  auto auth = std::unique_ptr<AdminAuth>(new AdminAuth());
  if (files.mutual_tls()) {
    grpc::SslServerCredentialsOptions options(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    absl::StatusOr<std::string> cert =
        ReadFile(files.tls_cert, "admin TLS certificate");
    absl::StatusOr<std::string> key = ReadFile(files.tls_key, "admin TLS key");
    absl::StatusOr<std::string> ca =
        ReadFile(files.tls_ca, "admin TLS CA bundle");
    for (const auto* part : {&cert, &key, &ca}) {
      if (!part->ok()) return part->status();
    }
    options.pem_root_certs = *ca;
    options.pem_key_cert_pairs.push_back({*key, *cert});
    auth->server_credentials_ = grpc::SslServerCredentials(options);
  } else {
    absl::StatusOr<std::string> token =
        LoadOrCreateAdminToken(files.token_file);
    if (!token.ok()) return token.status();
    auth->token_ = *token;
    auth->server_credentials_ = grpc::InsecureServerCredentials();
  }
  auth->denied_ =
      &prometheus::BuildCounter()
           .Name(absl::StrCat("trunkline_", service, "_admin_denied_total"))
           .Help("Admin API requests refused for missing or wrong credentials.")
           .Register(*registry)
           .Add({});
  return auth;
}

grpc::Status AdminAuth::Check(const grpc::ServerContextBase& context,
                              const char* method) const {
  if (token_.empty()) return grpc::Status::OK;  // mutual TLS authenticated
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  constexpr absl::string_view kBearer = "Bearer ";
  if (it != metadata.end()) {
    absl::string_view value(it->second.data(), it->second.size());
    if (value.substr(0, kBearer.size()) == kBearer &&
        SameToken(value.substr(kBearer.size()), token_)) {
      return grpc::Status::OK;
    }
  }
  denied_->Increment();
  TL_LOG(kWarning, "admin request denied")
      .With("method", method)
      .With("peer", context.peer())
      .With("reason", it == metadata.end() ? "no credentials" : "wrong token");
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      "the admin API needs credentials: a bearer token from "
                      "the admin token file, or a client certificate");
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
AdminChannelCredentials(const AdminCredentialFiles& files) {
  if (!files.mutual_tls()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  absl::StatusOr<std::string> cert =
      ReadFile(files.tls_cert, "client certificate");
  absl::StatusOr<std::string> key = ReadFile(files.tls_key, "client key");
  absl::StatusOr<std::string> ca = ReadFile(files.tls_ca, "CA bundle");
  for (const auto* part : {&cert, &key, &ca}) {
    if (!part->ok()) return part->status();
  }
  options.pem_cert_chain = *cert;
  options.pem_private_key = *key;
  options.pem_root_certs = *ca;
  return grpc::SslCredentials(options);
}

absl::Status AddAdminToken(const AdminCredentialFiles& files,
                           grpc::ClientContext* context) {
  if (files.mutual_tls()) return absl::OkStatus();
  absl::StatusOr<std::string> token = ReadAdminToken(files.token_file);
  if (!token.ok()) return token.status();
  context->AddMetadata("authorization", absl::StrCat("Bearer ", *token));
  return absl::OkStatus();
}

}  // namespace trunkline
