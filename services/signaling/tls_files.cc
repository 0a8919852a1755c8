#include "services/signaling/tls_files.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/log.h"
#include "services/common/status_macros.h"

namespace trunkline::signaling {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

// An encrypted key would make OpenSSL prompt on the terminal: refuse it.
int NoPassphrase(char*, int, int, void*) { return -1; }

absl::StatusOr<std::string> ReadFile(const std::string& owner,
                                     const char* field,
                                     const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(
        owner, ": cannot read ", field, " ", path, ": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every PEM certificate in `pem`, in order.
std::vector<Cert> Certificates(const std::string& pem) {
  std::vector<Cert> out;
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr))
    out.emplace_back(x);
  ERR_clear_error();  // the end of the input reads as an error
  return out;
}

absl::Status WritePem(const std::string& path,
                      const std::function<bool(BIO*)>& encode) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!encode(bio.get())) {
    return absl::InternalError(absl::StrCat("cannot encode ", path));
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                      S_IRUSR | S_IWUSR);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  bool ok = true;
  for (long done = 0; ok && done < n;) {
    const ssize_t w = write(fd, data + done, static_cast<size_t>(n - done));
    if (w < 0 && errno == EINTR) continue;
    ok = w > 0;
    if (ok) done += w;
  }
  close(fd);
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsDirectory>> TlsDirectory::Create(
    const TlsSpec& spec) {
  const std::string& owner = spec.owner;
  if (spec.certificate_file.empty() || spec.private_key_file.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        owner, ": TLS needs tls.certificateFile and tls.privateKeyFile"));
  }
  absl::StatusOr<std::string> cert_pem =
      ReadFile(owner, "tls.certificateFile", spec.certificate_file);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem =
      ReadFile(owner, "tls.privateKeyFile", spec.private_key_file);
  if (!key_pem.ok()) return key_pem.status();

  std::vector<Cert> chain = Certificates(*cert_pem);
  if (chain.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        owner, ": tls.certificateFile ", spec.certificate_file,
        " holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
  }
  Bio key_bio(
      BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  Key key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        owner, ": tls.privateKeyFile ", spec.private_key_file,
        " holds no unencrypted PEM private key (an encrypted key needs its "
        "passphrase, which Trunkline does not take: decrypt it with "
        "`openssl pkey`)"));
  }
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError(
        absl::StrCat(owner, ": the private key in ", spec.private_key_file,
                     " does not belong to the first certificate in ",
                     spec.certificate_file));
  }
  std::vector<Cert> cas;
  if (!spec.ca_file.empty()) {
    absl::StatusOr<std::string> ca_pem =
        ReadFile(owner, "tls.caFile", spec.ca_file);
    if (!ca_pem.ok()) return ca_pem.status();
    cas = Certificates(*ca_pem);
    if (cas.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          owner, ": tls.caFile ", spec.ca_file,
          " holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
    }
  }
  // Intermediates after the leaf: sent with it through the CA store.
  for (size_t i = 1; i < chain.size(); ++i) cas.push_back(std::move(chain[i]));

  const char* tmp = getenv("TMPDIR");
  std::string templ =
      absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/trunkline-tls-XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a directory for the TLS files (", templ,
                     "): ", std::strerror(errno)));
  }
  auto dir = std::unique_ptr<TlsDirectory>(new TlsDirectory());
  dir->path_ = templ;
  X509* leaf = chain.front().get();
  absl::Status s = WritePem(dir->path_ + "/agent.pem", [&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr,
                                    nullptr) == 1 &&
           PEM_write_bio_X509(b, leaf) == 1;
  });
  if (!s.ok()) return s;
  if (!cas.empty()) {
    s = WritePem(dir->path_ + "/cafile.pem", [&](BIO* b) {
      for (const Cert& c : cas) {
        if (PEM_write_bio_X509(b, c.get()) != 1) return false;
      }
      return true;
    });
    if (!s.ok()) return s;
    dir->has_ca_file_ = true;
  }
  return dir;
}

TlsDirectory::~TlsDirectory() {
  if (path_.empty()) return;
  for (const char* name : {"/agent.pem", "/cafile.pem"}) {
    unlink((path_ + name).c_str());
  }
  rmdir(path_.c_str());
}

