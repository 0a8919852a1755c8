#include "services/signaling/message_body.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace trunkline::signaling {
namespace {

// Nested multiparts deeper than this are refused (a body of nested
// boundaries costs a pass each; no real peer nests more than two).
constexpr int kMaxDepth = 4;

// "type/subtype; a=b; c=\"d;e\"" -> the parameter `name`'s value, unquoted;
// "" when absent.
std::string Param(absl::string_view value, absl::string_view name) {
  size_t i = value.find(';');
  while (i != absl::string_view::npos && i < value.size()) {
    ++i;  // past ';'
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    const size_t eq = value.find_first_of("=;", i);
    absl::string_view key = value.substr(
        i, (eq == absl::string_view::npos ? value.size() : eq) - i);
    key = absl::StripAsciiWhitespace(key);
    std::string out;
    size_t next = eq;
    if (eq != absl::string_view::npos && value[eq] == '=') {
      size_t v = eq + 1;
      while (v < value.size() && (value[v] == ' ' || value[v] == '\t')) ++v;
      if (v < value.size() && value[v] == '"') {
        ++v;
        while (v < value.size() && value[v] != '"') {
          if (value[v] == '\\' && v + 1 < value.size()) ++v;
          out.push_back(value[v++]);
        }
        next = value.find(';', v);
      } else {
        next = value.find(';', v);
        out = std::string(absl::StripAsciiWhitespace(value.substr(
            v, (next == absl::string_view::npos ? value.size() : next) - v)));
      }
    }
    if (absl::EqualsIgnoreCase(key, name)) return out;
    i = next;
  }
  return "";
}

bool RequiredHandling(absl::string_view disposition) {
  // RFC 3261 20.11: a missing handling parameter means "required".
  return !absl::EqualsIgnoreCase(Param(disposition, "handling"), "optional");
}

// `line` without a trailing '\r'.
absl::string_view Chomp(absl::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// A part's headers and body (RFC 2046 5.1.1: headers, a blank line, the
// body; no headers at all when the part starts with the blank line).
absl::StatusOr<BodyPart> ParsePart(absl::string_view part, int index) {
  BodyPart out;
  out.content_type = "text/plain";  // RFC 2046 5.1's default
  size_t pos = 0;
  std::string name, value;
  auto flush = [&] {
    if (name.empty()) return;
    const std::string v(absl::StripAsciiWhitespace(value));
    if (absl::EqualsIgnoreCase(name, "Content-Type") ||
        absl::EqualsIgnoreCase(name, "c")) {
      out.content_type = v;
    } else if (absl::EqualsIgnoreCase(name, "Content-ID")) {
      out.content_id = v;
    } else if (absl::EqualsIgnoreCase(name, "Content-Disposition")) {
      out.disposition = v;
    }
    name.clear();
    value.clear();
  };
  while (true) {
    const size_t end = part.find('\n', pos);
    if (end == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "multipart body: part ", index,
          " has no blank line after its headers (RFC 2046 5.1.1)"));
    }
    const absl::string_view line = Chomp(part.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') {  // folded
      if (name.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "multipart body: part ", index, " starts with a folded line"));
      }
      absl::StrAppend(&value, " ", absl::StripAsciiWhitespace(line));
      continue;
    }
    flush();
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("multipart body: part ", index,
                       " has a header line without a name and colon"));
    }
    name = std::string(absl::StripAsciiWhitespace(line.substr(0, colon)));
    value = std::string(line.substr(colon + 1));
  }
  flush();
  out.media_type = MediaTypeOf(out.content_type);
  out.required = RequiredHandling(out.disposition);
  out.body = std::string(part.substr(pos));
  return out;
}

// The parts between `boundary`'s delimiters (RFC 2046 5.1.1): the preamble
// before the first and the epilogue after the closing one are ignored.
absl::StatusOr<std::vector<BodyPart>> ParseMultipart(
    absl::string_view body, absl::string_view boundary) {
  const std::string delimiter = absl::StrCat("--", boundary);
  // A delimiter starts a line: at the start of the body or after '\n'.
  auto find_delimiter = [&](size_t from) -> size_t {
    while (true) {
      const size_t at = body.find(delimiter, from);
      if (at == absl::string_view::npos) return at;
      if (at == 0 || body[at - 1] == '\n') return at;
      from = at + 1;
    }
  };
  size_t at = find_delimiter(0);
  if (at == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "multipart body: its boundary \"", boundary, "\" does not occur"));
  }
  std::vector<BodyPart> parts;
  while (true) {
    size_t after = at + delimiter.size();
    if (body.substr(after, 2) == "--") return parts;  // the closing one
    // Transport padding, then the end of the delimiter's line.
    while (after < body.size() && (body[after] == ' ' || body[after] == '\t'))
      ++after;
    if (after < body.size() && body[after] == '\r') ++after;
    if (after >= body.size() || body[after] != '\n') {
      return absl::InvalidArgumentError(
          absl::StrCat("multipart body: a line starts with \"", delimiter,
                       "\" but is not a delimiter (RFC 2046 5.1.1)"));
    }
    const size_t start = after + 1;
    const size_t next = find_delimiter(start);
    if (next == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "multipart body: no closing delimiter \"", delimiter, "--\""));
    }
    // The line break before a delimiter belongs to the delimiter.
    size_t end = next - 1;  // the '\n'
    if (end > start && body[end - 1] == '\r') --end;
    if (end < start) end = start;
    absl::StatusOr<BodyPart> part = ParsePart(
        body.substr(start, end - start), static_cast<int>(parts.size()) + 1);
    if (!part.ok()) return part.status();
    parts.push_back(*std::move(part));
    at = next;
  }
}

