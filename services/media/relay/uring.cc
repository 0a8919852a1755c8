#include "services/media/relay/uring.h"

#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace trunkline::media::relay {
namespace {

constexpr uint16_t kBufferGroup = 0;

bool PowerOfTwo(unsigned n) { return n != 0 && (n & (n - 1)) == 0; }

void* MapAnonymous(size_t size) {
  void* memory = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return memory == MAP_FAILED ? nullptr : memory;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Uring>> Uring::Create(const Options& options) {
  if (!PowerOfTwo(options.buffers) || options.buffers > 32768 ||
      options.buffer_fill > options.buffer_stride ||
      options.buffer_fill <= kPayloadOffset) {
    return absl::InvalidArgumentError(
        "io_uring buffers: a power of two up to 32768, each filled at most "
        "to its stride and larger than the receive header");
  }
  std::unique_ptr<Uring> ring(new Uring());
  io_uring_params params{};
  // Cooperative task work: a packet that arrives while the worker runs does
  // not interrupt it; its completion is made at the worker's next
  // io_uring_enter. (Not SINGLE_ISSUER/DEFER_TASKRUN: they bind the ring to
  // the thread that made it, and a worker is set up on one thread and run
  // on another.)
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL |
                 IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  params.cq_entries = options.completion_entries;
  ring->fd_ =
      int(syscall(__NR_io_uring_setup, options.submission_entries, &params));
  if (ring->fd_ < 0) {
    return absl::UnavailableError(absl::StrCat(
        "io_uring_setup: ", std::strerror(errno),
        " (needs Linux 6.1 or later with io_uring allowed: "
        "kernel.io_uring_disabled=0 and no seccomp filter refusing it)"));
  }
  const unsigned needed =
      IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG | IORING_FEAT_SINGLE_MMAP;
  if ((params.features & needed) != needed) {
    return absl::UnavailableError(
        "io_uring lacks NODROP, EXT_ARG or SINGLE_MMAP: kernel too old");
  }
  // Both rings in one mapping (IORING_FEAT_SINGLE_MMAP).
  const size_t rings_size =
      std::max(params.sq_off.array + params.sq_entries * sizeof(unsigned),
               params.cq_off.cqes + params.cq_entries * sizeof(io_uring_cqe));
  void* rings = mmap(nullptr, rings_size, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_POPULATE, ring->fd_, IORING_OFF_SQ_RING);
  if (rings == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("io_uring rings: mmap: ", std::strerror(errno)));
  }
  ring->rings_ = rings;
  ring->rings_size_ = rings_size;
  auto* base = static_cast<uint8_t*>(rings);
  ring->sq_head_ = reinterpret_cast<unsigned*>(base + params.sq_off.head);
  ring->sq_tail_ = reinterpret_cast<unsigned*>(base + params.sq_off.tail);
  ring->sq_mask_ = *reinterpret_cast<unsigned*>(base + params.sq_off.ring_mask);
  ring->sq_entries_ = params.sq_entries;
  ring->sq_array_ = reinterpret_cast<unsigned*>(base + params.sq_off.array);
  ring->sq_local_tail_ = *ring->sq_tail_;
  // Entry i of the submission array always names SQE i.
  for (unsigned i = 0; i < params.sq_entries; ++i) ring->sq_array_[i] = i;
  ring->cq_head_ = reinterpret_cast<unsigned*>(base + params.cq_off.head);
  ring->cq_tail_ = reinterpret_cast<unsigned*>(base + params.cq_off.tail);
  ring->cq_mask_ = *reinterpret_cast<unsigned*>(base + params.cq_off.ring_mask);
  ring->cqes_ = reinterpret_cast<io_uring_cqe*>(base + params.cq_off.cqes);

  ring->sqes_size_ = params.sq_entries * sizeof(io_uring_sqe);
  void* sqes = mmap(nullptr, ring->sqes_size_, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_POPULATE, ring->fd_, IORING_OFF_SQES);
  if (sqes == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("io_uring entries: mmap: ", std::strerror(errno)));
  }
  ring->sqes_ = static_cast<io_uring_sqe*>(sqes);

  // Provided buffers.
  ring->buffer_ring_size_ = options.buffers * sizeof(io_uring_buf);
  ring->buffers_size_ = size_t(options.buffers) * options.buffer_stride;
  ring->buffer_ring_ =
      static_cast<io_uring_buf*>(MapAnonymous(ring->buffer_ring_size_));
  ring->buffers_ = static_cast<uint8_t*>(MapAnonymous(ring->buffers_size_));
  if (ring->buffer_ring_ == nullptr || ring->buffers_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("io_uring buffers: mmap: ", std::strerror(errno)));
  }
  ring->buffer_mask_ = options.buffers - 1;
  ring->buffer_fill_ = options.buffer_fill;
  ring->stride_ = options.buffer_stride;
  io_uring_buf_reg registration{};
  registration.ring_addr = uint64_t(uintptr_t(ring->buffer_ring_));
  registration.ring_entries = options.buffers;
  registration.bgid = kBufferGroup;
  if (syscall(__NR_io_uring_register, ring->fd_, IORING_REGISTER_PBUF_RING,
              &registration, 1) != 0) {
    return absl::UnavailableError(
        absl::StrCat("io_uring provided buffer ring: ", std::strerror(errno),
                     " (needs Linux 5.19 or later)"));
  }
  for (unsigned i = 0; i < options.buffers; ++i) {
    ring->RecycleBuffer(uint16_t(i));
  }
  ring->PublishBuffers();

  ring->receive_template_.msg_namelen = kNameSpace;
  if (absl::Status probe = ring->ProbeMultishotReceive(); !probe.ok()) {
    return probe;
  }
  return ring;
}

