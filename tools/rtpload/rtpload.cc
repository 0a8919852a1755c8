// rtpload: drives a media relay with N one-way RTP streams (paced at
// --pps per stream, or flat out with --pps=0) and reports what came out:
// packets relayed per second, loss, and the latency the relay added (p50,
// p99), plus the relay's CPU per packet when --relay_pid is given.
//
// Latency runs from the sender's clock, read just before each sendto, to
// the kernel's receive timestamp of the relayed packet at our receiving
// socket (SO_TIMESTAMPNS): what the relay adds, without the time this
// tool's own receiver thread waits for a core on a shared machine. That
// wait is reported apart, as delivered_p99_us (send to the receiver
// thread reading the packet).
//
// Targets, all on loopback:
//   --target=trunkline   allocates each call on our media service (gRPC
//                        Offer/Answer at --media)
//   --target=rtpengine   allocates on rtpengine over its ng protocol
//                        (--rtpengine, UDP)
//   --target=echo        a bare forwarder (udp_echo) that listens on
//                        --echo_base + 2i and forwards to the receiver port
//                        --echo_forward_base + 2i: the floor
// --srtp makes the receiving side SRTP (RTP->SRTP through the relay). The
// receiver authenticates and decrypts one packet in --verify_every per
// stream and checks its send stamp against the sender's record; the others'
// send time comes from that record, found by the sequence number in their
// clear header (so this tool's own decryption does not take the core the
// relays share with it; see the flag).
//
// Output: one line of key=value pairs, for tools/rtpload/bench.sh.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/media/sdp/attributes.h"
#include "services/media/sdp/sdp.h"
#include "services/media/srtp/sdes.h"
#include "services/media/srtp/srtp_session.h"
#include "tools/rtpload/ng_client.h"
#include "trunkline/v1/media.grpc.pb.h"

ABSL_FLAG(std::string, target, "trunkline", "trunkline, rtpengine or echo");
ABSL_FLAG(std::string, media, "127.0.0.1:50071", "media gRPC address");
ABSL_FLAG(std::string, rtpengine, "127.0.0.1:2223", "rtpengine ng address");
ABSL_FLAG(int, echo_base, 61000, "udp_echo's first listening port");
ABSL_FLAG(int, echo_forward_base, 63000, "where udp_echo forwards to");
ABSL_FLAG(int, streams, 100, "concurrent streams");
ABSL_FLAG(int, pps, 50,
          "packets per second per stream; 0: flat out, with at most "
          "--window packets in flight (so queues stay bounded)");
ABSL_FLAG(int, window, 512, "packets in flight when flat out");
ABSL_FLAG(int, send_tick_us, 100,
          "paced: the sender wakes this often and sends every packet due by "
          "then (each stamped as it goes), rather than spinning between "
          "packets a few microseconds apart, which took a whole core of "
          "this 2-core machine from the relays; 0: spin");
ABSL_FLAG(bool, shared_sender, false,
          "paced: every stream sends from one socket, and the packets due at "
          "a tick leave in one sendmmsg (a gateway's DSP sends its channels' "
          "frames together on each 20 ms tick); off: a socket and a sendto "
          "per stream, whose system calls cap this tool near 100,000 "
          "packets/s on a 2-core machine it shares with the relay");
ABSL_FLAG(bool, shared_receiver, false,
          "every stream's receiving side is one socket (the relays send each "
          "stream's packets to the same port; the receiver tells them apart by "
          "their SSRC), drained in batches of recvmmsg; off: a socket per "
          "stream, whose recvmmsg per packet took this tool about 5 us of CPU "
          "a packet from the two cores it shares with the relay under test. "
          "--target=echo needs udp_echo --forward_shared");
ABSL_FLAG(int, receive_poll_us, 1000,
          "--shared_receiver: the receiver drains the socket this often "
          "instead of waiting on it, so that a relay's send does not also "
          "wake this tool's receiving thread (on this VM that wake-up, paid "
          "in the relay's send, was a fifth of the relay's CPU); latency is "
          "still from the kernel's receive stamp of each packet. 0: wait in "
          "epoll");
