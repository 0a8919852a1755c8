// The TLS material of one socket, checked and laid out the way Sofia-SIP
// reads it.
//
// Sofia-SIP 1.12.11 (Debian 12) takes a TLS socket's certificate as one
// directory (TPTAG_CERTIFICATE) holding `agent.pem` (the private key and the
// certificate) and `cafile.pem` (the CAs that verify peers); it has no tags
// for separate files, and it binds a socket even when those files are
// missing or broken. The topology names separate files, so before a TLS
// socket is bound we read and check them here (readable, PEM that OpenSSL
// accepts, the key belongs to the certificate, the CA bundle loads) and
// write them into a private temporary directory that lives until the
// socket has read it. Every error names the file and what is wrong with it.
//
// Sofia presents only the first certificate of `agent.pem`; OpenSSL adds
// the rest of the chain from the CA store it verifies peers with. So the
// intermediates that follow the leaf in `certificate_file` go into
// `cafile.pem` after the CA bundle: sent with our certificate, and usable
// to build a peer's chain, but never trust anchors themselves.
#ifndef TRUNKLINE_SERVICES_SIGNALING_TLS_FILES_H_
#define TRUNKLINE_SERVICES_SIGNALING_TLS_FILES_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/signaling/peer_directory.h"

namespace trunkline::signaling {

class TlsDirectory {
 public:
  // Checks `spec`'s files and writes the directory (under $TMPDIR, else
  // /tmp; mode 0700, files 0600). FailedPrecondition naming the file when
  // one cannot be read or used.
  static absl::StatusOr<std::unique_ptr<TlsDirectory>> Create(
      const TlsSpec& spec);
  // Removes the directory and what is in it.
  ~TlsDirectory();
  TlsDirectory(const TlsDirectory&) = delete;
  TlsDirectory& operator=(const TlsDirectory&) = delete;

  // The directory for TPTAG_CERTIFICATE.
  const std::string& path() const { return path_; }
  // Whether cafile.pem was written (a CA bundle or intermediates).
  bool has_ca_file() const { return has_ca_file_; }

 private:
  TlsDirectory() = default;
  std::string path_;
  bool has_ca_file_ = false;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_TLS_FILES_H_
