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

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
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

// The first certificate of a PEM file: its DER encoding (what tells one
// certificate from another) and when it expires.
struct LeafCertificate {
  std::string der;
  int64_t not_after_unix = 0;
};
// FailedPrecondition naming the file when it cannot be read or holds no
// certificate.
absl::StatusOr<LeafCertificate> ReadLeafCertificate(const std::string& path);

// Watches the certificates our TLS sockets present, for the operator.
//
// Sofia-SIP reads a socket's certificate once, when the socket is bound,
// and has no way to load another into it: a certificate renewed on disk
// (cert-manager rewrites the Secret's files in place) is used only after
// signaling restarts. So that this never ends in an expired certificate
// nobody noticed, every TLS socket exports the expiry of the certificate it
// presents, and whether the file now holds another one:
//   trunkline_signaling_tls_certificate_expiry_timestamp_seconds{socket}
//   trunkline_signaling_tls_certificate_renewed{socket}  (0 or 1)
// (alerts TrunklineTlsCertificateExpiring and
// TrunklineTlsCertificateRenewedNotLoaded). `socket` is "address:port".
// The files are read on a thread of the watcher's own, never on the SIP
// loop; the gauges are all it writes.
class CertificateWatcher {
 public:
  // Checks the files every `period` (zero: only when a socket is added).
  CertificateWatcher(prometheus::Registry* registry, absl::Duration period);
  // Stops the thread.
  ~CertificateWatcher();
  CertificateWatcher(const CertificateWatcher&) = delete;
  CertificateWatcher& operator=(const CertificateWatcher&) = delete;

  // A TLS socket just bound with `spec`: its certificate is the one in the
  // file now. A socket seen before is taken as bound again.
  void Watch(const std::string& socket, const TlsSpec& spec);
  // Reads every watched file once and updates the gauges (the thread does
  // this every period; tests call it).
  void CheckNow();

 private:
  struct Watched {
    std::string certificate_file;
    std::string loaded_der;
    prometheus::Gauge* expiry = nullptr;
    prometheus::Gauge* renewed = nullptr;
    bool reported = false;  // the renewal was logged
  };
  void Run(absl::Duration period);

  prometheus::Family<prometheus::Gauge>& expiry_;
  prometheus::Family<prometheus::Gauge>& renewed_;
  std::mutex mu_;  // guards watched_ and stop_ (the thread and Watch)
  std::map<std::string, Watched> watched_;
  bool stop_ = false;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_TLS_FILES_H_
