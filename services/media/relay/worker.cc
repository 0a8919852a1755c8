#include "services/media/relay/worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "services/common/log.h"
#include "services/media/relay/clock.h"

namespace trunkline::media::relay {
namespace {

constexpr int64_t kTickNs = 250 * 1000000LL;
constexpr int64_t kAuthEventIntervalNs = 1000 * 1000000LL;

}  // namespace

// Receive and send descriptors over one set of packet buffers: a received
// packet is relayed from the buffer it arrived in.
struct Worker::Buffers {
  alignas(64) uint8_t data[kBatch][kBufferSize];
  uint8_t scratch[kBufferSize];
  Endpoint sources[kBatch];
  iovec recv_iov[kBatch];
  mmsghdr recv[kBatch];
  iovec send_iov[kBatch];
  mmsghdr send[kBatch];
  int send_fd[kBatch];
  uint8_t send_direction[kBatch];
  uint8_t send_mode[kBatch];
};

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(int index,
                                                       WorkerOptions options,
                                                       PortAllocator* ports,
                                                       EventHub* events,
                                                       RelayMetrics* metrics) {
  std::unique_ptr<Worker> worker(
      new Worker(index, std::move(options), ports, events, metrics));
  in6_addr v6;
  in_addr v4;
  if (inet_pton(AF_INET, worker->options_.bind_address.c_str(), &v4) == 1) {
    worker->family_ = AF_INET;
  } else if (inet_pton(AF_INET6, worker->options_.bind_address.c_str(), &v6) ==
             1) {
    worker->family_ = AF_INET6;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--rtp_bind_address '", worker->options_.bind_address,
                     "' is not an IPv4 or IPv6 address literal"));
  }
  worker->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  worker->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (worker->epoll_fd_ < 0 || worker->wake_fd_ < 0) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "media worker ", index, ": epoll/eventfd: ", std::strerror(errno)));
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = 0;  // the wake-up eventfd
  epoll_ctl(worker->epoll_fd_, EPOLL_CTL_ADD, worker->wake_fd_, &event);
  return worker;
}

Worker::Worker(int index, WorkerOptions options, PortAllocator* ports,
               EventHub* events, RelayMetrics* metrics)
    : index_(index),
      options_(std::move(options)),
      ports_(ports),
      events_(events),
      metrics_(metrics),
      buffers_(std::make_unique<Buffers>()),
      moderation_(options_.coalesce_busy_percent) {
  if (metrics_ != nullptr) {
    const std::string worker = absl::StrCat(index_);
    busy_gauge_ = &metrics_->worker_busy->Add({{"worker", worker}});
    moderated_gauge_ = &metrics_->worker_moderated->Add({{"worker", worker}});
    io_uring_gauge_ = &metrics_->worker_io_uring->Add({{"worker", worker}});
  }
  Buffers& b = *buffers_;
  for (size_t i = 0; i < kBatch; ++i) {
    b.recv_iov[i] = {b.data[i], kMaxDatagram};
    std::memset(&b.recv[i], 0, sizeof(b.recv[i]));
    b.recv[i].msg_hdr.msg_iov = &b.recv_iov[i];
    b.recv[i].msg_hdr.msg_iovlen = 1;
    b.recv[i].msg_hdr.msg_name = &b.sources[i].address;
    std::memset(&b.send[i], 0, sizeof(b.send[i]));
    b.send[i].msg_hdr.msg_iov = &b.send_iov[i];
    b.send[i].msg_hdr.msg_iovlen = 1;
  }
  running_posted_.reserve(64);
}

