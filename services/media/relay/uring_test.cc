// The ring against real loopback sockets: multishot receive into provided
// buffers, sendmsg, cancel, and running out of buffers.
#include "services/media/relay/uring.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace trunkline::media::relay {
namespace {

struct Socket {
  int fd = -1;
  sockaddr_in address{};
  Socket() {
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  }
  ~Socket() { close(fd); }
  void SendTo(const Socket& to, const std::string& text) const {
    ASSERT_EQ(sendto(fd, text.data(), text.size(), 0,
                     reinterpret_cast<const sockaddr*>(&to.address),
                     sizeof(to.address)),
              ssize_t(text.size()));
  }
};

struct Received {
  uint64_t user_data;
  int result;
  bool more;
  std::string payload;
  uint16_t source_port = 0;
};

// Waits (bounded) until `count` completions came, and takes them.
std::vector<Received> Collect(Uring& ring, size_t count) {
  std::vector<Received> out;
  for (int round = 0; round < 50 && out.size() < count; ++round) {
    ring.Wait(20000);
    ring.Reap(64, [&](const io_uring_cqe& cqe) {
      Received r{cqe.user_data, cqe.res, Uring::More(cqe), {}};
      if (Uring::HasBuffer(cqe)) {
        const uint16_t id = Uring::BufferId(cqe);
        const uint8_t* buffer = ring.Buffer(id);
        io_uring_recvmsg_out header;
        std::memcpy(&header, buffer, sizeof(header));
        sockaddr_in source;
        std::memcpy(&source, buffer + sizeof(header), sizeof(source));
        r.source_port = ntohs(source.sin_port);
        r.payload.assign(
            reinterpret_cast<const char*>(buffer + Uring::kPayloadOffset),
            header.payloadlen);
        ring.RecycleBuffer(id);
      }
      out.push_back(std::move(r));
    });
    ring.PublishBuffers();
  }
  return out;
}

// Whether the machine turned io_uring off (then the relay uses epoll, and
// these tests have nothing to test); anywhere else a ring must be created.
bool UringDisabledHere() {
  FILE* file = std::fopen("/proc/sys/kernel/io_uring_disabled", "r");
  if (file == nullptr) return false;
  int disabled = 0;
  const bool read = std::fscanf(file, "%d", &disabled) == 1;
  std::fclose(file);
  return read && disabled != 0;
}

std::unique_ptr<Uring> MakeRing(unsigned buffers = 16) {
  Uring::Options options;
  options.buffers = buffers;
  absl::StatusOr<std::unique_ptr<Uring>> ring = Uring::Create(options);
  EXPECT_TRUE(ring.ok() || UringDisabledHere()) << ring.status();
  if (!ring.ok()) return nullptr;
  return std::move(*ring);
}

TEST(UringTest, MultishotReceiveGivesEachDatagramWithItsSource) {
  std::unique_ptr<Uring> ring = MakeRing();
  if (ring == nullptr) GTEST_SKIP() << "kernel.io_uring_disabled is set";
  Socket receiver, sender;
  ring->PrepareMultishotReceive(ring->NextSqe(), receiver.fd, 7);
  ring->Submit();
  sender.SendTo(receiver, "one");
  sender.SendTo(receiver, "two");
  sender.SendTo(receiver, "three");
  std::vector<Received> got = Collect(*ring, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].payload, "one");
  EXPECT_EQ(got[1].payload, "two");
  EXPECT_EQ(got[2].payload, "three");
  for (const Received& r : got) {
    EXPECT_EQ(r.user_data, 7u);
    EXPECT_TRUE(r.more);  // still armed
    EXPECT_EQ(r.source_port, ntohs(sender.address.sin_port));
  }
}

TEST(UringTest, SendmsgSendsAndCompletes) {
  std::unique_ptr<Uring> ring = MakeRing();
  if (ring == nullptr) GTEST_SKIP() << "kernel.io_uring_disabled is set";
  Socket from, to;
  char text[] = "relayed";
  iovec iov{text, 7};
  msghdr message{};
  message.msg_name = &to.address;
  message.msg_namelen = sizeof(to.address);
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  Uring::PrepareSendmsg(ring->NextSqe(), from.fd, &message, 9);
  std::vector<Received> got = Collect(*ring, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].user_data, 9u);
  EXPECT_EQ(got[0].result, 7);
  char buffer[16];
  EXPECT_EQ(recv(to.fd, buffer, sizeof(buffer), MSG_DONTWAIT), 7);
  EXPECT_EQ(std::string(buffer, 7), "relayed");
}

TEST(UringTest, CancelEndsTheReceiveSoTheSocketCanClose) {
  std::unique_ptr<Uring> ring = MakeRing();
  if (ring == nullptr) GTEST_SKIP() << "kernel.io_uring_disabled is set";
  Socket receiver;
  ring->PrepareMultishotReceive(ring->NextSqe(), receiver.fd, 1);
  ring->Submit();
  ring->PrepareCancelFd(ring->NextSqe(), receiver.fd, 2);
  std::vector<Received> got = Collect(*ring, 2);
  ASSERT_EQ(got.size(), 2u);
  bool receive_ended = false, cancel_done = false;
  for (const Received& r : got) {
    if (r.user_data == 1) {
      receive_ended = r.result == -ECANCELED && !r.more;
    } else if (r.user_data == 2) {
      cancel_done = r.result == 1;  // one request cancelled
    }
  }
  EXPECT_TRUE(receive_ended);
  EXPECT_TRUE(cancel_done);
  // Nothing holds the port any more: it binds again at once.
  const sockaddr_in address = receiver.address;
  close(receiver.fd);
  receiver.fd = socket(AF_INET, SOCK_DGRAM, 0);
  EXPECT_EQ(bind(receiver.fd, reinterpret_cast<const sockaddr*>(&address),
                 sizeof(address)),
            0)
      << std::strerror(errno);
}

TEST(UringTest, RunningOutOfBuffersEndsTheReceiveWithoutLosingQueuedData) {
  std::unique_ptr<Uring> ring = MakeRing(/*buffers=*/2);
  if (ring == nullptr) GTEST_SKIP() << "kernel.io_uring_disabled is set";
  Socket receiver, sender;
  for (int i = 0; i < 4; ++i) sender.SendTo(receiver, std::to_string(i));
  ring->PrepareMultishotReceive(ring->NextSqe(), receiver.fd, 5);
  // Collect() recycles each buffer, but only after the kernel ran dry: the
  // receive ends with ENOBUFS; armed again, it reads the rest.
  std::vector<Received> got = Collect(*ring, 3);
  ASSERT_GE(got.size(), 3u);
  EXPECT_EQ(got[0].payload, "0");
  EXPECT_EQ(got[1].payload, "1");
  EXPECT_EQ(got[2].result, -ENOBUFS);
  EXPECT_FALSE(got[2].more);
  ring->PrepareMultishotReceive(ring->NextSqe(), receiver.fd, 5);
  // (The kernel ends it again when it has no buffer for a third.)
  std::vector<Received> rest = Collect(*ring, 2);
  ASSERT_GE(rest.size(), 2u);
  EXPECT_EQ(rest[0].payload, "2");
  EXPECT_EQ(rest[1].payload, "3");
}

}  // namespace
}  // namespace trunkline::media::relay
