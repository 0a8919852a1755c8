// The data path of one datagram, as small stages over one context:
//
//   Demux -> Parse -> CheckSource -> Decrypt -> Account -> Route -> Encrypt
//
// Each stage reads and writes the PacketContext and returns false when the
// packet is dropped (ctx.drop says why); RunPacketPath runs them in order.
// The worker fills the inputs from recvmmsg and sends what comes out with
// sendmmsg. Stages work in place on the receive buffer, allocate nothing and
// never block; they are separate functions so each can be tested alone.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_PACKET_PATH_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_PACKET_PATH_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "services/media/relay/endpoint.h"
#include "services/media/relay/rtp_packet.h"
#include "services/media/relay/stream_end.h"

namespace trunkline::media::relay {

// Why a packet was not relayed; one metric label each.
enum class DropReason : uint8_t {
  kNone = 0,
  kNotRtp,            // STUN, DTLS, garbage: not version 2
  kMalformed,         // RTP/RTCP header does not fit the datagram
  kNotNegotiated,     // the stream has no answer yet
  kUnexpectedSource,  // strict source: not the SDP/latched address
  kSrtpAuth,          // SRTP/SRTCP tag did not verify with any key
  kSrtpReplay,        // SRTP index seen before or too old
  kSrtpError,         // any other libsrtp failure on unprotect
  kNoDestination,     // peer on hold (c=0.0.0.0) or its address unknown
  kProtectFailed,     // SRTP protect towards the peer failed
  kSendFailed,        // the kernel refused the send (buffer full)
  kCount,
};
absl::string_view DropReasonName(DropReason reason);

// The four ways a packet crosses the relay, by the crypto of each side.
enum class CryptoMode : uint8_t {
  kRtpToRtp = 0,
  kRtpToSrtp = 1,
  kSrtpToRtp = 2,
  kSrtpToSrtp = 3,
};
inline constexpr size_t kCryptoModes = 4;
absl::string_view CryptoModeName(CryptoMode mode);

// What the data path tells the worker beyond the verdict (rare events; the
// implementation may allocate, the path itself does not).
class PacketObserver {
 public:
  virtual ~PacketObserver() = default;
  // An RFC 4733 event ended (once per event).
  virtual void OnDtmf(const StreamEnd& from, char digit, uint8_t event,
                      uint32_t duration_ms) = 0;
  // A packet failed SRTP authentication with every key.
  virtual void OnAuthFailure(StreamEnd& from) = 0;
};

struct PacketContext {
  // Inputs.
  uint8_t* data = nullptr;  // the datagram, modified in place
  size_t length = 0;
  size_t capacity = 0;  // room in `data` (for the SRTP trailer)
  const Endpoint* source = nullptr;
  StreamEnd* from = nullptr;
  bool rtcp_socket = false;  // arrived on an RTCP-only port
  int64_t now_ns = 0;        // monotonic
  int64_t now_unix_ms = 0;
  // Scratch room of `capacity` octets for retrying SRTP keys.
  uint8_t* scratch = nullptr;

  // Verdicts.
  PacketKind kind = PacketKind::kNotRtp;
  RtpHeader rtp;
  DropReason drop = DropReason::kNone;
  CryptoMode mode = CryptoMode::kRtpToRtp;

  // Output: where the packet goes.
  int out_fd = -1;
  const Endpoint* destination = nullptr;
};

bool Demux(PacketContext& ctx);
bool Parse(PacketContext& ctx);
bool CheckSource(PacketContext& ctx);
bool Decrypt(PacketContext& ctx, PacketObserver& observer);
bool Account(PacketContext& ctx, PacketObserver& observer);
bool Route(PacketContext& ctx);
bool Encrypt(PacketContext& ctx);

// All stages in order. True: send ctx.length octets of ctx.data to
// ctx.destination through ctx.out_fd.
bool RunPacketPath(PacketContext& ctx, PacketObserver& observer);

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_PACKET_PATH_H_
