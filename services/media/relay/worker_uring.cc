// The worker's io_uring data path (see worker.h and uring.h).
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "services/common/log.h"
#include "services/media/relay/worker.h"

namespace trunkline::media::relay {
namespace {

// What a completion is, in the top two bits of its user_data.
constexpr uint64_t kKindShift = 62;
constexpr uint64_t kReceive = 0;  // | io_generation << 32 | fd
constexpr uint64_t kSend = 1;     // | buffer id
constexpr uint64_t kWake = 2;
constexpr uint64_t kIgnore = 3;  // cancels

uint64_t Kind(uint64_t user_data) { return user_data >> kKindShift; }

uint64_t ReceiveTag(int fd, uint16_t generation) {
  return (kReceive << kKindShift) | (uint64_t(generation) << 32) | uint32_t(fd);
}

int64_t NowNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

void Worker::EnsureUring() {
  if (uring_tried_ || options_.packet_io != PacketIo::kUring) return;
  uring_tried_ = true;
  Uring::Options ring_options;
  ring_options.buffer_stride = kBufferSize;
  // The 64 octets after the largest datagram are room for an SRTP trailer,
  // as in the epoll path.
  ring_options.buffer_fill = kBufferSize - 64;
  absl::StatusOr<std::unique_ptr<Uring>> ring = Uring::Create(ring_options);
  if (!ring.ok()) {
    TL_LOG(kWarning, "media worker relays with epoll: io_uring unavailable")
        .With("worker", index_)
        .With("reason", ring.status().message());
    return;
  }
  uring_ = std::move(*ring);
  if (io_uring_gauge_ != nullptr) io_uring_gauge_->Set(1);
  uring_sends_ = std::make_unique<UringSend[]>(ring_options.buffers);
  for (unsigned i = 0; i < ring_options.buffers; ++i) {
    UringSend& send = uring_sends_[i];
    std::memset(&send.message, 0, sizeof(send.message));
    send.message.msg_name = &send.destination;
    send.message.msg_iov = &send.iov;
    send.message.msg_iovlen = 1;
  }
  // Posted work wakes the ring's wait as it wakes epoll's.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, wake_fd_, nullptr);
  uring_->PreparePollMultishot(uring_->NextSqe(), wake_fd_,
                               kWake << kKindShift);
  uring_->Submit();
}

void Worker::WatchSocket(StreamEnd& end, bool rtcp_socket) {
  const int fd = rtcp_socket ? end.rtcp_fd : end.rtp_fd;
  EnsureUring();
  if (uring_ == nullptr) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = SocketTag(end, rtcp_socket);
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
    return;
  }
  // Both sockets of an end are opened together, RTP first.
  if (!rtcp_socket) end.io_generation = ++next_io_generation_;
  if (uring_sockets_.size() <= size_t(fd)) uring_sockets_.resize(fd + 1);
  uring_sockets_[fd] = SocketTag(end, rtcp_socket);
  ArmReceive(fd, end.io_generation);
  // Armed now, so a packet that comes before the next turn is not left
  // waiting for the one after.
  uring_->Submit();
}

void Worker::UnwatchSocket(int fd) {
  if (uring_ == nullptr || size_t(fd) >= uring_sockets_.size()) return;
  uring_sockets_[fd] = 0;
  // Cancelled, and the cancellation completed, before the close: an armed
  // receive holds the socket (and its port) open for as long as it lives.
  // Its last completions are stale from now on.
  uring_->PrepareCancelFd(uring_->NextSqe(), fd, kIgnore << kKindShift);
  uring_->Wait(0);
}

void Worker::ArmReceive(int fd, uint16_t generation) {
  uring_->PrepareMultishotReceive(uring_->NextSqe(), fd,
                                  ReceiveTag(fd, generation));
}

int Worker::RunOnceUring(int timeout_ms) {
  uring_->Wait(int64_t(timeout_ms) * 1000);
  PacketContext now;
  now.now_ns = NowNs(CLOCK_MONOTONIC);
  now.now_unix_ms = NowNs(CLOCK_REALTIME) / 1000000;
  bool woken = false;
  const unsigned handled =
      uring_->Reap(kMaxEvents, [&](const io_uring_cqe& cqe) {
        switch (Kind(cqe.user_data)) {
          case kReceive:
            OnUringReceive(cqe, now);
            break;
          case kSend:
            OnUringSend(cqe);
            break;
          case kWake:
            woken = true;
            if (!Uring::More(cqe)) {
              uring_->PreparePollMultishot(uring_->NextSqe(), wake_fd_,
                                           kWake << kKindShift);
            }
            break;
          default:
            break;
        }
      });
  uring_->PublishBuffers();
  // The turn's sends leave now, before posted work and the tick.
  uring_->Submit();
  // Posted work runs after the turn: it may close sockets whose
  // completions were just handled.
  FinishTurn(woken);
  return int(handled);
}

void Worker::OnUringReceive(const io_uring_cqe& cqe, const PacketContext& now) {
  const int fd = int(uint32_t(cqe.user_data));
  const uint16_t generation = uint16_t(cqe.user_data >> 32);
  const uint64_t tag =
      size_t(fd) < uring_sockets_.size() ? uring_sockets_[fd] : 0;
  // A non-zero tag names a live end, whose generation may be read.
  const bool live = tag != 0 && EndOfTag(tag).io_generation == generation;
  if (live && !Uring::More(cqe) && cqe.res != -ECANCELED) {
    // Ended (out of buffers, mostly): armed again; what queued meanwhile
    // waits in the socket.
    ArmReceive(fd, generation);
  }
  if (!Uring::HasBuffer(cqe)) return;
  const uint16_t id = Uring::BufferId(cqe);
  if (!live || cqe.res < 0) {
    uring_->RecycleBuffer(id);
    return;
  }
  StreamEnd& end = EndOfTag(tag);
  uint8_t* buffer = uring_->Buffer(id);
  io_uring_recvmsg_out header;
  std::memcpy(&header, buffer, sizeof(header));
  Endpoint source;
  source.length = std::min<socklen_t>(header.namelen, sizeof(source.address));
  std::memcpy(&source.address, buffer + sizeof(header), source.length);
  if (header.flags & MSG_TRUNC) {
    ++drops_[size_t(DropReason::kMalformed)];
    end.MutableStats().OnDrop();
    uring_->RecycleBuffer(id);
    return;
  }
  PacketContext ctx;
  ctx.now_ns = now.now_ns;
  ctx.now_unix_ms = now.now_unix_ms;
  ctx.data = buffer + Uring::kPayloadOffset;
  ctx.length = header.payloadlen;
  ctx.capacity = uring_->buffer_stride() - Uring::kPayloadOffset;
  ctx.scratch = Scratch();
  ctx.source = &source;
  ctx.from = &end;
  ctx.rtcp_socket = IsRtcpTag(tag);
  if (!RunPacketPath(ctx, *this)) {
    ++drops_[size_t(ctx.drop)];
    uring_->RecycleBuffer(id);
    return;
  }
  UringSend& send = uring_sends_[id];
  send.iov = {ctx.data, ctx.length};
  std::memcpy(&send.destination, &ctx.destination->address,
              ctx.destination->length);
  send.message.msg_namelen = ctx.destination->length;
  send.direction = uint8_t(LegIndex(end.leg));
  send.mode = uint8_t(ctx.mode);
  Uring::PrepareSendmsg(uring_->NextSqe(), ctx.out_fd, &send.message,
                        (kSend << kKindShift) | id);
}

void Worker::OnUringSend(const io_uring_cqe& cqe) {
  const uint16_t id = uint16_t(cqe.user_data);
  const UringSend& send = uring_sends_[id];
  if (cqe.res >= 0) {
    packets_[send.direction][send.mode] += 1;
    bytes_[send.direction][send.mode] += send.iov.iov_len;
    ++relayed_total_;
  } else {
    ++drops_[size_t(DropReason::kSendFailed)];
  }
  uring_->RecycleBuffer(id);
}

}  // namespace trunkline::media::relay
