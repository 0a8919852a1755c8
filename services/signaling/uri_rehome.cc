#include "services/signaling/uri_rehome.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace trunkline::signaling {
namespace {

// A sip or sips URI taken apart (RFC 3261 19.1.1), as text.
struct SipUri {
  std::string scheme;               // "sip" or "sips"
  std::string user;                 // with its password, if any; "" for none
  std::string hostport;             // "host", "host:port", "[v6]:port"
  std::vector<std::string> params;  // "user=phone", "transport=tcp", ...
  std::string headers;              // after '?', "" for none
};

bool ParseSipUri(absl::string_view uri, SipUri* out) {
  const size_t colon = uri.find(':');
  if (colon == absl::string_view::npos) return false;
  out->scheme = absl::AsciiStrToLower(uri.substr(0, colon));
  if (out->scheme != "sip" && out->scheme != "sips") return false;
  absl::string_view rest = uri.substr(colon + 1);
  if (size_t q = rest.find('?'); q != absl::string_view::npos) {
    out->headers = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  // The user part ends at the last '@' before any parameter (a user part
  // may not hold an unescaped ';' or '@', RFC 3261 25.1).
  if (size_t at = rest.rfind('@', rest.find(';'));
      at != absl::string_view::npos) {
    out->user = std::string(rest.substr(0, at));
    rest = rest.substr(at + 1);
  }
  std::vector<absl::string_view> parts = absl::StrSplit(rest, ';');
  out->hostport = std::string(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    if (!parts[i].empty()) out->params.emplace_back(parts[i]);
  }
  return !out->hostport.empty();
}

// The URI parameters that say how to reach the URI's host: ours replace
// them.
bool IsRoutingParam(absl::string_view param) {
  const absl::string_view name = param.substr(0, param.find('='));
  return absl::EqualsIgnoreCase(name, "transport") ||
         absl::EqualsIgnoreCase(name, "maddr") ||
         absl::EqualsIgnoreCase(name, "lr") ||
         absl::EqualsIgnoreCase(name, "ttl");
}

// A URI header's value escaped: RFC 3261 25.1 hvalue keeps unreserved
// characters and hnv-unreserved ones; ';', '=', '@', '%' and the rest are
// percent-encoded.
std::string EscapeHeaderValue(absl::string_view in) {
  std::string out;
  for (char c : in) {
    if (absl::ascii_isalnum(c) || absl::StrContains("-_.!~*'()[]/?:+$", c)) {
      out.push_back(c);
    } else {
      constexpr char kHex[] = "0123456789ABCDEF";
      const unsigned char u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

// `headers` (after '?') with the Replaces header's value put through
// `replaces`.
std::string MapReplaces(
    const std::string& headers,
    const std::function<std::string(const std::string&)>& replaces) {
  std::vector<std::string> out;
  for (absl::string_view h : absl::StrSplit(headers, '&')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(h, absl::MaxSplits('=', 1));
    if (absl::EqualsIgnoreCase(kv.first, "Replaces")) {
      out.push_back(
          absl::StrCat(kv.first, "=",
                       EscapeHeaderValue(replaces(PercentDecode(kv.second)))));
    } else {
      out.emplace_back(h);
    }
  }
  return absl::StrJoin(out, "&");
}

}  // namespace

std::string PercentDecode(absl::string_view in) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = absl::ascii_tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 &&
        hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::string RehomeUri(
    absl::string_view value, absl::string_view our_contact,
    const std::function<std::string(const std::string&)>& replaces) {
  // Our Contact: "<sip:host:port;transport=..>".
  absl::string_view ours = absl::StripAsciiWhitespace(our_contact);
  absl::ConsumePrefix(&ours, "<");
  ours = ours.substr(0, ours.find('>'));
  SipUri us;
  if (!ParseSipUri(ours, &us)) return std::string(value);

  // The URI in `value`: between angle brackets, or (addr-spec) up to the
  // first ';', which then starts the header's parameters.
  size_t begin, end;
  const bool bracketed = value.find('<') != absl::string_view::npos;
  if (bracketed) {
    const size_t open = value.find('<');
    begin = open + 1;
    end = value.find('>', begin);
    if (end == absl::string_view::npos) return std::string(value);
  } else {
    begin = value.size() - absl::StripLeadingAsciiWhitespace(value).size();
    end = value.find(';', begin);
    if (end == absl::string_view::npos) end = value.size();
  }
  SipUri theirs;
  if (!ParseSipUri(value.substr(begin, end - begin), &theirs)) {
    return std::string(value);
  }
  std::vector<std::string> params;
  for (const std::string& p : theirs.params) {
    if (!IsRoutingParam(p)) params.push_back(p);
  }
  for (const std::string& p : us.params) {
    if (IsRoutingParam(p)) params.push_back(p);
  }
  std::string uri = absl::StrCat(us.scheme, ":", theirs.user,
                                 theirs.user.empty() ? "" : "@", us.hostport);
  for (const std::string& p : params) absl::StrAppend(&uri, ";", p);
  if (!theirs.headers.empty()) {
    absl::StrAppend(
        &uri, "?",
        replaces ? MapReplaces(theirs.headers, replaces) : theirs.headers);
  }
  if (!bracketed) {
    // An addr-spec: the URI now goes between angle brackets, or its
    // parameters would be read as the header's (RFC 3261 20).
    return absl::StrCat(value.substr(0, begin), "<", uri, ">",
                        value.substr(end));
  }
  return absl::StrCat(value.substr(0, begin), uri, value.substr(end));
}

}  // namespace trunkline::signaling
