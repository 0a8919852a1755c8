// A real SRTP phone through the real relay: baresip (SDES SRTP mandatory,
// PCMU) in a network namespace of its own calls a tiny SIP UAS of this test;
// the UAS puts baresip's offer through the `media` binary's gRPC Offer/Answer
// (the caller side SRTP, the callee side plain RTP) and answers baresip with
// the relay's SRTP SDP. The callee is a plain UDP socket of the test.
//
// Both directions are checked byte for byte after decryption:
//  - baresip plays a WAV file the test wrote, made of G.711 mu-law values, so
//    every payload baresip encodes, encrypts and the relay decrypts must be a
//    known run of the test's mu-law codes (in order, no gaps);
//  - the test sends known mu-law payloads as plain RTP; the relay encrypts
//    them to baresip, which decrypts and decodes them and, through its
//    sndfile filter, writes what it decoded to a WAV file: those samples must
//    be exactly the test's payloads, decoded.
//
// Needs root (ip netns, veth); skips without. baresip will not bind `lo`, so
// it gets a veth pair whose far end is in its namespace.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "services/media/sdp/attributes.h"
#include "services/media/sdp/sdp.h"
#include "tests/e2e/service_process.h"
#include "trunkline/v1/media.grpc.pb.h"

namespace trunkline {
namespace {

using trunkline::testing::RunCommand;
using trunkline::testing::ServiceProcess;
using Clock = std::chrono::steady_clock;

constexpr size_t kFrame = 160;         // PCMU samples (octets) per 20 ms
constexpr int kPlainPackets = 100;     // 2 s from the plain side
constexpr int kMinFramesChecked = 80;  // of 100 sent each way

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return bool(out);
}

// The first executable `name` in PATH, /usr/sbin or /sbin; "" if none.
std::string Which(const std::string& name) {
  const char* env = getenv("PATH");
  std::string path = absl::StrCat(env ? env : "", ":/usr/sbin:/sbin");
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// G.711 mu-law to linear (the bias-132 form every G.711 codec shares).
int16_t MulawToLinear(uint8_t code) {
  code = uint8_t(~code);
  const int exponent = (code >> 4) & 7;
  const int magnitude = ((((code & 0x0F) << 3) + 0x84) << exponent) - 0x84;
  return int16_t((code & 0x80) ? -magnitude : magnitude);
}

// `n` pseudo-random mu-law codes. The two codes for zero (0x7F, 0xFF) are
// left out: implementations decode them differently (baresip's librem to
// -2 and +2). Every other code decodes to one value everywhere and encodes
// back to itself, so these are exactly the octets baresip's PCMU encoder
// emits for their decoded samples, and the samples its decoder yields.
std::vector<uint8_t> MulawCodes(size_t n, uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<uint8_t> codes(n);
  for (uint8_t& code : codes) {
    do {
      code = uint8_t(random());
    } while ((code & 0x7F) == 0x7F);
  }
  return codes;
}

std::vector<int16_t> Decode(const std::vector<uint8_t>& codes) {
  std::vector<int16_t> samples(codes.size());
  std::transform(codes.begin(), codes.end(), samples.begin(), MulawToLinear);
  return samples;
}

void PutLe(std::string* out, uint32_t value, int octets) {
  for (int i = 0; i < octets; ++i) out->push_back(char(value >> (8 * i)));
}
uint32_t GetLe(const std::string& in, size_t at, int octets) {
  uint32_t value = 0;
  for (int i = 0; i < octets; ++i)
    value |= uint32_t(uint8_t(in[at + i])) << (8 * i);
  return value;
}

// A RIFF WAVE file: 16-bit PCM, mono, 8000 Hz.
std::string Wav(const std::vector<int16_t>& samples) {
  const uint32_t data_size = uint32_t(samples.size() * 2);
  std::string out = "RIFF";
  PutLe(&out, 36 + data_size, 4);
  out += "WAVEfmt ";
  PutLe(&out, 16, 4);
  PutLe(&out, 1, 2);  // PCM
  PutLe(&out, 1, 2);  // mono
  PutLe(&out, 8000, 4);
  PutLe(&out, 16000, 4);
  PutLe(&out, 2, 2);
  PutLe(&out, 16, 2);
  out += "data";
  PutLe(&out, data_size, 4);
  for (int16_t s : samples) PutLe(&out, uint16_t(s), 2);
  return out;
}

// The samples of a 16-bit mono PCM WAVE file (what baresip's sndfile filter
// writes), or nullopt with `why` set.
std::optional<std::vector<int16_t>> WavSamples(const std::string& file,
                                               std::string* why) {
  if (file.size() < 12 || file.compare(0, 4, "RIFF") != 0 ||
      file.compare(8, 4, "WAVE") != 0) {
    *why = "not a RIFF WAVE file";
    return std::nullopt;
  }
  size_t at = 12;
  bool pcm16_mono = false;
  while (at + 8 <= file.size()) {
    const std::string id = file.substr(at, 4);
    const uint32_t size = GetLe(file, at + 4, 4);
    const size_t body = at + 8;
    if (id == "fmt " && body + 16 <= file.size()) {
      pcm16_mono = GetLe(file, body, 2) == 1 && GetLe(file, body + 2, 2) == 1 &&
                   GetLe(file, body + 4, 4) == 8000 &&
                   GetLe(file, body + 14, 2) == 16;
    } else if (id == "data") {
      if (!pcm16_mono) {
        *why = "not 16-bit mono 8000 Hz PCM";
        return std::nullopt;
      }
      const size_t end = std::min<size_t>(body + size, file.size());
      std::vector<int16_t> samples;
      for (size_t i = body; i + 2 <= end; i += 2) {
        samples.push_back(int16_t(GetLe(file, i, 2)));
      }
      return samples;
    }
    at = body + size + (size & 1);
  }
  *why = "no data chunk";
  return std::nullopt;
}

sockaddr_in Address(const std::string& ip, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  return addr;
}

// One UDP socket of the test (the SIP UAS, the plain RTP callee).
class UdpSocket {
 public:
  ~UdpSocket() {
    if (fd_ >= 0) close(fd_);
  }
  bool Bind(const std::string& ip) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = Address(ip, 0);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return false;
    }
    port_ = ntohs(addr.sin_port);
    return true;
  }
  uint16_t port() const { return port_; }
  void SendTo(const sockaddr_in& to, const std::string& data) const {
    (void)sendto(fd_, data.data(), data.size(), 0,
                 reinterpret_cast<const sockaddr*>(&to), sizeof(to));
  }
  // Waits up to `timeout_ms` for one datagram.
  std::optional<std::string> Receive(int timeout_ms, sockaddr_in* from) const {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, std::max(timeout_ms, 0)) <= 0) return std::nullopt;
    char buf[65536];
    socklen_t len = sizeof(*from);
    ssize_t n = recvfrom(fd_, buf, sizeof(buf), 0,
                         reinterpret_cast<sockaddr*>(from), &len);
    if (n < 0) return std::nullopt;
    return std::string(buf, size_t(n));
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A SIP message as far as a UAS answering one INVITE needs it.
struct SipMessage {
  std::string start_line, body;
  std::vector<std::pair<std::string, std::string>> headers;  // name lowercase

