#include "services/signaling/sip_trace.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace trunkline::signaling {

absl::StatusOr<TraceFilter> TraceFilter::FromRequest(
    const v1::TraceRequest& r) {
  if (!r.call_id().empty() && !r.trunk().empty()) {
    return absl::InvalidArgumentError(
        "give a call id or a trunk to trace, not both");
  }
  return TraceFilter{r.call_id(), r.trunk()};
}

bool TraceFilter::Matches(const v1::TraceEvent& event,
                          const std::string& raw_call_id) const {
  if (!call_id.empty()) {
    // Either leg's Call-ID names the call: the event carries Trunkline's id
    // (the caller leg's) once resolved, the message its own.
    return event.call_id() == call_id || raw_call_id == call_id;
  }
  if (!trunk.empty()) return event.trunk() == trunk;
  return true;
}

void TraceQueue::Push(v1::TraceEvent event) {
  absl::MutexLock lock(&mu_);
  if (capacity_ == 0) {
    ++dropped_;
    return;
  }
  while (events_.size() >= capacity_) {
    events_.pop_front();
    ++dropped_;
  }
  events_.push_back(std::move(event));
}

std::optional<v1::TraceEvent> TraceQueue::Pop() {
  absl::MutexLock lock(&mu_);
  if (events_.empty()) return std::nullopt;
  v1::TraceEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

uint64_t TraceQueue::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

SipTraceHub::SipTraceHub(Resolver resolver, ActiveChanged active_changed)
    : resolver_(std::move(resolver)),
      active_changed_(std::move(active_changed)) {}

int SipTraceHub::Subscribe(TraceFilter filter, TraceSubscriber* subscriber) {
  const int id = next_id_++;
  subscribers_.emplace(id, Entry{std::move(filter), subscriber});
  if (subscribers_.size() == 1 && active_changed_) active_changed_(true);
  return id;
}

void SipTraceHub::Unsubscribe(int id) {
  if (subscribers_.erase(id) == 0) return;
  if (subscribers_.empty() && active_changed_) active_changed_(false);
}

void SipTraceHub::Publish(const SipTraceRecord& record) {
  if (subscribers_.empty()) return;
  const std::string raw_call_id = RawCallId(record.text);
  v1::TraceEvent event;
  event.set_unix_ms(absl::ToUnixMillis(record.time));
  event.set_direction(record.incoming ? "in" : "out");
  event.set_peer(record.peer);
  event.set_summary(Utf8Safe(FirstLine(record.text)));
  event.set_message(Utf8Safe(record.text));
  event.set_call_id(Utf8Safe(raw_call_id));
  if (resolver_) {
    const std::string address = record.peer.substr(0, record.peer.rfind(':'));
    if (std::optional<TraceTag> tag = resolver_(raw_call_id, address)) {
      if (!tag->call_id.empty()) event.set_call_id(tag->call_id);
      event.set_trunk(tag->trunk);
    }
  }
  for (auto& [id, entry] : subscribers_) {
    if (entry.filter.Matches(event, raw_call_id)) {
      entry.subscriber->OnTraceEvent(event);
    }
  }
}

std::vector<SipTraceRecord> TportDumpParser::Feed(absl::string_view data,
                                                  absl::Time now) {
  std::vector<SipTraceRecord> out;
  buffer_.append(data.data(), data.size());
  size_t pos = 0;
  for (;;) {
    const size_t eol = buffer_.find('\n', pos);
    if (eol == std::string::npos) break;
    const absl::string_view line(buffer_.data() + pos, eol - pos);
    // "<recv|sent> <n> bytes <from|to> <proto>/[<address>]:<port>... at ..:"
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ');
    size_t n = 0;
    const bool stamp = words.size() >= 5 &&
                       (words[0] == "recv" || words[0] == "sent") &&
                       absl::SimpleAtoi(words[1], &n) && words[2] == "bytes";
    if (!stamp) {
      pos = eol + 1;  // the banner or an empty line
      continue;
    }
    const size_t body = eol + 1;
    // Where this record ends. Sofia writes only the first iovec of a
    // message it sends (tport_dump_iovec compares fwrite's item count with
    // a byte count), so a sent message with a body is shorter than its
    // stamp says: its end is the "\v\n" that is followed by the next stamp
    // or by nothing yet (a record and its terminator are flushed together).
    size_t end = std::string::npos;
    for (size_t p = buffer_.find("\v\n", body); p != std::string::npos;
         p = buffer_.find("\v\n", p + 1)) {
      if (p == body + n) {
        end = p;
        break;
      }
      if (p > body + n) break;
      const size_t next = p + 2;
      if (next == buffer_.size() || buffer_.compare(next, 5, "recv ") == 0 ||
          buffer_.compare(next, 5, "sent ") == 0) {
        end = p;
        break;
      }
    }
    if (end == std::string::npos) {
      if (buffer_.size() < body + n + 2) break;  // wait for the rest
      end = body + n;  // no terminator where expected: trust the stamp
    }
    SipTraceRecord r;
    r.time = now;
    r.incoming = words[0] == "recv";
    // "udp/[127.0.0.1]:5060" -> "127.0.0.1:5060/udp"
    const absl::string_view where = words[4];
    const size_t slash = where.find('/');
    const size_t open = where.find('[');
    const size_t close = where.find(']');
    if (slash != absl::string_view::npos && open != absl::string_view::npos &&
        close != absl::string_view::npos && close > open) {
      const absl::string_view proto = where.substr(0, slash);
      const absl::string_view address =
          where.substr(open + 1, close - open - 1);
      absl::string_view port = where.substr(close + 1);
      if (absl::ConsumePrefix(&port, ":")) {
        const size_t digits = port.find_first_not_of("0123456789");
        port = port.substr(0, digits);
      }
      r.peer = absl::StrCat(address, ":", port, "/", proto);
    }
    r.text = buffer_.substr(body, end - body);
    pos = end;
    // The record's terminator.
    if (buffer_.compare(pos, 2, "\v\n") == 0) pos += 2;
    out.push_back(std::move(r));
  }
  buffer_.erase(0, pos);
  return out;
}

std::string RawCallId(const std::string& text) {
  // Headers end at the first empty line; the body is not looked at.
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    absl::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    line = absl::StripTrailingAsciiWhitespace(line);
    if (line.empty()) break;
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    const absl::string_view name =
        absl::StripTrailingAsciiWhitespace(line.substr(0, colon));
    if (absl::EqualsIgnoreCase(name, "Call-ID") ||
        absl::EqualsIgnoreCase(name, "i")) {
      return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
  }
  return "";
}

std::string Utf8Safe(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    // The length of a well-formed sequence starting here (RFC 3629), or 0.
    size_t len = 0;
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
    }
    bool ok = len > 0 && i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    }
    if (ok && len == 3) {
      const unsigned char c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
    } else if (ok && len == 4) {
      const unsigned char c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (ok && c != 0) {
      out.append(text.data() + i, len);
      i += len;
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
      ++i;
    }
  }
  return out;
}

std::string FirstLine(const std::string& text) {
  const size_t end = text.find_first_of("\r\n");
  return text.substr(0, end == std::string::npos ? text.size() : end);
}

}  // namespace trunkline::signaling
