// A minimal io_uring for one thread, over the kernel's own interface (no
// liburing): a submission and a completion ring, and one ring of provided
// receive buffers.
//
// Why the relay has it: paced RTP (50 packets a second per stream) gives a
// worker one packet per socket per wake-up, so with epoll every packet costs
// a recvmmsg and a sendmmsg of one datagram each, and on a virtual machine a
// system call is dear. With io_uring each socket has one multishot receive
// armed: the kernel writes arriving datagrams into buffers of ours and posts
// a completion, and the sends of a whole turn go in one io_uring_enter, so a
// turn costs one system call whatever the number of sockets in it.
//
// Kernel 6.1 or later (Debian 12's): multishot recvmsg, provided buffer
// rings, cancel by fd. Create() fails with a reason on older kernels or
// where io_uring is disabled (kernel.io_uring_disabled, a seccomp profile);
// the caller then stays with epoll.
//
// One thread at a time uses a ring (the worker's: set up on one thread, then
// run on its own). Task work is cooperative (IORING_SETUP_COOP_TASKRUN): a
// packet that arrives while the worker runs does not interrupt it; its
// completion is made at the worker's next io_uring_enter.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_URING_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_URING_H_

#include <linux/io_uring.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"

namespace trunkline::media::relay {

class Uring {
 public:
  struct Options {
    unsigned submission_entries = 256;
    unsigned completion_entries = 4096;
    // Provided receive buffers: a power of two, each `buffer_stride` octets,
    // of which the kernel may fill `buffer_fill` (the rest is room for the
    // caller to grow a packet in place, e.g. an SRTP tag).
    unsigned buffers = 1024;
    unsigned buffer_stride = 2048;
    unsigned buffer_fill = 1984;
  };
  static absl::StatusOr<std::unique_ptr<Uring>> Create(const Options& options);
  ~Uring();
  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;

  // A cleared submission entry to fill; submits what is queued first when
  // the ring is full, and is null when the kernel took none of it (out of
  // memory): the caller gives up what it wanted to queue.
  io_uring_sqe* NextSqe();
  // Submits what is queued without waiting.
  void Submit();
  // Submits what is queued and waits until a completion is ready or
  // `timeout_us` passed (0: does not wait; negative: no limit). Returns
  // false on a wait that timed out or was interrupted.
  bool Wait(int64_t timeout_us);

  // Calls f(const io_uring_cqe&) for up to `max` ready completions and
  // consumes them; returns how many.
  template <typename F>
  unsigned Reap(unsigned max, F&& f) {
    unsigned head = *cq_head_;
    const unsigned tail = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
    unsigned count = 0;
    while (head != tail && count < max) {
      f(cqes_[head & cq_mask_]);
      ++head;
      ++count;
    }
    __atomic_store_n(cq_head_, head, __ATOMIC_RELEASE);
    return count;
  }

  // Prepared submissions. The multishot receive reads datagrams of `fd`
  // into provided buffers until cancelled or out of buffers (a completion
  // without IORING_CQE_F_MORE ends it; arm it again then).
  void PrepareMultishotReceive(io_uring_sqe* sqe, int fd, uint64_t user_data);
  // Cancels every request on `fd` (IORING_ASYNC_CANCEL_FD|ALL).
  void PrepareCancelFd(io_uring_sqe* sqe, int fd, uint64_t user_data);
  // A read of `length` octets of `fd` into `into`, which must stay valid
  // until its completion (the worker's wake-up eventfd: the read itself
  // resets its counter, so a wake-up costs no system call of its own).
  static void PrepareRead(io_uring_sqe* sqe, int fd, void* into,
                          unsigned length, uint64_t user_data);
  // sendmsg of `message`, which must stay valid until its completion. A
  // full socket buffer fails it (-EAGAIN) rather than parking it, as the
  // epoll path's MSG_DONTWAIT does: a parked send would hold its buffer.
  static void PrepareSendmsg(io_uring_sqe* sqe, int fd, const msghdr* message,
                             uint64_t user_data);

  // A receive completion's buffer: the kernel's io_uring_recvmsg_out, then
  // kNameSpace octets of source address, then the datagram.
  static constexpr unsigned kNameSpace = 32;  // sockaddr_in6 fits; 16-aligned
  static constexpr unsigned kPayloadOffset =
      sizeof(io_uring_recvmsg_out) + kNameSpace;
  static bool HasBuffer(const io_uring_cqe& cqe) {
    return (cqe.flags & IORING_CQE_F_BUFFER) != 0;
  }
  static uint16_t BufferId(const io_uring_cqe& cqe) {
    return uint16_t(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
  }
  static bool More(const io_uring_cqe& cqe) {
    return (cqe.flags & IORING_CQE_F_MORE) != 0;
  }
  uint8_t* Buffer(uint16_t id) { return buffers_ + size_t(id) * stride_; }
  unsigned buffer_stride() const { return stride_; }
  // Gives buffer `id` back to the kernel (visible after PublishBuffers()).
  void RecycleBuffer(uint16_t id);
  void PublishBuffers();

 private:
  Uring() = default;
  // Fails when the kernel takes the ring but not a multishot recvmsg
  // (5.19 has provided buffer rings, multishot receive came in 6.0).
  absl::Status ProbeMultishotReceive();
  int Enter(unsigned to_submit, unsigned min_complete, unsigned flags,
            const void* arg, size_t arg_size);

  int fd_ = -1;
  // Both rings' mapping.
  void* rings_ = nullptr;
  size_t rings_size_ = 0;
  // Submission ring.
  unsigned* sq_head_ = nullptr;
  unsigned* sq_tail_ = nullptr;
  unsigned* sq_array_ = nullptr;
  unsigned sq_mask_ = 0;
  unsigned sq_entries_ = 0;
  unsigned sq_local_tail_ = 0;
  unsigned to_submit_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  size_t sqes_size_ = 0;
  // Completion ring.
  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  unsigned cq_mask_ = 0;
  io_uring_cqe* cqes_ = nullptr;
  // Provided buffers: the ring of descriptors and the memory they describe.
  // The ring is addressed as an array of io_uring_buf whose first entry's
  // `resv` is the tail: io_uring_buf_ring's flexible array is declared in a
  // way that, compiled as C++, puts `bufs` 8 octets late.
  io_uring_buf* buffer_ring_ = nullptr;
  size_t buffer_ring_size_ = 0;
  uint8_t* buffers_ = nullptr;
  size_t buffers_size_ = 0;
  unsigned buffer_mask_ = 0;
  unsigned buffer_fill_ = 0;
  unsigned stride_ = 0;
  uint16_t buffer_tail_ = 0;  // ours, published by PublishBuffers()
  // The receive template: no iovec (the buffer is the kernel's choice), room
  // for a source address, no control data.
  msghdr receive_template_{};
};

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_URING_H_
