#include "services/media/srtp/openssl_crypto.h"

// SHA1_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, whose
// HMAC re-initialisation duplicates provider state (an allocation) per
// message; the low-level calls run the same assembly on a copied state.
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

// libsrtp's own implementations, exported by libsrtp2.so: their known-answer
// test cases check ours, and kLibsrtp puts them back.
extern "C" {
extern const srtp_cipher_type_t srtp_aes_icm_128;
extern const srtp_cipher_type_t srtp_aes_icm_256;
extern const srtp_auth_type_t srtp_hmac;
}

namespace trunkline::media::srtp {
namespace {

// --- AES counter mode (RFC 3711 4.1.1) ---

struct IcmState {
  EVP_CIPHER_CTX* ctx;
  int key_size;        // 16 or 32
  uint8_t offset[16];  // the session salt, then two zero octets
};

const srtp_cipher_type_t* IcmTypeFor(int key_len);

srtp_err_status_t IcmAlloc(srtp_cipher_pointer_t* c, int key_len, int) {
  const srtp_cipher_type_t* type = IcmTypeFor(key_len);
  if (type == nullptr) return srtp_err_status_bad_param;
  auto* cipher =
      static_cast<srtp_cipher_t*>(std::calloc(1, sizeof(srtp_cipher_t)));
  auto* state = static_cast<IcmState*>(std::calloc(1, sizeof(IcmState)));
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (cipher == nullptr || state == nullptr || ctx == nullptr) {
    std::free(cipher);
    std::free(state);
    EVP_CIPHER_CTX_free(ctx);
    return srtp_err_status_alloc_fail;
  }
  state->ctx = ctx;
  state->key_size = key_len - SRTP_SALT_LEN;
  cipher->type = type;
  cipher->state = state;
  cipher->key_len = key_len;
  cipher->algorithm = type->id;
  *c = cipher;
  return srtp_err_status_ok;
}

srtp_err_status_t IcmDealloc(srtp_cipher_pointer_t c) {
  auto* state = static_cast<IcmState*>(c->state);
  EVP_CIPHER_CTX_free(state->ctx);
  OPENSSL_cleanse(state, sizeof(*state));
  std::free(state);
  std::free(c);
  return srtp_err_status_ok;
}

srtp_err_status_t IcmInit(void* s, const uint8_t* key) {
  auto* state = static_cast<IcmState*>(s);
  std::memset(state->offset, 0, sizeof(state->offset));
  std::memcpy(state->offset, key + state->key_size, SRTP_SALT_LEN);
  const EVP_CIPHER* evp =
      state->key_size == 16 ? EVP_aes_128_ctr() : EVP_aes_256_ctr();
  if (EVP_EncryptInit_ex(state->ctx, evp, nullptr, key, nullptr) != 1) {
    return srtp_err_status_init_fail;
  }
  return srtp_err_status_ok;
}

// The counter block: the salt-derived offset XOR what libsrtp passes (the
// SSRC and packet index, or the key derivation's label and index, already
// in place).
srtp_err_status_t IcmSetIv(void* s, uint8_t* iv, srtp_cipher_direction_t) {
  auto* state = static_cast<IcmState*>(s);
  uint8_t counter[16];
  for (int i = 0; i < 16; ++i) counter[i] = state->offset[i] ^ iv[i];
  if (EVP_EncryptInit_ex(state->ctx, nullptr, nullptr, nullptr, counter) != 1) {
    return srtp_err_status_fail;
  }
  return srtp_err_status_ok;
}

// Encryption and decryption are the same XOR with the key stream.
srtp_err_status_t IcmCrypt(void* s, uint8_t* buffer, unsigned int* octets) {
  auto* state = static_cast<IcmState*>(s);
  int out = 0;
  if (EVP_EncryptUpdate(state->ctx, buffer, &out, buffer,
                        static_cast<int>(*octets)) != 1) {
    return srtp_err_status_cipher_fail;
  }
  *octets = static_cast<unsigned int>(out);
  return srtp_err_status_ok;
}

const srtp_cipher_type_t kIcm128 = {
    IcmAlloc,
    IcmDealloc,
    IcmInit,
    nullptr,  // no AAD
    IcmCrypt,
    IcmCrypt,
    IcmSetIv,
    nullptr,  // no tag
    "AES-128 counter mode over OpenSSL libcrypto",
    nullptr,  // set from libsrtp's own type before registering
    SRTP_AES_ICM_128,
};
const srtp_cipher_type_t kIcm256 = {
    IcmAlloc, IcmDealloc,       IcmInit,
    nullptr,  IcmCrypt,         IcmCrypt,
    IcmSetIv, nullptr,          "AES-256 counter mode over OpenSSL libcrypto",
    nullptr,  SRTP_AES_ICM_256,
};
// What is registered: ours, with the known-answer tests of libsrtp's own.
template <typename Type>
Type WithKnownAnswers(Type ours, const Type& libsrtps) {
  ours.test_data = libsrtps.test_data;
  return ours;
}
const srtp_cipher_type_t& Icm128() {
  static const srtp_cipher_type_t type =
      WithKnownAnswers(kIcm128, srtp_aes_icm_128);
  return type;
}
const srtp_cipher_type_t& Icm256() {
  static const srtp_cipher_type_t type =
      WithKnownAnswers(kIcm256, srtp_aes_icm_256);
  return type;
}

const srtp_cipher_type_t* IcmTypeFor(int key_len) {
  if (key_len == SRTP_AES_ICM_128_KEY_LEN_WSALT) return &Icm128();
  if (key_len == SRTP_AES_ICM_256_KEY_LEN_WSALT) return &Icm256();
  return nullptr;
}

// --- HMAC-SHA1 (RFC 2104), tags cut to the suite's length ---

struct HmacState {
  SHA_CTX inner;  // after the key XOR ipad block
  SHA_CTX outer;  // after the key XOR opad block
  SHA_CTX running;
};

const srtp_auth_type_t& Hmac();

srtp_err_status_t HmacAlloc(srtp_auth_pointer_t* a, int key_len, int out_len) {
  if (key_len < 0 || key_len > SHA_CBLOCK || out_len < 0 ||
      out_len > SHA_DIGEST_LENGTH) {
    return srtp_err_status_bad_param;
  }
  auto* auth = static_cast<srtp_auth_t*>(std::calloc(1, sizeof(srtp_auth_t)));
  auto* state = static_cast<HmacState*>(std::calloc(1, sizeof(HmacState)));
  if (auth == nullptr || state == nullptr) {
    std::free(auth);
    std::free(state);
    return srtp_err_status_alloc_fail;
  }
  auth->type = &Hmac();
  auth->state = state;
  auth->out_len = out_len;
  auth->key_len = key_len;
  auth->prefix_len = 0;
  *a = auth;
  return srtp_err_status_ok;
}

srtp_err_status_t HmacDealloc(srtp_auth_pointer_t a) {
  OPENSSL_cleanse(a->state, sizeof(HmacState));
  std::free(a->state);
  std::free(a);
  return srtp_err_status_ok;
}

srtp_err_status_t HmacInit(void* s, const uint8_t* key, int key_len) {
  auto* state = static_cast<HmacState*>(s);
  if (key_len > SHA_CBLOCK) return srtp_err_status_bad_param;
  uint8_t ipad[SHA_CBLOCK], opad[SHA_CBLOCK];
  for (int i = 0; i < SHA_CBLOCK; ++i) {
    const uint8_t k = i < key_len ? key[i] : 0;
    ipad[i] = k ^ 0x36;
    opad[i] = k ^ 0x5c;
  }
  SHA1_Init(&state->inner);
  SHA1_Update(&state->inner, ipad, sizeof(ipad));
  SHA1_Init(&state->outer);
  SHA1_Update(&state->outer, opad, sizeof(opad));
  OPENSSL_cleanse(ipad, sizeof(ipad));
  OPENSSL_cleanse(opad, sizeof(opad));
  state->running = state->inner;
  return srtp_err_status_ok;
}

srtp_err_status_t HmacStart(void* s) {
  auto* state = static_cast<HmacState*>(s);
  state->running = state->inner;
  return srtp_err_status_ok;
}

srtp_err_status_t HmacUpdate(void* s, const uint8_t* buffer, int octets) {
  SHA1_Update(&static_cast<HmacState*>(s)->running, buffer,
              static_cast<size_t>(octets));
  return srtp_err_status_ok;
}

srtp_err_status_t HmacCompute(void* s, const uint8_t* buffer, int octets,
                              int tag_len, uint8_t* tag) {
  auto* state = static_cast<HmacState*>(s);
  if (tag_len < 0 || tag_len > SHA_DIGEST_LENGTH) {
    return srtp_err_status_bad_param;
  }
  uint8_t inner[SHA_DIGEST_LENGTH], mac[SHA_DIGEST_LENGTH];
  SHA1_Update(&state->running, buffer, static_cast<size_t>(octets));
  SHA1_Final(inner, &state->running);
  SHA_CTX outer = state->outer;
  SHA1_Update(&outer, inner, sizeof(inner));
  SHA1_Final(mac, &outer);
  std::memcpy(tag, mac, static_cast<size_t>(tag_len));
  return srtp_err_status_ok;
}

const srtp_auth_type_t kHmac = {
    HmacAlloc,
    HmacDealloc,
    HmacInit,
    HmacCompute,
    HmacUpdate,
    HmacStart,
    "HMAC-SHA1 over OpenSSL libcrypto",
    nullptr,  // set from libsrtp's own type before registering
    SRTP_HMAC_SHA1,
};

const srtp_auth_type_t& Hmac() {
  static const srtp_auth_type_t type = WithKnownAnswers(kHmac, srtp_hmac);
  return type;
}

absl::Status Check(srtp_err_status_t status, const char* what) {
  if (status == srtp_err_status_ok) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(
      "registering ", what, " with libsrtp failed (error ",
      static_cast<int>(status), "; its known-answer test did not pass?)"));
}

}  // namespace

