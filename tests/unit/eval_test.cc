// `dnsight eval` on a hand-made timeline and decisions, every figure worked out by hand.
#include "detect/eval.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>

namespace dnsight {
namespace {

// Incidents on 2026-11-24 (all times UTC).
//   inc-1 latency_rise   192.0.2.11   01:00-01:30
//   inc-2 latency_rise   192.0.2.12   02:00-02:10   (only a non-alert decision: missed)
//   inc-3 nxdomain_spike example.com  03:00-03:20   (times also as _ns)
//   inc-4 nxdomain_spike example.org  05:00-05:10
//   inc-5 maintenance    192.0.2.13   06:00-07:00   benign
//   inc-6 traffic_surge  global *     10:00-10:30   benign (class default, no field)
constexpr char kTruth[] =
    R"({"id":"inc-1","class":"latency_rise","benign":false,"scope":{"kind":"resolver","value":"192.0.2.11","region":"eu-west","pop":"ams1"},"start":"2026-11-24T01:00:00Z","end":"2026-11-24T01:30:00Z"}
{"id":"inc-2","class":"latency_rise","benign":false,"scope":{"kind":"resolver","value":"192.0.2.12"},"start":"2026-11-24T02:00:00Z","end":"2026-11-24T02:10:00Z"}

{"id":"inc-3","class":"nxdomain_spike","benign":false,"scope":{"kind":"domain","value":"example.com"},"start":"2026-11-24T03:00:00Z","start_ns":1795489200000000000,"end":"2026-11-24T03:20:00Z","end_ns":1795490400000000000}
{"id":"inc-4","class":"nxdomain_spike","benign":false,"scope":{"kind":"domain","value":"example.org"},"start":"2026-11-24T05:00:00Z","end":"2026-11-24T05:10:00Z"}
{"id":"inc-5","class":"maintenance","benign":true,"scope":{"kind":"resolver","value":"192.0.2.13"},"start":"2026-11-24T06:00:00Z","end":"2026-11-24T07:00:00Z"}
{"id":"inc-6","class":"traffic_surge","scope":{"kind":"global","value":"*"},"start":"2026-11-24T10:00:00Z","end":"2026-11-24T10:30:00Z"}
)";

std::string Alert(const std::string& id, const std::string& ts, const std::string& cls,
                  const std::string& entity) {
  return R"({"id":")" + id + R"(","ts":"2026-11-24T)" + ts + R"(Z","class":")" + cls +
         R"(","alert":true,"severity":"page","score":7.9,"threshold":4.0,"scope":{"view":"server","entity":")" +
         entity + R"(","kind":"resolver","rollup":"eu-west"}})" + "\n";
}

std::string Quiet(const std::string& id, const std::string& ts, const std::string& cls,
                  const std::string& entity) {
  return R"({"id":")" + id + R"(","ts":"2026-11-24T)" + ts + R"(Z","class":")" + cls +
         R"(","alert":false,"score":1.2,"scope":{"entity":")" + entity +
         R"("},"context":{"maintenance":false,"downgraded":false,"reason":""}})" + "\n";
}

std::string Decisions() {
  return Quiet("d12", "00:00:00", "latency_rise", "192.0.2.11") +     // span start
         Alert("d1", "01:00:40", "latency_rise", "192.0.2.11") +      // inc-1, TTD 40 s
         Alert("d2", "01:35:00", "latency_rise", "192.0.2.11") +      // inc-1, end + grace exactly
         Alert("d3", "01:35:01", "latency_rise", "192.0.2.11") +      // 1 s past the grace: false
         Alert("d4", "01:59:59", "latency_rise", "192.0.2.12") +      // before inc-2 starts: false
         Quiet("d11", "02:05:00", "latency_rise", "192.0.2.12") +     // not an alert: ignored
         Alert("d5", "03:02:00", "nxdomain_spike", "example.com") +   // inc-3, TTD 120 s
         Alert("d6", "03:05:00", "servfail_rise", "example.com") +    // class mismatch: false
         Alert("d7", "03:05:00", "nxdomain_spike", "example.net") +   // scope mismatch: false
         Alert("d8", "05:10:00", "nxdomain_spike", "example.org") +   // inc-4 at its end, TTD 600
         Alert("d9", "06:30:00", "latency_rise", "192.0.2.13") +      // in maintenance: benign
         Alert("d14", "06:40:00", "latency_rise", "192.0.2.99") +     // other resolver: false
         Alert("d10", "10:15:00", "nxdomain_spike", "example.com") +  // global surge: benign
         Quiet("d13", "12:00:00", "latency_rise", "192.0.2.11");      // span end: 12 h
}

