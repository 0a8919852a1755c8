// Known-answer tests: the RFC 3711 / RFC 7714 vectors and libsrtp's
// full-packet KAT, read at run time from the shared corpus
// (srtp/vectors.md), never copied into the repository.
//
// libsrtp takes master keys and runs the RFC 3711 key derivation itself, but
// RFC 7714 prints its vectors with *session* keys. So the GCM vectors are
// chained: an independent reference (OpenSSL AES/HMAC, below) first
// reproduces the published vectors, then our wrapper, given a master key
// through SDES, must produce exactly what the reference produces from the
// derived session keys. Passing proves the plumbing: inline parsing, the
// key/salt split per suite, the suite's policy and tag lengths, and the
// SRTP/SRTCP index handling.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "services/media/srtp/sdes.h"
#include "services/media/srtp/srtp_session.h"

namespace trunkline::media::srtp {
namespace {

// ---------------------------------------------------------------------------
// The corpus file and the hex in it.

// TRUNKLINE_CORPUS_DIR, else the corpus beside the checkout, else the
// workspace's shared corpus (a CI clone may live elsewhere).
std::string CorpusDir() {
  if (const char* dir = std::getenv("TRUNKLINE_CORPUS_DIR")) return dir;
  const char* source = std::getenv("TRUNKLINE_SOURCE_DIR");
  std::string beside =
      absl::StrCat(source != nullptr ? source : ".", "/../shared/corpus");
  if (access(beside.c_str(), R_OK) == 0) return beside;
  return "/work/shared/corpus";
}

absl::string_view FirstWord(absl::string_view line) {
  return line.substr(0, line.find(' '));
}

bool IsHexToken(absl::string_view token) {
  absl::ConsumePrefix(&token, "0x");
  if (token.empty() || token.size() % 2 != 0) return false;
  for (char c : token) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

class VectorFile {
 public:
  explicit VectorFile(std::string text) : lines_(absl::StrSplit(text, '\n')) {}

  // The bytes printed after `anchor`: on the first later line that starts
  // with `label` (any line starting with hex when `label` is empty), the hex
  // groups after the label, continued on following lines whose hex starts in
  // the same column (so the next row of a table is not swallowed).
  std::string Hex(absl::string_view anchor, absl::string_view label) const {
    size_t i = FindAnchor(anchor);
    for (; i < lines_.size(); ++i) {
      absl::string_view line = absl::StripLeadingAsciiWhitespace(lines_[i]);
      if (label.empty()) {
        if (IsHexToken(FirstWord(line))) break;
      } else if (absl::ConsumePrefix(&line, label) && !line.empty() &&
                 line[0] == ' ') {
        break;
      }
    }
    if (i >= lines_.size()) {
      ADD_FAILURE() << "no '" << label << "' after '" << anchor << "'";
      return "";
    }
    std::string hex;
    size_t column = std::string::npos;  // where this value's hex starts
    for (size_t j = i; j < lines_.size(); ++j) {
      absl::string_view line = lines_[j];
      size_t start = 0;
      if (j == i && !label.empty()) {
        start = line.find(label) + label.size();
      }
      start = line.find_first_not_of(' ', start);
      if (start == absl::string_view::npos) break;
      const bool hex_here = IsHexToken(FirstWord(line.substr(start)));
      if (j > i &&
          (!hex_here || (column != std::string::npos && start != column))) {
        break;
      }
      if (hex_here && column == std::string::npos) column = start;
      for (absl::string_view word :
           absl::StrSplit(line.substr(start), ' ', absl::SkipEmpty())) {
        absl::ConsumePrefix(&word, "0x");
        if (!IsHexToken(word)) break;  // a comment ends the line's hex
        absl::StrAppend(&hex, word);
      }
    }
    if (hex.empty()) ADD_FAILURE() << "no hex for '" << label << "'";
    return absl::HexStringToBytes(hex);
  }

  // The first `...` quoted text after `anchor`.
  std::string Quoted(absl::string_view anchor) const {
    for (size_t i = FindAnchor(anchor); i < lines_.size(); ++i) {
      size_t open = lines_[i].find('`');
      if (open == std::string::npos) continue;
      size_t close = lines_[i].find('`', open + 1);
      if (close == std::string::npos) continue;
      return lines_[i].substr(open + 1, close - open - 1);
    }
    ADD_FAILURE() << "no `...` after '" << anchor << "'";
    return "";
  }

 private:
  size_t FindAnchor(absl::string_view anchor) const {
    for (size_t i = 0; i < lines_.size(); ++i) {
      if (absl::StrContains(lines_[i], anchor)) return i + 1;
    }
    ADD_FAILURE() << "anchor '" << anchor << "' not in vectors.md";
    return lines_.size();
  }

  std::vector<std::string> lines_;
};

// ---------------------------------------------------------------------------
// Reference SRTP, straight from the RFC text, on OpenSSL primitives.

std::string AesBlock(const std::string& key, const std::string& block) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(
      EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(16, '\0');
  int length = 0;
  EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ecb(), nullptr,
                     reinterpret_cast<const unsigned char*>(key.data()),
                     nullptr);
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()),
                    &length,
                    reinterpret_cast<const unsigned char*>(block.data()), 16);
  return out;
}