absl::Status Uring::ProbeMultishotReceive() {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("io_uring probe: socket: ", std::strerror(errno)));
  }
  constexpr uint64_t kProbe = 1, kCancel = 2;
  PrepareMultishotReceive(NextSqe(), fd, kProbe);
  Wait(0);
  PrepareCancelFd(NextSqe(), fd, kCancel);
  Wait(0);
  int refused = 0;
  Reap(16, [&](const io_uring_cqe& cqe) {
    if (cqe.user_data == kProbe && cqe.res < 0 && cqe.res != -ECANCELED) {
      refused = -cqe.res;
    }
  });
  close(fd);
  if (refused != 0) {
    return absl::UnavailableError(
        absl::StrCat("io_uring multishot recvmsg: ", std::strerror(refused),
                     " (needs Linux 6.0 or later)"));
  }
  return absl::OkStatus();
}

Uring::~Uring() {
  // Closing the ring cancels what is still armed on it.
  if (fd_ >= 0) close(fd_);
  if (sqes_ != nullptr) munmap(sqes_, sqes_size_);
  if (rings_ != nullptr) munmap(rings_, rings_size_);
  if (buffer_ring_ != nullptr) munmap(buffer_ring_, buffer_ring_size_);
  if (buffers_ != nullptr) munmap(buffers_, buffers_size_);
}

io_uring_sqe* Uring::NextSqe() {
  auto full = [this] {
    return sq_local_tail_ - __atomic_load_n(sq_head_, __ATOMIC_ACQUIRE) >=
           sq_entries_;
  };
  if (full()) {
    Submit();
    if (full()) return nullptr;
  }
  io_uring_sqe* sqe = &sqes_[sq_local_tail_ & sq_mask_];
  std::memset(sqe, 0, sizeof(*sqe));
  ++sq_local_tail_;
  ++to_submit_;
  return sqe;
}

int Uring::Enter(unsigned to_submit, unsigned min_complete, unsigned flags,
                 const void* arg, size_t arg_size) {
  __atomic_store_n(sq_tail_, sq_local_tail_, __ATOMIC_RELEASE);
  const int result = int(syscall(__NR_io_uring_enter, fd_, to_submit,
                                 min_complete, flags, arg, arg_size));
  if (result > 0) to_submit_ -= std::min(to_submit_, unsigned(result));
  return result;
}

void Uring::Submit() {
  if (to_submit_ == 0) return;
  // Without GETEVENTS nothing is reaped here, so an overflowing completion
  // ring (EBUSY) leaves the entries queued for the next Wait().
  Enter(to_submit_, 0, 0, nullptr, 0);
}

bool Uring::Wait(int64_t timeout_us) {
  __kernel_timespec timeout{};
  timeout.tv_sec = timeout_us / 1000000;
  timeout.tv_nsec = (timeout_us % 1000000) * 1000;
  io_uring_getevents_arg arg{};
  arg.sigmask_sz = _NSIG / 8;
  if (timeout_us >= 0) arg.ts = uint64_t(uintptr_t(&timeout));
  // min_complete 0 still runs pending task work (completions), without
  // waiting.
  const unsigned min_complete = timeout_us != 0 ? 1 : 0;
  const int result =
      Enter(to_submit_, min_complete,
            IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
  return result >= 0 || errno == EBUSY || errno == EAGAIN;
}

void Uring::PrepareMultishotReceive(io_uring_sqe* sqe, int fd,
                                    uint64_t user_data) {
  sqe->opcode = IORING_OP_RECVMSG;
  sqe->fd = fd;
  sqe->addr = uint64_t(uintptr_t(&receive_template_));
  sqe->len = 1;
  sqe->ioprio = IORING_RECV_MULTISHOT;
  sqe->flags = IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  sqe->user_data = user_data;
}

void Uring::PrepareCancelFd(io_uring_sqe* sqe, int fd, uint64_t user_data) {
  sqe->opcode = IORING_OP_ASYNC_CANCEL;
  sqe->fd = fd;
  sqe->cancel_flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
  sqe->user_data = user_data;
}

void Uring::PrepareRead(io_uring_sqe* sqe, int fd, void* into, unsigned length,
                        uint64_t user_data) {
  sqe->opcode = IORING_OP_READ;
  sqe->fd = fd;
  sqe->addr = uint64_t(uintptr_t(into));
  sqe->len = length;
  sqe->off = uint64_t(-1);  // the file's position (none for an eventfd)
  sqe->user_data = user_data;
}

void Uring::PrepareSendmsg(io_uring_sqe* sqe, int fd, const msghdr* message,
                           uint64_t user_data) {
  sqe->opcode = IORING_OP_SENDMSG;
  sqe->fd = fd;
  sqe->addr = uint64_t(uintptr_t(message));
  sqe->len = 1;
  sqe->msg_flags = MSG_DONTWAIT;
  sqe->user_data = user_data;
}

void Uring::RecycleBuffer(uint16_t id) {
  io_uring_buf& entry = buffer_ring_[buffer_tail_ & buffer_mask_];
  entry.addr = uint64_t(uintptr_t(Buffer(id)));
  entry.len = buffer_fill_;
  entry.bid = id;
  ++buffer_tail_;
}

void Uring::PublishBuffers() {
  static_assert(offsetof(io_uring_buf, resv) == 14, "the tail's place");
  __atomic_store_n(&buffer_ring_[0].resv, buffer_tail_, __ATOMIC_RELEASE);
}

}  // namespace trunkline::media::relay