Worker::~Worker() {
  Stop();
  DeleteAll();
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void Worker::Start() {
  running_ = true;
  thread_ = std::thread([this] {
    const std::string name = absl::StrCat("media-worker-", index_);
    pthread_setname_np(pthread_self(), name.c_str());
    if (options_.realtime_priority > 0) {
      sched_param param{};
      param.sched_priority = options_.realtime_priority;
      if (const int error =
              pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
          error != 0) {
        TL_LOG(kWarning,
               "media worker keeps the default scheduling policy: "
               "SCHED_FIFO refused (grant CAP_SYS_NICE, or set "
               "--worker_realtime_priority=0)")
            .With("worker", index_)
            .With("priority", options_.realtime_priority)
            .With("error", std::strerror(error));
      }
    }
    EnsureUring();
    coalesce_us_ = options_.coalesce_us.value_or(uring_ != nullptr ? 0 : 200);
    if (coalesce_us_ > 0) {
      // The default 50 us of timer slack would stretch every wait.
      prctl(PR_SET_TIMERSLACK, 1000UL);
    }
    while (running_.load(std::memory_order_relaxed)) {
      // Moderated, the worker waits only once it has drained what was
      // ready (fewer events than it asks for), as NAPI polls until its
      // queue is empty: waiting after every full batch would cap it at
      // kMaxEvents sockets per wait, whatever the load.
      const int events = RunOnce(100);
      if (coalesce_us_ > 0 && moderation_.active() && events < kMaxEvents) {
        const timespec wait{0, long(coalesce_us_) * 1000L};
        nanosleep(&wait, nullptr);
      }
    }
    // Work posted after Stop() still runs, so no RPC is left unanswered.
    RunOnce(0);
  });
}

void Worker::Stop() {
  if (!thread_.joinable()) return;
  running_ = false;
  Post([] {});
  thread_.join();
}

void Worker::Post(std::function<void()> work) {
  {
    absl::MutexLock lock(&posted_mutex_);
    posted_.push_back(std::move(work));
  }
  const uint64_t one = 1;
  // A full eventfd counter still wakes the loop; nothing to handle.
  (void)!write(wake_fd_, &one, sizeof(one));
}

int Worker::RunOnce(int timeout_ms) {
  EnsureUring();
  return uring_ != nullptr ? RunOnceUring(timeout_ms)
                           : RunOnceEpoll(timeout_ms);
}

int Worker::RunOnceEpoll(int timeout_ms) {
  epoll_event events[kMaxEvents];
  const int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
  bool woken = false;
  for (int i = 0; i < n; ++i) {
    const uint64_t tag = events[i].data.u64;
    if (tag == 0) {
      woken = true;
      continue;
    }
    ReadSocket(EndOfTag(tag), IsRtcpTag(tag));
  }
  // Posted work runs after the batch: it may close sockets that `events`
  // still points at.
  FinishTurn(woken);
  return n;
}

void Worker::FinishTurn(bool woken) {
  if (woken) {
    uint64_t count;
    (void)!read(wake_fd_, &count, sizeof(count));
  }
  {
    absl::MutexLock lock(&posted_mutex_);
    running_posted_.swap(posted_);
  }
  for (auto& work : running_posted_) work();
  running_posted_.clear();
  const int64_t now = MonotonicNs();
  if (now >= next_tick_ns_) {
    Tick(now);
    next_tick_ns_ = now + kTickNs;
  }
}

void Worker::ReadSocket(StreamEnd& end, bool rtcp_socket) {
  const int fd = rtcp_socket ? end.rtcp_fd : end.rtp_fd;
  if (fd < 0) return;
  Buffers& b = *buffers_;
  // A few batches per wake-up, then the other sockets get their turn.
  for (int round = 0; round < 4; ++round) {
    for (size_t i = 0; i < kBatch; ++i) {
      b.recv[i].msg_hdr.msg_namelen = sizeof(b.sources[i].address);
      b.recv[i].msg_hdr.msg_flags = 0;
    }
    const int received = recvmmsg(fd, b.recv, kBatch, MSG_DONTWAIT, nullptr);
    if (received <= 0) return;
    const int64_t now_ns = MonotonicNs();
    const int64_t now_unix_ms = UnixMs();
    size_t out = 0;
    for (int i = 0; i < received; ++i) {
      b.sources[i].length = b.recv[i].msg_hdr.msg_namelen;
      PacketContext ctx;
      ctx.now_ns = now_ns;
      ctx.now_unix_ms = now_unix_ms;
      if (!RunDatagram(ctx, b.data[i], b.recv[i].msg_len, kBufferSize,
                       (b.recv[i].msg_hdr.msg_flags & MSG_TRUNC) != 0,
                       b.sources[i], end, rtcp_socket)) {
        continue;
      }
      b.send_iov[out] = {ctx.data, ctx.length};
      b.send[out].msg_hdr.msg_name =
          const_cast<sockaddr_in6*>(&ctx.destination->address);
      b.send[out].msg_hdr.msg_namelen = ctx.destination->length;
      b.send_fd[out] = ctx.out_fd;
      b.send_direction[out] = uint8_t(LegIndex(end.leg));
      b.send_mode[out] = uint8_t(ctx.mode);
      ++out;
    }
    SendBatch(out);
    if (size_t(received) < kBatch) return;
  }
}

void Worker::SendBatch(size_t count) {
  Buffers& b = *buffers_;
  size_t start = 0;
  while (start < count) {
    // One sendmmsg per run of packets leaving through the same socket.
    size_t stop = start + 1;
    while (stop < count && b.send_fd[stop] == b.send_fd[start]) ++stop;
    int sent =
        sendmmsg(b.send_fd[start], &b.send[start], stop - start, MSG_DONTWAIT);
    if (sent < 0) sent = 0;
    for (size_t i = start; i < stop; ++i) {
      CountSend(b.send_direction[i], b.send_mode[i], b.send_iov[i].iov_len,
                i - start < size_t(sent));
    }
    start = stop;
  }
}

bool Worker::RunDatagram(PacketContext& ctx, uint8_t* data, size_t length,
                         size_t capacity, bool truncated,
                         const Endpoint& source, StreamEnd& from,
                         bool rtcp_socket) {
  if (truncated) {
    ++drops_[size_t(DropReason::kMalformed)];
    from.MutableStats().OnDrop();
    return false;
  }
  ctx.data = data;
  ctx.length = length;
  ctx.capacity = capacity;
  ctx.scratch = buffers_->scratch;
  ctx.source = &source;
  ctx.from = &from;
  ctx.rtcp_socket = rtcp_socket;
  if (!RunPacketPath(ctx, *this)) {
    ++drops_[size_t(ctx.drop)];
    return false;
  }
  return true;
}

void Worker::CountSend(uint8_t direction, uint8_t mode, size_t bytes,
                       bool sent) {
  if (!sent) {
    ++drops_[size_t(DropReason::kSendFailed)];
    return;
  }
  packets_[direction][mode] += 1;
  bytes_[direction][mode] += bytes;
  ++relayed_total_;
}

void Worker::Publish(v1::MediaEvent event) {
  event.set_unix_ms(UnixMs());
  if (metrics_ != nullptr) metrics_->CountEvent(event.kind());
  if (events_ != nullptr) events_->Publish(event);
}

void Worker::OnDtmf(const StreamEnd& from, char digit, uint8_t event,
                    uint32_t duration_ms) {
  v1::MediaEvent e;
  e.set_kind(v1::MediaEvent::KIND_DTMF);
  e.set_call_id(*from.call_id);
  e.set_leg(from.leg);
  e.set_mline(from.mline);
  e.set_digit(digit != '\0' ? std::string(1, digit) : absl::StrCat(event));
  e.set_duration_ms(duration_ms);
  Publish(std::move(e));
}

void Worker::OnAuthFailure(StreamEnd& from) {
  // Only an end with SRTP fails authentication (packet_path.cc, Decrypt).
  SrtpState& srtp = *from.srtp;
  const int64_t now = MonotonicNs();
  if (srtp.last_auth_event_ns != 0 &&
      now - srtp.last_auth_event_ns < kAuthEventIntervalNs) {
    return;
  }
  srtp.last_auth_event_ns = now;
  v1::MediaEvent e;
  e.set_kind(v1::MediaEvent::KIND_SRTP_FAILURE);
  e.set_call_id(*from.call_id);
  e.set_leg(from.leg);
  e.set_mline(from.mline);
  e.set_detail(absl::StrCat(from.stats().auth_failures(),
                            " packets failed SRTP authentication so far: "
                            "wrong key or tampered packets"));
  Publish(std::move(e));
}

const char* Worker::OrphanReason(const Session& session, int64_t now_ns) const {
  if (options_.orphan_seconds == 0) return nullptr;
  const int64_t orphan_ns = int64_t(options_.orphan_seconds) * 1000000000;
  bool answered = false, expecting = false, all_timed_out = true;
  int64_t last_ns = session.created_ns;
  uint32_t timeout_seconds = 0;
  for (const auto& stream : session.streams) {
    if (stream == nullptr) continue;
    for (const StreamEnd& end : stream->ends) {
      if (!end.active) continue;
      answered = true;
      last_ns = std::max({last_ns, end.last_rtp_ns, end.armed_ns});
      if (!end.expects_rtp || end.rtp_timeout_seconds == 0) continue;
      expecting = true;
      all_timed_out &= end.rtp_timeout_reported;
      timeout_seconds = std::max(timeout_seconds, end.rtp_timeout_seconds);
    }
  }
  if (!answered) {
    return now_ns - session.created_ns > orphan_ns ? "never_answered" : nullptr;
  }
  // An end whose SDP says it will not send (recvonly, inactive) expects no
  // RTP: a call on hold both ways is never taken for an orphan.
  if (!expecting || !all_timed_out) return nullptr;
  return now_ns - last_ns > int64_t(timeout_seconds) * 1000000000 + orphan_ns
             ? "media_timeout"
             : nullptr;
}

void Worker::Tick(int64_t now_ns) {
  std::vector<std::pair<std::string, const char*>> orphans;
  for (auto& [id, session] : sessions_) {
    if (const char* why = OrphanReason(*session, now_ns)) {
      orphans.emplace_back(session->call_id, why);
    }
    for (auto& stream : session->streams) {
      if (stream == nullptr) continue;
      bool on_hold = false;
      for (const StreamEnd& end : stream->ends) {
        on_hold |= end.active && !end.sendrecv;
      }
      for (StreamEnd& end : stream->ends) {
        if (!end.active) continue;
        const int64_t since_rtp =
            now_ns - std::max(end.last_rtp_ns, end.armed_ns);
        if (end.expects_rtp && end.rtp_timeout_seconds > 0 &&
            !end.rtp_timeout_reported &&
            since_rtp > int64_t(end.rtp_timeout_seconds) * 1000000000) {
          end.rtp_timeout_reported = true;
          v1::MediaEvent e;
          e.set_kind(v1::MediaEvent::KIND_RTP_TIMEOUT);
          e.set_call_id(session->call_id);
          e.set_leg(end.leg);
          e.set_mline(end.mline);
          e.set_detail(absl::StrCat("no RTP for ", end.rtp_timeout_seconds,
                                    " s on port ", end.rtp_port));
          Publish(std::move(e));
        }
        const int64_t since_rtcp =
            now_ns - std::max(end.last_rtcp_ns, end.armed_ns);
        const bool expect_rtcp =
            on_hold ? end.expect_rtcp_on_hold : end.expect_rtcp;
        if (expect_rtcp && !end.rtcp_timeout_reported &&
            since_rtcp > int64_t(options_.rtcp_timeout_seconds) * 1000000000) {
          end.rtcp_timeout_reported = true;
          v1::MediaEvent e;
          e.set_kind(v1::MediaEvent::KIND_RTCP_TIMEOUT);
          e.set_call_id(session->call_id);
          e.set_leg(end.leg);
          e.set_mline(end.mline);
          e.set_detail(absl::StrCat("no RTCP for ",
                                    options_.rtcp_timeout_seconds, " s"));
          Publish(std::move(e));
        }
      }
    }
  }
  for (const auto& [call_id, why] : orphans) {
    TL_LOG(kWarning, "orphaned media session deleted: no Delete came")
        .With("call_id", call_id)
        .With("reason", why)
        .With("after_seconds", options_.orphan_seconds);
    if (metrics_ != nullptr) {
      metrics_
          ->orphans_deleted[absl::string_view(why) == "media_timeout" ? 0 : 1]
          ->Increment();
    }
    Delete(call_id);
  }
  if (last_rate_ns_ != 0 && now_ns > last_rate_ns_) {
    packets_per_second_.store(double(relayed_total_ - relayed_at_last_rate_) *
                              1e9 / double(now_ns - last_rate_ns_));
  }
  relayed_at_last_rate_ = relayed_total_;
  last_rate_ns_ = now_ns;
  timespec cpu;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
  moderation_.Sample(now_ns, int64_t(cpu.tv_sec) * 1000000000 + cpu.tv_nsec);
  if (busy_gauge_ != nullptr) {
    busy_gauge_->Set(moderation_.busy());
    moderated_gauge_->Set(moderation_.active() && coalesce_us_ > 0);
  }
  if (index_ == 0 && metrics_ != nullptr) {
    metrics_->port_pairs_in_use->Set(
        double(ports_->total_pairs() - ports_->free_pairs()));
  }
  FlushMetrics();
}

void Worker::FlushMetrics() {
  if (metrics_ == nullptr) return;
  for (size_t d = 0; d < kDirections; ++d) {
    for (size_t m = 0; m < kCryptoModes; ++m) {
      if (packets_[d][m] != 0) {
        metrics_->packets[d][m]->Increment(double(packets_[d][m]));
        metrics_->bytes[d][m]->Increment(double(bytes_[d][m]));
        packets_[d][m] = 0;
        bytes_[d][m] = 0;
      }
    }
  }
  for (size_t r = 1; r < drops_.size(); ++r) {
    if (drops_[r] != 0) {
      metrics_->drops[r]->Increment(double(drops_[r]));
      drops_[r] = 0;
    }
  }
}

void Worker::UpdateCounts() {
  uint32_t streams = 0;
  for (const auto& [id, session] : sessions_) {
    for (const auto& stream : session->streams) streams += stream != nullptr;
  }
  const uint32_t sessions = uint32_t(sessions_.size());
  if (metrics_ != nullptr) {
    // Every worker adds its own change to the shared gauges.
    metrics_->sessions->Increment(double(sessions) -
                                  double(sessions_count_.load()));
    metrics_->streams->Increment(double(streams) -
                                 double(streams_count_.load()));
  }
  sessions_count_.store(sessions);
  streams_count_.store(streams);
}

}  // namespace trunkline::media::relay