// RFC 3711 §4.1.1: AES in counter mode from a 128-bit IV.
std::string AesCmKeystream(const std::string& key, std::string counter,
                           size_t length) {
  std::string stream;
  while (stream.size() < length) {
    stream += AesBlock(key, counter);
    for (int i = 15; i >= 0 && ++counter[i] == 0; --i) {
    }
  }
  return stream.substr(0, length);
}

std::string Xor(std::string a, const std::string& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) a[i] ^= b[i];
  return a;
}

// RFC 3711 §4.3 with key_derivation_rate 0. A 96-bit (GCM) master salt is
// padded with zero octets to the PRF's 112 bits, as libsrtp does.
std::string DeriveKey(const std::string& master_key, std::string master_salt,
                      uint8_t label, size_t length) {
  master_salt.resize(14, '\0');
  master_salt[7] ^= static_cast<char>(label);  // key_id = label || r (r = 0)
  return AesCmKeystream(master_key, master_salt + std::string(2, '\0'), length);
}

std::string HmacSha1(const std::string& key, const std::string& data) {
  unsigned char out[20];
  unsigned int length = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &length);
  return std::string(reinterpret_cast<char*>(out), length);
}

std::string BigEndian32(uint32_t value) {
  return std::string{static_cast<char>(value >> 24),
                     static_cast<char>(value >> 16),
                     static_cast<char>(value >> 8), static_cast<char>(value)};
}

// AES-CM SRTP (RFC 3711 §3.1, §4.1.1, §4.2) for a 12-octet header.
std::string ReferenceAesCmSrtp(const std::string& master_key,
                               const std::string& master_salt,
                               const std::string& rtp, uint32_t roc,
                               size_t tag_length) {
  const std::string k_e = DeriveKey(master_key, master_salt, 0, 16);
  const std::string k_a = DeriveKey(master_key, master_salt, 1, 20);
  const std::string k_s = DeriveKey(master_key, master_salt, 2, 14);
  const uint64_t index =
      (uint64_t{roc} << 16) | (uint8_t(rtp[2]) << 8) | uint8_t(rtp[3]);
  std::string iv = k_s + std::string(2, '\0');
  for (int i = 0; i < 4; ++i) iv[4 + i] ^= rtp[8 + i];  // SSRC * 2^64
  for (int i = 0; i < 6; ++i) {
    iv[8 + i] ^= static_cast<char>(index >> (8 * (5 - i)));  // i * 2^16
  }
  std::string packet = rtp.substr(0, 12) +
                       Xor(rtp.substr(12), AesCmKeystream(k_e, iv, rtp.size()));
  return packet +
         HmacSha1(k_a, packet + BigEndian32(roc)).substr(0, tag_length);
}

// AES-CM SRTCP (RFC 3711 §3.4): encrypted, 80-bit tag over E || index.
std::string ReferenceAesCmSrtcp(const std::string& master_key,
                                const std::string& master_salt,
                                const std::string& rtcp, uint32_t index) {
  const std::string k_e = DeriveKey(master_key, master_salt, 3, 16);
  const std::string k_a = DeriveKey(master_key, master_salt, 4, 20);
  const std::string k_s = DeriveKey(master_key, master_salt, 5, 14);
  std::string iv = k_s + std::string(2, '\0');
  for (int i = 0; i < 4; ++i) iv[4 + i] ^= rtcp[4 + i];
  for (int i = 0; i < 4; ++i) {
    iv[10 + i] ^= static_cast<char>(index >> (8 * (3 - i)));
  }
  std::string packet =
      rtcp.substr(0, 8) +
      Xor(rtcp.substr(8), AesCmKeystream(k_e, iv, rtcp.size())) +
      BigEndian32(0x80000000u | index);
  return packet + HmacSha1(k_a, packet).substr(0, 10);
}

