// The worker's io_uring data path (see worker.h and uring.h).
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "services/common/log.h"
#include "services/media/relay/clock.h"
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

}  // namespace

void Worker::EnsureUring() {
  if (uring_tried_ || options_.packet_io != PacketIo::kUring) return;
  uring_tried_ = true;
  // Each buffer holds the kernel's header and source address, then a
  // datagram of up to kMaxDatagram octets in kBufferSize of room: the rest
  // is for an SRTP trailer, as in the epoll path.
  Uring::Options ring_options;
  ring_options.buffer_stride = Uring::kPayloadOffset + kBufferSize;
  ring_options.buffer_fill = Uring::kPayloadOffset + kMaxDatagram;
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
  uring_rearm_.reserve(64);
  // Posted work wakes the ring's wait as it wakes epoll's.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, wake_fd_, nullptr);
  ArmWake();
  uring_->Submit();
}

void Worker::ArmWake() {
  io_uring_sqe* sqe = uring_->NextSqe();
  wake_unarmed_ = sqe == nullptr;  // tried again next turn
  if (sqe != nullptr) {
    Uring::PrepareRead(sqe, wake_fd_, &wake_count_, sizeof(wake_count_),
                       kWake << kKindShift);
  }
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
  // Cancelled before the close (FinishUnwatching): an armed receive holds
  // the socket (and its port) open for as long as it lives. Its last
  // completions are stale from now on.
  io_uring_sqe* sqe = uring_->NextSqe();
  if (sqe == nullptr) {
    TL_LOG(kWarning,
           "media socket not cancelled (out of memory): its port "
           "stays bound until the worker ends")
        .With("worker", index_)
        .With("fd", fd);
    return;
  }
  uring_->PrepareCancelFd(sqe, fd, kIgnore << kKindShift);
}

void Worker::FinishUnwatching() {
  // On the worker's thread the cancellations complete here; at shutdown
  // (another thread, the worker's gone) the kernel finishes them when it
  // can.
  if (uring_ != nullptr) uring_->Wait(0);
}

void Worker::ArmReceive(int fd, uint16_t generation) {
  io_uring_sqe* sqe = uring_->NextSqe();
  if (sqe == nullptr) {  // the kernel is out of memory: next turn
    uring_rearm_.push_back(ReceiveTag(fd, generation));
    return;
  }
  uring_->PrepareMultishotReceive(sqe, fd, ReceiveTag(fd, generation));
}

void Worker::RetryArming() {
  if (wake_unarmed_) ArmWake();
  if (uring_rearm_.empty()) return;
  std::vector<uint64_t> pending;
  pending.swap(uring_rearm_);
  for (const uint64_t tag : pending) {
    const int fd = int(uint32_t(tag));
    const uint16_t generation = uint16_t(tag >> 32);
    // Only a socket still open as the one it was.
    if (size_t(fd) < uring_sockets_.size() && uring_sockets_[fd] != 0 &&
        EndOfTag(uring_sockets_[fd]).io_generation == generation) {
      ArmReceive(fd, generation);
    }
  }
}

int Worker::RunOnceUring(int timeout_ms) {
  RetryArming();
  uring_->Wait(int64_t(timeout_ms) * 1000);
  const int64_t now_ns = MonotonicNs();
  const int64_t now_unix_ms = UnixMs();
  const unsigned handled =
      uring_->Reap(kMaxEvents, [&](const io_uring_cqe& cqe) {
        switch (Kind(cqe.user_data)) {
          case kReceive:
            OnUringReceive(cqe, now_ns, now_unix_ms);
            break;
          case kSend:
            OnUringSend(cqe);
            break;
          case kWake:
            // The read took the eventfd's count: nothing left to reset.
            if (cqe.res >= 0) {
              ArmWake();
            } else {
              // Not armed again: a lasting error would come back every
              // turn. Posted work then waits for the next packet or for
              // the turn's timeout (100 ms).
              TL_LOG(kError, "media worker's wake-up read failed")
                  .With("worker", index_)
                  .With("error", std::strerror(-cqe.res));
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
  FinishTurn(/*woken=*/false);
  return int(handled);
}

void Worker::OnUringReceive(const io_uring_cqe& cqe, int64_t now_ns,
                            int64_t now_unix_ms) {
  const int fd = int(uint32_t(cqe.user_data));
  const uint16_t generation = uint16_t(cqe.user_data >> 32);
  const uint64_t tag =
      size_t(fd) < uring_sockets_.size() ? uring_sockets_[fd] : 0;
  // A non-zero tag names a live end, whose generation may be read.
  const bool live = tag != 0 && EndOfTag(tag).io_generation == generation;
  if (live && !Uring::More(cqe)) {
    if (cqe.res >= 0 || cqe.res == -ENOBUFS) {
      // Ended (out of buffers): armed again; what queued meanwhile waits
      // in the socket.
      ArmReceive(fd, generation);
    } else {
      // Any other error would come back at once every turn if armed again.
      ++drops_[size_t(DropReason::kMalformed)];
      TL_LOG(kError, "media socket's receive failed; the stream end is deaf")
          .With("worker", index_)
          .With("call_id", *EndOfTag(tag).call_id)
          .With("error", std::strerror(-cqe.res));
    }
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
  PacketContext ctx;
  ctx.now_ns = now_ns;
  ctx.now_unix_ms = now_unix_ms;
  if (!RunDatagram(ctx, buffer + Uring::kPayloadOffset, header.payloadlen,
                   uring_->buffer_stride() - Uring::kPayloadOffset,
                   (header.flags & MSG_TRUNC) != 0, source, end,
                   IsRtcpTag(tag))) {
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
  io_uring_sqe* sqe = uring_->NextSqe();
  if (sqe == nullptr) {  // the kernel is out of memory
    ++drops_[size_t(DropReason::kSendFailed)];
    uring_->RecycleBuffer(id);
    return;
  }
  Uring::PrepareSendmsg(sqe, ctx.out_fd, &send.message,
                        (kSend << kKindShift) | id);
}

void Worker::OnUringSend(const io_uring_cqe& cqe) {
  const uint16_t id = uint16_t(cqe.user_data);
  const UringSend& send = uring_sends_[id];
  CountSend(send.direction, send.mode, send.iov.iov_len, cqe.res >= 0);
  uring_->RecycleBuffer(id);
}

}  // namespace trunkline::media::relay
