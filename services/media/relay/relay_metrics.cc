#include "services/media/relay/relay_metrics.h"

#include <string>

namespace trunkline::media::relay {

RelayMetrics::RelayMetrics(prometheus::Registry& registry) {
  auto& packet_family =
      prometheus::BuildCounter()
          .Name("trunkline_media_relayed_packets_total")
          .Help(
              "RTP and RTCP packets relayed, by direction (to_callee, "
              "to_caller) and crypto mode (rtp_to_rtp, rtp_to_srtp, "
              "srtp_to_rtp, srtp_to_srtp).")
          .Register(registry);
  auto& byte_family =
      prometheus::BuildCounter()
          .Name("trunkline_media_relayed_bytes_total")
          .Help(
              "Octets relayed as sent (after SRTP protection), by direction "
              "and crypto mode.")
          .Register(registry);
  for (size_t d = 0; d < kDirections; ++d) {
    const std::string direction = d == 0 ? "to_callee" : "to_caller";
    for (size_t m = 0; m < kCryptoModes; ++m) {
      const std::string mode(CryptoModeName(CryptoMode(m)));
      packets[d][m] =
          &packet_family.Add({{"direction", direction}, {"crypto", mode}});
      bytes[d][m] =
          &byte_family.Add({{"direction", direction}, {"crypto", mode}});
    }
  }
  auto& drop_family = prometheus::BuildCounter()
                          .Name("trunkline_media_dropped_packets_total")
                          .Help("Packets received and not relayed, by reason.")
                          .Register(registry);
  for (size_t r = 1; r < size_t(DropReason::kCount); ++r) {
    drops[r] = &drop_family.Add(
        {{"reason", std::string(DropReasonName(DropReason(r)))}});
  }
  drops[0] = nullptr;
  sessions = &prometheus::BuildGauge()
                  .Name("trunkline_media_sessions")
                  .Help("Calls anchored on this instance.")
                  .Register(registry)
                  .Add({});
  streams = &prometheus::BuildGauge()
                 .Name("trunkline_media_streams")
                 .Help("Relayed streams (m-lines) on this instance.")
                 .Register(registry)
                 .Add({});
  auto& ports = prometheus::BuildGauge()
                    .Name("trunkline_media_port_pairs")
                    .Help(
                        "RTP/RTCP port pairs: in_use (including "
                        "quarantine) and total in the configured range.")
                    .Register(registry);
  port_pairs_in_use = &ports.Add({{"state", "in_use"}});
  port_pairs_total = &ports.Add({{"state", "total"}});
  worker_busy = &prometheus::BuildGauge()
                     .Name("trunkline_media_worker_busy_ratio")
                     .Help("Share of the last 250 ms each worker thread ran.")
                     .Register(registry);
  worker_moderated =
      &prometheus::BuildGauge()
           .Name("trunkline_media_worker_moderated")
           .Help(
               "1 while the worker moderates its wake-ups (busy at least "
               "--rx_coalesce_busy_percent), adding up to --rx_coalesce_us "
               "of latency; 0 otherwise.")
           .Register(registry);
  worker_io_uring =
      &prometheus::BuildGauge()
           .Name("trunkline_media_worker_io_uring")
           .Help(
               "1 when the worker moves packets through io_uring, 0 when "
               "through epoll (--packet_io=epoll, or the kernel or a "
               "seccomp profile refused io_uring: see the worker's log line).")
           .Register(registry);
  jitter = &prometheus::BuildHistogram()
                .Name("trunkline_media_stream_jitter_milliseconds")
                .Help("RFC 3550 jitter of each stream and leg at its end.")
                .Register(registry)
                .Add({}, prometheus::Histogram::BucketBoundaries{
                             1, 2, 5, 10, 20, 30, 50, 100, 200});
  loss = &prometheus::BuildHistogram()
              .Name("trunkline_media_stream_loss_ratio")
              .Help(
                  "Fraction of RTP packets lost per stream and leg at its "
                  "end.")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{
                           0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5});
  mos = &prometheus::BuildHistogram()
             .Name("trunkline_media_stream_mos")
             .Help("Estimated MOS (E-model) per stream and leg at its end.")
             .Register(registry)
             .Add({}, prometheus::Histogram::BucketBoundaries{
                          1.5, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.4});
  auto& events_family = prometheus::BuildCounter()
                            .Name("trunkline_media_events_total")
                            .Help(
                                "MediaEvents published, by kind: "
                                "rtp_timeout, rtcp_timeout, dtmf, "
                                "srtp_failure.")
                            .Register(registry);
  const char* kinds[] = {nullptr, "rtp_timeout", "rtcp_timeout", "dtmf",
                         "srtp_failure"};
  for (int kind = 1; kind < 5; ++kind) {
    events[kind] = &events_family.Add({{"kind", kinds[kind]}});
  }
  auto& orphans = prometheus::BuildCounter()
                      .Name("trunkline_media_orphaned_sessions_deleted_total")
                      .Help(
                          "Sessions the relay deleted itself because no "
                          "Delete came: media timed out, or the offer was "
                          "never answered, --orphan_seconds ago (the call's "
                          "signaling instance is gone).")
                      .Register(registry);
  orphans_deleted[0] = &orphans.Add({{"reason", "media_timeout"}});
  orphans_deleted[1] = &orphans.Add({{"reason", "never_answered"}});
}

}  // namespace trunkline::media::relay
