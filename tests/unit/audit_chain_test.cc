#include "act/audit_chain.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "unit/temp_dir.h"

namespace dnsight {
namespace {

using nlohmann::json;
using test_support::TempDir;

constexpr int64_t kT0 = 1'795'000'000'000'000'000;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

AuditRecordBuilder Record(int i) {
  AuditRecordBuilder b;
  b.Str("decision_id", "dec-" + std::to_string(i))
      .Str("entity", "e" + std::to_string(i))
      .Str("outcome", "dry_run")
      .Bool("dry_run", true)
      .Raw("preconditions", "[{\"check\":\"min_confidence\",\"passed\":true}]");
  return b;
}

// A chain of n records in dir/audit.jsonl; returns the path.
std::string MakeChain(const TempDir& dir, int n) {
  const std::string path = dir / "audit.jsonl";
  auto chain = AuditChain::Open(path, {.fsync = false});
  EXPECT_TRUE(chain.ok()) << chain.status().ToString();
  for (int i = 1; i <= n; ++i) {
    auto seq = (*chain)->Append(kT0 + i * 1'000'000'000LL, Record(i));
    EXPECT_TRUE(seq.ok());
    EXPECT_EQ(*seq, static_cast<uint64_t>(i));
  }
  return path;
}

AuditVerifyReport Verify(const std::string& path) {
  auto r = VerifyAuditChain(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  // The file and the in-memory verifier agree.
  const AuditVerifyReport t = VerifyAuditChainText(ReadAll(path));
  EXPECT_EQ(t.ok, r->ok);
  EXPECT_EQ(t.defect, r->defect);
  EXPECT_EQ(t.line, r->line);
  EXPECT_EQ(t.records, r->records);
  return std::move(r).value();
}

TEST(AuditChain, AppendThenVerify) {
  TempDir dir;
  const std::string path = MakeChain(dir, 5);
  const AuditVerifyReport r = Verify(path);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.records, 5u);
  EXPECT_EQ(r.reason(), "");
  EXPECT_EQ(r.intact_bytes, ReadAll(path).size());

  const auto lines = Lines(ReadAll(path));
  ASSERT_EQ(lines.size(), 5u);
  std::string prev(64, '0');
  for (size_t i = 0; i < lines.size(); ++i) {
    const json j = json::parse(lines[i]);
    EXPECT_EQ(j["seq"], i + 1);
    EXPECT_EQ(j["ts_ns"], kT0 + static_cast<int64_t>(i + 1) * 1'000'000'000LL);
    EXPECT_EQ(j["ts"], "2026-11-18T11:06:4" + std::to_string(i + 1) + "Z");
    EXPECT_EQ(j["entity"], "e" + std::to_string(i + 1));
    EXPECT_EQ(j["prev"], prev);
    // The documented canonical form: hash over prev + the line up to ,"hash":
    const std::string body = lines[i].substr(0, lines[i].rfind(",\"hash\":"));
    EXPECT_EQ(j["hash"], AuditChainHash(prev, body));
    prev = j["hash"];
  }
  EXPECT_EQ(r.last_hash, prev);

  // Reopening continues the chain.
  auto chain = AuditChain::Open(path, {.fsync = true});
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ((*chain)->records(), 5u);
  EXPECT_EQ((*chain)->last_hash(), prev);
  EXPECT_FALSE((*chain)->open_report().repaired_torn_tail);
  ASSERT_EQ(*(*chain)->Append(kT0, Record(6)), 6u);
  chain = Status::Internal("closed");
  EXPECT_EQ(Verify(path).records, 6u);
}

TEST(AuditChain, EmptyAndMissingFiles) {
  TempDir dir;
  WriteAll(dir / "empty.jsonl", "");
  const AuditVerifyReport r = Verify(dir / "empty.jsonl");
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.records, 0u);
  EXPECT_EQ(r.last_hash, std::string(64, '0'));
  EXPECT_EQ(VerifyAuditChain(dir / "missing.jsonl").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(AuditChain::Open(dir / "missing.jsonl", {.create = false}).status().code(),
            StatusCode::kNotFound);
}

struct Tamper {
  const char* name;
  std::function<void(std::vector<std::string>*)> edit;
  AuditDefect defect;
  uint64_t line;
  uint64_t expected_seq;
  uint64_t seq;  // as the bad line says
};

TEST(AuditChain, TamperingIsDetectedAtTheRightLine) {
  const std::vector<Tamper> cases = {
      {"edit a field in the middle",
       [](auto* l) {
         const size_t at = (*l)[2].find("\"e3\"");
         (*l)[2].replace(at, 4, "\"e9\"");
       },
       AuditDefect::kHashMismatch, 3, 3, 3},
      {"delete a line", [](auto* l) { l->erase(l->begin() + 2); }, AuditDefect::kSeqGap, 3, 3, 4},
      {"reorder two lines", [](auto* l) { std::swap((*l)[1], (*l)[2]); }, AuditDefect::kSeqGap, 2,
       2, 3},
      {"change a hash",
       [](auto* l) {
         std::string& s = (*l)[3];
         char& c = s[s.size() - 3];  // last hex digit of the hash
         c = c == '0' ? '1' : '0';
       },
       AuditDefect::kHashMismatch, 4, 4, 4},
      {"edit a field and recompute its hash",
       [](auto* l) {
         json j = json::parse((*l)[2]);
         std::string body = (*l)[2].substr(0, (*l)[2].rfind(",\"hash\":"));
         body.replace(body.find("\"e3\""), 4, "\"e9\"");
         (*l)[2] =
             body + ",\"hash\":\"" + AuditChainHash(j["prev"].get<std::string>(), body) + "\"}";
       },
       AuditDefect::kPrevMismatch, 4, 4, 4},
      {"append a forged line with a recomputed hash but a wrong prev",
       [](auto* l) {
         const std::string prev(64, 'a');
         const std::string body = "{\"seq\":6,\"ts\":\"2026-11-18T11:06:46Z\",\"ts_ns\":" +
                                  std::to_string(kT0 + 6'000'000'000LL) +
                                  ",\"entity\":\"forged\",\"prev\":\"" + prev + "\"";
         l->push_back(body + ",\"hash\":\"" + AuditChainHash(prev, body) + "\"}");
       },
       AuditDefect::kPrevMismatch, 6, 6, 6},
      {"blank line", [](auto* l) { l->insert(l->begin() + 1, ""); }, AuditDefect::kBadJson, 2, 2,
       0},
      {"not JSON",
       [](auto* l) {
         std::string& s = (*l)[1];
         s.replace(s.find("\"entity\":"), 9, "\"entity\" ");
       },
       AuditDefect::kBadJson, 2, 2, 2},
      {"uppercase hash",
       [](auto* l) {
         std::string& s = (*l)[4];
         for (size_t i = s.size() - 66; i < s.size() - 2; ++i)
           s[i] = static_cast<char>(toupper(s[i]));
       },
       AuditDefect::kBadJson, 5, 5, 5},
      {"duplicate reserved key",
       [](auto* l) {
         std::string& s = (*l)[0];
         s.insert(s.find(",\"entity\""), ",\"seq\":1");
       },
       AuditDefect::kBadJson, 1, 1, 1},
  };
  for (const Tamper& t : cases) {
    SCOPED_TRACE(t.name);
    TempDir dir;
    const std::string path = MakeChain(dir, 5);
    auto lines = Lines(ReadAll(path));
    t.edit(&lines);
    WriteAll(path, Join(lines));
    const AuditVerifyReport r = Verify(path);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.defect, t.defect) << r.detail;
    EXPECT_EQ(r.line, t.line);
    EXPECT_EQ(r.expected_seq, t.expected_seq);
    EXPECT_EQ(r.seq, t.seq);
    EXPECT_EQ(r.records, t.expected_seq - 1);
    EXPECT_FALSE(r.detail.empty());

    // Nothing may be appended to a broken chain, and the file is left as it was.
    const std::string before = ReadAll(path);
    auto chain = AuditChain::Open(path);
    ASSERT_FALSE(chain.ok());
    EXPECT_EQ(chain.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(chain.status().message().find("line " + std::to_string(t.line)), std::string::npos)
        << chain.status().message();
    EXPECT_NE(chain.status().message().find(std::string(AuditDefectName(t.defect))),
              std::string::npos);
    EXPECT_EQ(ReadAll(path), before);
  }
}

TEST(AuditChain, DroppingTheTailNeedsAnAnchor) {
  // Removing the newest records leaves a consistent chain; only a copy of the last hash
  // kept elsewhere shows it. This is the documented limit of an unkeyed chain.
  TempDir dir;
  const std::string path = MakeChain(dir, 5);
  const std::string anchor = Verify(path).last_hash;
  auto lines = Lines(ReadAll(path));
  lines.pop_back();
  WriteAll(path, Join(lines));
  const AuditVerifyReport r = Verify(path);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.records, 4u);
  EXPECT_NE(r.last_hash, anchor);
}

TEST(AuditChain, TornTailIsReportedAndRepairedOnOpen) {
  TempDir dir;
  const std::string path = MakeChain(dir, 3);
  const std::string intact = ReadAll(path);
  const std::string torn = "{\"seq\":4,\"ts\":\"2026-11-18T11:06:4";
  WriteAll(path, intact + torn);

  AuditVerifyReport r = Verify(path);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.defect, AuditDefect::kTornTail);
  EXPECT_EQ(r.reason(), "torn_tail");
  EXPECT_EQ(r.line, 4u);
  EXPECT_EQ(r.expected_seq, 4u);
  EXPECT_EQ(r.records, 3u);
  EXPECT_EQ(r.intact_bytes, intact.size());

  // A complete record that lost only its newline is torn as well.
  auto lines = Lines(intact);
  WriteAll(path, Join({lines[0], lines[1]}) + lines[2]);
  r = Verify(path);
  EXPECT_EQ(r.defect, AuditDefect::kTornTail);
  EXPECT_EQ(r.line, 3u);

  WriteAll(path, intact + torn);
  {
    auto chain = AuditChain::Open(path);
    ASSERT_TRUE(chain.ok()) << chain.status().ToString();
    EXPECT_TRUE((*chain)->open_report().repaired_torn_tail);
    EXPECT_EQ((*chain)->open_report().torn_bytes, torn.size());
    EXPECT_EQ((*chain)->open_report().records, 3u);
    EXPECT_EQ(ReadAll(path), intact);
    EXPECT_EQ(*(*chain)->Append(kT0 + 4'000'000'000LL, Record(4)), 4u);
  }
  r = Verify(path);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.records, 4u);
}

TEST(AuditChain, DamageBeforeATornTailIsNotRepaired) {
  TempDir dir;
  const std::string path = MakeChain(dir, 3);
  auto lines = Lines(ReadAll(path));
  lines[0].replace(lines[0].find("\"e1\""), 4, "\"x1\"");
  WriteAll(path, Join(lines) + "{\"seq\":4");
  const auto before = ReadAll(path);
  EXPECT_EQ(Verify(path).defect, AuditDefect::kHashMismatch);
  EXPECT_FALSE(AuditChain::Open(path).ok());
  EXPECT_EQ(ReadAll(path), before);
}

TEST(AuditChain, OneWriterAtATime) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  auto first = AuditChain::Open(path);
  ASSERT_TRUE(first.ok());
  auto second = AuditChain::Open(path);
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  first = Status::Internal("closed");
  EXPECT_TRUE(AuditChain::Open(path).ok());
}

TEST(AuditChain, RefusesMalformedRecordsAndWritesNothing) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  auto chain = AuditChain::Open(path);
  ASSERT_TRUE(chain.ok());
  AuditRecordBuilder reserved;
  reserved.Str("hash", "x");
  EXPECT_EQ((*chain)->Append(kT0, reserved).status().code(), StatusCode::kInvalidArgument);
  AuditRecordBuilder bad_key;
  bad_key.Str("Entity Name", "x");
  EXPECT_EQ((*chain)->Append(kT0, bad_key).status().code(), StatusCode::kInvalidArgument);
  AuditRecordBuilder bad_raw;
  bad_raw.Raw("preconditions", "[{\"check\":");
  EXPECT_EQ((*chain)->Append(kT0, bad_raw).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadAll(path), "");
  EXPECT_TRUE((*chain)->healthy());

  // Awkward values are escaped and still verify.
  AuditRecordBuilder odd;
  odd.Str("output", std::string("quote \" backslash \\ newline \n nul \0 byte \xff end", 44))
      .Double("nan", std::nan(""))
      .Int("neg", -5);
  ASSERT_TRUE((*chain)->Append(kT0, odd).ok());
  ASSERT_TRUE((*chain)->Append(kT0, AuditRecordBuilder()).ok());
  EXPECT_TRUE(Verify(path).ok);
  EXPECT_EQ(Verify(path).records, 2u);
}

TEST(AuditChain, ConcurrentAppendsKeepTheChain) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  auto chain = AuditChain::Open(path, {.fsync = false});
  ASSERT_TRUE(chain.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) ASSERT_TRUE((*chain)->Append(kT0, Record(t * 100 + i)).ok());
    });
  }
  for (auto& th : threads) th.join();
  const AuditVerifyReport r = Verify(path);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.records, 200u);
  EXPECT_EQ(r.last_hash, (*chain)->last_hash());
}

