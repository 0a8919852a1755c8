// SRTP/SRTCP protection for one direction of one stream, over libsrtp2.
//
// The relay keeps two objects per SRTP leg: an InboundSrtp that unprotects
// what the peer sends (with the peer's key) and an OutboundSrtp that protects
// what the relay sends it (with ours). Both work in place on the caller's
// packet buffer and allocate nothing per packet, except the libsrtp session
// at the first packet (until then an object holds only its key) and the
// libsrtp stream state for a new SSRC.
//
//   ASSIGN_OR_RETURN(auto out, OutboundSrtp::Create(our_key));
//   // buffer holds an RTP packet of `length` octets and has room for the tag
//   ASSIGN_OR_RETURN(size_t srtp_length, out->ProtectRtp(buffer, length));
//
// Drops are told apart by status code, so the relay counts them by reason
// without reading messages:
//
//   kUnauthenticated    the tag does not verify (wrong key, tampered packet)
//   kAlreadyExists      replay: this index was already seen
//   kOutOfRange         replay: index is behind the 128-packet window
//   kInvalidArgument    not an RTP/RTCP packet, or truncated
//   kResourceExhausted  the buffer has no room for the SRTP trailer
//   kFailedPrecondition the key's lifetime is used up: rekey
//   kNotFound           the packet's MKI names no key of this context
//   kInternal           anything else libsrtp reports (also: libsrtp could
//                       not make the session at the first packet)
//
// The drop statuses are shared constants, so a flood of bad packets does not
// allocate either. Objects are not thread-safe: each belongs to the worker
// that owns the stream.
#ifndef TRUNKLINE_SERVICES_MEDIA_SRTP_SRTP_SESSION_H_
#define TRUNKLINE_SERVICES_MEDIA_SRTP_SRTP_SESSION_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/media/srtp/openssl_crypto.h"
#include "services/media/srtp/sdes.h"
#include "services/media/srtp/suite.h"

struct srtp_ctx_t_;  // libsrtp's session (<srtp2/srtp.h>)

namespace trunkline::media::srtp {

// libsrtp's replay window, in packets (RFC 3711 §3.3.2 asks for >= 64).
inline constexpr uint64_t kReplayWindow = 128;

// Initialises libsrtp once per process, with `crypto`'s AES-CM and HMAC-SHA1
// (openssl_crypto.h) for every context made from then on; any thread may
// call it any number of times (the first call's choice stands). Create()
// calls it with the default, so callers need not.
absl::Status InitSrtpLibrary(SrtpCrypto crypto = SrtpCrypto::kOpenSsl);

namespace internal {

// One libsrtp session with a wildcard SSRC (the relay does not know the
// peer's SSRCs in advance, and a stream may change SSRC mid-call), made
// from one master key.
//
// The libsrtp session (about 3 KiB with its cipher and HMAC contexts for RTP
// and RTCP) is made when the first packet goes through, not when the key is
// signalled: a relay holds many streams that carry nothing yet or never will
// (ringing calls, forks that lose, crypto lines offered but not chosen, calls
// set up on hold), and each would otherwise cost that memory; until then
// this holds the key. libsrtp itself allocates at the first packet of each
// SSRC (it clones its wildcard template), so this adds one allocation at
// that moment, none per packet. Held inline by the classes below (one
// allocation per context).
class SrtpContext {
 public:
  SrtpContext() = default;
  ~SrtpContext();
  SrtpContext(const SrtpContext&) = delete;
  SrtpContext& operator=(const SrtpContext&) = delete;

  absl::Status Init(const MasterKey& key, bool inbound);
  bool UsesKey(const MasterKey& key) const;
  size_t rtp_overhead() const { return rtp_overhead_; }
  size_t rtcp_overhead() const { return rtcp_overhead_; }
  absl::StatusOr<size_t> ProtectRtp(absl::Span<uint8_t> buffer, size_t length);
  absl::StatusOr<size_t> ProtectRtcp(absl::Span<uint8_t> buffer, size_t length);
  absl::StatusOr<size_t> UnprotectRtp(absl::Span<uint8_t> packet);
  absl::StatusOr<size_t> UnprotectRtcp(absl::Span<uint8_t> packet);

 private:
  // Makes the libsrtp session from the stored key. False only if libsrtp
  // refuses a key of the right lengths (out of memory, a failed crypto
  // self-test); the packet is then dropped as kInternal.
  bool StartSession();

  srtp_ctx_t_* session_ = nullptr;
  uint64_t mki_value_ = 0;
  // Master key, then salt: the suites' longest pair (16 + 14).
  std::array<unsigned char, 30> material_{};
  Suite suite_ = Suite::kAesCm128HmacSha1_80;
  bool inbound_ = false;
  bool use_mki_ = false;
  uint8_t mki_length_ = 0;  // MKIs are 1..128 octets
  uint8_t rtp_overhead_ = 0;
  uint8_t rtcp_overhead_ = 0;
};

}  // namespace internal

// Protects what the relay sends to a peer.
class OutboundSrtp {
 public:
  static absl::StatusOr<std::unique_ptr<OutboundSrtp>> Create(
      const MasterKey& key);
  OutboundSrtp(const OutboundSrtp&) = delete;
  OutboundSrtp& operator=(const OutboundSrtp&) = delete;

  // Octets ProtectRtp/ProtectRtcp add after the packet: the buffer must have
  // this much room beyond `length`.
  size_t rtp_overhead() const { return context_.rtp_overhead(); }
  size_t rtcp_overhead() const { return context_.rtcp_overhead(); }
  // Whether this context was made from `key` (suite, key, salt and MKI; the
  // lifetime is only signalled): a re-INVITE that repeats our key keeps the
  // context and its rollover counter.
  bool UsesKey(const MasterKey& key) const { return context_.UsesKey(key); }

  // Turns the RTP (RTCP) packet in buffer[0, length) into SRTP (SRTCP) in
  // place and returns its new length.
  absl::StatusOr<size_t> ProtectRtp(absl::Span<uint8_t> buffer, size_t length) {
    return context_.ProtectRtp(buffer, length);
  }
  absl::StatusOr<size_t> ProtectRtcp(absl::Span<uint8_t> buffer,
                                     size_t length) {
    return context_.ProtectRtcp(buffer, length);
  }

 private:
  OutboundSrtp() = default;
  internal::SrtpContext context_;
};

// Verifies and decrypts what a peer sends the relay, with replay protection.
class InboundSrtp {
 public:
  static absl::StatusOr<std::unique_ptr<InboundSrtp>> Create(
      const MasterKey& key);
  InboundSrtp(const InboundSrtp&) = delete;
  InboundSrtp& operator=(const InboundSrtp&) = delete;

  // Turns the SRTP (SRTCP) packet that fills `packet` back into RTP (RTCP) in
  // place and returns the plain length. On error the buffer content is
  // unspecified.
  absl::StatusOr<size_t> UnprotectRtp(absl::Span<uint8_t> packet) {
    return context_.UnprotectRtp(packet);
  }
  absl::StatusOr<size_t> UnprotectRtcp(absl::Span<uint8_t> packet) {
    return context_.UnprotectRtcp(packet);
  }

  // Whether this context was made from `key` (as OutboundSrtp::UsesKey): a
  // re-INVITE that repeats the peer's key keeps its replay window.
  bool UsesKey(const MasterKey& key) const { return context_.UsesKey(key); }

 private:
  InboundSrtp() = default;
  internal::SrtpContext context_;
};

}  // namespace trunkline::media::srtp

#endif  // TRUNKLINE_SERVICES_MEDIA_SRTP_SRTP_SESSION_H_
