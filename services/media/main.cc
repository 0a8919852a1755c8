// The media service: an RTP/SRTP relay that anchors calls.
#include <cstdlib>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "services/common/service_runtime.h"
#include "services/common/signals.h"
#include "services/media/media_service.h"
#include "services/media/srtp/srtp_session.h"

ABSL_FLAG(uint32_t, rtp_port_min, 30000,
          "Lowest UDP port of the media range (RTP on even ports, RTCP on the "
          "next odd one).");
ABSL_FLAG(uint32_t, rtp_port_max, 39999,
          "Highest UDP port of the media range.");
ABSL_FLAG(uint32_t, port_quarantine_seconds, 30,
          "A released port pair is not reused for this long, so late packets "
          "of an ended call never reach a new one.");
ABSL_FLAG(uint32_t, workers, 0, "Media worker threads; 0 means one per core.");
ABSL_FLAG(std::string, rtp_bind_address, "0.0.0.0",
          "Local address the media sockets bind: 0.0.0.0 (IPv4), :: (IPv4 and "
          "IPv6), or one address.");
ABSL_FLAG(std::string, advertised_address, "127.0.0.1",
          "Address written into SDP (c=) when the Offer's SidePlan names "
          "none: the address peers reach this instance on.");
ABSL_FLAG(uint32_t, rtp_timeout_seconds, 60,
          "Default media timeout: KIND_RTP_TIMEOUT after this long without "
          "RTP from a leg that should send; 0 disables.");
ABSL_FLAG(uint32_t, orphan_seconds, 300,
          "A session that no Delete ended is deleted by the relay this long "
          "after its media timed out, or this long after an offer that was "
          "never answered (the call's signaling instance is gone); 0 keeps "
          "such sessions and their ports.");
ABSL_FLAG(int, worker_realtime_priority, 0,
          "SCHED_FIFO priority (1-99) of the media worker threads, so a "
          "packet never waits for other work's time slice on a shared host "
          "(at the cost of smaller batches, so more CPU per packet, when "
          "the relay shares its cores); 0: the default policy. Needs "
          "CAP_SYS_NICE (falls back with a warning).");
ABSL_FLAG(int32_t, rx_coalesce_us, -1,
          "Interrupt moderation: a worker whose thread is busy at least "
          "--rx_coalesce_busy_percent of the time waits this long after "
          "each turn before it looks for packets again, so one wake-up "
          "carries many packets (more streams per core, at most this much "
          "added delay); 0: wake for every packet; -1: 200 on the epoll "
          "path, 0 on io_uring's (--packet_io).");
ABSL_FLAG(uint32_t, rx_coalesce_busy_percent, 60,
          "Per worker: --rx_coalesce_us applies from this share of its "
          "thread's time spent running (sampled every 250 ms) until it "
          "falls below half of it; 0: always.");
ABSL_FLAG(std::string, srtp_crypto, "openssl",
          "AES-CM and HMAC-SHA1 under libsrtp: openssl (libcrypto; no "
          "allocation per packet) or libsrtp (libsrtp2's own, as the "
          "distribution builds it: NSS in Debian).");
ABSL_FLAG(std::string, packet_io, "uring",
          "How workers move packets: uring (io_uring: a multishot receive "
          "per socket and the sends of a turn in one system call; Linux "
          "6.1+, falls back to epoll with a warning where the kernel or a "
          "seccomp profile refuses it) or epoll (recvmmsg/sendmmsg per "
          "socket).");
ABSL_FLAG(uint32_t, drain_timeout_seconds, 600,
          "On SIGTERM, wait at most this long for the calls to end.");

namespace {

absl::StatusOr<std::unique_ptr<trunkline::ServiceApp>> CreateMediaApp(
    const trunkline::ServiceContext& context) {
  const std::string crypto = absl::GetFlag(FLAGS_srtp_crypto);
  if (crypto != "openssl" && crypto != "libsrtp") {
    return absl::InvalidArgumentError(
        absl::StrCat("--srtp_crypto=", crypto, ": give openssl or libsrtp"));
  }
  if (absl::Status s = trunkline::media::srtp::InitSrtpLibrary(
          crypto == "openssl" ? trunkline::media::srtp::SrtpCrypto::kOpenSsl
                              : trunkline::media::srtp::SrtpCrypto::kLibsrtp);
      !s.ok()) {
    return s;
  }
  const std::string packet_io = absl::GetFlag(FLAGS_packet_io);
  if (packet_io != "uring" && packet_io != "epoll") {
    return absl::InvalidArgumentError(
        absl::StrCat("--packet_io=", packet_io, ": give uring or epoll"));
  }
  trunkline::media::MediaConfig config;
  config.worker.packet_io = packet_io == "uring"
                                ? trunkline::media::relay::PacketIo::kUring
                                : trunkline::media::relay::PacketIo::kEpoll;
  config.rtp_port_min = absl::GetFlag(FLAGS_rtp_port_min);
  config.rtp_port_max = absl::GetFlag(FLAGS_rtp_port_max);
  config.port_quarantine =
      absl::Seconds(absl::GetFlag(FLAGS_port_quarantine_seconds));
  config.workers = absl::GetFlag(FLAGS_workers);
  config.worker.bind_address = absl::GetFlag(FLAGS_rtp_bind_address);
  config.worker.advertised_address = absl::GetFlag(FLAGS_advertised_address);
  config.worker.rtp_timeout_seconds = absl::GetFlag(FLAGS_rtp_timeout_seconds);
  config.worker.orphan_seconds = absl::GetFlag(FLAGS_orphan_seconds);
  config.worker.realtime_priority =
      absl::GetFlag(FLAGS_worker_realtime_priority);
  if (const int32_t coalesce = absl::GetFlag(FLAGS_rx_coalesce_us);
      coalesce >= 0) {
    config.worker.coalesce_us = uint32_t(coalesce);
  }
  config.worker.coalesce_busy_percent =
      absl::GetFlag(FLAGS_rx_coalesce_busy_percent);
  config.drain_timeout =
      absl::Seconds(absl::GetFlag(FLAGS_drain_timeout_seconds));
  absl::StatusOr<std::unique_ptr<trunkline::media::MediaApp>> app =
      trunkline::media::MediaApp::Create(config, context.registry.get());
  if (!app.ok()) return app.status();
  return std::unique_ptr<trunkline::ServiceApp>(*std::move(app));
}

}  // namespace

int main(int argc, char** argv) {
  // As routing does (see its main.cc): gRPC's default poller would let the
  // admin server's threads read the API port's connections and hand each
  // request over to the API's queue thread. Before gRPC starts; an
  // operator's own choice wins.
  setenv("GRPC_POLL_STRATEGY", "poll", /*overwrite=*/0);
  trunkline::BlockServiceSignals();
  absl::SetProgramUsageMessage(
      "Trunkline media: the RTP/SRTP relay that anchors calls.\n"
      "  media [--rtp_port_min=30000 --rtp_port_max=39999] [--workers=N]\n"
      "        [--advertised_address=IP] [--rtp_bind_address=IP]\n"
      "        [--grpc_address=H:P] [--admin_address=H:P] "
      "[--metrics_address=H:P]");
  absl::ParseCommandLine(argc, argv);
  return trunkline::RunService("media", trunkline::kMediaDefaults,
                               &CreateMediaApp);
}