// Corruption sweep (STYLE.md 8): every truncation and every single-bit flip of a good
// chain is either reported at the right place or, for a cut at a line boundary, reads as
// a shorter intact chain.
TEST(AuditChainCorruption, EveryTruncationIsTornOrAShorterChain) {
  TempDir dir;
  const std::string text = ReadAll(MakeChain(dir, 3));
  const auto lines = Lines(text);
  for (size_t cut = 0; cut < text.size(); ++cut) {
    const AuditVerifyReport r = VerifyAuditChainText(std::string_view(text).substr(0, cut));
    const uint64_t whole = std::count(text.begin(), text.begin() + cut, '\n');
    EXPECT_EQ(r.records, whole) << cut;
    if (cut > 0 && text[cut - 1] == '\n') {
      EXPECT_TRUE(r.ok) << cut;
    } else if (cut > 0) {
      EXPECT_EQ(r.defect, AuditDefect::kTornTail) << cut;
      EXPECT_EQ(r.line, whole + 1) << cut;
    }
  }
}

TEST(AuditChainCorruption, EveryBitFlipIsDetected) {
  TempDir dir;
  const std::string text = ReadAll(MakeChain(dir, 3));
  const size_t first_nl = text.find('\n');
  for (size_t i = 0; i < text.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = text;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      const AuditVerifyReport r = VerifyAuditChainText(bad);
      ASSERT_FALSE(r.ok) << "byte " << i << " bit " << bit;
      ASSERT_NE(r.defect, AuditDefect::kNone);
      // Nothing after the damaged line is trusted; a flip in line 1 stops at line 1.
      if (i < first_nl) {
        EXPECT_EQ(r.line, 1u) << "byte " << i << " bit " << bit;
      }
    }
  }
}

TEST(AuditChainCorruption, OversizedLineIsBadJson) {
  TempDir dir;
  const std::string path = MakeChain(dir, 1);
  WriteAll(path, ReadAll(path) + std::string(2 << 20, 'x') + "\n");
  const auto r = VerifyAuditChain(path);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->defect, AuditDefect::kBadJson);
  EXPECT_EQ(r->line, 2u);
  EXPECT_EQ(r->records, 1u);
}

}  // namespace
}  // namespace dnsight