// `content_id`: the part's Content-ID, kept with it (a Geolocation header
// points at it).
absl::Status SplitInto(absl::string_view content_type, absl::string_view body,
                       absl::string_view disposition,
                       absl::string_view content_id, int depth,
                       SplitBody* out) {
  const std::string media = MediaTypeOf(content_type);
  // RFC 3261 wants a Content-Type with every body; without one we read SDP,
  // as we did before bodies were split.
  if (media.empty() || media == "application/sdp") {
    if (!out->sdp.empty()) {
      return absl::InvalidArgumentError(
          "multipart body: more than one application/sdp part");
    }
    out->sdp = std::string(body);
    return absl::OkStatus();
  }
  if (!absl::StartsWith(media, "multipart/")) {
    BodyPart part;
    part.content_type = std::string(content_type);
    part.media_type = media;
    part.content_id = std::string(content_id);
    part.disposition = std::string(disposition);
    part.required = RequiredHandling(disposition);
    part.body = std::string(body);
    out->others.push_back(std::move(part));
    return absl::OkStatus();
  }
  if (depth >= kMaxDepth) {
    return absl::InvalidArgumentError(absl::StrCat(
        "multipart body: nested more than ", kMaxDepth, " levels"));
  }
  const std::string boundary = Param(content_type, "boundary");
  if (boundary.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("multipart body: Content-Type \"", content_type,
                     "\" has no boundary parameter (RFC 2046 5.1.1)"));
  }
  absl::StatusOr<std::vector<BodyPart>> parts = ParseMultipart(body, boundary);
  if (!parts.ok()) return parts.status();
  if (media == "multipart/alternative") {
    // Alternatives of one content (RFC 2046 5.1.4): the SDP one is ours;
    // without one, they are whatever each is.
    for (BodyPart& p : *parts) {
      if (p.media_type == "application/sdp" && out->sdp.empty()) {
        out->sdp = std::move(p.body);
        return absl::OkStatus();
      }
    }
  }
  for (const BodyPart& p : *parts) {
    absl::Status s = SplitInto(p.content_type, p.body, p.disposition,
                               p.content_id, depth + 1, out);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

std::string MediaTypeOf(absl::string_view content_type) {
  const size_t semi = content_type.find(';');
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(
      semi == absl::string_view::npos ? content_type
                                      : content_type.substr(0, semi)));
}

bool IsKnownPart(absl::string_view media_type) {
  return media_type == "application/pidf+xml" ||
         media_type == "application/isup" || media_type == "application/qsig";
}

absl::StatusOr<SplitBody> Split(absl::string_view content_type,
                                absl::string_view body,
                                absl::string_view disposition) {
  SplitBody out;
  if (body.empty()) return out;
  absl::Status s = SplitInto(content_type, body, disposition, "", 0, &out);
  if (!s.ok()) return s;
  return out;
}

std::string JoinMultipart(const std::string& sdp,
                          const std::vector<BodyPart>& parts,
                          std::string* content_type) {
  // RFC 2046 5.1.1: the boundary must occur in none of the parts.
  auto occurs = [&](const std::string& b) {
    if (absl::StrContains(sdp, b)) return true;
    for (const BodyPart& p : parts) {
      if (absl::StrContains(p.body, b)) return true;
    }
    return false;
  };
  std::string boundary = "trunkline-part";
  for (int n = 1; occurs(boundary); ++n) {
    boundary = absl::StrCat("trunkline-part-", n);
  }
  std::string out;
  if (!sdp.empty()) {
    absl::StrAppend(&out, "--", boundary,
                    "\r\nContent-Type: application/sdp\r\n\r\n", sdp, "\r\n");
  }
  for (const BodyPart& p : parts) {
    absl::StrAppend(&out, "--", boundary, "\r\nContent-Type: ", p.content_type,
                    "\r\n");
    if (!p.content_id.empty()) {
      absl::StrAppend(&out, "Content-ID: ", p.content_id, "\r\n");
    }
    if (!p.disposition.empty()) {
      absl::StrAppend(&out, "Content-Disposition: ", p.disposition, "\r\n");
    }
    absl::StrAppend(&out, "\r\n", p.body, "\r\n");
  }
  absl::StrAppend(&out, "--", boundary, "--\r\n");
  *content_type = absl::StrCat("multipart/mixed;boundary=", boundary);
  return out;
}

}  // namespace trunkline::signaling
