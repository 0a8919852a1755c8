#include "services/signaling/digest_auth.h"

#include <openssl/evp.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace trunkline::signaling {
namespace {

bool IsSha256(const std::string& algorithm) {
  return absl::StartsWithIgnoreCase(algorithm, "SHA-256");
}
bool IsSess(const std::string& algorithm) {
  return absl::EndsWithIgnoreCase(algorithm, "-sess");
}

// Lowercase hex of the digest of `data` (MD5 or SHA-256).
std::string Hash(bool sha256, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len,
             sha256 ? EVP_sha256() : EVP_md5(), nullptr);
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i)
    absl::StrAppendFormat(&hex, "%02x", out[i]);
  return hex;
}

// Splits "a=1, b=\"x, y\", c" at the commas outside quotes.
std::vector<std::string> SplitParams(absl::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && quoted && i + 1 < s.size()) {
      cur += s[++i];
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      out.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  out.push_back(cur);
  return out;
}

std::string Unquote(absl::string_view v) {
  v = absl::StripAsciiWhitespace(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    v = v.substr(1, v.size() - 2);
  }
  return std::string(v);
}

}  // namespace

absl::StatusOr<DigestChallenge> ParseDigestChallenge(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  if (!absl::StartsWithIgnoreCase(value, "Digest ")) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a Digest challenge: \"", value.substr(0, 40), "\""));
  }
  value.remove_prefix(7);
  DigestChallenge c;
  bool qop_offered = false;
  for (const std::string& param : SplitParams(value)) {
    const size_t eq = param.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = absl::AsciiStrToLower(
        absl::StripAsciiWhitespace(absl::string_view(param).substr(0, eq)));
    const std::string v = Unquote(absl::string_view(param).substr(eq + 1));
    if (name == "realm") {
      c.realm = v;
    } else if (name == "nonce") {
      c.nonce = v;
    } else if (name == "opaque") {
      c.opaque = v;
    } else if (name == "algorithm") {
      c.algorithm = v;
    } else if (name == "stale") {
      c.stale = absl::EqualsIgnoreCase(v, "true");
    } else if (name == "qop") {
      qop_offered = true;
      for (absl::string_view q : absl::StrSplit(v, ',')) {
        if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(q), "auth")) {
          c.qop_auth = true;
        }
      }
    }
  }
  if (c.realm.empty() && c.nonce.empty()) {
    return absl::InvalidArgumentError(
        "Digest challenge without realm and nonce");
  }
  if (c.nonce.empty()) {
    return absl::InvalidArgumentError("Digest challenge without a nonce");
  }
  const bool known = absl::EqualsIgnoreCase(c.algorithm, "MD5") ||
                     absl::EqualsIgnoreCase(c.algorithm, "MD5-sess") ||
                     absl::EqualsIgnoreCase(c.algorithm, "SHA-256") ||
                     absl::EqualsIgnoreCase(c.algorithm, "SHA-256-sess");
  if (!known) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Digest algorithm \"", c.algorithm,
        "\" is not supported (MD5, MD5-sess, SHA-256, SHA-256-sess are)"));
  }
  if (qop_offered && !c.qop_auth) {
    return absl::UnimplementedError(
        "the challenge offers only qop=auth-int, which is not supported");
  }
  return c;
}

std::string DigestResponse(const DigestChallenge& c, const DigestAnswer& a) {
  const bool sha = IsSha256(c.algorithm);
  std::string ha1 =
      Hash(sha, absl::StrCat(a.username, ":", c.realm, ":", a.password));
  if (IsSess(c.algorithm)) {
    ha1 = Hash(sha, absl::StrCat(ha1, ":", c.nonce, ":", a.cnonce));
  }
  const std::string ha2 = Hash(sha, absl::StrCat(a.method, ":", a.uri));
  if (c.qop_auth) {
    return Hash(sha, absl::StrCat(ha1, ":", c.nonce, ":",
                                  absl::StrFormat("%08x", a.nonce_count), ":",
                                  a.cnonce, ":auth:", ha2));
  }
  return Hash(sha, absl::StrCat(ha1, ":", c.nonce, ":", ha2));
}

std::string DigestAuthorization(const DigestChallenge& c,
                                const DigestAnswer& a) {
  std::string out = absl::StrCat(
      "Digest username=\"", a.username, "\", realm=\"", c.realm, "\", nonce=\"",
      c.nonce, "\", uri=\"", a.uri, "\", response=\"", DigestResponse(c, a),
      "\", algorithm=", c.algorithm);
  if (c.qop_auth || IsSess(c.algorithm)) {
    absl::StrAppend(&out, ", cnonce=\"", a.cnonce, "\"");
  }
  if (c.qop_auth) {
    absl::StrAppend(&out,
                    ", qop=auth, nc=", absl::StrFormat("%08x", a.nonce_count));
  }
  if (!c.opaque.empty()) absl::StrAppend(&out, ", opaque=\"", c.opaque, "\"");
  return out;
}

ChallengeAnswer AnswerChallenge(const SipResponse& r,
                                const DigestCredential& credential,
                                const std::string& method,
                                const std::string& uri, int answered_before,
                                const std::string& cnonce) {
  const bool proxy = r.code == 407;
  ChallengeAnswer out;
  out.detail =
      absl::StrCat("no ", proxy ? "Proxy-Authenticate" : "WWW-Authenticate",
                   " digest challenge for the credential's realm");
  for (const auto& [name, value] : r.headers) {
    if (!absl::EqualsIgnoreCase(
            name, proxy ? "Proxy-Authenticate" : "WWW-Authenticate")) {
      continue;
    }
    absl::StatusOr<DigestChallenge> challenge = ParseDigestChallenge(value);
    if (!challenge.ok()) {
      out.detail = std::string(challenge.status().message());
      continue;
    }
    if (!credential.realm.empty() && credential.realm != challenge->realm) {
      out.detail =
          absl::StrCat("challenge for realm \"", challenge->realm,
                       "\", the credential is for \"", credential.realm, "\"");
      continue;
    }
    if (answered_before >= 2 || (answered_before == 1 && !challenge->stale)) {
      out.outcome = ChallengeAnswer::Outcome::kRefused;
      out.detail = challenge->realm;
      return out;
    }
    DigestAnswer answer;
    answer.username = credential.username;
    answer.password = credential.password;
    answer.method = method;
    answer.uri = uri;
    answer.cnonce = cnonce;
    answer.nonce_count = 1;
    out.outcome = ChallengeAnswer::Outcome::kAnswer;
    out.authorization = {{proxy ? "Proxy-Authorization" : "Authorization",
                          DigestAuthorization(*challenge, answer)}};
    out.detail = challenge->realm;
    return out;
  }
  return out;
}

}  // namespace trunkline::signaling
