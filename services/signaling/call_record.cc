#include "services/signaling/call_record.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace trunkline::signaling {
namespace {

struct LegFigures {
  bool seen = false;
  uint64_t packets = 0;
  uint64_t lost = 0;
  double jitter_ms = 0;
  double rtt_ms = 0;
  double mos = 0;  // the worst stream's; 0: no stream had packets
  uint64_t auth_failures = 0;
};

void Add(const char* leg, const LegFigures& f, LogLine& record) {
  if (!f.seen) return;
  const std::string p = absl::StrCat(leg, "_");
  record.With(p + "packets", f.packets).With(p + "lost", f.lost);
  if (f.packets + f.lost > 0) {
    record.With(p + "loss_pct",
                absl::StrFormat("%.2f", 100.0 * double(f.lost) /
                                            double(f.packets + f.lost)));
  }
  record.With(p + "jitter_ms", absl::StrFormat("%.1f", f.jitter_ms));
  if (f.rtt_ms > 0)
    record.With(p + "rtt_ms", absl::StrFormat("%.1f", f.rtt_ms));
  if (f.mos > 0) record.With(p + "mos", absl::StrFormat("%.2f", f.mos));
  if (f.auth_failures > 0)
    record.With(p + "srtp_auth_failures", f.auth_failures);
}

}  // namespace

void AddMediaFigures(const v1::QueryResponse& figures, LogLine& record) {
  LegFigures caller, callee;
  for (const v1::StreamStats& s : figures.streams()) {
    LegFigures& f = s.leg() == v1::LEG_CALLEE ? callee : caller;
    f.seen = true;
    f.packets += s.packets();
    f.lost += s.packets_lost();
    f.jitter_ms = std::max(f.jitter_ms, s.jitter_ms());
    f.rtt_ms = std::max(f.rtt_ms, s.rtt_ms());
    if (s.packets() > 0 && s.mos() > 0) {
      f.mos = f.mos == 0 ? s.mos() : std::min(f.mos, s.mos());
    }
    f.auth_failures += s.srtp_auth_failures();
  }
  Add("caller", caller, record);
  Add("callee", callee, record);
}

}  // namespace trunkline::signaling
