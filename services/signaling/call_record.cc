#include "services/signaling/call_record.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace trunkline::signaling {
namespace {

void Add(const char* leg, const LegQuality& f, LogLine& record) {
  if (!f.seen) return;
  const std::string p = absl::StrCat(leg, "_");
  record.With(p + "packets", f.packets).With(p + "lost", f.lost);
  if (f.packets + f.lost > 0) {
    record.With(p + "loss_pct",
                absl::StrFormat("%.2f", 100.0 * f.loss_ratio()));
  }
  record.With(p + "jitter_ms", absl::StrFormat("%.1f", f.jitter_ms));
  if (f.rtt_ms > 0)
    record.With(p + "rtt_ms", absl::StrFormat("%.1f", f.rtt_ms));
  if (f.mos > 0) record.With(p + "mos", absl::StrFormat("%.2f", f.mos));
  if (f.auth_failures > 0)
    record.With(p + "srtp_auth_failures", f.auth_failures);
}

}  // namespace

CallQuality Summarize(const v1::QueryResponse& figures) {
  CallQuality quality;
  for (const v1::StreamStats& s : figures.streams()) {
    LegQuality& f = s.leg() == v1::LEG_CALLEE ? quality.callee : quality.caller;
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
  return quality;
}

void AddMediaFigures(const CallQuality& quality, LogLine& record) {
  Add("caller", quality.caller, record);
  Add("callee", quality.callee, record);
}

}  // namespace trunkline::signaling