std::string AesGcm(const std::string& key, const std::string& iv,
                   const std::string& aad, const std::string& plaintext) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(
      EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int length = 0;
  EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr);
  EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr,
                     reinterpret_cast<const unsigned char*>(key.data()),
                     reinterpret_cast<const unsigned char*>(iv.data()));
  EVP_EncryptUpdate(ctx.get(), nullptr, &length,
                    reinterpret_cast<const unsigned char*>(aad.data()),
                    static_cast<int>(aad.size()));
  std::string out(plaintext.size() + 16, '\0');
  EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()),
                    &length,
                    reinterpret_cast<const unsigned char*>(plaintext.data()),
                    static_cast<int>(plaintext.size()));
  EVP_EncryptFinal_ex(ctx.get(), nullptr, &length);
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16,
                      out.data() + plaintext.size());
  return out;
}

// RFC 7714 §8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt.
std::string GcmSrtpIv(const std::string& salt, const std::string& rtp,
                      uint32_t roc) {
  std::string iv = std::string(2, '\0') + rtp.substr(8, 4) + BigEndian32(roc) +
                   rtp.substr(2, 2);
  return Xor(iv, salt);
}

std::string ReferenceGcmSrtp(const std::string& session_key,
                             const std::string& session_salt,
                             const std::string& rtp, uint32_t roc) {
  return rtp.substr(0, 12) + AesGcm(session_key,
                                    GcmSrtpIv(session_salt, rtp, roc),
                                    rtp.substr(0, 12), rtp.substr(12));
}

// RFC 7714 §9.1: IV = (00 00 || SSRC || 00 00 || 0 || index) XOR salt, AAD =
// the first 8 octets || E || index, the index trailing the tag.
std::string ReferenceGcmSrtcp(const std::string& session_key,
                              const std::string& session_salt,
                              const std::string& rtcp, uint32_t index) {
  std::string iv = std::string(2, '\0') + rtcp.substr(4, 4) +
                   std::string(2, '\0') + BigEndian32(index);
  const std::string e_index = BigEndian32(0x80000000u | index);
  return rtcp.substr(0, 8) +
         AesGcm(session_key, Xor(iv, session_salt), rtcp.substr(0, 8) + e_index,
                rtcp.substr(8)) +
         e_index;
}

// ---------------------------------------------------------------------------

class SrtpVectorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = CorpusDir() + "/srtp/vectors.md";
    std::ifstream in(path);
    if (!in) {
      GTEST_SKIP() << "SRTP vectors not found at " << path
                   << " (set TRUNKLINE_CORPUS_DIR to the shared corpus)";
    }
    std::stringstream text;
    text << in.rdbuf();
    vectors_ = std::make_unique<VectorFile>(text.str());
  }

  // Runs `packet` through an outbound context of `key` and returns the wire
  // bytes; then checks an inbound context of the same key restores it.
  std::string ProtectAndCheckBack(const MasterKey& key,
                                  const std::string& packet, bool rtcp) {
    absl::StatusOr<std::unique_ptr<OutboundSrtp>> out =
        OutboundSrtp::Create(key);
    absl::StatusOr<std::unique_ptr<InboundSrtp>> in = InboundSrtp::Create(key);
    EXPECT_TRUE(out.ok()) << out.status();
    EXPECT_TRUE(in.ok()) << in.status();
    if (!out.ok() || !in.ok()) return "";
    std::vector<uint8_t> buffer(packet.begin(), packet.end());
    buffer.resize(packet.size() + 64);
    absl::StatusOr<size_t> length =
        rtcp ? (*out)->ProtectRtcp(absl::MakeSpan(buffer), packet.size())
             : (*out)->ProtectRtp(absl::MakeSpan(buffer), packet.size());
    EXPECT_TRUE(length.ok()) << length.status();
    if (!length.ok()) return "";
    std::string wire(buffer.begin(), buffer.begin() + *length);

    absl::StatusOr<size_t> plain =
        rtcp ? (*in)->UnprotectRtcp(absl::MakeSpan(buffer.data(), *length))
             : (*in)->UnprotectRtp(absl::MakeSpan(buffer.data(), *length));
    EXPECT_TRUE(plain.ok()) << plain.status();
    if (plain.ok()) {
      EXPECT_EQ(std::string(buffer.begin(), buffer.begin() + *plain), packet);
    }
    return wire;
  }

  std::unique_ptr<VectorFile> vectors_;
};

