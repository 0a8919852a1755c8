#include "services/common/utf8.h"

#include "gtest/gtest.h"

namespace trunkline {
namespace {

// RFC 3629's forms: one- to four-byte characters and a BOM pass; overlong
// forms, surrogates, code points above U+10FFFF, cut sequences and stray
// continuation bytes do not.
TEST(Utf8Test, AcceptsWellFormedAndFindsTheFirstBadByte) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(
      IsValidUtf8("\xEF\xBB\xBFZ\xC3\xBCrich \xE2\x82\xAC \xF0\x9D\x84\x9E"));
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  struct Bad {
    const char* text;
    size_t offset;
  };
  for (const Bad& bad : {
           Bad{"ab\xC0\xAF", 2},            // overlong '/'
           Bad{"\xE0\x80\xAF", 0},          // overlong, three bytes
           Bad{"x\xED\xA0\x80", 1},         // a UTF-16 surrogate
           Bad{"\xF4\x90\x80\x80", 0},      // above U+10FFFF
           Bad{"caf\xE9", 3},               // Latin-1
           Bad{"\xE2\x82", 0},              // cut short
           Bad{"ok\xBF", 2},                // a lone continuation byte
           Bad{"\xF8\x88\x80\x80\x80", 0},  // five bytes
       }) {
    EXPECT_EQ(FirstInvalidUtf8(bad.text), bad.offset) << bad.text;
  }
}

TEST(Utf8Test, ReplacesOnlyTheBadBytes) {
  EXPECT_EQ(ReplaceInvalidUtf8("s=Caf\xE9 \xE2\x82\xAC\r\n"),
            "s=Caf? \xE2\x82\xAC\r\n");
  EXPECT_EQ(ReplaceInvalidUtf8("\xE2\x82"), "??");
  EXPECT_EQ(ReplaceInvalidUtf8("plain"), "plain");
}

}  // namespace
}  // namespace trunkline
