// The media service's Prometheus metrics, declared in one place.
//
// Workers never touch these per packet: each keeps plain local counts and
// adds them here on its tick (every 250 ms), so the packet path does no
// atomic read-modify-write on shared cache lines.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_RELAY_METRICS_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_RELAY_METRICS_H_

#include <array>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/media/relay/packet_path.h"

namespace trunkline::media::relay {

// Direction of a relayed packet: towards the callee or towards the caller.
inline constexpr size_t kDirections = 2;

struct RelayMetrics {
  explicit RelayMetrics(prometheus::Registry& registry);

  // [direction][crypto mode]
  std::array<std::array<prometheus::Counter*, kCryptoModes>, kDirections>
      packets;
  std::array<std::array<prometheus::Counter*, kCryptoModes>, kDirections> bytes;
  std::array<prometheus::Counter*, size_t(DropReason::kCount)> drops;
  prometheus::Gauge* sessions;
  prometheus::Gauge* streams;
  prometheus::Gauge* port_pairs_in_use;
  prometheus::Gauge* port_pairs_total;
  // Per worker (label "worker"; each worker adds its own): the share of the
  // last 250 ms its thread ran, and whether it moderates its wake-ups.
  prometheus::Family<prometheus::Gauge>* worker_busy;
  prometheus::Family<prometheus::Gauge>* worker_moderated;
  // 1 when the worker moves packets through io_uring, 0 through epoll.
  prometheus::Family<prometheus::Gauge>* worker_io_uring;
  // Observed once per stream and leg when the session ends.
  prometheus::Histogram* jitter;
  prometheus::Histogram* loss;
  prometheus::Histogram* mos;
  // By MediaEvent kind, every kind created at start so that rates read 0
  // rather than nothing before the first event (index: the Kind number).
  prometheus::Counter* events[5] = {};
  // Sessions deleted here, no Delete having come (worker.h,
  // orphan_seconds): [0] media_timeout, [1] never_answered.
  std::array<prometheus::Counter*, 2> orphans_deleted = {};
  void CountEvent(int kind) {
    if (kind > 0 && kind < 5 && events[kind] != nullptr)
      events[kind]->Increment();
  }
};

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_RELAY_METRICS_H_