std::string Hex(const std::string& bytes) {
  return absl::BytesToHexString(bytes);
}

TEST_F(SrtpVectorsTest, ReferenceReproducesRfc3711KeystreamAndKdf) {
  // B.2: AES-CM keystream blocks at counters 0, 1, 2, 0xfeff, 0xff00, 0xff01.
  const std::string key = vectors_->Hex("## 2.", "session key");
  const std::string salt = vectors_->Hex("## 2.", "session salt");
  ASSERT_EQ(salt.size(), 14u);
  const std::string stream =
      AesCmKeystream(key, salt + std::string(2, '\0'), 16 * 0xff02);
  for (const char* counter : {"0000", "0001", "0002", "FEFF", "FF00", "FF01"}) {
    const std::string expected = vectors_->Hex(
        "## 2.", absl::StrCat("F0F1F2F3F4F5F6F7F8F9FAFBFCFD", counter));
    const size_t block = std::stoul(counter, nullptr, 16);
    EXPECT_EQ(Hex(stream.substr(16 * block, 16)), Hex(expected)) << counter;
  }

  // B.3 and the SRTCP labels: the key derivation.
  const std::string master_key = vectors_->Hex("## 3.", "master key");
  const std::string master_salt = vectors_->Hex("## 3.", "master salt");
  EXPECT_EQ(Hex(DeriveKey(master_key, master_salt, 0, 16)),
            Hex(vectors_->Hex("## 3.", "cipher key")));
  EXPECT_EQ(Hex(DeriveKey(master_key, master_salt, 2, 14)),
            Hex(vectors_->Hex("## 3.", "cipher salt")));
  EXPECT_EQ(Hex(DeriveKey(master_key, master_salt, 1, 94)),
            Hex(vectors_->Hex("## 3.", "94-octet block")));
  EXPECT_EQ(Hex(DeriveKey(master_key, master_salt, 3, 16)),
            Hex(vectors_->Hex("## 3.", "label 0x03 SRTCP cipher key")));
  EXPECT_EQ(Hex(DeriveKey(master_key, master_salt, 4, 20)),
            Hex(vectors_->Hex("## 3.", "label 0x04 SRTCP auth key")));
  EXPECT_EQ(Hex(DeriveKey(master_key, master_salt, 5, 14)),
            Hex(vectors_->Hex("## 3.", "label 0x05 SRTCP salt")));
}

TEST_F(SrtpVectorsTest, SdesKeyProtectsTheAesCm80KnownAnswerPacket) {
  // §4: the SDES inline key is B.3's master key || salt ...
  const std::string inline_key =
      absl::StrCat("inline:", vectors_->Quoted("(SDES inline = base64"));
  absl::StatusOr<MasterKey> key =
      ParseSdesKeyParams("AES_CM_128_HMAC_SHA1_80", inline_key);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(Hex(key->key), Hex(vectors_->Hex("## 3.", "master key")));
  EXPECT_EQ(Hex(key->salt), Hex(vectors_->Hex("## 3.", "master salt")));

  // ... and through our wrapper it yields the published SRTP and SRTCP.
  const std::string rtp = vectors_->Hex("## 4.", "RTP plaintext");
  const std::string srtp = vectors_->Hex("## 4.", "SRTP");
  ASSERT_EQ(srtp.size(), rtp.size() + 10);
  EXPECT_EQ(Hex(ProtectAndCheckBack(*key, rtp, /*rtcp=*/false)), Hex(srtp));

  const std::string rtcp = vectors_->Hex("## 4.", "RTCP plaintext");
  const std::string srtcp = vectors_->Hex("## 4.", "SRTCP (index 1)");
  ASSERT_EQ(srtcp.size(), rtcp.size() + 4 + 10);
  EXPECT_EQ(Hex(ProtectAndCheckBack(*key, rtcp, /*rtcp=*/true)), Hex(srtcp));

  // The reference agrees with the same vectors, which licenses it for the
  // suites the corpus has no packet for.
  EXPECT_EQ(Hex(ReferenceAesCmSrtp(key->key, key->salt, rtp, 0, 10)),
            Hex(srtp));
  EXPECT_EQ(Hex(ReferenceAesCmSrtcp(key->key, key->salt, rtcp, 1)), Hex(srtcp));
}

