// A media worker: one thread that owns a set of sessions and every socket of
// them, relays their packets, and runs the control operations on them.
//
// Other threads never touch a worker's sessions: they Post() a closure (the
// gRPC handlers post Offer/Answer/... and finish their RPC from inside it).
// The loop moves packets one of two ways (WorkerOptions.packet_io):
// - io_uring (uring.h, the default on Linux 6.1+): each socket has a
//   multishot receive armed; a turn takes every datagram the kernel wrote
//   into the worker's buffers, runs each through the packet path in place,
//   and queues its send, and one io_uring_enter sends the lot and waits for
//   more: no system call per packet or per socket;
// - epoll: each readable socket is drained in batches with recvmmsg and
//   what comes out leaves in batches with sendmmsg (one of each per socket
//   per turn).
// Posted work wakes the loop through an eventfd. Every packet goes through
// the packet path (packet_path.h) in place in a preallocated buffer. Nothing
// on that path allocates, locks or blocks.
//
// For tests, a worker that is not started is driven from the test's thread
// with RunOnce(); the same rule holds: one thread at a time.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_WORKER_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_WORKER_H_

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "services/media/relay/event_hub.h"
#include "services/media/relay/packet_path.h"
#include "services/media/relay/port_allocator.h"
#include "services/media/relay/relay_metrics.h"
#include "services/media/relay/session.h"
#include "services/media/relay/uring.h"
#include "services/media/relay/wakeup_moderation.h"
#include "trunkline/v1/media.pb.h"

namespace trunkline::media::relay {

enum class PacketIo { kEpoll, kUring };

struct WorkerOptions {
  // How packets move (see above). kUring falls back to epoll, with a log
  // line saying why, where the kernel refuses io_uring.
  PacketIo packet_io = PacketIo::kUring;
  // Local address the media sockets bind (0.0.0.0, ::, or one address).
  std::string bind_address = "0.0.0.0";
  // Advertised in SDP when a SidePlan names none.
  std::string advertised_address = "127.0.0.1";
  // Default KIND_RTP_TIMEOUT, seconds; 0 disables.
  uint32_t rtp_timeout_seconds = 60;
  uint32_t rtcp_timeout_seconds = 30;
  // A session no Delete ends is deleted here once it has been orphaned
  // this long: its media timed out (every end that should send has had its
  // RTP timeout reported) this many seconds ago, or its offer was never
  // answered this many seconds after it came. Signaling ends a call on the
  // timeout event and deletes its session at once, so a session left
  // means the call's signaling instance is gone (a crash, a restart): its
  // ports would be held for ever. 0 keeps such sessions.
  uint32_t orphan_seconds = 300;
  // Media types relayed; others are refused with port 0.
  std::vector<std::string> media_types = {"audio", "video"};
  // SCHED_FIFO priority of the worker thread (1-99); 0 keeps the default
  // policy. A worker wakes for every few packets and holds each for
  // microseconds: with other work on the cores, waiting for a time slice
  // is what dominates its latency, and a real-time policy removes that wait.
  // The price: it also wakes at once for every packet when the cores are
  // saturated, so batches shrink and each packet costs more CPU (measured:
  // 5.2 -> 8.4 us flat out beside the load tool), hence off by default.
  // Needs CAP_SYS_NICE; without it the worker logs why and runs as before.
  int realtime_priority = 0;
  // Interrupt moderation (wakeup_moderation.h): while its thread is busy at
  // least `coalesce_busy_percent` of the time (until it falls below half of
  // that), a worker waits `coalesce_us` after each turn before it looks for
  // packets again, so that one wake-up carries many packets instead of one.
  // Less busy, it wakes for every packet and adds no delay. coalesce_us 0
  // disables; coalesce_busy_percent 0 moderates always. Unset: 200 us on
  // the epoll path, off on io_uring's (measured: there the waits cost more
  // CPU per packet than they save, and add their delay to the tail).
  std::optional<uint32_t> coalesce_us;
  uint32_t coalesce_busy_percent = 60;
};

class Worker final : private PacketObserver {
 public:
  // `ports`, `events` and `metrics` outlive the worker; `metrics` may be null
  // (tests).
  static absl::StatusOr<std::unique_ptr<Worker>> Create(int index,
                                                        WorkerOptions options,
                                                        PortAllocator* ports,
                                                        EventHub* events,
                                                        RelayMetrics* metrics);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs the loop on a thread of its own until Stop().
  void Start();
  void Stop();
  // Runs `work` on the worker's thread, after the packets at hand.
  void Post(std::function<void()> work);
  // One loop iteration: waits up to `timeout_ms` for packets or posted work.
  // Returns the socket events it handled (kMaxEvents: maybe more ready).
  int RunOnce(int timeout_ms);
  static constexpr int kMaxEvents = 256;