absl::Status UseSrtpCrypto(SrtpCrypto crypto) {
  if (crypto == SrtpCrypto::kLibsrtp) {
    absl::Status s =
        Check(srtp_replace_cipher_type(&srtp_aes_icm_128, SRTP_AES_ICM_128),
              "libsrtp's AES-128-CM");
    if (s.ok()) {
      s = Check(srtp_replace_cipher_type(&srtp_aes_icm_256, SRTP_AES_ICM_256),
                "libsrtp's AES-256-CM");
    }
    if (s.ok()) {
      s = Check(srtp_replace_auth_type(&srtp_hmac, SRTP_HMAC_SHA1),
                "libsrtp's HMAC-SHA1");
    }
    return s;
  }
  // libsrtp's self-test runs on registration: the same known answers its own
  // implementations are checked with.
  absl::Status s = Check(srtp_replace_cipher_type(&Icm128(), SRTP_AES_ICM_128),
                         "AES-128-CM over OpenSSL");
  if (s.ok()) {
    s = Check(srtp_replace_cipher_type(&Icm256(), SRTP_AES_ICM_256),
              "AES-256-CM over OpenSSL");
  }
  if (s.ok()) {
    s = Check(srtp_replace_auth_type(&Hmac(), SRTP_HMAC_SHA1),
              "HMAC-SHA1 over OpenSSL");
  }
  return s;
}

}  // namespace trunkline::media::srtp
