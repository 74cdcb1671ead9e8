// Operator feedback: what ParseFeedbackJson accepts and refuses, how FeedbackStore keeps
// the latest verdict per decision across a restart, and the labels timeline it exports.
#include "act/feedback.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "common/time_util.h"
#include "detect/eval.h"
#include "unit/temp_dir.h"

namespace dnsight {
namespace {

constexpr int64_t kSec = 1'000'000'000;
const int64_t kT0 = *ParseRfc3339("2026-11-23T00:00:00Z");

Status Parse(std::string_view body, std::string_view id_from_path = {}) {
  Feedback f;
  return ParseFeedbackJson(body, id_from_path, &f);
}

TEST(FeedbackJson, AcceptsEveryField) {
  Feedback f;
  ASSERT_TRUE(ParseFeedbackJson(R"({"decision_id":"d-1","verdict":"reclassify",)"
                                R"("class":"dns_tunnel","note":"exfil, not a surge",)"
                                R"("user":"alice","suppress_for":"2h"})",
                                {}, &f)
                  .ok());
  EXPECT_EQ(f.decision_id, "d-1");
  EXPECT_EQ(f.verdict, Verdict::kReclassify);
  EXPECT_EQ(f.new_class, "dns_tunnel");
  EXPECT_EQ(f.note, "exfil, not a surge");
  EXPECT_EQ(f.user, "alice");
  EXPECT_EQ(f.suppress_for_ns, 2 * 3600 * kSec);

  // The id from the URL fills an absent body id, and may repeat it.
  ASSERT_TRUE(ParseFeedbackJson(R"({"verdict":"suppress"})", "d-2", &f).ok());
  EXPECT_EQ(f.decision_id, "d-2");
  EXPECT_EQ(f.verdict, Verdict::kSuppress);
  EXPECT_EQ(f.suppress_for_ns, 0);  // the default applies later
  EXPECT_TRUE(f.new_class.empty());
  EXPECT_TRUE(Parse(R"({"decision_id":"d-2","verdict":"accept"})", "d-2").ok());
  // A field of exactly 1024 bytes is fine; null counts as absent.
  EXPECT_TRUE(
      Parse(R"({"decision_id":"d","verdict":"accept","note":")" + std::string(1024, 'n') + "\"}")
          .ok());
  EXPECT_TRUE(Parse(R"({"decision_id":"d","verdict":"accept","note":null})").ok());
}

TEST(FeedbackJson, RefusesWithAReason) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"decision_id":"d"})", "verdict must be accept, suppress or reclassify"},
      {R"({"decision_id":"d","verdict":"ignore"})",
       "verdict must be accept, suppress or reclassify"},
      {R"({"decision_id":"d","verdict":"reclassify"})", "reclassify needs a class"},
      {R"({"decision_id":"d","verdict":"reclassify","class":""})", "reclassify needs a class"},
      {R"({"verdict":"accept"})", "decision_id is missing"},
      {R"({"decision_id":7,"verdict":"accept"})", "decision_id must be a string"},
      {R"({"decision_id":"d","verdict":true})", "verdict must be a string"},
      {R"({"decision_id":"d","verdict":"accept","note":")" + std::string(1025, 'n') + "\"}",
       "note is longer than 1024 bytes"},
      {R"({"decision_id":"d","verdict":"suppress","suppress_for":"soon"})",
       "suppress_for must be a duration like 2h"},
      {R"({"decision_id":"d","verdict":"suppress","suppress_for":"0s"})",
       "suppress_for must be a duration like 2h"},
      {R"(["d","accept"])", "feedback must be a JSON object"},
      {R"("accept")", "feedback must be a JSON object"},
      {R"({"decision_id":"d","verdict":"accept")", "feedback must be a JSON object"},
      {"", "feedback must be a JSON object"},
  };
  for (const auto& [body, reason] : cases) {
    SCOPED_TRACE(body.substr(0, 80));
    const Status s = Parse(body);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), reason);
  }
  const Status mismatch = Parse(R"({"decision_id":"d-1","verdict":"accept"})", "d-2");
  EXPECT_EQ(mismatch.message(), "decision_id in the body differs from the URL");
}

TEST(FeedbackJson, EveryTruncationIsRefused) {
  const std::string good = R"({"decision_id":"d-1","verdict":"suppress","suppress_for":"30m"})";
  ASSERT_TRUE(Parse(good).ok());
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(Parse(good.substr(0, n)).ok()) << n;
}