  static std::optional<SipMessage> Parse(const std::string& text) {
    size_t end = text.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    SipMessage m;
    m.body = text.substr(end + 4);
    std::vector<std::string> lines =
        absl::StrSplit(text.substr(0, end), "\r\n");
    m.start_line = lines[0];
    for (size_t i = 1; i < lines.size(); ++i) {
      size_t colon = lines[i].find(':');
      if (colon == std::string::npos) continue;
      std::string name = absl::AsciiStrToLower(
          absl::StripAsciiWhitespace(lines[i].substr(0, colon)));
      static const std::pair<const char*, const char*> kCompact[] = {
          {"v", "via"}, {"f", "from"}, {"t", "to"}, {"i", "call-id"}};
      for (const auto& [compact, full] : kCompact) {
        if (name == compact) name = full;
      }
      m.headers.emplace_back(
          name,
          std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
    }
    return m;
  }
  std::string Method() const {
    return start_line.substr(0, start_line.find(' '));
  }
  std::string Header(const std::string& name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "";
  }
  // A response to this request: its Vias, From, To (tagged), Call-ID, CSeq.
  std::string Response(const std::string& status, const std::string& extra,
                       const std::string& body) const {
    std::string out = absl::StrCat("SIP/2.0 ", status, "\r\n");
    for (const auto& [n, v] : headers) {
      if (n == "via") absl::StrAppend(&out, "Via: ", v, "\r\n");
    }
    std::string to = Header("to");
    if (!absl::StrContains(to, "tag=")) absl::StrAppend(&to, ";tag=relaytest");
    absl::StrAppend(&out, "From: ", Header("from"), "\r\nTo: ", to,
                    "\r\nCall-ID: ", Header("call-id"),
                    "\r\nCSeq: ", Header("cseq"), "\r\n", extra,
                    "Content-Length: ", body.size(), "\r\n\r\n", body);
    return out;
  }
};

// baresip's ctrl_tcp: netstring-framed JSON commands; responses and call
// events come back on the same connection.
class BaresipControl {
 public:
  ~BaresipControl() {
    if (fd_ >= 0) close(fd_);
  }
  bool Connect(const std::string& ip, uint16_t port, int seconds) {
    const auto deadline = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < deadline) {
      fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr = Address(ip, port);
      if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        return true;
      }
      close(fd_);
      fd_ = -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void Command(const std::string& command, const std::string& params) {
    std::string json =
        absl::StrCat(R"({"command":")", command, R"(","params":")", params,
                     R"(","token":"e2e"})");
    std::string frame = absl::StrCat(json.size(), ":", json, ",");
    (void)write(fd_, frame.data(), frame.size());
  }
  // Reads until a message containing `text` arrives (bounded).
  bool WaitFor(const std::string& text, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      for (const std::string& m : messages_) {
        if (absl::StrContains(m, text)) return true;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - Clock::now())
                            .count();
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, int(left)) <= 0) return false;
      char buf[8192];
      ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) return false;
      buffer_.append(buf, size_t(n));
      size_t colon;
      while ((colon = buffer_.find(':')) != std::string::npos) {
        size_t length;
        if (!absl::SimpleAtoi(buffer_.substr(0, colon), &length) ||
            buffer_.size() < colon + 1 + length + 1) {
          break;
        }
        messages_.push_back(buffer_.substr(colon + 1, length));
        buffer_.erase(0, colon + 1 + length + 1);
      }
    }
  }
  std::string Transcript() const { return absl::StrJoin(messages_, "\n"); }

 private:
  int fd_ = -1;
  std::string buffer_;
  std::vector<std::string> messages_;
};