  // Control operations: on the worker's thread only. They return the SDP
  // for the other leg, or why not.
  absl::StatusOr<std::string> Offer(const v1::OfferRequest& request,
                                    bool update, bool draining);
  absl::StatusOr<std::string> Answer(const v1::AnswerRequest& request);
  // Ends the session; its figures up to now go to `final_streams` when set.
  void Delete(const std::string& call_id,
              google::protobuf::RepeatedPtrField<v1::StreamStats>*
                  final_streams = nullptr);
  absl::Status Query(const std::string& call_id, v1::QueryResponse* response);
  // Deletes every session (shutdown).
  void DeleteAll();

  // Any thread.
  uint32_t sessions() const { return sessions_count_.load(); }
  uint32_t streams() const { return streams_count_.load(); }
  double packets_per_second() const { return packets_per_second_.load(); }

 private:
  Worker(int index, WorkerOptions options, PortAllocator* ports,
         EventHub* events, RelayMetrics* metrics);

  // What epoll carries for a socket of `end` (and the io_uring path keeps
  // by fd): its address, with the low bit set for the RTCP socket (a
  // StreamEnd is 8-aligned). 0 is the wake-up eventfd (epoll), or a closed
  // socket (io_uring). A pointer to a {end, rtcp} pair inside each end cost
  // every idle stream end 32 octets.
  static uint64_t SocketTag(StreamEnd& end, bool rtcp_socket) {
    return uint64_t(reinterpret_cast<uintptr_t>(&end)) | (rtcp_socket ? 1 : 0);
  }
  static StreamEnd& EndOfTag(uint64_t tag) {
    return *reinterpret_cast<StreamEnd*>(uintptr_t(tag & ~uint64_t{1}));
  }
  static bool IsRtcpTag(uint64_t tag) { return (tag & 1) != 0; }
  static_assert(alignof(StreamEnd) >= 2,
                "the low bit of a tag is the RTCP flag");

  // Both paths: one received datagram of `length` octets in `data` (room
  // for `capacity`) through the packet path, `ctx` carrying the turn's
  // clock; false, counted as a drop, when it is not to be relayed.
  bool RunDatagram(PacketContext& ctx, uint8_t* data, size_t length,
                   size_t capacity, bool truncated, const Endpoint& source,
                   StreamEnd& from, bool rtcp_socket);
  // A relayed packet's send, counted as relayed or as a failed send.
  void CountSend(uint8_t direction, uint8_t mode, size_t bytes, bool sent);
  // Data path, epoll.
  int RunOnceEpoll(int timeout_ms);
  void ReadSocket(StreamEnd& end, bool rtcp_socket);
  void SendBatch(size_t count);
  // Data path, io_uring (worker_uring.cc).
  // Makes the ring on first use; epoll when the kernel refuses it.
  void EnsureUring();
  int RunOnceUring(int timeout_ms);
  void OnUringReceive(const io_uring_cqe& cqe, int64_t now_ns,
                      int64_t now_unix_ms);
  void OnUringSend(const io_uring_cqe& cqe);
  void ArmReceive(int fd, uint16_t generation);
  void ArmWake();
  // Arms again what the kernel could not take last turn (out of memory).
  void RetryArming();
  void WatchSocket(StreamEnd& end, bool rtcp_socket);
  // Queues the cancellation of `fd`'s receive; FinishUnwatching() makes
  // the queued ones before the sockets are closed.
  void UnwatchSocket(int fd);
  void FinishUnwatching();
  // The end of a turn, both paths: the wake-up consumed (epoll's; on
  // io_uring the armed read does it), posted work run, the periodic tick.
  void FinishTurn(bool woken);
  void Tick(int64_t now_ns);
  // Why `session` is an orphan to delete (see WorkerOptions.orphan_seconds):
  // "media_timeout" or "never_answered"; null to keep it.
  const char* OrphanReason(const Session& session, int64_t now_ns) const;
  void FlushMetrics();
  void OnDtmf(const StreamEnd& from, char digit, uint8_t event,
              uint32_t duration_ms) override;
  void OnAuthFailure(StreamEnd& from) override;
  void Publish(v1::MediaEvent event);

