// The live SIP trace: every message the stack sends or receives, fanned out
// to the admin API's Trace subscribers (sngrep over gRPC).
//
// The stack hands each message to SipTraceHub::Publish() on the loop thread
// as a SipTraceRecord (raw text, peer, direction). The hub finds the
// message's Call-ID, asks a resolver (the B2BUA) which call and trunk that
// Call-ID belongs to, either leg's Call-ID mapping to the call, and gives
// the event to each subscriber whose filter matches. Subscribers are the
// gRPC stream reactors: each has a TraceQueue, bounded, that drops its
// oldest event and counts it when the client reads too slowly, so a slow
// operator never holds up the loop or grows memory without limit.
//
// Subscribe/Unsubscribe/Publish: loop thread only. TraceQueue: any thread.
#ifndef TRUNKLINE_SERVICES_SIGNALING_SIP_TRACE_H_
#define TRUNKLINE_SERVICES_SIGNALING_SIP_TRACE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "trunkline/v1/admin.pb.h"

namespace trunkline::signaling {

// One message as it crossed a socket.
struct SipTraceRecord {
  absl::Time time;
  bool incoming = true;
  std::string peer;  // "address:port/transport"
  std::string text;  // the bytes as sent or received
};

// Which call and trunk a Call-ID belongs to, as the B2BUA knows it.
struct TraceTag {
  std::string call_id;  // Trunkline's id: the caller leg's Call-ID
  std::string trunk;
};

// What one subscriber wants: at most one of the two; none is everything.
struct TraceFilter {
  std::string call_id;
  std::string trunk;

  // INVALID_ARGUMENT when both are set.
  static absl::StatusOr<TraceFilter> FromRequest(const v1::TraceRequest& r);
  bool Matches(const v1::TraceEvent& event,
               const std::string& raw_call_id) const;
};

// A bounded queue of events between the loop (Push) and a stream writer
// (Pop), safe from any thread.
class TraceQueue {
 public:
  explicit TraceQueue(size_t capacity) : capacity_(capacity) {}
  // Queues `event`, dropping (and counting) the oldest when full.
  void Push(v1::TraceEvent event);
  std::optional<v1::TraceEvent> Pop();
  uint64_t dropped() const;

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<v1::TraceEvent> events_ ABSL_GUARDED_BY(mu_);
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

class TraceSubscriber {
 public:
  virtual ~TraceSubscriber() = default;
  // An event that matched the filter (loop thread).
  virtual void OnTraceEvent(v1::TraceEvent event) = 0;
};

class SipTraceHub {
 public:
  // (a message's Call-ID, its peer's address) -> call and trunk, if known.
  using Resolver = std::function<std::optional<TraceTag>(
      const std::string& call_id, const std::string& peer_address)>;
  // Runs with true when the first subscriber arrives and false when the
  // last one leaves, so the stack pays for tracing only while someone
  // watches.
  using ActiveChanged = std::function<void(bool)>;

  SipTraceHub(Resolver resolver, ActiveChanged active_changed);

  int Subscribe(TraceFilter filter, TraceSubscriber* subscriber);
  void Unsubscribe(int id);
  bool active() const { return !subscribers_.empty(); }
  void Publish(const SipTraceRecord& record);

 private:
  struct Entry {
    TraceFilter filter;
    TraceSubscriber* subscriber;
  };
  Resolver resolver_;
  ActiveChanged active_changed_;
  int next_id_ = 1;
  std::map<int, Entry> subscribers_;
};

// Splits the byte stream of Sofia's transport dump (TPTAG_DUMP) into
// records. Each message there is a stamp line, e.g.
//   "recv 412 bytes from udp/[127.0.0.11]:5060 at 00:49:00.123456:\n"
// ("sent ... to ..." for ours), then exactly that many bytes, then "\v\n".
// Anything else (the "dump started" banner) is skipped up to its newline.
// Not thread-safe; one reader owns it.
class TportDumpParser {
 public:
  // Appends `data` and returns the records it completed, stamped `now`.
  std::vector<SipTraceRecord> Feed(absl::string_view data, absl::Time now);

 private:
  std::string buffer_;
};

// The Call-ID header's value in raw SIP text ("Call-ID:" or "i:"), or "".
std::string RawCallId(const std::string& text);
// `text` with every byte that is not part of well-formed UTF-8, and NUL,
// written as "\xNN": proto3 strings must be UTF-8, and a torture message
// must not break the operator's trace stream.
std::string Utf8Safe(absl::string_view text);
// The first line of raw SIP text (request line or status line).
std::string FirstLine(const std::string& text);

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_SIP_TRACE_H_