absl::StatusOr<LeafCertificate> ReadLeafCertificate(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem,
                   ReadFile("certificate watch", "tls.certificateFile", path));
  std::vector<Cert> chain = Certificates(pem);
  if (chain.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " holds no PEM certificate"));
  }
  X509* leaf = chain.front().get();
  LeafCertificate out;
  unsigned char* der = nullptr;
  const int length = i2d_X509(leaf, &der);
  if (length <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": the certificate cannot be encoded"));
  }
  out.der.assign(reinterpret_cast<const char*>(der), length);
  OPENSSL_free(der);
  struct tm expiry = {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &expiry) != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": the certificate's notAfter cannot be read"));
  }
  out.not_after_unix = static_cast<int64_t>(timegm(&expiry));
  return out;
}

CertificateWatcher::CertificateWatcher(prometheus::Registry* registry,
                                       absl::Duration period)
    : expiry_(prometheus::BuildGauge()
                  .Name("trunkline_signaling_tls_certificate_expiry_timestamp_"
                        "seconds")
                  .Help("When the certificate a TLS socket presents expires "
                        "(notAfter, Unix seconds).")
                  .Register(*registry)),
      renewed_(prometheus::BuildGauge()
                   .Name("trunkline_signaling_tls_certificate_renewed")
                   .Help("1 when a TLS socket's certificate file now holds "
                         "another certificate than the one the socket "
                         "presents: restart signaling to use it.")
                   .Register(*registry)) {
  if (period > absl::ZeroDuration()) {
    thread_ = std::thread([this, period] { Run(period); });
  }
}

CertificateWatcher::~CertificateWatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CertificateWatcher::Watch(const std::string& socket, const TlsSpec& spec) {
  absl::StatusOr<LeafCertificate> leaf =
      ReadLeafCertificate(spec.certificate_file);
  std::lock_guard<std::mutex> lock(mu_);
  Watched& w = watched_[socket];
  w.certificate_file = spec.certificate_file;
  w.reported = false;
  if (w.expiry == nullptr) {
    w.expiry = &expiry_.Add({{"socket", socket}});
    w.renewed = &renewed_.Add({{"socket", socket}});
  }
  w.renewed->Set(0);
  if (!leaf.ok()) {
    // The socket was bound from these files a moment ago; a file that
    // cannot be read now is reported by the next check.
    w.loaded_der.clear();
    return;
  }
  w.loaded_der = leaf->der;
  w.expiry->Set(static_cast<double>(leaf->not_after_unix));
}

void CertificateWatcher::CheckNow() {
  std::map<std::string, std::string> files;  // socket -> file
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [socket, w] : watched_) {
      files[socket] = w.certificate_file;
    }
  }
  for (const auto& [socket, file] : files) {
    // Read without the lock: a slow volume must not hold up Watch.
    absl::StatusOr<LeafCertificate> leaf = ReadLeafCertificate(file);
    std::lock_guard<std::mutex> lock(mu_);
    Watched& w = watched_[socket];
    if (!leaf.ok()) {
      if (!w.reported) {
        TL_LOG(kWarning, "cannot read a TLS socket's certificate file")
            .With("socket", socket)
            .With("error", leaf.status().message());
        w.reported = true;
      }
      continue;
    }
    const bool renewed = !w.loaded_der.empty() && leaf->der != w.loaded_der;
    w.renewed->Set(renewed ? 1 : 0);
    if (renewed && !w.reported) {
      TL_LOG(kWarning,
             "a renewed TLS certificate is on disk; restart signaling to "
             "present it (Sofia-SIP reads certificates when a socket is "
             "bound)")
          .With("socket", socket)
          .With("file", file)
          .With("new_not_after",
                absl::FormatTime(absl::FromUnixSeconds(leaf->not_after_unix)));
    }
    w.reported = renewed;
  }
}

void CertificateWatcher::Run(absl::Duration period) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, absl::ToChronoMilliseconds(period),
                   [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    CheckNow();
    lock.lock();
  }
}

}  // namespace trunkline::signaling