ABSL_FLAG(double, seconds, 10, "measurement duration");
ABSL_FLAG(bool, srtp, false, "the receiving side speaks SRTP");
ABSL_FLAG(int, verify_every, 16,
          "--srtp: authenticate and decrypt one packet in this many per "
          "stream (a packet failing, or whose send stamp differs from the "
          "sender's record, counts as lost and as a failure); 1: every "
          "packet, which at 1000 paced streams took about half a core of "
          "this 2-core machine from the relay under test");
ABSL_FLAG(int, relay_pid, 0, "the relay's PID, for its CPU per packet");
ABSL_FLAG(int, idle_streams, 0,
          "instead of sending: allocate this many streams (Offer + Answer, "
          "no packets), report the relay's resident memory per stream "
          "(needs --relay_pid), then delete them");

namespace trunkline::rtpload {
namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The send stamp in each packet is on the clock of SO_TIMESTAMPNS.
int64_t WallNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The kernel's receive time of one message, or 0 without one.
int64_t ReceiveStampNs(const msghdr& header) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&header), c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
      return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    }
  }
  return 0;
}

int Bind(uint16_t port, uint16_t* bound, int receive_buffer = 1 << 21) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int size = 1 << 21;
  // FORCE passes net.core.rmem_max where we may (root); the other is capped.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer,
                 sizeof(receive_buffer)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer,
               sizeof(receive_buffer));
  }
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
    close(fd);
    return -1;
  }
  socklen_t length = sizeof(sin);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &length);
  *bound = ntohs(sin.sin_port);
  return fd;
}

struct Stream {
  int sender_fd = -1;
  uint16_t sender_port = 0;
  int receiver_fd = -1;
  uint16_t receiver_port = 0;
  sockaddr_in relay{};  // where the sender sends
  std::unique_ptr<media::srtp::InboundSrtp> receive_key;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint64_t sent = 0;
  uint64_t received = 0;
  // --srtp: each packet's send stamp by sequence number (the last
  // kSentRing), written by the sender, read by the receiver.
  std::unique_ptr<std::atomic<int64_t>[]> sent_ns;
};

// Packets in flight per stream stay far below this: 20 s of audio, or the
// whole --window flat out.
constexpr uint16_t kSentRing = 1024;

// `crypto` is "<tag> <suite> <key params>" or empty for plain RTP.
std::string Sdp(uint16_t port, const std::string& crypto) {
  std::string sdp = absl::StrCat(
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 "
      "0\r\nm=audio ",
      port, crypto.empty() ? " RTP/AVP" : " RTP/SAVP",
      " 0\r\na=rtpmap:0 PCMU/8000\r\n");
  if (!crypto.empty()) {
    absl::StrAppend(&sdp, "a=crypto:", crypto, "\r\n");
  }
  return sdp + "a=sendrecv\r\n";
}

// The relay's port and first key from an SDP it wrote.
// With `address`, also the c= address of its first m= line, else the
// session's (IPv4: rtpload's sockets are), so that a relay bound elsewhere
// than 127.0.0.1 (another loopback address, for more ports) is reached
// there. With `key`, also installs the relay's first usable key and returns
// in `answer_crypto` the a=crypto value (tag, suite, a fresh key of ours)
// that answers it.
absl::Status ReadRelaySdp(const std::string& text, uint16_t* port,
                          in_addr* address,
                          std::unique_ptr<media::srtp::InboundSrtp>* key,
                          std::string* answer_crypto = nullptr) {
  auto sdp = media::sdp::Parse(text);
  if (!sdp.ok()) return sdp.status();
  if (sdp->media.empty()) return absl::InternalError("relay SDP has no m=");
  *port = uint16_t(sdp->media[0].port);
  if (address != nullptr) {
    const std::optional<media::sdp::Connection>& c =
        sdp->media[0].connection ? sdp->media[0].connection : sdp->connection;
    if (!c) return absl::InternalError("relay SDP has no c=");
    if (inet_pton(AF_INET, c->address.c_str(), address) != 1) {
      return absl::InternalError(
          absl::StrCat("relay SDP's c= is not an IPv4 address: ", c->address));
    }
  }
  if (key == nullptr) return absl::OkStatus();
  // The first a=crypto whose suite our wrapper implements (rtpengine offers
  // AES-256 suites first).
  for (const auto* attribute : sdp->media[0].attributes.FindAll("crypto")) {
    auto crypto = media::sdp::ParseCrypto(*attribute->value);
    if (!crypto.ok()) continue;
    auto master =
        media::srtp::ParseSdesKeyParams(crypto->suite, crypto->key_params[0]);
    if (!master.ok()) continue;
    auto inbound = media::srtp::InboundSrtp::Create(*master);
    if (!inbound.ok()) return inbound.status();
    *key = *std::move(inbound);
    auto ours = media::srtp::GenerateMasterKey(master->suite);
    if (!ours.ok()) return ours.status();
    *answer_crypto = absl::StrCat(crypto->tag, " ", crypto->suite, " ",
                                  media::srtp::FormatSdesKeyParams(*ours));
    return absl::OkStatus();
  }
  return absl::InternalError("no usable a=crypto in the relay's SDP: " + text);
}

