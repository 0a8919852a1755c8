#include "services/signaling/tls_files.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"

namespace trunkline::signaling {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

struct Pem {
  std::string cert;
  std::string key;
};

std::string ToPem(EVP_PKEY* key, X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (key)
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  if (cert) PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

// A P-256 certificate for `cn`, signed by `issuer` (self-signed when null).
Pem MakeCertificate(const std::string& cn, const Pem* issuer) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()),
                             -1, -1, 0);
  EVP_PKEY* signer = key;
  if (issuer != nullptr) {
    BIO* kb = BIO_new_mem_buf(issuer->key.data(), -1);
    signer = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
    BIO_free(kb);
    BIO* cb = BIO_new_mem_buf(issuer->cert.data(), -1);
    X509* ic = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    BIO_free(cb);
    X509_set_issuer_name(cert, X509_get_subject_name(ic));
    X509_free(ic);
  } else {
    X509_set_issuer_name(cert, name);
  }
  X509_sign(cert, signer, EVP_sha256());
  Pem out{ToPem(nullptr, cert), ToPem(key, nullptr)};
  if (signer != key) EVP_PKEY_free(signer);
  EVP_PKEY_free(key);
  X509_free(cert);
  return out;
}

// Per test (ctest runs the tests of this binary in parallel processes, and
// each makes its own certificates).
std::string Write(const std::string& name, const std::string& text) {
  const std::string path =
      ::testing::TempDir() + "/tls-files-" +
      ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
      std::to_string(getpid()) + "-" + name;
  std::ofstream(path) << text;
  return path;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TlsDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = MakeCertificate("Test CA", nullptr);
    server_ = MakeCertificate("sig.test", &ca_);
    spec_.owner = "pool \"p\" listener \"l\"";
    spec_.certificate_file = Write("server.pem", server_.cert);
    spec_.private_key_file = Write("server.key", server_.key);
    spec_.ca_file = Write("ca.pem", ca_.cert);
  }
  Pem ca_, server_;
  TlsSpec spec_;
};

TEST_F(TlsDirectoryTest, LaysOutAgentAndCaFilesAndRemovesThem) {
  std::string path;
  {
    auto dir = TlsDirectory::Create(spec_);
    ASSERT_TRUE(dir.ok()) << dir.status();
    path = (*dir)->path();
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u) << "the key must stay private";
    const std::string agent = Read(path + "/agent.pem");
    EXPECT_THAT(agent,
                AllOf(HasSubstr("PRIVATE KEY-----"), HasSubstr(server_.cert)));
    EXPECT_EQ(Read(path + "/cafile.pem"), ca_.cert);
    EXPECT_TRUE((*dir)->has_ca_file());
  }
  struct stat st;
  EXPECT_NE(stat(path.c_str(), &st), 0) << "removed with the object";
}

TEST_F(TlsDirectoryTest, IntermediatesGoWithTheCaBundle) {
  const Pem intermediate = MakeCertificate("Intermediate", &ca_);
  const Pem leaf = MakeCertificate("leaf.test", &intermediate);
  spec_.certificate_file = Write("chain.pem", leaf.cert + intermediate.cert);
  spec_.private_key_file = Write("leaf.key", leaf.key);
  spec_.ca_file.clear();
  auto dir = TlsDirectory::Create(spec_);
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(Read((*dir)->path() + "/cafile.pem"), intermediate.cert);
  EXPECT_THAT(Read((*dir)->path() + "/agent.pem"),
              ::testing::Not(HasSubstr(intermediate.cert)));
}

TEST_F(TlsDirectoryTest, ErrorsNameTheFile) {
  TlsSpec missing = spec_;
  missing.certificate_file = "/nonexistent/server.pem";
  auto dir = TlsDirectory::Create(missing);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(dir.status().message()),
              AllOf(HasSubstr("pool \"p\" listener \"l\""),
                    HasSubstr("cannot read tls.certificateFile "
                              "/nonexistent/server.pem"),
                    HasSubstr("No such file")));

  TlsSpec wrong_key = spec_;
  wrong_key.private_key_file = Write("other.key", ca_.key);
  dir = TlsDirectory::Create(wrong_key);
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(std::string(dir.status().message()),
              HasSubstr("does not belong to the first certificate"));

  TlsSpec not_pem = spec_;
  not_pem.ca_file = Write("garbage.pem", "hello\n");
  dir = TlsDirectory::Create(not_pem);
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(std::string(dir.status().message()),
              AllOf(HasSubstr("tls.caFile"), HasSubstr("garbage.pem"),
                    HasSubstr("holds no PEM certificate")));

  TlsSpec key_as_cert = spec_;
  key_as_cert.private_key_file = spec_.certificate_file;
  dir = TlsDirectory::Create(key_as_cert);
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(std::string(dir.status().message()),
              HasSubstr("holds no unencrypted PEM private key"));
}