struct RtpPacket {
  uint8_t payload_type = 0;
  uint16_t sequence = 0;
  uint32_t timestamp = 0, ssrc = 0;
  std::vector<uint8_t> payload;
};
std::optional<RtpPacket> ParseRtp(const std::string& d) {
  if (d.size() < 12 || (uint8_t(d[0]) >> 6) != 2) return std::nullopt;
  const size_t header = 12 + 4 * (uint8_t(d[0]) & 0x0F);
  if (d.size() < header || (uint8_t(d[0]) & 0x30)) return std::nullopt;
  RtpPacket p;
  p.payload_type = uint8_t(d[1]) & 0x7F;
  p.sequence = uint16_t(uint8_t(d[2]) << 8 | uint8_t(d[3]));
  p.timestamp = uint32_t(uint8_t(d[4])) << 24 | uint32_t(uint8_t(d[5])) << 16 |
                uint32_t(uint8_t(d[6])) << 8 | uint8_t(d[7]);
  p.ssrc = uint32_t(uint8_t(d[8])) << 24 | uint32_t(uint8_t(d[9])) << 16 |
           uint32_t(uint8_t(d[10])) << 8 | uint8_t(d[11]);
  p.payload.assign(d.begin() + long(header), d.end());
  return p;
}

std::string PlainRtp(uint16_t sequence, uint32_t timestamp, uint32_t ssrc,
                     const uint8_t* payload, size_t size, bool marker) {
  std::string d(12, '\0');
  d[0] = char(0x80);
  d[1] = char(marker ? 0x80 : 0x00);  // PT 0: PCMU
  d[2] = char(sequence >> 8);
  d[3] = char(sequence);
  for (int i = 0; i < 4; ++i) {
    d[4 + i] = char(timestamp >> (24 - 8 * i));
    d[8 + i] = char(ssrc >> (24 - 8 * i));
  }
  d.append(reinterpret_cast<const char*>(payload), size);
  return d;
}