absl::Status SetUpTrunkline(std::vector<Stream>& streams, bool srtp) {
  auto stub = v1::Media::NewStub(grpc::CreateChannel(
      absl::GetFlag(FLAGS_media), grpc::InsecureChannelCredentials()));
  for (size_t i = 0; i < streams.size(); ++i) {
    Stream& s = streams[i];
    v1::OfferRequest offer;
    offer.set_call_id(absl::StrCat("rtpload-", getpid(), "-", i));
    offer.set_from_leg(v1::LEG_CALLER);
    offer.set_request_id("1");
    offer.set_sdp(Sdp(s.sender_port, ""));
    offer.mutable_from_side()->set_srtp(v1::SRTP_MODE_NOT_SUPPORTED);
    offer.mutable_to_side()->set_srtp(srtp ? v1::SRTP_MODE_REQUIRED
                                           : v1::SRTP_MODE_NOT_SUPPORTED);
    v1::SdpResponse to_callee, to_caller;
    grpc::ClientContext c1;
    grpc::Status status = stub->Offer(&c1, offer, &to_callee);
    if (!status.ok()) return absl::InternalError(status.error_message());
    uint16_t callee_relay_port = 0;
    std::string callee_key;
    if (absl::Status s2 =
            ReadRelaySdp(to_callee.sdp(), &callee_relay_port, nullptr,
                         srtp ? &s.receive_key : nullptr, &callee_key);
        !s2.ok()) {
      return s2;
    }
    v1::AnswerRequest answer;
    answer.set_call_id(offer.call_id());
    answer.set_from_leg(v1::LEG_CALLEE);
    answer.set_request_id("1");
    answer.set_sdp(Sdp(s.receiver_port, callee_key));
    grpc::ClientContext c2;
    status = stub->Answer(&c2, answer, &to_caller);
    if (!status.ok()) return absl::InternalError(status.error_message());
    uint16_t caller_relay_port = 0;
    if (absl::Status s2 = ReadRelaySdp(to_caller.sdp(), &caller_relay_port,
                                       &s.relay.sin_addr, nullptr);
        !s2.ok()) {
      return s2;
    }
    s.relay.sin_port = htons(caller_relay_port);
  }
  return absl::OkStatus();
}

absl::Status SetUpRtpengine(std::vector<Stream>& streams, bool srtp) {
  auto client = NgClient::Connect(absl::GetFlag(FLAGS_rtpengine));
  if (!client.ok()) return client.status();
  for (size_t i = 0; i < streams.size(); ++i) {
    Stream& s = streams[i];
    const std::string call_id = absl::StrCat("rtpload-", getpid(), "-", i);
    std::map<std::string, Bencode> offer = {
        {"command", Bencode::Str("offer")},
        {"call-id", Bencode::Str(call_id)},
        {"from-tag", Bencode::Str("caller")},
        {"sdp", Bencode::Str(Sdp(s.sender_port, ""))},
        {"replace", Bencode::List({Bencode::Str("origin"),
                                   Bencode::Str("session-connection")})},
    };
    if (srtp) offer["transport-protocol"] = Bencode::Str("RTP/SAVP");
    auto offered = (*client)->Call(Bencode::Dict(offer));
    if (!offered.ok()) return offered.status();
    uint16_t callee_relay_port = 0;
    std::string callee_key;
    if (absl::Status st =
            ReadRelaySdp(offered->dict["sdp"].string, &callee_relay_port,
                         nullptr, srtp ? &s.receive_key : nullptr, &callee_key);
        !st.ok()) {
      return st;
    }
    auto answered = (*client)->Call(Bencode::Dict({
        {"command", Bencode::Str("answer")},
        {"call-id", Bencode::Str(call_id)},
        {"from-tag", Bencode::Str("caller")},
        {"to-tag", Bencode::Str("callee")},
        {"sdp", Bencode::Str(Sdp(s.receiver_port, callee_key))},
    }));
    if (!answered.ok()) return answered.status();
    uint16_t caller_relay_port = 0;
    if (absl::Status st =
            ReadRelaySdp(answered->dict["sdp"].string, &caller_relay_port,
                         &s.relay.sin_addr, nullptr);
        !st.ok()) {
      return st;
    }
    s.relay.sin_port = htons(caller_relay_port);
  }
  return absl::OkStatus();
}