TEST(FeedbackJson, WrittenLineReadsBack) {
  Feedback f;
  f.decision_id = "d-9";
  f.verdict = Verdict::kSuppress;
  f.user = "operator";
  f.note = "line one\nsaid \"fine\" \\ ok";
  f.ts_ns = kT0 + 5 * kSec;
  f.suppress_for_ns = 90 * 60 * kSec;
  f.klass = "nxdomain_rise";
  f.view = "client";
  f.entity = "192.0.2.7";
  f.decision_ts_ns = kT0;
  f.evidence_from_ns = kT0 - 60 * kSec;
  std::string line;
  AppendFeedbackJson(f, &line);
  Feedback back;
  ASSERT_TRUE(ParseFeedbackJson(line, {}, &back).ok()) << line;
  EXPECT_EQ(back.decision_id, f.decision_id);
  EXPECT_EQ(back.verdict, f.verdict);
  EXPECT_EQ(back.user, f.user);
  EXPECT_EQ(back.note, f.note);
  EXPECT_EQ(back.ts_ns, f.ts_ns);
  EXPECT_EQ(back.suppress_for_ns, f.suppress_for_ns);
  EXPECT_EQ(back.klass, f.klass);
  EXPECT_EQ(back.view, f.view);
  EXPECT_EQ(back.entity, f.entity);
  EXPECT_EQ(back.decision_ts_ns, f.decision_ts_ns);
  EXPECT_EQ(back.evidence_from_ns, f.evidence_from_ns);
}

Feedback Verdicted(const std::string& id, Verdict v, const std::string& entity = "192.0.2.11") {
  Feedback f;
  f.decision_id = id;
  f.verdict = v;
  f.user = "alice";
  f.ts_ns = kT0 + 3600 * kSec;
  f.klass = "latency_rise";
  f.view = "server";
  f.entity = entity;
  f.decision_ts_ns = kT0;
  return f;
}

TEST(FeedbackStore, PersistsAndTheLatestVerdictWins) {
  test_support::TempDir dir;
  const std::string path = dir / "feedback.jsonl";
  {
    auto store = FeedbackStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().message();
    FeedbackStore& s = *store.value();
    ASSERT_TRUE(s.Record(Verdicted("d-1", Verdict::kAccept)).ok());
    Feedback sup = Verdicted("d-2", Verdict::kSuppress);
    sup.suppress_for_ns = 2 * 3600 * kSec;
    ASSERT_TRUE(s.Record(sup).ok());
    Feedback rec = Verdicted("d-3", Verdict::kReclassify);
    rec.new_class = "servfail_rise";
    ASSERT_TRUE(s.Record(rec).ok());
    FeedbackCounts c = s.counts();
    EXPECT_EQ(c.accepted, 1u);
    EXPECT_EQ(c.suppressed, 1u);
    EXPECT_EQ(c.reclassified, 1u);
    // d-1 changes its mind: accepted 1 -> 0, suppressed 1 -> 2.
    ASSERT_TRUE(s.Record(Verdicted("d-1", Verdict::kSuppress)).ok());
    c = s.counts();
    EXPECT_EQ(c.accepted, 0u);
    EXPECT_EQ(c.suppressed, 2u);
    EXPECT_EQ(c.reclassified, 1u);
    EXPECT_EQ(s.ForDecision("d-1")->verdict, Verdict::kSuppress);
    EXPECT_FALSE(s.ForDecision("d-4").has_value());
  }
  // Every verdict is a line of the file: four of them.
  {
    std::ifstream in(path);
    std::string line;
    size_t lines = 0;
    while (std::getline(in, line)) ++lines;
    EXPECT_EQ(lines, 4u);
  }
  auto reopened = FeedbackStore::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  const FeedbackStore& s = *reopened.value();
  const FeedbackCounts c = s.counts();
  EXPECT_EQ(c.accepted, 0u);
  EXPECT_EQ(c.suppressed, 2u);
  EXPECT_EQ(c.reclassified, 1u);
  EXPECT_EQ(c.malformed_lines, 0u);
  const auto all = s.All();  // one per decision, in the order first recorded
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].decision_id, "d-1");
  EXPECT_EQ(all[0].verdict, Verdict::kSuppress);
  EXPECT_EQ(all[1].decision_id, "d-2");
  EXPECT_EQ(all[1].suppress_for_ns, 2 * 3600 * kSec);
  EXPECT_EQ(all[2].decision_id, "d-3");
  EXPECT_EQ(all[2].new_class, "servfail_rise");
  EXPECT_EQ(all[2].klass, "latency_rise");
  EXPECT_EQ(all[2].entity, "192.0.2.11");
  EXPECT_EQ(all[2].decision_ts_ns, kT0);
  EXPECT_EQ(all[2].ts_ns, kT0 + 3600 * kSec);
}

