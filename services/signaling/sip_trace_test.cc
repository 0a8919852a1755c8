#include "services/signaling/sip_trace.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace trunkline::signaling {
namespace {

constexpr char kInvite[] =
    "INVITE sip:0871234567@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.11:5060;branch=z9hG4bK1\r\n"
    "i: caller-leg@fe\r\n"
    "CSeq: 1 INVITE\r\n"
    "\r\n"
    "Call-ID: in-the-body\r\n";

struct Recorder : TraceSubscriber {
  std::vector<v1::TraceEvent> events;
  void OnTraceEvent(v1::TraceEvent e) override {
    events.push_back(std::move(e));
  }
};

SipTraceRecord Record(const std::string& text, bool incoming = true,
                      const std::string& peer = "127.0.0.11:5060/udp") {
  SipTraceRecord r;
  r.time = absl::FromUnixMillis(1700000000123);
  r.incoming = incoming;
  r.peer = peer;
  r.text = text;
  return r;
}

TEST(SipTraceTest, RawCallIdAndFirstLine) {
  EXPECT_EQ(RawCallId(kInvite), "caller-leg@fe");
  EXPECT_EQ(RawCallId("OPTIONS sip:x SIP/2.0\r\nCall-ID :  a b \r\n\r\n"),
            "a b");
  EXPECT_EQ(RawCallId("garbage"), "");
  EXPECT_EQ(FirstLine(kInvite), "INVITE sip:0871234567@127.0.0.1 SIP/2.0");
  EXPECT_EQ(FirstLine("no newline"), "no newline");
}

TEST(SipTraceTest, Utf8SafeEscapesWhatProtoStringsCannotCarry) {
  EXPECT_EQ(Utf8Safe("plain \xc3\xa9t\xc3\xa9"), "plain \xc3\xa9t\xc3\xa9");
  EXPECT_EQ(Utf8Safe(std::string("a\0b\xff\xc3", 5)), "a\\x00b\\xff\\xc3");
  EXPECT_EQ(Utf8Safe("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
}

TEST(SipTraceTest, FilterTakesACallOrATrunkNotBoth) {
  v1::TraceRequest both;
  both.set_call_id("x");
  both.set_trunk("t");
  EXPECT_EQ(TraceFilter::FromRequest(both).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(TraceFilter::FromRequest(v1::TraceRequest()).ok());
}

TEST(SipTraceTest, HubTagsAndFiltersByEitherLegOrTrunk) {
  std::vector<bool> active;
  SipTraceHub hub(
      [](const std::string& call_id,
         const std::string& address) -> std::optional<TraceTag> {
        if (call_id == "caller-leg@fe" || call_id == "callee-leg@us") {
          return TraceTag{"caller-leg@fe", "pstn-dub"};
        }
        if (address == "127.0.0.41") return TraceTag{"", "itsp"};
        return std::nullopt;
      },
      [&active](bool on) { active.push_back(on); });
  hub.Publish(Record(kInvite));  // nobody listens: nothing happens
  Recorder all, by_call, by_trunk, other_trunk;
  const int a = hub.Subscribe({}, &all);
  hub.Subscribe({"caller-leg@fe", ""}, &by_call);
  hub.Subscribe({"", "pstn-dub"}, &by_trunk);
  hub.Subscribe({"", "itsp"}, &other_trunk);
  EXPECT_EQ(active, std::vector<bool>{true});

  hub.Publish(Record(kInvite));
  hub.Publish(Record(
      "INVITE sip:0871234567@127.0.0.21 SIP/2.0\r\nCall-ID: callee-leg@us\r\n"
      "\r\n",
      false, "127.0.0.21:5060/udp"));
  hub.Publish(Record("OPTIONS sip:x SIP/2.0\r\nCall-ID: ka\r\n\r\n", false,
                     "127.0.0.41:5060/udp"));
  hub.Publish(Record("junk", true, "127.0.0.99:5060/udp"));

  ASSERT_EQ(all.events.size(), 4u);
  EXPECT_EQ(all.events[0].direction(), "in");
  EXPECT_EQ(all.events[0].peer(), "127.0.0.11:5060/udp");
  EXPECT_EQ(all.events[0].summary(), "INVITE sip:0871234567@127.0.0.1 SIP/2.0");
  EXPECT_EQ(all.events[0].message(), kInvite);
  EXPECT_EQ(all.events[0].unix_ms(), 1700000000123);
  EXPECT_EQ(all.events[1].direction(), "out");
  // Both legs carry Trunkline's call id (the caller leg's).
  EXPECT_EQ(all.events[1].call_id(), "caller-leg@fe");
  EXPECT_EQ(all.events[2].trunk(), "itsp");
  EXPECT_EQ(all.events[3].call_id(), "");
  ASSERT_EQ(by_call.events.size(), 2u);
  ASSERT_EQ(by_trunk.events.size(), 2u);
  ASSERT_EQ(other_trunk.events.size(), 1u);
  EXPECT_EQ(other_trunk.events[0].summary(), "OPTIONS sip:x SIP/2.0");

  // A filter by the callee leg's own Call-ID finds that leg's messages.
  Recorder by_callee_leg;
  const int c = hub.Subscribe({"callee-leg@us", ""}, &by_callee_leg);
  hub.Publish(Record("SIP/2.0 200 OK\r\nCall-ID: callee-leg@us\r\n\r\n", true,
                     "127.0.0.21:5060/udp"));
  EXPECT_EQ(by_callee_leg.events.size(), 1u);

  hub.Unsubscribe(a);
  hub.Unsubscribe(c);
  hub.Unsubscribe(c);  // twice: harmless
  EXPECT_EQ(active, std::vector<bool>{true});
  for (int id = 2; id <= 4; ++id) hub.Unsubscribe(id);
  EXPECT_EQ(active, (std::vector<bool>{true, false}));
  EXPECT_FALSE(hub.active());
}

TEST(SipTraceTest, QueueDropsOldestAndCounts) {
  TraceQueue q(2);
  for (int i = 0; i < 5; ++i) {
    v1::TraceEvent e;
    e.set_summary(std::to_string(i));
    q.Push(e);
  }
  EXPECT_EQ(q.dropped(), 3u);
  EXPECT_EQ(q.Pop()->summary(), "3");
  EXPECT_EQ(q.Pop()->summary(), "4");
  EXPECT_FALSE(q.Pop().has_value());
}

TEST(SipTraceTest, DumpParserSplitsRecordsAcrossReads) {
  const std::string msg = "OPTIONS sip:a SIP/2.0\r\nCall-ID: 1\r\n\r\n";
  const std::string reply = "SIP/2.0 200 OK\r\nCall-ID: 1\r\n\r\n";
  const std::string dump =
      "dump started at Thu Jan  1 00:00:00 2024\n\n"
      "sent " +
      std::to_string(msg.size()) +
      " bytes to udp/[127.0.0.21]:5060 at 00:49:00.123456:\n" + msg +
      "\v\n"
      "recv " +
      std::to_string(reply.size()) +
      " bytes from tcp/[::1]:5061 at 00:49:00.200000:\n" + reply + "\v\n";
  TportDumpParser parser;
  std::vector<SipTraceRecord> got;
  // A byte at a time: records may be split anywhere by the pipe.
  for (char ch : dump) {
    for (SipTraceRecord& r :
         parser.Feed(absl::string_view(&ch, 1), absl::UnixEpoch())) {
      got.push_back(std::move(r));
    }
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_FALSE(got[0].incoming);
  EXPECT_EQ(got[0].peer, "127.0.0.21:5060/udp");
  EXPECT_EQ(got[0].text, msg);
  EXPECT_TRUE(got[1].incoming);
  EXPECT_EQ(got[1].peer, "::1:5061/tcp");
  EXPECT_EQ(got[1].text, reply);
}

TEST(SipTraceTest, DumpParserCopesWithSofiasShortSentRecords) {
  // Sofia dumps only the first iovec of what it sends (headers without the
  // body) while the stamp counts every byte.
  const std::string headers =
      "SIP/2.0 200 OK\r\nCall-ID: 1\r\nContent-Length: 9\r\n\r\n";
  const std::string ack = "ACK sip:a SIP/2.0\r\nCall-ID: 1\r\n\r\n";
  const std::string dump =
      "sent " + std::to_string(headers.size() + 9) +
      " bytes to udp/[127.0.0.11]:5060 at 00:49:00.1:\n" + headers + "\v\n" +
      "recv " + std::to_string(ack.size()) +
      " bytes from udp/[127.0.0.11]:5060 at 00:49:00.2:\n" + ack + "\v\n";
  TportDumpParser parser;
  std::vector<SipTraceRecord> got = parser.Feed(dump, absl::UnixEpoch());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].text, headers);
  EXPECT_EQ(got[1].text, ack);
  // The last record, short, is complete once its terminator is there.
  TportDumpParser alone;
  got = alone.Feed(dump.substr(0, dump.find("recv ")), absl::UnixEpoch());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].text, headers);
}

}  // namespace
}  // namespace trunkline::signaling