uint64_t CpuTicks(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(close_paren + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return utime + stime;
}

// The relay's resident set, KiB (VmRSS from /proc/PID/status).
uint64_t ResidentKib(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

// libsrtp's own cost of one AES_CM_128_HMAC_SHA1_80 protect of the packet
// rtpload sends, CPU µs on this thread: what the RTP->SRTP figures are
// compared against, measured in the same run as them. One context per
// stream of the run, used round robin, so libsrtp's state is as far from
// the cache as in the relay; packets are protected in runs of `batch` per
// context, as a relay that drains one socket at a time does.
// `crypto`: libsrtp's own AES and HMAC (Debian's: over NSS), the issue's
// reference, or the relay's (over OpenSSL, media/srtp/openssl_crypto.h).
double LibsrtpProtectCpuUs(int contexts, int batch,
                           media::srtp::SrtpCrypto crypto) {
  if (!media::srtp::InitSrtpLibrary().ok() ||
      !media::srtp::UseSrtpCrypto(crypto).ok()) {
    return 0;
  }
  std::vector<std::unique_ptr<media::srtp::OutboundSrtp>> outbound;
  for (int i = 0; i < contexts; ++i) {
    auto key = media::srtp::GenerateMasterKey(
        media::srtp::Suite::kAesCm128HmacSha1_80);
    if (!key.ok()) return 0;
    auto context = media::srtp::OutboundSrtp::Create(*key);
    if (!context.ok()) return 0;
    outbound.push_back(*std::move(context));
  }
  const int packets = std::max(100000, 4 * contexts * batch);
  uint8_t buffer[256] = {0x80, 0};
  const uint32_t ssrc = htonl(0x5eed);
  std::memcpy(buffer + 8, &ssrc, 4);
  std::vector<uint16_t> sequence(contexts);
  timespec before, after;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &before);
  for (int i = 0; i < packets; ++i) {
    const int c = (i / batch) % contexts;
    const uint16_t seq = ++sequence[c];
    buffer[2] = uint8_t(seq >> 8);
    buffer[3] = uint8_t(seq);
    (void)outbound[c]->ProtectRtp(absl::MakeSpan(buffer), 12 + 160);
  }
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &after);
  // rtpload's own streams use the relay's default.
  (void)media::srtp::UseSrtpCrypto(media::srtp::SrtpCrypto::kOpenSsl);
  const double ns = double(after.tv_sec - before.tv_sec) * 1e9 +
                    double(after.tv_nsec - before.tv_nsec);
  return ns / 1000.0 / packets;
}

void DeleteAll(const std::string& target, int count) {
  if (target == "trunkline") {
    auto stub = v1::Media::NewStub(grpc::CreateChannel(
        absl::GetFlag(FLAGS_media), grpc::InsecureChannelCredentials()));
    for (int i = 0; i < count; ++i) {
      v1::DeleteRequest request;
      request.set_call_id(absl::StrCat("rtpload-", getpid(), "-", i));
      v1::DeleteResponse response;
      grpc::ClientContext context;
      stub->Delete(&context, request, &response);
    }
  } else if (target == "rtpengine") {
    if (auto client = NgClient::Connect(absl::GetFlag(FLAGS_rtpengine));
        client.ok()) {
      for (int i = 0; i < count; ++i) {
        (void)(*client)->Call(Bencode::Dict({
            {"command", Bencode::Str("delete")},
            {"call-id",
             Bencode::Str(absl::StrCat("rtpload-", getpid(), "-", i))},
            {"from-tag", Bencode::Str("caller")},
        }));
      }
    }
  }
}

