#include "services/media/srtp/srtp_session.h"

#include <srtp2/srtp.h>
#include <string.h>  // explicit_bzero

#include <algorithm>
#include <array>
#include <climits>
#include <mutex>  // std::call_once
#include <utility>

#include "absl/strings/str_cat.h"

namespace trunkline::media::srtp {
namespace {

// Drop statuses are built once: copying an absl::Status only bumps a
// reference count, so the packet path allocates nothing when it drops.
// TRUNKLINE_SHARED_STATUS(Name, ...) defines `const absl::Status& Name()`.
#define TRUNKLINE_SHARED_STATUS(name, code, message)                           \
  const absl::Status& name() {                                                 \
    static const absl::Status* const status = new absl::Status(code, message); \
    return *status;                                                            \
  }

TRUNKLINE_SHARED_STATUS(AuthFailure, absl::StatusCode::kUnauthenticated,
                        "SRTP authentication failed: wrong key or tampered "
                        "packet")
TRUNKLINE_SHARED_STATUS(Replayed, absl::StatusCode::kAlreadyExists,
                        "SRTP replay: packet index already received")
TRUNKLINE_SHARED_STATUS(TooOld, absl::StatusCode::kOutOfRange,
                        "SRTP replay: packet index is behind the replay "
                        "window")
TRUNKLINE_SHARED_STATUS(NotRtp, absl::StatusCode::kInvalidArgument,
                        "not an RTP packet: shorter than its header or not "
                        "version 2")
TRUNKLINE_SHARED_STATUS(NotRtcp, absl::StatusCode::kInvalidArgument,
                        "not an RTCP packet: shorter than 8 octets or not "
                        "version 2")
TRUNKLINE_SHARED_STATUS(Malformed, absl::StatusCode::kInvalidArgument,
                        "malformed or truncated SRTP/SRTCP packet")
TRUNKLINE_SHARED_STATUS(NoRoom, absl::StatusCode::kResourceExhausted,
                        "packet buffer has no room for the SRTP trailer")
TRUNKLINE_SHARED_STATUS(KeyExpired, absl::StatusCode::kFailedPrecondition,
                        "SRTP master key lifetime is used up; rekey the "
                        "stream")
TRUNKLINE_SHARED_STATUS(StartFailed, absl::StatusCode::kInternal,
                        "libsrtp could not make the SRTP session for this "
                        "stream's key")
TRUNKLINE_SHARED_STATUS(UnknownMki, absl::StatusCode::kNotFound,
                        "SRTP packet carries an MKI this context does not "
                        "know")

#undef TRUNKLINE_SHARED_STATUS

absl::Status PacketStatus(srtp_err_status_t error) {
  switch (error) {
    case srtp_err_status_auth_fail:
      return AuthFailure();
    case srtp_err_status_replay_fail:
      return Replayed();
    case srtp_err_status_replay_old:
      return TooOld();
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
      return Malformed();
    case srtp_err_status_key_expired:
      return KeyExpired();
    case srtp_err_status_bad_mki:
      return UnknownMki();
    default:
      // Rare and not caused by packet content: worth the allocation.
      return absl::InternalError(
          absl::StrCat("libsrtp failed with error ", static_cast<int>(error)));
  }
}

constexpr size_t kRtpHeaderLength = 12;
constexpr size_t kRtcpHeaderLength = 8;
constexpr size_t kSrtcpIndexLength = 4;  // E flag + 31-bit index

bool IsVersion2(absl::Span<const uint8_t> packet) {
  return (packet[0] >> 6) == 2;
}

void SetPolicy(Suite suite, srtp_policy_t& policy) {
  switch (suite) {
    case Suite::kAesCm128HmacSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case Suite::kAesCm128HmacSha1_32:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
      // RFC 4568 §6.2.2 (and RFC 3711): SRTCP keeps the 80-bit tag.
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case Suite::kAeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
  }
}

}  // namespace

absl::Status InitSrtpLibrary(SrtpCrypto crypto) {
  static std::once_flag once;
  static absl::Status* result = nullptr;
  std::call_once(once, [crypto] {
    const srtp_err_status_t init = srtp_init();
    result = new absl::Status(
        init == srtp_err_status_ok
            ? UseSrtpCrypto(crypto)
            : absl::InternalError(absl::StrCat("srtp_init failed with error ",
                                               static_cast<int>(init))));
  });
  return *result;
}

namespace internal {

absl::Status SrtpContext::Init(const MasterKey& key, bool inbound) {
  const SuiteInfo& info = InfoOf(key.suite);
  if (key.key.size() != info.key_length ||
      key.salt.size() != info.salt_length) {
    return absl::InvalidArgumentError(
        absl::StrCat(info.name, " needs a ", info.key_length,
                     "-octet key and a ", info.salt_length, "-octet salt, got ",
                     key.key.size(), " and ", key.salt.size()));
  }
  if (key.key.size() + key.salt.size() > material_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(info.name, ": key and salt longer than supported"));
  }
  if (absl::Status status = InitSrtpLibrary(); !status.ok()) return status;
  // libsrtp reads master key and salt from one buffer and copies them.
  std::copy(key.key.begin(), key.key.end(), material_.begin());
  std::copy(key.salt.begin(), key.salt.end(),
            material_.begin() + key.key.size());
  suite_ = key.suite;
  inbound_ = inbound;
  size_t mki_length = 0;
  if (key.mki.has_value()) {
    mki_length = key.mki->length;
    use_mki_ = true;
    mki_length_ = static_cast<uint8_t>(mki_length);
    mki_value_ = key.mki->value;
  }
  rtp_overhead_ = static_cast<uint8_t>(info.rtp_tag_length + mki_length);
  rtcp_overhead_ = static_cast<uint8_t>(info.rtcp_tag_length +
                                        kSrtcpIndexLength + mki_length);
  return absl::OkStatus();
}

SrtpContext::~SrtpContext() {
  if (session_ != nullptr) srtp_dealloc(session_);
  explicit_bzero(material_.data(), material_.size());
}

bool SrtpContext::UsesKey(const MasterKey& key) const {
  if (key.suite != suite_ || key.mki.has_value() != use_mki_) return false;
  if (use_mki_ &&
      (key.mki->length != mki_length_ || key.mki->value != mki_value_)) {
    return false;
  }
  const SuiteInfo& info = InfoOf(suite_);
  if (key.key.size() != info.key_length ||
      key.salt.size() != info.salt_length) {
    return false;
  }
  const auto same = [](char a, unsigned char b) {
    return static_cast<unsigned char>(a) == b;
  };
  return std::equal(key.key.begin(), key.key.end(), material_.begin(), same) &&
         std::equal(key.salt.begin(), key.salt.end(),
                    material_.begin() + info.key_length, same);
}

bool SrtpContext::StartSession() {
  std::array<unsigned char, 128> mki_id{};
  srtp_master_key_t master_key{};
  srtp_master_key_t* master_keys[1] = {&master_key};

  srtp_policy_t policy{};
  SetPolicy(suite_, policy);
  policy.ssrc.type = inbound_ ? ssrc_any_inbound : ssrc_any_outbound;
  policy.key = material_.data();
  policy.window_size = kReplayWindow;
  policy.allow_repeat_tx = 0;  // never reuse a keystream, even for a resend
  policy.next = nullptr;
  if (use_mki_) {
    // Big-endian, right-aligned in its octets (RFC 3711 §3.1).
    uint64_t value = mki_value_;
    for (size_t i = mki_length_; i > 0 && value != 0; --i) {
      mki_id[i - 1] = static_cast<unsigned char>(value & 0xff);
      value >>= 8;
    }
    master_key.key = material_.data();
    master_key.mki_id = mki_id.data();
    master_key.mki_size = mki_length_;
    policy.key = nullptr;
    policy.keys = master_keys;
    policy.num_master_keys = 1;
  }
  srtp_t session = nullptr;
  if (srtp_create(&session, &policy) != srtp_err_status_ok) return false;
  session_ = session;
  return true;
}

absl::StatusOr<size_t> SrtpContext::ProtectRtp(absl::Span<uint8_t> buffer,
                                               size_t length) {
  if (length < kRtpHeaderLength || length > buffer.size() ||
      !IsVersion2(buffer)) {
    return NotRtp();
  }
  if (buffer.size() - length < rtp_overhead_ || buffer.size() > INT_MAX) {
    return NoRoom();
  }
  if (session_ == nullptr && !StartSession()) return StartFailed();
  int size = static_cast<int>(length);
  srtp_err_status_t error =
      use_mki_ ? srtp_protect_mki(session_, buffer.data(), &size, 1, 0)
               : srtp_protect(session_, buffer.data(), &size);
  if (error != srtp_err_status_ok) return PacketStatus(error);
  return static_cast<size_t>(size);
}

absl::StatusOr<size_t> SrtpContext::ProtectRtcp(absl::Span<uint8_t> buffer,
                                                size_t length) {
  if (length < kRtcpHeaderLength || length > buffer.size() ||
      !IsVersion2(buffer)) {
    return NotRtcp();
  }
  if (buffer.size() - length < rtcp_overhead_ || buffer.size() > INT_MAX) {
    return NoRoom();
  }
  if (session_ == nullptr && !StartSession()) return StartFailed();
  int size = static_cast<int>(length);
  srtp_err_status_t error =
      use_mki_ ? srtp_protect_rtcp_mki(session_, buffer.data(), &size, 1, 0)
               : srtp_protect_rtcp(session_, buffer.data(), &size);
  if (error != srtp_err_status_ok) return PacketStatus(error);
  return static_cast<size_t>(size);
}

absl::StatusOr<size_t> SrtpContext::UnprotectRtp(absl::Span<uint8_t> packet) {
  if (packet.size() < kRtpHeaderLength + rtp_overhead_ ||
      packet.size() > INT_MAX || !IsVersion2(packet)) {
    return NotRtp();
  }
  if (session_ == nullptr && !StartSession()) return StartFailed();
  int size = static_cast<int>(packet.size());
  srtp_err_status_t error =
      use_mki_ ? srtp_unprotect_mki(session_, packet.data(), &size, 1)
               : srtp_unprotect(session_, packet.data(), &size);
  if (error != srtp_err_status_ok) return PacketStatus(error);
  return static_cast<size_t>(size);
}

absl::StatusOr<size_t> SrtpContext::UnprotectRtcp(absl::Span<uint8_t> packet) {
  if (packet.size() < kRtcpHeaderLength + rtcp_overhead_ ||
      packet.size() > INT_MAX || !IsVersion2(packet)) {
    return NotRtcp();
  }
  if (session_ == nullptr && !StartSession()) return StartFailed();
  int size = static_cast<int>(packet.size());
  srtp_err_status_t error =
      use_mki_ ? srtp_unprotect_rtcp_mki(session_, packet.data(), &size, 1)
               : srtp_unprotect_rtcp(session_, packet.data(), &size);
  if (error != srtp_err_status_ok) return PacketStatus(error);
  return static_cast<size_t>(size);
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<OutboundSrtp>> OutboundSrtp::Create(
    const MasterKey& key) {
  auto srtp = std::unique_ptr<OutboundSrtp>(new OutboundSrtp());
  if (absl::Status status = srtp->context_.Init(key, /*inbound=*/false);
      !status.ok()) {
    return status;
  }
  return srtp;
}

absl::StatusOr<std::unique_ptr<InboundSrtp>> InboundSrtp::Create(
    const MasterKey& key) {
  auto srtp = std::unique_ptr<InboundSrtp>(new InboundSrtp());
  if (absl::Status status = srtp->context_.Init(key, /*inbound=*/true);
      !status.ok()) {
    return status;
  }
  return srtp;
}

}  // namespace trunkline::media::srtp
