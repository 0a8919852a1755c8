// udp_echo: the floor for rtpload. N sockets on --listen_base + 2i, each
// forwarding what it receives to 127.0.0.1:--forward_base + 2i (or, with
// --forward_shared, all to --forward_base) with
// recvmmsg/sendmmsg from one thread: what a relay costs with no RTP work at
// all.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"

ABSL_FLAG(int, listen_base, 61000, "first listening port");
ABSL_FLAG(int, forward_base, 63000, "first destination port");
ABSL_FLAG(int, count, 100, "socket pairs");
ABSL_FLAG(bool, forward_shared, false,
          "forward every socket's packets to --forward_base itself (for "
          "rtpload --shared_receiver)");

namespace {
volatile sig_atomic_t stopping = 0;
void OnSignal(int) { stopping = 1; }
}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  const int count = absl::GetFlag(FLAGS_count);
  std::vector<int> fds(count);
  std::vector<sockaddr_in> destinations(count);
  const int epoll_fd = epoll_create1(0);
  for (int i = 0; i < count; ++i) {
    fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons(uint16_t(absl::GetFlag(FLAGS_listen_base) + 2 * i));
    if (bind(fds[i], reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
      std::perror("udp_echo: bind");
      return 1;
    }
    destinations[i] = sin;
    destinations[i].sin_port =
        htons(uint16_t(absl::GetFlag(FLAGS_forward_base) +
                       (absl::GetFlag(FLAGS_forward_shared) ? 0 : 2 * i)));
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u32 = uint32_t(i);
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fds[i], &e);
  }
  constexpr int kBatch = 32;
  static uint8_t buffers[kBatch][2048];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  epoll_event events[64];
  while (!stopping) {
    const int n = epoll_wait(epoll_fd, events, 64, 100);
    for (int e = 0; e < n; ++e) {
      const int i = int(events[e].data.u32);
      for (int k = 0; k < kBatch; ++k) {
        iov[k] = {buffers[k], sizeof(buffers[k])};
        std::memset(&msgs[k], 0, sizeof(msgs[k]));
        msgs[k].msg_hdr.msg_iov = &iov[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
      }
      const int got = recvmmsg(fds[i], msgs, kBatch, MSG_DONTWAIT, nullptr);
      if (got <= 0) continue;
      for (int k = 0; k < got; ++k) {
        iov[k].iov_len = msgs[k].msg_len;
        msgs[k].msg_hdr.msg_name = &destinations[i];
        msgs[k].msg_hdr.msg_namelen = sizeof(destinations[i]);
      }
      sendmmsg(fds[i], msgs, got, MSG_DONTWAIT);
    }
  }
  return 0;
}