// --idle_streams: the relay's memory per allocated, idle stream. No sockets
// of ours: the SDP names ports nobody sends from.
int RunIdle(const std::string& target, int count, bool srtp) {
  const int pid = absl::GetFlag(FLAGS_relay_pid);
  if (pid <= 0) {
    std::fprintf(stderr, "rtpload: --idle_streams needs --relay_pid\n");
    return 1;
  }
  std::vector<Stream> streams(count);
  for (int i = 0; i < count; ++i) {
    streams[i].sender_port = uint16_t(40000 + 2 * (i % 10000));
    streams[i].receiver_port = uint16_t(streams[i].sender_port + 1);
  }
  const uint64_t before = ResidentKib(pid);
  absl::Status setup = target == "rtpengine" ? SetUpRtpengine(streams, srtp)
                                             : SetUpTrunkline(streams, srtp);
  sleep(1);  // let the relay settle (its metrics tick)
  const uint64_t after = ResidentKib(pid);
  if (!setup.ok()) {
    std::fprintf(stderr, "rtpload: setup: %s\n",
                 std::string(setup.message()).c_str());
  }
  std::printf(
      "target=%s mode=%s idle_streams=%d setup=%s rss_before_kib=%llu "
      "rss_after_kib=%llu kib_per_stream=%.2f\n",
      target.c_str(), srtp ? "rtp_to_srtp" : "rtp_to_rtp", count,
      setup.ok() ? "ok" : "failed", (unsigned long long)before,
      (unsigned long long)after,
      (double(after) - double(before)) / double(count));
  DeleteAll(target, count);
  return setup.ok() ? 0 : 1;
}