EvalReport EvaluateHandMade(const EvalOptions& options) {
  std::istringstream truth(kTruth), decisions(Decisions());
  auto incidents = ReadIncidents(truth, "truth.jsonl");
  EXPECT_TRUE(incidents.ok()) << incidents.status().ToString();
  auto decs = ReadDecisions(decisions, "decisions.jsonl");
  EXPECT_TRUE(decs.ok()) << decs.status().ToString();
  return Evaluate(*incidents, *decs, options);
}

TEST(EvalTest, HandComputedReport) {
  const EvalReport r = EvaluateHandMade(EvalOptions{});
  ASSERT_EQ(r.classes.size(), 3u);

  const ClassEval& lat = r.classes[0];
  EXPECT_EQ(lat.klass, "latency_rise");
  EXPECT_EQ(lat.incidents, 2u);
  EXPECT_EQ(lat.detected, 1u);
  EXPECT_DOUBLE_EQ(lat.recall, 0.5);
  EXPECT_EQ(lat.alerts, 6u);  // d1 d2 d3 d4 d9 d14
  EXPECT_EQ(lat.matched_alerts, 2u);
  EXPECT_DOUBLE_EQ(lat.precision, 2.0 / 6);
  EXPECT_DOUBLE_EQ(lat.ttd_median_s, 40);
  EXPECT_DOUBLE_EQ(lat.ttd_p95_s, 40);

  const ClassEval& nx = r.classes[1];
  EXPECT_EQ(nx.klass, "nxdomain_spike");
  EXPECT_EQ(nx.incidents, 2u);
  EXPECT_EQ(nx.detected, 2u);
  EXPECT_DOUBLE_EQ(nx.recall, 1);
  EXPECT_EQ(nx.alerts, 4u);  // d5 d7 d8 d10
  EXPECT_EQ(nx.matched_alerts, 2u);
  EXPECT_DOUBLE_EQ(nx.precision, 0.5);
  EXPECT_DOUBLE_EQ(nx.ttd_median_s, 360);            // (120 + 600) / 2
  EXPECT_DOUBLE_EQ(nx.ttd_p95_s, 120 + 0.95 * 480);  // 576

  const ClassEval& sf = r.classes[2];
  EXPECT_EQ(sf.klass, "servfail_rise");
  EXPECT_EQ(sf.incidents, 0u);
  EXPECT_TRUE(std::isnan(sf.recall));
  EXPECT_EQ(sf.alerts, 1u);
  EXPECT_DOUBLE_EQ(sf.precision, 0);
  EXPECT_TRUE(std::isnan(sf.ttd_median_s));

  EXPECT_EQ(r.all.incidents, 4u);
  EXPECT_EQ(r.all.detected, 3u);
  EXPECT_DOUBLE_EQ(r.all.recall, 0.75);
  EXPECT_EQ(r.all.alerts, 11u);
  EXPECT_EQ(r.all.matched_alerts, 4u);
  EXPECT_DOUBLE_EQ(r.all.precision, 4.0 / 11);
  EXPECT_DOUBLE_EQ(r.all.ttd_median_s, 120);           // of 40, 120, 600
  EXPECT_DOUBLE_EQ(r.all.ttd_p95_s, 120 + 0.9 * 480);  // rank 1.9: 552

  EXPECT_EQ(r.decisions, 14u);
  EXPECT_EQ(r.alerts, 11u);
  EXPECT_EQ(r.false_alerts, 7u);   // d3 d4 d6 d7 d9 d10 d14
  EXPECT_EQ(r.benign_alerts, 2u);  // d9 d10
  EXPECT_EQ(r.benign_incidents, 2u);
  EXPECT_EQ(r.span_ns, 12 * 3600 * 1'000'000'000LL);
  EXPECT_DOUBLE_EQ(r.false_alerts_per_day, 14);  // 7 over half a day

  const std::string table = FormatEvalTable(r);
  EXPECT_NE(table.find("latency_rise"), std::string::npos);
  EXPECT_NE(table.find("false alerts 7 (14.000 per day over 0.500 days)"), std::string::npos)
      << table;
  EXPECT_NE(table.find("benign alerts 2"), std::string::npos);
  const std::string json = EvalReportJson(r);
  EXPECT_NE(json.find(R"("class":"servfail_rise","incidents":0,"detected":0,"recall":null)"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("false_alerts_per_day":14)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("span_s":43200)"), std::string::npos) << json;
}

TEST(EvalTest, GraceBoundaryAndExplicitSpan) {
  EvalOptions o;
  o.grace_ns = 0;
  o.span_ns = 7LL * 86400 * 1'000'000'000;
  const EvalReport r = EvaluateHandMade(o);
  const ClassEval& lat = r.classes[0];
  EXPECT_EQ(lat.matched_alerts, 1u);  // d2 at end + 5m no longer matches
  EXPECT_EQ(lat.detected, 1u);
  const ClassEval& nx = r.classes[1];
  EXPECT_EQ(nx.detected, 2u);  // d8 at inc-4's end still does: the end is inclusive
  EXPECT_EQ(r.false_alerts, 8u);
  EXPECT_DOUBLE_EQ(r.false_alerts_per_day, 8.0 / 7);
}

TEST(EvalTest, RegionScopedBenignAndOverlappingIncidents) {
  std::istringstream truth(
      R"({"id":"a","class":"dga","scope":{"kind":"client","value":"10.0.0.5"},"start_ns":1000000000000,"end_ns":2000000000000}
{"id":"b","class":"dga","scope":{"kind":"client","value":"10.0.0.5"},"start_ns":1500000000000,"end_ns":2500000000000}
{"id":"m","class":"maintenance","scope":{"kind":"region","value":"eu-west"},"start_ns":3000000000000,"end_ns":4000000000000}
)");
  std::istringstream decisions(
      R"({"ts_ns":1600000000000,"alert":true,"class":"dga","scope":{"entity":"10.0.0.5"}}
{"ts_ns":3500000000000,"alert":true,"class":"latency_rise","scope":{"entity":"192.0.2.1","rollup":"eu-west"}}
{"ts_ns":3600000000000,"alert":true,"class":"latency_rise","scope":{"entity":"192.0.2.2","rollup":"us-east"}}
)");
  auto inc = ReadIncidents(truth, "t");
  auto dec = ReadDecisions(decisions, "d");
  ASSERT_TRUE(inc.ok()) << inc.status().ToString();
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  const EvalReport r = Evaluate(*inc, *dec, EvalOptions{});
  ASSERT_EQ(r.classes.size(), 2u);
  EXPECT_EQ(r.classes[0].klass, "dga");
  EXPECT_EQ(r.classes[0].incidents, 2u);
  EXPECT_EQ(r.classes[0].detected, 2u);        // one alert inside both
  EXPECT_EQ(r.classes[0].matched_alerts, 1u);  // counted once
  EXPECT_DOUBLE_EQ(r.classes[0].precision, 1);
  EXPECT_DOUBLE_EQ(r.classes[0].ttd_median_s, (600 + 100) / 2.0);
  EXPECT_EQ(r.false_alerts, 2u);
  EXPECT_EQ(r.benign_alerts, 1u);  // rollup eu-west is inside the region's maintenance
}

TEST(EvalTest, QuantileInterpolatesBetweenRanks) {
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 0.95), 3.85);
  EXPECT_DOUBLE_EQ(Quantile({7}, 0.95), 7);
  EXPECT_TRUE(std::isnan(Quantile({}, 0.5)));
}

TEST(EvalTest, EmptyInputs) {
  const EvalReport r = Evaluate({}, {}, EvalOptions{});
  EXPECT_TRUE(r.classes.empty());
  EXPECT_TRUE(std::isnan(r.all.recall));
  EXPECT_TRUE(std::isnan(r.false_alerts_per_day));
  EXPECT_NE(FormatEvalTable(r).find("false alerts 0 (- per day"), std::string::npos);
}

std::string IncidentError(const std::string& text) {
  std::istringstream in(text);
  auto r = ReadIncidents(in, "truth.jsonl");
  return r.ok() ? "" : r.status().message();
}

std::string DecisionError(const std::string& text) {
  std::istringstream in(text);
  auto r = ReadDecisions(in, "dec.jsonl");
  return r.ok() ? "" : r.status().message();
}

TEST(EvalTest, MalformedLinesNameTheLine) {
  const std::string good =
      R"({"class":"dga","scope":{"kind":"client","value":"10.0.0.5"},"start":"2026-11-24T01:00:00Z","end":"2026-11-24T02:00:00Z"})"
      "\n";
  EXPECT_EQ(IncidentError(good + good), "");
  EXPECT_EQ(IncidentError(good + "\n{not json\n"), "truth.jsonl:3: not valid JSON");
  EXPECT_EQ(IncidentError("[1,2]\n"), "truth.jsonl:1: not a JSON object");
  EXPECT_EQ(IncidentError(good + R"({"scope":{"value":"x"},"start_ns":1,"end_ns":2})"),
            "truth.jsonl:2: missing 'class'");
  EXPECT_EQ(IncidentError(R"({"class":"dga","scope":{"value":"x"},"start_ns":5,"end_ns":2})"),
            "truth.jsonl:1: 'end' is before 'start'");
  EXPECT_EQ(
      IncidentError(R"({"class":"dga","scope":{"value":"x"},"start":"yesterday","end_ns":2})"),
      "truth.jsonl:1: 'start' is not an RFC 3339 time");
  EXPECT_EQ(IncidentError(R"({"class":"dga","scope":{"value":"x"},"start_ns":"1","end_ns":2})"),
            "truth.jsonl:1: 'start_ns' is not an integer");
  EXPECT_EQ(IncidentError(R"({"class":"dga","start_ns":1,"end_ns":2})"),
            "truth.jsonl:1: missing 'scope' object");
  EXPECT_EQ(IncidentError(R"({"class":"dga","scope":{"kind":"client"},"start_ns":1,"end_ns":2})"),
            "truth.jsonl:1: 'scope.value' is missing or empty");
  EXPECT_EQ(IncidentError(
                R"({"class":"dga","benign":"no","scope":{"value":"x"},"start_ns":1,"end_ns":2})"),
            "truth.jsonl:1: 'benign' is not a boolean");

  EXPECT_EQ(DecisionError(R"({"ts_ns":5,"alert":false})"), "");  // a non-alert needs only ts
  EXPECT_EQ(DecisionError(R"({"ts_ns":5,"alert":false})"
                          "\n"
                          R"({"alert":true,"class":"dga","scope":{"entity":"x"}})"),
            "dec.jsonl:2: missing 'ts'");
  EXPECT_EQ(DecisionError(R"({"ts_ns":5})"), "dec.jsonl:1: missing 'alert'");
  EXPECT_EQ(DecisionError(R"({"ts_ns":5,"alert":1})"), "dec.jsonl:1: 'alert' is not a boolean");
  EXPECT_EQ(DecisionError(R"({"ts_ns":5,"alert":true,"scope":{"entity":"x"}})"),
            "dec.jsonl:1: missing 'class'");
  EXPECT_EQ(DecisionError(R"({"ts_ns":5,"alert":true,"class":"dga","scope":{}})"),
            "dec.jsonl:1: scope: missing 'entity'");
  EXPECT_EQ(DecisionError("{\"ts_ns\":5,\"alert\":true,\"class\":\"dga\"}\r\n"),
            "dec.jsonl:1: missing 'scope' object");

  Decision d;
  ASSERT_TRUE(
      ParseDecisionLine(
          R"({"id":"x","ts":"2026-11-24T03:10:40.5Z","alert":true,"class":"latency_rise","scope":{"entity":"192.0.2.11","rollup":"eu-west"}})",
          &d)
          .ok());
  EXPECT_EQ(d.ts_ns, 1795489840500000000);
  EXPECT_EQ(d.klass, "latency_rise");
  EXPECT_EQ(d.entity, "192.0.2.11");
  EXPECT_EQ(d.rollup, "eu-west");
  EvalIncident inc;
  ASSERT_TRUE(
      ParseIncidentLine(
          R"({"class":"ttl_change","scope":{"kind":"domain","value":"a.com"},"start_ns":1,"end_ns":1})",
          &inc)
          .ok());
  EXPECT_TRUE(inc.benign);  // from the class
}

}  // namespace
}  // namespace dnsight
