// SRTP/SRTCP protection for one direction of one stream, over libsrtp2.
//
// The relay keeps two objects per SRTP leg: an InboundSrtp that unprotects
// what the peer sends (with the peer's key) and an OutboundSrtp that protects
// what the relay sends it (with ours). Both work in place on the caller's
// packet buffer and allocate nothing per packet, except the libsrtp stream
// state for a new SSRC.
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
//   kInternal           anything else libsrtp reports
//
// The drop statuses are shared constants, so a flood of bad packets does not
// allocate either. Objects are not thread-safe: each belongs to the worker
// that owns the stream.
#ifndef TRUNKLINE_SERVICES_MEDIA_SRTP_SRTP_SESSION_H_
#define TRUNKLINE_SERVICES_MEDIA_SRTP_SRTP_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/media/srtp/openssl_crypto.h"
#include "services/media/srtp/sdes.h"

namespace trunkline::media::srtp {

// libsrtp's replay window, in packets (RFC 3711 §3.3.2 asks for >= 64).
inline constexpr uint64_t kReplayWindow = 128;

// Initialises libsrtp once per process, with `crypto`'s AES-CM and HMAC-SHA1
// (openssl_crypto.h) for every context made from then on; any thread may
// call it any number of times (the first call's choice stands). Create()
// calls it with the default, so callers need not.
absl::Status InitSrtpLibrary(SrtpCrypto crypto = SrtpCrypto::kOpenSsl);

namespace internal {
class SrtpContext;  // owns the libsrtp session
}  // namespace internal

// Protects what the relay sends to a peer.
class OutboundSrtp {
 public:
  static absl::StatusOr<std::unique_ptr<OutboundSrtp>> Create(
      const MasterKey& key);
  ~OutboundSrtp();
  OutboundSrtp(const OutboundSrtp&) = delete;
  OutboundSrtp& operator=(const OutboundSrtp&) = delete;

  // Octets ProtectRtp/ProtectRtcp add after the packet: the buffer must have
  // this much room beyond `length`.
  size_t rtp_overhead() const;
  size_t rtcp_overhead() const;

  // Turns the RTP (RTCP) packet in buffer[0, length) into SRTP (SRTCP) in
  // place and returns its new length.
  absl::StatusOr<size_t> ProtectRtp(absl::Span<uint8_t> buffer, size_t length);
  absl::StatusOr<size_t> ProtectRtcp(absl::Span<uint8_t> buffer, size_t length);

 private:
  explicit OutboundSrtp(std::unique_ptr<internal::SrtpContext> context);
  std::unique_ptr<internal::SrtpContext> context_;
};

// Verifies and decrypts what a peer sends the relay, with replay protection.
class InboundSrtp {
 public:
  static absl::StatusOr<std::unique_ptr<InboundSrtp>> Create(
      const MasterKey& key);
  ~InboundSrtp();
  InboundSrtp(const InboundSrtp&) = delete;
  InboundSrtp& operator=(const InboundSrtp&) = delete;

  // Turns the SRTP (SRTCP) packet that fills `packet` back into RTP (RTCP) in
  // place and returns the plain length. On error the buffer content is
  // unspecified.
  absl::StatusOr<size_t> UnprotectRtp(absl::Span<uint8_t> packet);
  absl::StatusOr<size_t> UnprotectRtcp(absl::Span<uint8_t> packet);

 private:
  explicit InboundSrtp(std::unique_ptr<internal::SrtpContext> context);
  std::unique_ptr<internal::SrtpContext> context_;
};

}  // namespace trunkline::media::srtp

#endif  // TRUNKLINE_SERVICES_MEDIA_SRTP_SRTP_SESSION_H_