TEST_F(SrtpVectorsTest, AesCm32UsesA32BitRtpTagAnd80BitRtcpTag) {
  absl::StatusOr<MasterKey> key = ParseSdesKeyParams(
      "AES_CM_128_HMAC_SHA1_32",
      absl::StrCat("inline:", vectors_->Quoted("(SDES inline = base64")));
  ASSERT_TRUE(key.ok()) << key.status();
  const std::string rtp = vectors_->Hex("## 4.", "RTP plaintext");
  const std::string rtcp = vectors_->Hex("## 4.", "RTCP plaintext");

  const std::string srtp = ProtectAndCheckBack(*key, rtp, false);
  EXPECT_EQ(srtp.size(), rtp.size() + 4);
  EXPECT_EQ(Hex(srtp), Hex(ReferenceAesCmSrtp(key->key, key->salt, rtp, 0, 4)));
  // Same keystream as the 80-bit suite: only the tag is shorter.
  EXPECT_EQ(Hex(srtp),
            Hex(vectors_->Hex("## 4.", "SRTP").substr(0, rtp.size() + 4)));

  const std::string srtcp = ProtectAndCheckBack(*key, rtcp, true);
  EXPECT_EQ(Hex(srtcp), Hex(vectors_->Hex("## 4.", "SRTCP (index 1)")));
}

TEST_F(SrtpVectorsTest, ReferenceReproducesRfc7714Vectors) {
  const std::string key = vectors_->Hex("## 5.", "key (128)");
  const std::string salt = vectors_->Hex("## 5.", "salt (12 octets)");
  const std::string rtp = vectors_->Hex("## 5.", "RTP packet");
  ASSERT_EQ(salt, "Quid pro quo");
  ASSERT_EQ(rtp.size(), 50u);
  EXPECT_EQ(Hex(GcmSrtpIv(salt, rtp, 0)), Hex(vectors_->Hex("## 5.", "IV")));
  EXPECT_EQ(Hex(ReferenceGcmSrtp(key, salt, rtp, 0)),
            Hex(vectors_->Hex("§16.1.1/16.1.2", "SRTP")));

  const std::string rtcp = vectors_->Hex("## 6.", "RTCP packet");
  const std::string index = vectors_->Hex("## 6.", "SRTCP index");
  ASSERT_EQ(index.size(), 4u);
  const uint32_t srtcp_index = (uint8_t(index[2]) << 8) | uint8_t(index[3]);
  EXPECT_EQ(Hex(ReferenceGcmSrtcp(key, salt, rtcp, srtcp_index)),
            Hex(vectors_->Hex("§17.1 128-bit, encrypted", "")));
}

TEST_F(SrtpVectorsTest, SdesKeyDrivesAeadAes128GcmLikeTheReference) {
  // RFC 7714's key and salt, used here as the *master* key and salt.
  const std::string master_key = vectors_->Hex("## 5.", "key (128)");
  const std::string master_salt = vectors_->Hex("## 5.", "salt (12 octets)");
  absl::StatusOr<MasterKey> key = ParseSdesKeyParams(
      "AEAD_AES_128_GCM",
      absl::StrCat("inline:", absl::Base64Escape(master_key + master_salt)));
  ASSERT_TRUE(key.ok()) << key.status();

  const std::string rtp = vectors_->Hex("## 5.", "RTP packet");
  const std::string srtp = ProtectAndCheckBack(*key, rtp, false);
  EXPECT_EQ(srtp.size(), rtp.size() + 16);
  EXPECT_EQ(Hex(srtp), Hex(ReferenceGcmSrtp(
                           DeriveKey(master_key, master_salt, 0, 16),
                           DeriveKey(master_key, master_salt, 2, 12), rtp, 0)));

  // libsrtp numbers SRTCP packets from 1.
  const std::string rtcp = vectors_->Hex("## 6.", "RTCP packet");
  const std::string srtcp = ProtectAndCheckBack(*key, rtcp, true);
  EXPECT_EQ(Hex(srtcp),
            Hex(ReferenceGcmSrtcp(DeriveKey(master_key, master_salt, 3, 16),
                                  DeriveKey(master_key, master_salt, 5, 12),
                                  rtcp, 1)));
}

}  // namespace
}  // namespace trunkline::media::srtp