// The watcher's gauge for `socket` in family `name`, or -1 when none.
double Gauge(prometheus::Registry& registry, const std::string& name,
             const std::string& socket) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "socket" && label.value == socket) {
          return metric.gauge.value;
        }
      }
    }
  }
  return -1;
}

TEST_F(TlsDirectoryTest, ReadLeafCertificateGivesItsExpiry) {
  const int64_t now = static_cast<int64_t>(time(nullptr));
  auto leaf = ReadLeafCertificate(spec_.certificate_file);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  // MakeCertificate: valid for an hour from now.
  EXPECT_NEAR(static_cast<double>(leaf->not_after_unix), now + 3600, 5);
  EXPECT_FALSE(leaf->der.empty());
  auto missing = ReadLeafCertificate("/nonexistent/cert.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/cert.pem"));
}

// A certificate renewed on disk (as cert-manager does) is reported until
// signaling restarts; putting the old one back clears it.
TEST_F(TlsDirectoryTest, WatcherExportsExpiryAndSeesARenewedFile) {
  constexpr char kExpiry[] =
      "trunkline_signaling_tls_certificate_expiry_timestamp_seconds";
  constexpr char kRenewed[] = "trunkline_signaling_tls_certificate_renewed";
  prometheus::Registry registry;
  CertificateWatcher watcher(&registry, absl::ZeroDuration());
  watcher.Watch("127.0.0.1:5061", spec_);
  const auto loaded = ReadLeafCertificate(spec_.certificate_file);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(Gauge(registry, kExpiry, "127.0.0.1:5061"),
            static_cast<double>(loaded->not_after_unix));
  EXPECT_EQ(Gauge(registry, kRenewed, "127.0.0.1:5061"), 0);
  watcher.CheckNow();
  EXPECT_EQ(Gauge(registry, kRenewed, "127.0.0.1:5061"), 0) << "unchanged";

  const Pem renewed = MakeCertificate("sig.test", &ca_);
  std::ofstream(spec_.certificate_file, std::ios::trunc) << renewed.cert;
  watcher.CheckNow();
  EXPECT_EQ(Gauge(registry, kRenewed, "127.0.0.1:5061"), 1);
  EXPECT_EQ(Gauge(registry, kExpiry, "127.0.0.1:5061"),
            static_cast<double>(loaded->not_after_unix))
      << "the socket still presents the certificate it loaded";

  std::ofstream(spec_.certificate_file, std::ios::trunc) << server_.cert;
  watcher.CheckNow();
  EXPECT_EQ(Gauge(registry, kRenewed, "127.0.0.1:5061"), 0);
  // Bound again (a restart, or the socket re-added) with the renewed file:
  // what it presents is the file's.
  std::ofstream(spec_.certificate_file, std::ios::trunc) << renewed.cert;
  watcher.Watch("127.0.0.1:5061", spec_);
  watcher.CheckNow();
  EXPECT_EQ(Gauge(registry, kRenewed, "127.0.0.1:5061"), 0);
}

TEST_F(TlsDirectoryTest, WatcherThreadChecksOnItsOwn) {
  prometheus::Registry registry;
  CertificateWatcher watcher(&registry, absl::Milliseconds(20));
  watcher.Watch("[::1]:5061", spec_);
  std::ofstream(spec_.certificate_file, std::ios::trunc)
      << MakeCertificate("sig.test", &ca_).cert;
  double renewed = 0;
  for (int i = 0; i < 250 && renewed != 1; ++i) {
    usleep(20000);
    renewed = Gauge(registry, "trunkline_signaling_tls_certificate_renewed",
                    "[::1]:5061");
  }
  EXPECT_EQ(renewed, 1) << "seen within 5 s by the watcher's thread";
}

}  // namespace
}  // namespace trunkline::signaling
