// AES counter mode and HMAC-SHA1 for libsrtp over OpenSSL's libcrypto.
//
// Debian builds libsrtp2 over NSS, whose PKCS#11 layer makes and frees a
// context for every packet's AES-CTR and HMAC (allocations and a lock per
// packet, about 29 KiB of key objects per SRTP context). libsrtp lets an
// application put its own implementation of a cipher or an authentication
// function in place of one of its own (srtp_replace_cipher_type,
// srtp_replace_auth_type); everything else stays libsrtp's: key
// derivation, packet formats, indexes, replay protection. These use the
// libcrypto that gRPC already brings into every Trunkline process: AES-CTR
// through one EVP context per key, given a new IV per packet; HMAC-SHA1
// from the key's inner and outer hash states, computed once per key and
// copied per packet. No allocation and no lock per packet.
//
// The AEAD_AES_128_GCM suite stays on libsrtp's own implementation.
#ifndef TRUNKLINE_SERVICES_MEDIA_SRTP_OPENSSL_CRYPTO_H_
#define TRUNKLINE_SERVICES_MEDIA_SRTP_OPENSSL_CRYPTO_H_

#include "absl/status/status.h"

namespace trunkline::media::srtp {

// Which implementation of AES-CM and HMAC-SHA1 new SRTP contexts use.
enum class SrtpCrypto {
  kOpenSsl,  // the above (default)
  kLibsrtp,  // libsrtp2's own, as Debian builds it (NSS)
};

// After srtp_init(). Runs libsrtp's self-test of each implementation (its
// known-answer vectors) as it registers it, and fails if one does not pass.
// Contexts made before keep what they were made with.
absl::Status UseSrtpCrypto(SrtpCrypto crypto);

}  // namespace trunkline::media::srtp

#endif  // TRUNKLINE_SERVICES_MEDIA_SRTP_OPENSSL_CRYPTO_H_