int Run() {
  const std::string target = absl::GetFlag(FLAGS_target);
  const int count = absl::GetFlag(FLAGS_streams);
  const int pps = absl::GetFlag(FLAGS_pps);
  const bool srtp = absl::GetFlag(FLAGS_srtp);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  if (absl::GetFlag(FLAGS_idle_streams) > 0) {
    return RunIdle(target, absl::GetFlag(FLAGS_idle_streams), srtp);
  }
  const int protect_batch =
      pps > 0 ? 1 : std::max(1, absl::GetFlag(FLAGS_window) / count);
  const double libsrtp_us =
      srtp ? LibsrtpProtectCpuUs(count, protect_batch,
                                 media::srtp::SrtpCrypto::kLibsrtp)
           : 0;
  const double openssl_us =
      srtp ? LibsrtpProtectCpuUs(count, protect_batch,
                                 media::srtp::SrtpCrypto::kOpenSsl)
           : 0;
  std::vector<Stream> streams(count);
  const bool shared_receiver = absl::GetFlag(FLAGS_shared_receiver);
  uint16_t shared_receiver_port = 0;
  // Room for a second of every stream's packets.
  const int shared_receiver_fd =
      shared_receiver
          ? Bind(target == "echo"
                     ? uint16_t(absl::GetFlag(FLAGS_echo_forward_base))
                     : 0,
                 &shared_receiver_port,
                 std::max(1 << 21, count * std::max(pps, 50) * 1024))
          : -1;
  for (int i = 0; i < count; ++i) {
    Stream& s = streams[i];
    if (shared_receiver) {
      s.receiver_fd = shared_receiver_fd;
      s.receiver_port = shared_receiver_port;
      continue;
    }
    const uint16_t wanted =
        target == "echo"
            ? uint16_t(absl::GetFlag(FLAGS_echo_forward_base) + 2 * i)
            : 0;
    s.receiver_fd = Bind(wanted, &s.receiver_port);
  }
  const bool shared_sender = absl::GetFlag(FLAGS_shared_sender) && pps > 0;
  uint16_t shared_port = 0;
  const int shared_fd = shared_sender ? Bind(0, &shared_port) : -1;
  for (int i = 0; i < count; ++i) {
    Stream& s = streams[i];
    if (shared_sender) {
      s.sender_fd = shared_fd;
      s.sender_port = shared_port;
    } else {
      s.sender_fd = Bind(0, &s.sender_port);
    }
    if (s.sender_fd < 0 || s.receiver_fd < 0) {
      std::fprintf(stderr, "rtpload: cannot bind stream %d's sockets\n", i);
      return 1;
    }
    s.relay.sin_family = AF_INET;
    s.relay.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (srtp) s.sent_ns.reset(new std::atomic<int64_t>[kSentRing]());
    if (target == "echo") {
      s.relay.sin_port =
          htons(uint16_t(absl::GetFlag(FLAGS_echo_base) + 2 * i));
    }
  }
  absl::Status setup = absl::OkStatus();
  if (target == "trunkline") setup = SetUpTrunkline(streams, srtp);
  if (target == "rtpengine") setup = SetUpRtpengine(streams, srtp);
  if (!setup.ok()) {
    std::fprintf(stderr, "rtpload: setup: %s\n",
                 std::string(setup.message()).c_str());
    return 1;
  }

  // Receiver: epoll over the receiving sockets, batches of recvmmsg.
  std::atomic<bool> stop{false};
  std::atomic<bool> measuring{false};
  std::vector<uint32_t> latencies_us;
  std::vector<uint32_t> delivered_us;
  latencies_us.reserve(
      size_t(std::min(2e7, count * std::max(pps, 1000) * (seconds + 2))));
  delivered_us.reserve(latencies_us.capacity());
  for (const Stream& s : streams) {
    const int on = 1;
    setsockopt(s.receiver_fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
  }
  std::atomic<uint64_t> received_total{0};
  const int verify_every = std::max(1, absl::GetFlag(FLAGS_verify_every));
  uint64_t verify_failures = 0;
  uint64_t unknown_ssrc = 0;
  std::thread receiver([&] {
    const int epoll_fd = epoll_create1(0);
    for (int i = 0; i < (shared_receiver ? 1 : count); ++i) {
      epoll_event e{};
      e.events = EPOLLIN;
      e.data.u32 = uint32_t(i);
      epoll_ctl(epoll_fd, EPOLL_CTL_ADD, streams[i].receiver_fd, &e);
    }
    constexpr int kBatch = 64;
    static uint8_t buffers[kBatch][2048];
    alignas(
        cmsghdr) static uint8_t controls[kBatch][CMSG_SPACE(sizeof(timespec))];
    iovec iov[kBatch];
    mmsghdr msgs[kBatch];
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {buffers[i], sizeof(buffers[i])};
      std::memset(&msgs[i], 0, sizeof(msgs[i]));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = controls[i];
    }
    // One relayed packet of stream `s`, its kernel receive time in `header`.
    auto take = [&](Stream& s, uint8_t* packet, size_t length,
                    const msghdr& header, int64_t now) {
      int64_t sent_ns;
      if (s.receive_key) {
        const uint16_t sequence = uint16_t(packet[2] << 8 | packet[3]);
        sent_ns =
            s.sent_ns[sequence % kSentRing].load(std::memory_order_acquire);
        if (sequence % verify_every == 0) {
          auto plain =
              s.receive_key->UnprotectRtp(absl::MakeSpan(packet, length));
          int64_t stamped = 0;
          if (plain.ok() && *plain >= 20) {
            std::memcpy(&stamped, packet + 12, sizeof(stamped));
          }
          if (stamped == 0 || stamped != sent_ns) {
            ++verify_failures;
            return;
          }
        }
      } else {
        std::memcpy(&sent_ns, packet + 12, sizeof(sent_ns));
      }
      ++s.received;
      ++received_total;
      if (measuring && latencies_us.size() < latencies_us.capacity()) {
        int64_t arrived_ns = ReceiveStampNs(header);
        if (arrived_ns == 0) arrived_ns = now;
        latencies_us.push_back(
            uint32_t(std::max<int64_t>(0, arrived_ns - sent_ns) / 1000));
        delivered_us.push_back(
            uint32_t(std::max<int64_t>(0, now - sent_ns) / 1000));
      }
    };
    epoll_event events[64];
    const int64_t poll_ns =
        int64_t(absl::GetFlag(FLAGS_receive_poll_us)) * 1000;
    while (!stop) {
      int n;
      if (shared_receiver && poll_ns > 0) {
        // Nobody waits on the socket, so the relay's sends wake nobody.
        timespec ts{0, long(poll_ns)};
        nanosleep(&ts, nullptr);
        events[0].data.u32 = 0;
        n = 1;
      } else {
        n = epoll_wait(epoll_fd, events, 64, 50);
      }
      for (int e = 0; e < n; ++e) {
        Stream& owner = streams[events[e].data.u32];
        // A shared socket is drained until empty; a stream's own socket
        // gets one batch per readiness, as before.
        int got;
        do {
          for (int i = 0; i < kBatch; ++i) {
            msgs[i].msg_hdr.msg_controllen = sizeof(controls[i]);
          }
          got =
              recvmmsg(owner.receiver_fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
          const int64_t now = WallNs();
          for (int i = 0; i < got; ++i) {
            const size_t length = msgs[i].msg_len;
            if (length < 20) continue;
            Stream* s = &owner;
            if (shared_receiver) {
              // The sender's SSRC is the stream's index + 1.
              uint32_t ssrc;
              std::memcpy(&ssrc, buffers[i] + 8, sizeof(ssrc));
              ssrc = ntohl(ssrc);
              if (ssrc == 0 || ssrc > uint32_t(count)) {
                ++unknown_ssrc;
                continue;
              }
              s = &streams[ssrc - 1];
            }
            take(*s, buffers[i], length, msgs[i].msg_hdr, now);
          }
        } while (shared_receiver && got == kBatch && !stop);
      }
    }
    close(epoll_fd);
  });

  // Sender: paced evenly across streams, or flat out.
  const double warmup = 1.0;
  const int64_t start = NowNs();
  const int64_t measure_start = start + int64_t(warmup * 1e9);
  const int64_t end = measure_start + int64_t(seconds * 1e9);
  const int window = absl::GetFlag(FLAGS_window);
  const int64_t send_tick_ns =
      int64_t(absl::GetFlag(FLAGS_send_tick_us)) * 1000;
  // The default 50 us of timer slack would stretch every tick.
  if (send_tick_ns > 0) prctl(PR_SET_TIMERSLACK, 1000UL);
  const int64_t interval_ns =
      pps > 0 ? int64_t(1e9 / (double(pps) * count)) : 0;
  uint8_t packet[12 + 160] = {0x80, 0};
  uint64_t sent_at_measure_start = 0, received_at_measure_start = 0;
  uint64_t cpu_start = 0;
  uint64_t sent_total = 0;
  // --shared_sender: the packets due, sent together when the next one is
  // not due yet (or the batch is full).
  constexpr int kSendBatch = 64;
  static uint8_t batch_packets[kSendBatch][sizeof(packet)];
  std::vector<mmsghdr> batch(kSendBatch);
  std::vector<iovec> batch_iov(kSendBatch);
  std::vector<Stream*> batch_stream(kSendBatch);
  int batched = 0;
  for (int k = 0; k < kSendBatch; ++k) {
    batch_packets[k][0] = 0x80;
    batch_iov[k] = {batch_packets[k], sizeof(packet)};
    std::memset(&batch[k], 0, sizeof(batch[k]));
    batch[k].msg_hdr.msg_iov = &batch_iov[k];
    batch[k].msg_hdr.msg_iovlen = 1;
    batch[k].msg_hdr.msg_namelen = sizeof(sockaddr_in);
  }
  auto flush = [&] {
    int done = 0;
    while (done < batched) {
      const int n = sendmmsg(shared_fd, batch.data() + done, batched - done, 0);
      if (n <= 0) break;
      done += n;
    }
    for (int k = 0; k < done; ++k) ++batch_stream[k]->sent;
    sent_total += uint64_t(done);
    batched = 0;
  };
  int64_t next = start;
  size_t index = 0;
  bool measuring_started = false;
  while (true) {
    int64_t now = NowNs();
    if (!measuring_started && now >= measure_start) {
      measuring_started = true;
      sent_at_measure_start = sent_total;
      received_at_measure_start = received_total;
      if (absl::GetFlag(FLAGS_relay_pid) > 0) {
        cpu_start = CpuTicks(absl::GetFlag(FLAGS_relay_pid));
      }
      measuring = true;
    }
    if (now >= end) break;
    if (batched > 0 && (now < next || batched == kSendBatch)) flush();
    if (interval_ns == 0 &&
        sent_total - received_total.load(std::memory_order_relaxed) >=
            uint64_t(window)) {
      continue;  // flat out, but never more than the window in flight
    }
    if (interval_ns > 0 && now < next) {
      if (send_tick_ns > 0) {
        timespec ts{0, long(std::max(send_tick_ns, next - now))};
        nanosleep(&ts, nullptr);
      } else if (next - now > 200000) {
        timespec ts{0, long(next - now - 100000)};
        nanosleep(&ts, nullptr);
      }
      continue;
    }
    next += interval_ns;
    Stream& s = streams[index];
    // The stream's index + 1, by which the shared receiver finds it.
    const uint32_t ssrc = htonl(uint32_t(index + 1));
    index = (index + 1) % streams.size();
    ++s.sequence;
    s.timestamp += 160;
    uint8_t* out = shared_sender ? batch_packets[batched] : packet;
    out[2] = uint8_t(s.sequence >> 8);
    out[3] = uint8_t(s.sequence);
    const uint32_t ts = htonl(s.timestamp);
    std::memcpy(out + 4, &ts, 4);
    std::memcpy(out + 8, &ssrc, 4);
    const int64_t stamp = WallNs();
    std::memcpy(out + 12, &stamp, sizeof(stamp));
    if (s.sent_ns) {
      s.sent_ns[s.sequence % kSentRing].store(stamp, std::memory_order_release);
    }
    if (shared_sender) {
      batch[batched].msg_hdr.msg_name = &s.relay;
      batch_stream[batched] = &s;
      ++batched;
      continue;
    }
    if (sendto(s.sender_fd, packet, sizeof(packet), 0,
               reinterpret_cast<sockaddr*>(&s.relay), sizeof(s.relay)) > 0) {
      ++s.sent;
      ++sent_total;
    }
  }
  flush();
  const uint64_t cpu_end = absl::GetFlag(FLAGS_relay_pid) > 0
                               ? CpuTicks(absl::GetFlag(FLAGS_relay_pid))
                               : 0;
  measuring = false;
  const uint64_t sent_measured = sent_total - sent_at_measure_start;
  const uint64_t received_measured = received_total - received_at_measure_start;
  usleep(300000);  // stragglers
  stop = true;
  receiver.join();
  uint64_t lost = 0;
  for (const Stream& s : streams)
    lost += s.sent > s.received ? s.sent - s.received : 0;
  std::sort(latencies_us.begin(), latencies_us.end());
  std::sort(delivered_us.begin(), delivered_us.end());
  auto percentile = [](const std::vector<uint32_t>& sorted,
                       double p) -> uint32_t {
    if (sorted.empty()) return 0;
    return sorted[std::min(sorted.size() - 1,
                           size_t(p * double(sorted.size())))];
  };
  const double cpu_seconds =
      double(cpu_end - cpu_start) / double(sysconf(_SC_CLK_TCK));
  std::printf(
      "target=%s mode=%s streams=%d pps_per_stream=%d sent_pps=%.0f "
      "relayed_pps=%.0f loss=%.4f%% latency_p50_us=%u latency_p99_us=%u "
      "delivered_p99_us=%u relay_cpu_us_per_packet=%.3f",
      target.c_str(), srtp ? "rtp_to_srtp" : "rtp_to_rtp", count, pps,
      double(sent_measured) / seconds, double(received_measured) / seconds,
      sent_total == 0 ? 0.0 : 100.0 * double(lost) / double(sent_total),
      percentile(latencies_us, 0.5), percentile(latencies_us, 0.99),
      percentile(delivered_us, 0.99),
      received_measured == 0 || cpu_end == 0
          ? 0.0
          : cpu_seconds * 1e6 / double(received_measured));
  if (srtp) {
    std::printf(
        " libsrtp_protect_cpu_us=%.3f openssl_protect_cpu_us=%.3f "
        "verify_every=%d verify_failures=%llu",
        libsrtp_us, openssl_us, verify_every,
        static_cast<unsigned long long>(verify_failures));
  }
  if (shared_receiver) {
    std::printf(" shared_receiver=1 unknown_ssrc=%llu",
                static_cast<unsigned long long>(unknown_ssrc));
  }
  std::printf("\n");
  // Free the relay's ports for the next run.
  DeleteAll(target, count);
  for (Stream& s : streams) {
    if (!shared_sender) close(s.sender_fd);
    if (!shared_receiver) close(s.receiver_fd);
  }
  if (shared_receiver_fd >= 0) close(shared_receiver_fd);
  if (shared_fd >= 0) close(shared_fd);
  return 0;
}

}  // namespace
}  // namespace trunkline::rtpload

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "rtpload --target=trunkline|rtpengine|echo --streams=N --pps=50 "
      "[--srtp] [--relay_pid=PID]");
  absl::ParseCommandLine(argc, argv);
  return trunkline::rtpload::Run();
}