struct SdpView {
  uint16_t port = 0;
  std::string proto, address;
  std::vector<std::string> crypto;
  std::optional<uint32_t> ssrc;
};
SdpView View(const std::string& text) {
  SdpView view;
  auto parsed = media::sdp::Parse(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
  if (!parsed.ok() || parsed->media.empty()) return view;
  const auto& m = parsed->media[0];
  view.port = uint16_t(m.port);
  view.proto = m.proto;
  if (const auto* c = media::sdp::EffectiveConnection(*parsed, m)) {
    view.address = c->address;
  }
  for (const auto& a : m.attributes.items()) {
    if (a.name == "crypto" && a.value) view.crypto.push_back(*a.value);
    uint32_t ssrc;
    if (a.name == "ssrc" && a.value &&
        absl::SimpleAtoi(a.value->substr(0, a.value->find(' ')), &ssrc)) {
      view.ssrc = ssrc;
    }
  }
  return view;
}

// baresip headless: UDP SIP on the veth in its namespace, the test's WAV as
// the microphone (ausrc at 8000 Hz mono: no resampling, so PCMU payloads are
// the WAV's samples encoded), the ALSA null device as the speaker, sndfile
// dumping what it encodes and decodes, ctrl_tcp for dial/hangup.
constexpr char kBaresipConfig[] = R"(poll_method epoll
sip_listen $PHONE_IP:5060
net_interface $PHONE_VETH
sip_trans_def udp
audio_source aufile,$SOURCE_WAV
audio_player alsa,null
audio_alert alsa,null
ausrc_srate 8000
ausrc_channels 1
auplay_srate 8000
auplay_channels 1
rtcp_mux no
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module alsa.so
module srtp.so
module sndfile.so
module ctrl_tcp.so
module_app account.so
module_app menu.so
ctrl_tcp_listen $PHONE_IP:$CONTROL_PORT
snd_path $SND_DIR
)";

class MediaBaresipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root to create a network namespace and a veth "
                      "pair for baresip (ip netns, ip link); not root here";
    }
    ip_ = Which("ip");
    if (ip_.empty()) GTEST_SKIP() << "no `ip` (iproute2): no netns support";
    baresip_ = Which("baresip");
    ASSERT_FALSE(baresip_.empty())
        << "baresip is not installed: `make deps` installs it "
           "(deploy/debian-packages.txt)";
    RemoveStaleNamespaces();

    const int pid = getpid();
    netns_ = absl::StrCat(kNetnsPrefix, pid);
    host_veth_ = absl::StrCat("tlb", pid, "h");
    phone_veth_ = absl::StrCat("tlb", pid, "p");
    // A /30 in 10.78.0.0/16 no interface uses yet (another run's).
    std::string out;
    Ip({"-4", "-o", "addr", "show"}, &out);
    std::string subnet;
    for (int i = 0; i < 250 && subnet.empty(); ++i) {
      std::string candidate = absl::StrCat("10.78.", (pid + i) % 250 + 1, ".");
      if (!absl::StrContains(out, candidate)) subnet = candidate;
    }
    ASSERT_FALSE(subnet.empty()) << "10.78.0.0/16 is all in use";
    host_ip_ = subnet + "1";
    phone_ip_ = subnet + "2";
    if (Ip({"netns", "add", netns_}, &out) != 0) {
      netns_.clear();
      GTEST_SKIP() << "no network namespace support (ip netns add): " << out;
    }
    if (Ip({"link", "add", host_veth_, "type", "veth", "peer", "name",
            phone_veth_, "netns", netns_},
           &out) != 0) {
      GTEST_SKIP() << "no veth support (ip link add ... type veth): " << out;
    }
    ASSERT_EQ(Ip({"addr", "add", host_ip_ + "/30", "dev", host_veth_}, &out), 0)
        << out;
    ASSERT_EQ(Ip({"link", "set", host_veth_, "up"}, &out), 0) << out;
    ASSERT_EQ(
        Ip({"-n", netns_, "addr", "add", phone_ip_ + "/30", "dev", phone_veth_},
           &out),
        0)
        << out;
    ASSERT_EQ(Ip({"-n", netns_, "link", "set", phone_veth_, "up"}, &out), 0)
        << out;

    char dir[] = "/tmp/trunkline-baresip-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    // The relay binds the host end of the veth only: baresip reaches it
    // from its namespace, the plain callee from here.
    ASSERT_TRUE(media_.Start(
        TRUNKLINE_MEDIA_BIN,
        absl::StrCat(TRUNKLINE_SOURCE_DIR, "/tests/topology/minimal.yaml"),
        dir_ + "/media.log",
        {"--rtp_port_min=29000", "--rtp_port_max=29999", "--workers=1",
         "--rtp_bind_address=" + host_ip_, "--advertised_address=" + host_ip_,
         "--rtp_timeout_seconds=0"}));
    ASSERT_TRUE(media_.WaitReady()) << Read(dir_ + "/media.log");
    stub_ = v1::Media::NewStub(grpc::CreateChannel(
        media_.grpc_address(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    StopBaresip();
    if (HasFailure() && !dir_.empty()) {
      std::cerr << "media log:\n"
                << Read(dir_ + "/media.log") << "\nbaresip log:\n"
                << Read(dir_ + "/baresip.log") << "\n";
    }
    if (media_.pid() > 0) {
      stub_.reset();  // else gRPC waits out its shutdown grace
      media_.Signal(SIGINT);
      media_.WaitExit();
    }
    // Deleting the namespace deletes the veth pair with it.
    std::string ignored;
    if (!netns_.empty()) Ip({"netns", "del", netns_}, &ignored);
    if (!dir_.empty()) RunCommand({"/bin/rm", "-rf", dir_}, &ignored);
  }

  int Ip(std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), ip_);
    return RunCommand(args, out);
  }

  // Namespaces of earlier runs that were killed before their TearDown.
  void RemoveStaleNamespaces() {
    std::string list, ignored;
    Ip({"netns", "list"}, &list);
    for (absl::string_view line : absl::StrSplit(list, '\n')) {
      std::string name(line.substr(0, line.find(' ')));
      int pid;
      if (absl::ConsumePrefix(&line, kNetnsPrefix) &&
          absl::SimpleAtoi(line.substr(0, line.find(' ')), &pid) &&
          kill(pid, 0) != 0 && errno == ESRCH) {
        Ip({"netns", "del", name}, &ignored);
      }
    }
  }

  // baresip in the namespace, SRTP mandatory, PCMU only.
  void StartBaresip(const std::string& source_wav) {
    const std::string config_dir = dir_ + "/baresip";
    snd_dir_ = dir_ + "/snd";
    ASSERT_EQ(mkdir(config_dir.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(snd_dir_.c_str(), 0755), 0);
    ASSERT_TRUE(Write(
        config_dir + "/config",
        absl::StrReplaceAll(kBaresipConfig,
                            {{"$PHONE_IP", phone_ip_},
                             {"$PHONE_VETH", phone_veth_},
                             {"$SOURCE_WAV", source_wav},
                             {"$CONTROL_PORT", absl::StrCat(kControlPort)},
                             {"$SND_DIR", snd_dir_}})));
    ASSERT_TRUE(Write(config_dir + "/accounts",
                      absl::StrCat("<sip:phone@", phone_ip_,
                                   ">;regint=0;mediaenc=srtp-mand;"
                                   "audio_codecs=PCMU;answermode=manual\n")));
    ASSERT_TRUE(Write(config_dir + "/contacts", ""));

    std::vector<std::string> args = {ip_,      "netns", "exec",    netns_,
                                     baresip_, "-f",    config_dir};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = dir_ + "/baresip.log";
    baresip_pid_ = fork();
    ASSERT_GE(baresip_pid_, 0);
    if (baresip_pid_ == 0) {
      // Dies with the test even if the test is killed before TearDown.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int in = open("/dev/null", O_RDONLY);
      int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(in, STDIN_FILENO);
      dup2(out, STDOUT_FILENO);
      dup2(out, STDERR_FILENO);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }

  // Stops the baresip this test started, by its PID (bounded).
  void StopBaresip() {
    if (baresip_pid_ <= 0) return;
    kill(baresip_pid_, SIGTERM);
    for (int i = 0; i < 60; ++i) {
      if (waitpid(baresip_pid_, nullptr, WNOHANG) == baresip_pid_) {
        baresip_pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(baresip_pid_, SIGKILL);
    waitpid(baresip_pid_, nullptr, 0);
    baresip_pid_ = -1;
  }

  // The WAV file sndfile wrote for what baresip decoded ("" if none).
  std::string DecodedWav() const {
    std::string found;
    if (DIR* d = opendir(snd_dir_.c_str())) {
      while (dirent* e = readdir(d)) {
        if (absl::EndsWith(e->d_name, "-dec.wav"))
          found = snd_dir_ + "/" + e->d_name;
      }
      closedir(d);
    }
    return found;
  }

  static constexpr const char* kNetnsPrefix = "tl-bsip-";
  static constexpr int kControlPort = 4444;  // inside baresip's namespace
  std::string ip_, baresip_, netns_, host_veth_, phone_veth_, host_ip_,
      phone_ip_, dir_, snd_dir_;
  pid_t baresip_pid_ = -1;
  ServiceProcess media_;
  std::unique_ptr<v1::Media::Stub> stub_;
};

TEST_F(MediaBaresipTest, SrtpPhoneToPlainRtpBothWaysByteForByte) {
  // baresip's microphone: 10 s of known mu-law codes, as samples.
  const std::vector<uint8_t> phone_codes = MulawCodes(size_t{8000} * 10, 7);
  ASSERT_TRUE(Write(dir_ + "/source.wav", Wav(Decode(phone_codes))));
  // What the plain side sends.
  const std::vector<uint8_t> plain_codes =
      MulawCodes(kFrame * kPlainPackets, 9);

  ASSERT_NO_FATAL_FAILURE(StartBaresip(dir_ + "/source.wav"));
  BaresipControl control;
  ASSERT_TRUE(control.Connect(phone_ip_, kControlPort, 10))
      << "baresip's ctrl_tcp did not come up";

  UdpSocket sip, callee;
  ASSERT_TRUE(sip.Bind(host_ip_));
  ASSERT_TRUE(callee.Bind(host_ip_));
  control.Command("dial",
                  absl::StrCat("sip:relay@", host_ip_, ":", sip.port()));

  // The INVITE: baresip offers SDES SRTP.
  sockaddr_in phone_sip{};
  std::optional<SipMessage> invite;
  for (int i = 0; i < 20 && !(invite && invite->Method() == "INVITE"); ++i) {
    auto data = sip.Receive(500, &phone_sip);
    if (data) invite = SipMessage::Parse(*data);
  }
  ASSERT_TRUE(invite && invite->Method() == "INVITE")
      << "no INVITE from baresip; ctrl_tcp said:\n"
      << control.Transcript();
  const SdpView phone_offer = View(invite->body);
  EXPECT_EQ(phone_offer.proto, "RTP/SAVP") << invite->body;
  EXPECT_FALSE(phone_offer.crypto.empty()) << invite->body;
  EXPECT_TRUE(phone_offer.ssrc.has_value()) << invite->body;
  sip.SendTo(phone_sip, invite->Response("100 Trying", "", ""));

  // Anchor the call on the relay: SRTP required towards the phone, plain RTP
  // towards the callee.
  const std::string call_id = invite->Header("call-id");
  v1::OfferRequest offer;
  offer.set_call_id(call_id);
  offer.set_from_leg(v1::LEG_CALLER);
  offer.set_request_id("invite");
  offer.set_sdp(invite->body);
  offer.mutable_from_side()->set_srtp(v1::SRTP_MODE_REQUIRED);
  offer.mutable_to_side()->set_srtp(v1::SRTP_MODE_NOT_SUPPORTED);
  v1::SdpResponse to_callee;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    grpc::Status status = stub_->Offer(&context, offer, &to_callee);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const SdpView relay_to_callee = View(to_callee.sdp());
  EXPECT_EQ(relay_to_callee.proto, "RTP/AVP") << to_callee.sdp();
  EXPECT_TRUE(relay_to_callee.crypto.empty()) << to_callee.sdp();
  // Nothing with the phone's address: not c= or o=, and not baresip's
  // a=ssrc cname (its SIP URI, with that address), which the relay drops.
  EXPECT_FALSE(absl::StrContains(to_callee.sdp(), phone_ip_))
      << "the phone's address leaks to the callee";
  EXPECT_EQ(relay_to_callee.address, host_ip_);
  ASSERT_NE(relay_to_callee.port, 0);

  v1::AnswerRequest answer;
  answer.set_call_id(call_id);
  answer.set_from_leg(v1::LEG_CALLEE);
  answer.set_request_id("invite");
  answer.set_sdp(absl::StrCat(
      "v=0\r\no=callee 1 1 IN IP4 ", host_ip_, "\r\ns=-\r\nc=IN IP4 ", host_ip_,
      "\r\nt=0 0\r\nm=audio ", callee.port(),
      " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"));
  v1::SdpResponse to_phone;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    grpc::Status status = stub_->Answer(&context, answer, &to_phone);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const SdpView relay_to_phone = View(to_phone.sdp());
  EXPECT_EQ(relay_to_phone.proto, "RTP/SAVP") << to_phone.sdp();
  ASSERT_EQ(relay_to_phone.crypto.size(), 1u) << to_phone.sdp();
  EXPECT_EQ(relay_to_phone.address, host_ip_);

  // 200 OK with the relay's SRTP answer, until baresip ACKs it.
  const std::string ok = invite->Response(
      "200 OK",
      absl::StrCat("Contact: <sip:relay@", host_ip_, ":", sip.port(),
                   ">\r\nContent-Type: application/sdp\r\n"),
      to_phone.sdp());
  bool acked = false;
  for (int i = 0; i < 8 && !acked; ++i) {
    sip.SendTo(phone_sip, ok);
    const auto until = Clock::now() + std::chrono::milliseconds(500);
    while (!acked && Clock::now() < until) {
      sockaddr_in from;
      auto data = sip.Receive(100, &from);
      auto m = data ? SipMessage::Parse(*data) : std::nullopt;
      acked = m && m->Method() == "ACK";
    }
  }
  ASSERT_TRUE(acked) << "baresip did not ACK the relay's SRTP answer\n"
                     << to_phone.sdp();
  EXPECT_TRUE(control.WaitFor("CALL_ESTABLISHED", 2000))
      << control.Transcript();

  // Media: the plain side sends 20 ms packets of known codes to the relay
  // and collects what the relay decrypted from the phone.
  const sockaddr_in relay_plain = Address(host_ip_, relay_to_callee.port);
  constexpr uint32_t kPlainSsrc = 0x5EC0DE01;
  std::vector<RtpPacket> from_phone;
  uint16_t from_port_seen = 0;
  const auto start = Clock::now();
  const auto done = start + std::chrono::milliseconds(20 * kPlainPackets + 300);
  int sent = 0;
  while (Clock::now() < done) {
    const auto next = start + std::chrono::milliseconds(20 * sent);
    if (sent < kPlainPackets && Clock::now() >= next) {
      callee.SendTo(
          relay_plain,
          PlainRtp(uint16_t(1000 + sent), 160000 + kFrame * sent, kPlainSsrc,
                   &plain_codes[kFrame * sent], kFrame, sent == 0));
      ++sent;
      continue;
    }
    const auto wait_until = sent < kPlainPackets ? next : done;
    const int wait_ms =
        int(std::chrono::duration_cast<std::chrono::milliseconds>(wait_until -
                                                                  Clock::now())
                .count());
    sockaddr_in from;
    if (auto data = callee.Receive(std::max(wait_ms, 1), &from)) {
      auto packet = ParseRtp(*data);
      ASSERT_TRUE(packet) << "not RTP from the relay (still encrypted?)";
      from_port_seen = ntohs(from.sin_port);
      from_phone.push_back(std::move(*packet));
    }
  }

  // Phone -> relay -> plain: every payload is the next run of the phone's
  // codes (the relay decrypted baresip's SRTP exactly), headers intact.
  ASSERT_GE(from_phone.size(), size_t(kMinFramesChecked))
      << "too few packets from the phone";
  EXPECT_EQ(from_port_seen, relay_to_callee.port) << "relay hides the phone";
  auto first =
      std::search(phone_codes.begin(), phone_codes.end(),
                  from_phone[0].payload.begin(), from_phone[0].payload.end());
  ASSERT_NE(first, phone_codes.end())
      << "the phone's first payload is not from its WAV file";
  size_t offset = size_t(first - phone_codes.begin());
  for (size_t i = 0; i < from_phone.size(); ++i) {
    const RtpPacket& p = from_phone[i];
    SCOPED_TRACE(absl::StrCat("packet ", i, " from the phone"));
    EXPECT_EQ(p.payload_type, 0);
    EXPECT_EQ(p.ssrc, phone_offer.ssrc.value_or(0));
    if (i > 0) {
      EXPECT_EQ(p.sequence, uint16_t(from_phone[i - 1].sequence + 1));
      EXPECT_EQ(p.timestamp, from_phone[i - 1].timestamp + kFrame);
    }
    ASSERT_EQ(p.payload.size(), kFrame);
    ASSERT_LE(offset + kFrame, phone_codes.size());
    ASSERT_TRUE(std::equal(p.payload.begin(), p.payload.end(),
                           phone_codes.begin() + long(offset)))
        << "payload differs from the phone's source at octet " << offset;
    offset += kFrame;
  }

  // The relay's view: both legs counted, no SRTP failures from the phone.
  v1::QueryRequest query_request;
  query_request.set_call_id(call_id);
  v1::QueryResponse query;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Query(&context, query_request, &query).ok());
  }
  for (const v1::StreamStats& s : query.streams()) {
    if (s.leg() == v1::LEG_CALLER) {
      EXPECT_GE(s.packets(), from_phone.size());
      EXPECT_EQ(s.srtp_auth_failures(), 0u);
    } else {
      EXPECT_EQ(s.packets(), uint64_t(kPlainPackets));
      EXPECT_EQ(s.ssrc(), kPlainSsrc);
    }
  }

  // Hang up from the phone; baresip closes its WAV dump with the call.
  control.Command("hangup", "");
  bool bye = false;
  for (int i = 0; i < 30 && !bye; ++i) {
    sockaddr_in from;
    auto data = sip.Receive(100, &from);
    auto m = data ? SipMessage::Parse(*data) : std::nullopt;
    if (m && m->Method() == "BYE") {
      sip.SendTo(from, m->Response("200 OK", "", ""));
      bye = true;
    }
  }
  EXPECT_TRUE(bye) << "no BYE from baresip";
  EXPECT_TRUE(control.WaitFor("CALL_CLOSED", 2000)) << control.Transcript();
  {
    grpc::ClientContext context;
    v1::DeleteRequest request;
    request.set_call_id(call_id);
    v1::DeleteResponse response;
    EXPECT_TRUE(stub_->Delete(&context, request, &response).ok());
  }
  StopBaresip();  // flushes and closes the WAV files

  const std::string log = Read(dir_ + "/baresip.log");
  EXPECT_TRUE(absl::StrContains(log, "SRTP is Enabled"))
      << "baresip did not run SRTP:\n"
      << log;
  EXPECT_FALSE(absl::StrContains(log, "failed to decrypt"))
      << "baresip failed to decrypt SRTP from the relay:\n"
      << log;

  // Plain -> relay -> phone: every 20 ms frame baresip decrypted and decoded
  // is exactly one of the plain side's payloads, decoded, in the order sent.
  // (A frame its jitter buffer dropped under load would be skipped, not
  // changed; at least kMinFramesChecked of 100 must arrive.)
  const std::string wav_path = DecodedWav();
  ASSERT_FALSE(wav_path.empty()) << "baresip's sndfile wrote no -dec.wav";
  std::string why;
  auto decoded = WavSamples(Read(wav_path), &why);
  ASSERT_TRUE(decoded) << wav_path << ": " << why;
  EXPECT_EQ(decoded->size() % kFrame, 0u) << "not whole 20 ms frames";
  const std::vector<int16_t> expected = Decode(plain_codes);
  const size_t frames = decoded->size() / kFrame;
  size_t next_packet = 0;
  for (size_t f = 0; f < frames; ++f) {
    const auto frame = decoded->begin() + long(f * kFrame);
    size_t packet = next_packet;
    while (packet < size_t(kPlainPackets) &&
           !std::equal(frame, frame + long(kFrame),
                       expected.begin() + long(packet * kFrame))) {
      ++packet;
    }
    ASSERT_LT(packet, size_t(kPlainPackets))
        << "frame " << f << " baresip decoded is none of the plain side's "
        << "payloads from packet " << next_packet << " on";
    next_packet = packet + 1;
  }
  EXPECT_GE(frames, size_t(kMinFramesChecked))
      << "baresip decoded too little of what the relay encrypted to it";
  std::cout << "checked " << from_phone.size() << " packets from the phone; "
            << frames << " frames baresip decoded, each one of the "
            << kPlainPackets << " packets sent, in order ("
            << next_packet - frames << " skipped)\n";
}

}  // namespace
}  // namespace trunkline
