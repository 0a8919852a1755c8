// HTTP digest authentication as SIP uses it (RFC 3261 22.4, RFC 7616):
// reading a 401's WWW-Authenticate or a 407's Proxy-Authenticate challenge
// and computing the Authorization / Proxy-Authorization that answers it,
// with MD5 or SHA-256 (and their -sess variants), qop "auth" or none.
//
// Pure functions: the B2BUA decides when to answer a challenge, the stack
// re-sends the request with the header.
#ifndef TRUNKLINE_SERVICES_SIGNALING_DIGEST_AUTH_H_
#define TRUNKLINE_SERVICES_SIGNALING_DIGEST_AUTH_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/signaling/credential_store.h"
#include "services/signaling/sip_stack.h"

namespace trunkline::signaling {

struct DigestChallenge {
  std::string realm;
  std::string nonce;
  std::string opaque;
  // "MD5" (also when absent), "MD5-sess", "SHA-256" or "SHA-256-sess",
  // as the server wrote it.
  std::string algorithm = "MD5";
  // The server offered qop=auth: we answer with qop=auth, cnonce and nc.
  bool qop_auth = false;
  // The nonce was stale: the credentials were right, try again.
  bool stale = false;
};

// Parses the value of a WWW-Authenticate or Proxy-Authenticate header
// ("Digest realm=..., nonce=..., ..."). INVALID_ARGUMENT for another scheme,
// a missing realm or nonce, or an algorithm we cannot compute (the message
// names it), UNIMPLEMENTED for a qop offer without "auth" (auth-int only).
absl::StatusOr<DigestChallenge> ParseDigestChallenge(absl::string_view value);

struct DigestAnswer {
  std::string username;
  std::string password;
  std::string method;  // "INVITE", "REGISTER", ...
  std::string uri;     // the Request-URI, as sent
  // Client nonce and nonce count, used when the challenge offers qop=auth.
  std::string cnonce;
  uint32_t nonce_count = 1;
};

// The header value answering `challenge` ("Digest username=..., ...").
std::string DigestAuthorization(const DigestChallenge& challenge,
                                const DigestAnswer& answer);

// The bare response (the hex digest the server compares), for tests.
std::string DigestResponse(const DigestChallenge& challenge,
                           const DigestAnswer& answer);

// What to do with a 401 or 407 to our request (INVITE, REGISTER): answer
// it with the Authorization (Proxy-Authorization) header, or not and why.
struct ChallengeAnswer {
  enum class Outcome {
    kAnswer,        // send the request again with `authorization`
    kRefused,       // challenged again for a fresh nonce: wrong credentials
    kUnanswerable,  // no challenge for the credential's realm, or unusable
  };
  Outcome outcome = Outcome::kUnanswerable;
  HeaderList authorization;
  std::string detail;  // the realm, or why not
};

// The answer to `challenge_response`'s first digest challenge for
// `credential`'s realm (any realm when it names none). `answered_before`:
// how many challenges this request already answered; a second one is
// answered only when the nonce was stale (RFC 7616 3.4).
ChallengeAnswer AnswerChallenge(const SipResponse& challenge_response,
                                const DigestCredential& credential,
                                const std::string& method,
                                const std::string& uri, int answered_before,
                                const std::string& cnonce);

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_DIGEST_AUTH_H_