TEST(FeedbackStore, MalformedLinesInTheFileAreCountedAndSkipped) {
  test_support::TempDir dir;
  const std::string path = dir / "feedback.jsonl";
  {
    std::ofstream out(path);
    out << R"({"decision_id":"d-1","verdict":"accept"})" << '\n'
        << "not json at all\n"
        << '\n'  // blank: skipped, not counted
        << R"({"decision_id":"d-2","verdict":"maybe"})" << '\n'
        << R"({"decision_id":"d-3","verdict":"reclassify","class":"x"})" << '\n'
        << R"({"decision_id":"d-4","verdict":"acc)";  // torn last line, no newline
  }
  auto store = FeedbackStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  const FeedbackCounts c = store.value()->counts();
  EXPECT_EQ(c.malformed_lines, 3u);
  EXPECT_EQ(c.accepted, 1u);
  EXPECT_EQ(c.reclassified, 1u);
  EXPECT_EQ(store.value()->All().size(), 2u);
}

TEST(FeedbackStore, InMemoryAndUnwritablePaths) {
  auto memory = FeedbackStore::Open("");
  ASSERT_TRUE(memory.ok());
  ASSERT_TRUE(memory.value()->Record(Verdicted("d-1", Verdict::kAccept)).ok());
  EXPECT_EQ(memory.value()->counts().accepted, 1u);

  test_support::TempDir dir;
  auto missing_dir = FeedbackStore::Open(dir / "no/such/dir/feedback.jsonl");
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_EQ(missing_dir.status().code(), StatusCode::kIoError);
}

TEST(FeedbackCounts, PrecisionIsAcceptedOverAllVerdicts) {
  FeedbackCounts c;
  EXPECT_TRUE(std::isnan(c.Precision()));
  c.accepted = 1;
  c.suppressed = 2;
  c.reclassified = 1;
  EXPECT_DOUBLE_EQ(c.Precision(), 0.25);  // 1 / (1 + 2 + 1)
  c.malformed_lines = 10;                 // not verdicts
  EXPECT_DOUBLE_EQ(c.Precision(), 0.25);
}

TEST(FeedbackLabels, ExportIsAnIncidentTimelineEvalReads) {
  std::vector<Feedback> feedback;
  Feedback accepted = Verdicted("d-1", Verdict::kAccept, "192.0.2.11");
  accepted.decision_ts_ns = kT0 + 600 * kSec;
  accepted.evidence_from_ns = kT0 + 540 * kSec;
  feedback.push_back(accepted);
  Feedback suppressed = Verdicted("d-2", Verdict::kSuppress, "shop.example");
  suppressed.klass = "error_rate_rise";
  suppressed.decision_ts_ns = kT0 + 1200 * kSec;  // no evidence start: the default applies
  feedback.push_back(suppressed);
  Feedback reclassified = Verdicted("d-3", Verdict::kReclassify, "198.51.100.0/24");
  reclassified.new_class = "dns_tunnel";
  reclassified.decision_ts_ns = kT0 + 1800 * kSec;
  reclassified.evidence_from_ns = kT0 + 1500 * kSec;
  feedback.push_back(reclassified);
  Feedback orphan = Verdicted("d-4", Verdict::kAccept, "");  // decision unknown: no label
  orphan.decision_ts_ns = 0;
  feedback.push_back(orphan);

  std::ostringstream out;
  EXPECT_EQ(ExportFeedbackLabels(feedback, 300 * kSec, out), 3u);
  std::istringstream in(out.str());
  auto incidents = ReadIncidents(in, "labels.jsonl");
  ASSERT_TRUE(incidents.ok()) << incidents.status().message() << "\n" << out.str();
  const auto& v = incidents.value();
  ASSERT_EQ(v.size(), 3u);

  EXPECT_EQ(v[0].id, "fb-d-1");
  EXPECT_EQ(v[0].klass, "latency_rise");
  EXPECT_FALSE(v[0].benign);
  EXPECT_EQ(v[0].scope_kind, "entity");
  EXPECT_EQ(v[0].scope_value, "192.0.2.11");
  EXPECT_EQ(v[0].start_ns, kT0 + 540 * kSec);
  EXPECT_EQ(v[0].end_ns, kT0 + 600 * kSec);

  EXPECT_EQ(v[1].id, "fb-d-2");
  EXPECT_TRUE(v[1].benign);
  EXPECT_EQ(v[1].scope_value, "shop.example");
  EXPECT_EQ(v[1].start_ns, kT0 + 900 * kSec);  // 1200 s - the default 300 s
  EXPECT_EQ(v[1].end_ns, kT0 + 1200 * kSec);

  EXPECT_EQ(v[2].id, "fb-d-3");
  EXPECT_EQ(v[2].klass, "dns_tunnel");  // the new class, not latency_rise
  EXPECT_FALSE(v[2].benign);
  EXPECT_EQ(v[2].scope_value, "198.51.100.0/24");
  EXPECT_EQ(v[2].start_ns, kT0 + 1500 * kSec);
  EXPECT_EQ(v[2].end_ns, kT0 + 1800 * kSec);
}

}  // namespace
}  // namespace dnsight