  // Control helpers (session_control.cc).
  absl::Status OpenSockets(StreamEnd& end);
  void CloseSockets(StreamEnd& end);
  absl::Status EnsureStream(Session& session, uint32_t mline);
  absl::Status ConfigureEnd(StreamEnd& end, const sdp::RemoteEndpoint& remote,
                            const std::optional<sdp::CryptoChoice>& crypto,
                            bool rtcp_mux, const sdp::SessionDescription& sdp,
                            const sdp::MediaDescription& media,
                            const SideState& side);
  void SetCandidateKeys(StreamEnd& end, const sdp::MediaDescription& media);
  absl::Status PrepareSide(Session& session, size_t side,
                           const v1::SidePlan& plan);
  // How the relay presents itself to `side` in an SDP of `mlines` m-lines
  // (the rewriter's input), from what the session keeps.
  sdp::RelaySide RelaySideFor(const Session& session, size_t side,
                              size_t mlines) const;
  void DestroySession(Session& session);
  // Each stream end's figures (one entry per leg and m-line), for Query and
  // Delete.
  void AddStreamFigures(
      const Session& session,
      google::protobuf::RepeatedPtrField<v1::StreamStats>* streams) const;
  void UpdateCounts();

  const int index_;
  const WorkerOptions options_;
  int family_ = AF_INET;
  PortAllocator* const ports_;
  EventHub* const events_;
  RelayMetrics* const metrics_;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;

  // io_uring state (worker_uring.cc). A receive completion names its
  // socket by fd and the end's io_generation, never by pointer: completions
  // of a socket closed this turn may still be in the ring, and its fd
  // number may already belong to a new socket.
  std::unique_ptr<Uring> uring_;
  bool uring_tried_ = false;
  // options_.coalesce_us resolved once the packet path is known (Start).
  uint32_t coalesce_us_ = 0;
  // By fd: SocketTag() of the end the socket faces; 0 once closed.
  std::vector<uint64_t> uring_sockets_;
  uint16_t next_io_generation_ = 0;
  // Receives (as their completion tags) and the wake-up poll that could
  // not be armed for want of kernel memory: tried again each turn.
  std::vector<uint64_t> uring_rearm_;
  bool wake_unarmed_ = false;
  // Where the armed read of the wake-up eventfd puts its count.
  uint64_t wake_count_ = 0;
  // A relayed packet's send, by the buffer it is sent from: it must stay
  // valid until the send completes.
  struct UringSend {
    msghdr message;
    iovec iov;
    sockaddr_in6 destination;
    uint8_t direction;
    uint8_t mode;
  };
  std::unique_ptr<UringSend[]> uring_sends_;
  std::thread thread_;
  std::atomic<bool> running_{false};

  absl::Mutex posted_mutex_;
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(posted_mutex_);
  std::vector<std::function<void()>> running_posted_;

  // By call id; the key views the Session's own call_id.
  absl::flat_hash_map<absl::string_view, std::unique_ptr<Session>> sessions_;

  // Batch buffers, allocated once.
  static constexpr size_t kBatch = 32;
  static constexpr size_t kBufferSize = 2048;
  // Largest datagram accepted, leaving room for an SRTP trailer + MKI.
  static constexpr size_t kMaxDatagram = kBufferSize - 64;
  struct Buffers;
  std::unique_ptr<Buffers> buffers_;

  // Local counts, flushed to metrics_ on Tick.
  std::array<std::array<uint64_t, kCryptoModes>, kDirections> packets_{};
  std::array<std::array<uint64_t, kCryptoModes>, kDirections> bytes_{};
  std::array<uint64_t, size_t(DropReason::kCount)> drops_{};
  uint64_t relayed_total_ = 0;
  uint64_t relayed_at_last_rate_ = 0;
  int64_t last_rate_ns_ = 0;
  int64_t next_tick_ns_ = 0;

  std::atomic<uint32_t> sessions_count_{0};
  std::atomic<uint32_t> streams_count_{0};
  std::atomic<double> packets_per_second_{0};
  // Worker thread only (sampled on Tick).
  WakeupModeration moderation_;
  prometheus::Gauge* busy_gauge_ = nullptr;
  prometheus::Gauge* moderated_gauge_ = nullptr;
  prometheus::Gauge* io_uring_gauge_ = nullptr;
};

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_WORKER_H_
