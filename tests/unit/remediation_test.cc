#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "act/audit_chain.h"
#include "act/remediation_policy.h"
#include "act/remediator.h"
#include "act/runbook.h"
#include "dnsight/clock.h"
#include "engine/config.h"
#include "unit/temp_dir.h"

namespace dnsight {
namespace {

using nlohmann::json;
using test_support::TempDir;

constexpr int64_t kT0 = 1'795'000'000'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

bool Exists(const std::string& path) {
  return std::filesystem::exists(path);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string LoadError(const std::string& yaml) {
  try {
    RemediationPolicy::Parse(yaml, "policy.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

Decision Alert(const std::string& entity, const std::string& klass = "nxdomain_spike") {
  Decision d;
  d.id = "dec-" + entity;
  d.ts_ns = kT0;
  d.klass = klass;
  d.alert = true;
  d.severity = "page";
  d.confidence = "high";
  d.view = "domain";
  d.entity = entity;
  d.scope_kind = "domain";
  d.failure_domain = "dns_config";
  return d;
}

// ---- policy ----

constexpr const char* kFlushAction = R"(actions:
  flush:
    kind: command
    command: [unbound-control, flush_zone, "{entity}"]
)";

TEST(RemediationPolicy, LoadErrorsNameFileLineAndField) {
  std::string e = LoadError(std::string(kFlushAction) + R"(rules:
  - match: {class: [nxdomain_spike]}
    action: flsuh
)");
  EXPECT_NE(e.find("policy.yaml:7:"), std::string::npos) << e;
  EXPECT_NE(e.find("rules[0].action"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown action 'flsuh' (defined: flush; or escalate)"), std::string::npos) << e;

  e = LoadError(R"(actions:
  flush:
    kind: command
    command: [unbound-control, flush_zone, "{entty}"]
rules: []
)");
  EXPECT_NE(e.find("policy.yaml:4:"), std::string::npos) << e;
  EXPECT_NE(e.find("actions.flush.command[2]"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown placeholder '{entty}'"), std::string::npos) << e;

  e = LoadError(std::string(kFlushAction) + "    rate_limt: 3\nrules: []\n");
  EXPECT_NE(e.find("policy.yaml:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'rate_limt'"), std::string::npos) << e;

  e = LoadError(std::string(kFlushAction) + "    cooldown: 15 minutes\nrules: []\n");
  EXPECT_NE(e.find("policy.yaml:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("actions.flush.cooldown: expected a duration"), std::string::npos) << e;

  e = LoadError(std::string(kFlushAction) + "    preconditions:\n      - min_confidence: sure\n" +
                "rules: []\n");
  EXPECT_NE(e.find("policy.yaml:6:"), std::string::npos) << e;
  EXPECT_NE(e.find("actions.flush.preconditions[0].min_confidence"), std::string::npos) << e;

  e = LoadError(std::string(kFlushAction) +
                "    preconditions:\n      - {min_confidence: high, no_recent_change: 5m}\n" +
                "rules: []\n");
  EXPECT_NE(e.find("more than one precondition kind"), std::string::npos) << e;

  e = LoadError("actions:\n  x:\n    kind: command\n    command: [\"{entity}\", a]\nrules: []\n");
  EXPECT_NE(e.find("actions.x.command[0]"), std::string::npos) << e;
  EXPECT_NE(e.find("program cannot be a placeholder"), std::string::npos) << e;

  e = LoadError(
      "actions:\n  x:\n    kind: http\n    url: \"http://{entity}:8080/drain\"\nrules: []\n");
  EXPECT_NE(e.find("actions.x.url"), std::string::npos) << e;
  EXPECT_NE(e.find("host or port"), std::string::npos) << e;

  e = LoadError("actions:\n  x:\n    kind: http\n    command: [a]\nrules: []\n");
  EXPECT_NE(e.find("actions.x.command: only command actions"), std::string::npos) << e;

  e = LoadError("actions:\n  escalate:\n    kind: command\n    command: [a]\nrules: []\n");
  EXPECT_NE(e.find("'escalate' is reserved"), std::string::npos) << e;

  e = LoadError(std::string(kFlushAction) +
                "rules:\n  - match: {class: [dga], severity: [urgent]}\n    action: flush\n");
  EXPECT_NE(e.find("policy.yaml:6:"), std::string::npos) << e;
  EXPECT_NE(e.find("rules[0].match.severity[0]: unknown severity 'urgent'"), std::string::npos)
      << e;

  e = LoadError(std::string(kFlushAction) + "rules:\n  - match: {severity: [page]}\n" +
                "    action: flush\n");
  EXPECT_NE(e.find("rules[0].match: missing 'class'"), std::string::npos) << e;

  e = LoadError(kFlushAction);
  EXPECT_NE(e.find("missing 'rules'"), std::string::npos) << e;

  e = LoadError("rules:\n  - match: {class: [dga]\n    action: escalate\n");
  EXPECT_NE(e.find("policy.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;

  EXPECT_THROW(RemediationPolicy::LoadFile("/nonexistent/policy.yaml"), ConfigError);
}

TEST(RemediationPolicy, DefaultsAreConservative) {
  const RemediationPolicy p = RemediationPolicy::Parse(
      std::string(kFlushAction) + "rules:\n  - match: {class: \"*\"}\n    action: flush\n",
      "policy.yaml");
  const RemediationAction* a = p.FindAction("flush");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->dry_run);
  EXPECT_EQ(a->timeout_ns, 10 * kSecond);
  EXPECT_EQ(a->rate_limit_per_hour, 6u);
  EXPECT_EQ(a->cooldown_ns, 15 * kMinute);
  EXPECT_EQ(a->max_entities_per_hour, 3u);
  EXPECT_TRUE(a->preconditions.empty());
  EXPECT_EQ(a->where, "policy.yaml:3");  // the first line of its body
  ASSERT_EQ(p.rules().size(), 1u);
  EXPECT_TRUE(p.rules()[0].any_class);
}

constexpr const char* kMatchPolicy = R"(actions:
  flush:
    kind: command
    command: [unbound-control, flush_zone, "{entity}"]
  drain:
    kind: http
    url: "http://127.0.0.1:9/drain/{entity}"
    body: '{"entity":"{entity}","reason":"{class}"}'
rules:
  - match: {class: [nxdomain_spike], severity: [page, ticket], min_confidence: medium,
            failure_domain: [dns_config]}
    action: flush
  - match: {class: [latency_rise], max_blast_radius: 2}
    action: drain
  - match: {class: "*", severity: [page], failure_domain: [infrastructure]}
    action: flush
  - match: {class: [tunnelling]}
    action: escalate
  - match: {class: [servfail_rise]}
    action: flush
  - match: {class: [servfail_rise], severity: [page]}
    action: flush
)";

TEST(RemediationPolicy, MatchingIsStrictAndFailsClosed) {
  const RemediationPolicy p = RemediationPolicy::Parse(kMatchPolicy, "policy.yaml");

  Decision d = Alert("example.com");
  PolicyVerdict v = p.Evaluate(d, 1);
  EXPECT_EQ(v.kind, PolicyVerdict::Kind::kAction);
  ASSERT_NE(v.action, nullptr);
  EXPECT_EQ(v.action->name, "flush");
  EXPECT_EQ(v.rules, std::vector<size_t>({1}));

  d.confidence = "low";  // below min_confidence: rule 1 no longer matches
  v = p.Evaluate(d, 1);
  EXPECT_EQ(v.kind, PolicyVerdict::Kind::kNoPolicy);
  EXPECT_TRUE(v.rules.empty());
  EXPECT_EQ(v.reason.rfind("no policy for class nxdomain_spike", 0), 0u) << v.reason;
  d.confidence = "";  // unknown confidence never satisfies a minimum
  EXPECT_EQ(p.Evaluate(d, 1).kind, PolicyVerdict::Kind::kNoPolicy);

  Decision lat = Alert("192.0.2.11", "latency_rise");
  lat.failure_domain = "infrastructure";
  lat.severity = "ticket";
  v = p.Evaluate(lat, 2);
  EXPECT_EQ(v.kind, PolicyVerdict::Kind::kAction);
  EXPECT_EQ(v.action->name, "drain");
  EXPECT_EQ(p.Evaluate(lat, 3).kind, PolicyVerdict::Kind::kNoPolicy);  // wider than rule 2

  lat.severity = "page";  // now rule 3 (flush) matches as well as rule 2 (drain)
  v = p.Evaluate(lat, 1);
  EXPECT_EQ(v.kind, PolicyVerdict::Kind::kUnclear);
  EXPECT_EQ(v.rules, std::vector<size_t>({2, 3}));
  EXPECT_NE(v.reason.find("policy unclear: rules 2 and 3"), std::string::npos) << v.reason;
  EXPECT_EQ(v.action, nullptr);

  Decision tun = Alert("t.example", "tunnelling");
  v = p.Evaluate(tun, 1);
  EXPECT_EQ(v.kind, PolicyVerdict::Kind::kEscalate);
  tun.severity = "page";
  tun.failure_domain = "infrastructure";  // rule 3 says flush, rule 4 says escalate
  EXPECT_EQ(p.Evaluate(tun, 1).kind, PolicyVerdict::Kind::kUnclear);

  // Two rules naming the same action agree.
  Decision sf = Alert("example.org", "servfail_rise");
  v = p.Evaluate(sf, 1);
  EXPECT_EQ(v.kind, PolicyVerdict::Kind::kAction);
  EXPECT_EQ(v.rules, std::vector<size_t>({5, 6}));
}

TEST(RemediationPolicy, PlaceholdersAreSubstitutedOnlyWithSafeValues) {
  const RemediationPolicy p = RemediationPolicy::Parse(kMatchPolicy, "policy.yaml");
  PlaceholderValues v = PlaceholderValues::From(Alert("example.com"));
  auto step = BuildActionStep(*p.FindAction("drain"), v);
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  EXPECT_EQ(step->kind, RunbookStep::Kind::kHttp);
  EXPECT_EQ(step->method, "POST");
  EXPECT_EQ(step->url, "http://127.0.0.1:9/drain/example.com");
  EXPECT_EQ(step->body, R"({"entity":"example.com","reason":"nxdomain_spike"})");
  step = BuildActionStep(*p.FindAction("flush"), v);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->argv, std::vector<std::string>({"unbound-control", "flush_zone", "example.com"}));

  for (const char* good : {"example.com", "192.0.2.11", "2001:db8::1", "_dmarc.example.com",
                           "xn--bcher-kva.example", "dec-0a1b2c"})
    EXPECT_TRUE(IsSafeArgumentValue(good)) << good;
  for (const char* bad : {"", "-rf", "--help", "a b", "a;b", "$(id)", "`id`", "a/b", "../etc",
                          "a..b", "a\nb", "x\"y", "a|b", "a&b", "caf\xc3\xa9"})
    EXPECT_FALSE(IsSafeArgumentValue(bad)) << bad;
  EXPECT_FALSE(IsSafeArgumentValue(std::string(254, 'a')));

  v.entity = "example.com; rm -rf /";
  step = BuildActionStep(*p.FindAction("flush"), v);
  ASSERT_FALSE(step.ok());
  EXPECT_NE(step.status().message().find("{entity}"), std::string::npos);

  // Braces that are not placeholders are text.
  auto s = SubstitutePlaceholders("{} {\"k\":1} {x-y} {entity}",
                                  PlaceholderValues{"a.b", "", "", "", ""});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "{} {\"k\":1} {x-y} a.b");
  // A value needed but empty is refused too.
  EXPECT_FALSE(SubstitutePlaceholders("{view}", PlaceholderValues{"a.b", "", "", "", ""}).ok());
}

TEST(RemediationPolicy, ExampleFileLoadsAndIsAllDryRun) {
  const RemediationPolicy p =
      RemediationPolicy::LoadFile(DNSIGHT_SOURCE_DIR "/examples/remediation.yaml");
  EXPECT_GE(p.actions().size(), 3u);
  EXPECT_GE(p.rules().size(), 3u);
  for (const auto& [name, a] : p.actions()) EXPECT_TRUE(a.dry_run) << name;
}

// ---- runbook ----

TEST(Runbook, CommandOutputExitCodeAndTruncation) {
  SystemRunbookExecutor exec;
  RunbookStep step;
  step.argv = {"/bin/sh", "-c", "echo out; echo err >&2; exit 4"};
  RunbookResult r = exec.Run(step, 5 * kSecond);
  EXPECT_TRUE(r.started);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.output, "out\nerr\n");

  step.argv = {"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"};
  r = exec.Run(step, 5 * kSecond);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.output, std::string(kMaxRunbookOutput, 'x'));
  EXPECT_TRUE(r.output_truncated);

  step.argv = {"cat"};  // stdin is /dev/null: returns at once
  r = exec.Run(step, 5 * kSecond);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.output, "");

  step.argv = {"/nonexistent/program", "x"};
  r = exec.Run(step, 5 * kSecond);
  EXPECT_FALSE(r.started);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("No such file"), std::string::npos) << r.error;

  // No shell: metacharacters are plain bytes of one argument.
  step.argv = {"echo", "$(id) ; `id` | x"};
  r = exec.Run(step, 5 * kSecond);
  EXPECT_EQ(r.output, "$(id) ; `id` | x\n");
}

TEST(Runbook, TimeoutTerminatesTheWholeGroupThenKills) {
  SystemRunbookExecutor exec(300'000'000);
  RunbookStep step;
  // The shell and its child both ignore SIGTERM; SIGKILL after the grace ends them.
  step.argv = {"/bin/sh", "-c", "trap '' TERM; sleep 5; echo late"};
  const auto start = std::chrono::steady_clock::now();
  const RunbookResult r = exec.Run(step, 200'000'000);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_GE(r.duration_ns, 200'000'000);
}

TEST(Runbook, HttpStatusBodyAndTimeout) {
  httplib::Server server;
  server.Post("/drain/example.com", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("drained " + req.body + " " + req.get_header_value("X-Token"), "text/plain");
  });
  server.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    res.set_content("late", "text/plain");
  });
  server.Get("/missing", [](const httplib::Request&, httplib::Response& res) { res.status = 404; });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread t([&] { server.listen_after_bind(); });
  for (int i = 0; i < 5000 && !server.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string base = "http://127.0.0.1:" + std::to_string(port);

  SystemRunbookExecutor exec;
  RunbookStep step;
  step.kind = RunbookStep::Kind::kHttp;
  step.url = base + "/drain/example.com";
  step.body = "{}";
  step.headers = {{"X-Token", "t1"}};
  RunbookResult r = exec.Run(step, 2 * kSecond);
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.output, "drained {} t1");

  step.method = "GET";
  step.url = base + "/missing";
  r = exec.Run(step, 2 * kSecond);
  EXPECT_EQ(r.http_status, 404);
  EXPECT_FALSE(r.ok());

  step.url = base + "/slow";
  r = exec.Run(step, 200'000'000);
  EXPECT_TRUE(r.timed_out) << r.error;
  EXPECT_FALSE(r.ok());

  step.url = "ftp://example.com/x";
  r = exec.Run(step, kSecond);
  EXPECT_FALSE(r.started);

  server.stop();
  t.join();
}

// ---- remediator ----

class RemediatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto chain = AuditChain::Open(audit_path_, {.fsync = false});
    ASSERT_TRUE(chain.ok()) << chain.status().ToString();
    audit_ = std::move(chain).value();
  }

  // One action `act` that writes <dir>/ran-<entity> through /bin/sh (the entity is passed
  // as a positional parameter, never spliced into the script), plus `extra` action keys.
  std::string Policy(const std::string& extra, const std::string& script = "") const {
    const std::string body =
        script.empty() ? "echo ran > \"$0/ran-$1\"" : script;  // $0 = dir, $1 = entity
    return "actions:\n  act:\n    kind: command\n    command: [/bin/sh, -c, '" + body + "', '" +
           dir_.path() + "', '{entity}']\n" + extra +
           "rules:\n  - match: {class: [nxdomain_spike]}\n    action: act\n";
  }

  Remediator& Make(const std::string& yaml, bool execute) {
    remediator_.reset();
    policy_ = std::make_unique<RemediationPolicy>(RemediationPolicy::Parse(yaml, "policy.yaml"));
    remediator_ = std::make_unique<Remediator>(
        *policy_, clock_, *audit_, exec_, execute,
        [this](const Decision& d, const ActionOutcome& o) {
          escalated_.push_back(d.entity + ":" + std::string(RemediationOutcomeName(o.outcome)));
        });
    return *remediator_;
  }

  std::string Ran(const std::string& entity) const { return dir_ / ("ran-" + entity); }

  // The audit file holds exactly these outcomes, in order, and verifies.
  std::vector<json> ExpectAudit(const std::vector<std::string>& outcomes) {
    const auto r = VerifyAuditChain(audit_path_);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r->ok) << r->detail;
    EXPECT_EQ(r->records, outcomes.size());
    std::vector<json> records;
    std::istringstream in(ReadAll(audit_path_));
    for (std::string line; std::getline(in, line);) records.push_back(json::parse(line));
    std::vector<std::string> got;
    for (const auto& j : records) got.push_back(j["outcome"]);
    EXPECT_EQ(got, outcomes);
    return records;
  }

  TempDir dir_;
  const std::string audit_path_ = dir_ / "audit.jsonl";
  ManualClock clock_{kT0};
  SystemRunbookExecutor exec_;
  std::unique_ptr<AuditChain> audit_;
  std::unique_ptr<RemediationPolicy> policy_;
  std::unique_ptr<Remediator> remediator_;
  std::vector<std::string> escalated_;
};

TEST_F(RemediatorTest, DryRunIsTheDefaultAndRunsNothing) {
  // The policy does not say dry_run: even with the execute switch on, nothing runs.
  Remediator& r = Make(Policy(""), /*execute=*/true);
  ActionOutcome o = r.Handle(Alert("example.com"), {});
  EXPECT_EQ(o.outcome, RemediationOutcome::kDryRun);
  EXPECT_TRUE(o.dry_run);
  EXPECT_FALSE(o.executed);
  EXPECT_EQ(o.action, "act");
  EXPECT_NE(o.reason.find("dry_run: true"), std::string::npos) << o.reason;
  EXPECT_NE(o.step.find("/bin/sh -c"), std::string::npos);
  EXPECT_NE(o.step.find("example.com"), std::string::npos);
  EXPECT_FALSE(Exists(Ran("example.com")));

  // dry_run: false in the policy, but the process-wide switch is off.
  Remediator& off = Make(Policy("    dry_run: false\n"), /*execute=*/false);
  o = off.Handle(Alert("example.org"), {});
  EXPECT_EQ(o.outcome, RemediationOutcome::kDryRun);
  EXPECT_NE(o.reason.find("execution is off"), std::string::npos) << o.reason;
  EXPECT_FALSE(Exists(Ran("example.org")));

  const auto records = ExpectAudit({"dry_run", "dry_run"});
  EXPECT_EQ(records[0]["dry_run"], true);
  EXPECT_EQ(records[0]["action"], "act");
  EXPECT_EQ(records[0]["decision_id"], "dec-example.com");
  EXPECT_EQ(records[0]["rules"], json::array({1}));
  EXPECT_FALSE(records[0].contains("result"));
  EXPECT_EQ(o.audit_seq, 2u);
  EXPECT_TRUE(escalated_.empty());
}

TEST_F(RemediatorTest, ExecutesWhenPolicyAndSwitchAgree) {
  Remediator& r = Make(Policy("    dry_run: false\n"), /*execute=*/true);
  const ActionOutcome o = r.Handle(Alert("example.com"), {});
  EXPECT_EQ(o.outcome, RemediationOutcome::kSucceeded) << o.reason;
  EXPECT_TRUE(o.executed);
  EXPECT_FALSE(o.dry_run);
  EXPECT_EQ(o.result.exit_code, 0);
  ASSERT_TRUE(Exists(Ran("example.com")));
  EXPECT_EQ(ReadAll(Ran("example.com")), "ran\n");
  const auto records = ExpectAudit({"succeeded"});
  EXPECT_EQ(records[0]["dry_run"], false);
  EXPECT_EQ(records[0]["result"]["exit_code"], 0);
  EXPECT_EQ(records[0]["result"]["timed_out"], false);
  EXPECT_EQ(records[0]["preconditions"].size(), 2u);  // safe_arguments, audit_writable
  EXPECT_TRUE(escalated_.empty());
  EXPECT_EQ(r.count(RemediationOutcome::kSucceeded), 1u);
}

TEST_F(RemediatorTest, FailedRunIsReportedAndEscalated) {
  Remediator& r = Make(Policy("    dry_run: false\n", "echo broken >&2; exit 3"), true);
  const ActionOutcome o = r.Handle(Alert("example.com"), {});
  EXPECT_EQ(o.outcome, RemediationOutcome::kFailed);
  EXPECT_EQ(o.result.exit_code, 3);
  EXPECT_NE(o.reason.find("exit 3: broken"), std::string::npos) << o.reason;
  const auto records = ExpectAudit({"failed"});
  EXPECT_EQ(records[0]["result"]["exit_code"], 3);
  EXPECT_EQ(records[0]["result"]["output"], "broken\n");
  EXPECT_EQ(escalated_, std::vector<std::string>({"example.com:failed"}));
}

TEST_F(RemediatorTest, PreconditionFailureFailsClosed) {
  const std::string marker = dir_ / "third-check-ran";
  Remediator& r = Make(Policy("    dry_run: false\n"
                              "    preconditions:\n"
                              "      - min_confidence: medium\n"
                              "      - command: [/bin/sh, -c, 'echo unhealthy; exit 1']\n"
                              "        timeout: 2s\n"
                              "      - command: [/usr/bin/touch, '" +
                              marker + "']\n"),
                       true);
  ActionOutcome o = r.Handle(Alert("example.com"), {});
  EXPECT_EQ(o.outcome, RemediationOutcome::kEscalatedPrecondition);
  EXPECT_FALSE(o.executed);
  EXPECT_NE(o.reason.find("precondition command failed"), std::string::npos) << o.reason;
  EXPECT_FALSE(Exists(Ran("example.com")));
  EXPECT_FALSE(Exists(marker));  // checks stop at the first failure
  ASSERT_EQ(o.preconditions.size(), 4u);
  EXPECT_EQ(o.preconditions[2].check, "min_confidence");
  EXPECT_TRUE(o.preconditions[2].passed);
  EXPECT_EQ(o.preconditions[3].check, "command");
  EXPECT_FALSE(o.preconditions[3].passed);
  EXPECT_NE(o.preconditions[3].detail.find("exit 1: unhealthy"), std::string::npos);

  Decision low = Alert("example.org");
  low.confidence = "low";
  o = r.Handle(low, {});
  EXPECT_EQ(o.outcome, RemediationOutcome::kEscalatedPrecondition);
  EXPECT_EQ(o.preconditions.back().check, "min_confidence");
  EXPECT_EQ(o.preconditions.size(), 3u);

  const auto records = ExpectAudit({"escalated_precondition", "escalated_precondition"});
  EXPECT_EQ(records[0]["preconditions"][3]["check"], "command");
  EXPECT_EQ(records[0]["preconditions"][3]["passed"], false);
  EXPECT_FALSE(records[0].contains("result"));
  EXPECT_EQ(escalated_.size(), 2u);
  // A failed precondition does not use up the rate limit or start a cooldown.
  Remediator& again = Make(Policy("    dry_run: false\n"), true);
  EXPECT_EQ(again.Handle(Alert("example.com"), {}).outcome, RemediationOutcome::kSucceeded);
}

TEST_F(RemediatorTest, BuiltInPreconditionsUseDecisionAndContext) {
  Remediator& r = Make(Policy("    cooldown: 0\n    rate_limit: 100\n    max_entities: 100\n"
                              "    preconditions:\n"
                              "      - not_in_maintenance: true\n"
                              "      - max_blast_radius: 2\n"
                              "      - no_recent_change: 30m\n"),
                       true);
  RemediationContext quiet;
  quiet.changes_known = true;

  Decision m = Alert("a.example");
  m.maintenance = true;
  EXPECT_EQ(r.Handle(m, quiet).outcome, RemediationOutcome::kEscalatedPrecondition);
  RemediationContext in_mw = quiet;
  in_mw.in_maintenance = true;
  EXPECT_EQ(r.Handle(Alert("b.example"), in_mw).outcome,
            RemediationOutcome::kEscalatedPrecondition);

  RemediationContext wide = quiet;
  wide.blast_radius = 3;
  ActionOutcome o = r.Handle(Alert("c.example"), wide);
  EXPECT_EQ(o.outcome, RemediationOutcome::kEscalatedPrecondition);
  EXPECT_EQ(o.preconditions.back().check, "max_blast_radius");

  // No change feed: "no recent change" cannot be shown, so it fails.
  o = r.Handle(Alert("d.example"), {});
  EXPECT_EQ(o.outcome, RemediationOutcome::kEscalatedPrecondition);
  EXPECT_EQ(o.preconditions.back().detail, "no change information is available");

  RemediationContext changed = quiet;
  changed.last_change_ns = kT0 - 10 * kMinute;
  changed.last_change = "deploy d-12";
  o = r.Handle(Alert("e.example"), changed);
  EXPECT_EQ(o.outcome, RemediationOutcome::kEscalatedPrecondition);
  EXPECT_NE(o.preconditions.back().detail.find("deploy d-12 10m ago"), std::string::npos)
      << o.preconditions.back().detail;

  changed.last_change_ns = kT0 - 45 * kMinute;
  EXPECT_EQ(r.Handle(Alert("f.example"), changed).outcome, RemediationOutcome::kDryRun);
  EXPECT_EQ(r.Handle(Alert("g.example"), quiet).outcome, RemediationOutcome::kDryRun);

  ExpectAudit({"escalated_precondition", "escalated_precondition", "escalated_precondition",
               "escalated_precondition", "escalated_precondition", "dry_run", "dry_run"});
  EXPECT_EQ(escalated_.size(), 5u);
}

TEST_F(RemediatorTest, TimeoutIsKilledAndReportedQuickly) {
  const std::string yaml =
      "actions:\n  act:\n    kind: command\n    command: [/bin/sleep, '5']\n"
      "    timeout: 200ms\n    dry_run: false\n"
      "rules:\n  - match: {class: [nxdomain_spike]}\n    action: act\n";
  Remediator& r = Make(yaml, true);
  const auto start = std::chrono::steady_clock::now();
  const ActionOutcome o = r.Handle(Alert("example.com"), {});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(o.outcome, RemediationOutcome::kTimedOut);
  EXPECT_TRUE(o.result.timed_out);
  EXPECT_EQ(o.result.term_signal, SIGTERM);
  EXPECT_LT(took, std::chrono::milliseconds(1500));
  const auto records = ExpectAudit({"timed_out"});
  EXPECT_EQ(records[0]["result"]["timed_out"], true);
  EXPECT_EQ(escalated_, std::vector<std::string>({"example.com:timed_out"}));
}

TEST_F(RemediatorTest, RateLimitPerActionPerHour) {
  Remediator& r = Make(Policy("    rate_limit: 2\n    cooldown: 0\n    max_entities: 10\n"), true);
  EXPECT_EQ(r.Handle(Alert("a.example"), {}).outcome, RemediationOutcome::kDryRun);
  clock_.Advance(10 * kMinute);
  EXPECT_EQ(r.Handle(Alert("b.example"), {}).outcome, RemediationOutcome::kDryRun);
  clock_.Advance(10 * kMinute);
  ActionOutcome o = r.Handle(Alert("c.example"), {});
  EXPECT_EQ(o.outcome, RemediationOutcome::kEscalatedRateLimit);
  EXPECT_NE(o.reason.find("already ran 2 times in the last hour"), std::string::npos);
  clock_.Advance(41 * kMinute);  // a's run left the window, b's has not
  EXPECT_EQ(r.Handle(Alert("c.example"), {}).outcome, RemediationOutcome::kDryRun);
  EXPECT_EQ(r.Handle(Alert("d.example"), {}).outcome, RemediationOutcome::kEscalatedRateLimit);
  ExpectAudit({"dry_run", "dry_run", "escalated_rate_limit", "dry_run", "escalated_rate_limit"});
  EXPECT_EQ(escalated_, std::vector<std::string>(
                            {"c.example:escalated_rate_limit", "d.example:escalated_rate_limit"}));
  EXPECT_EQ(r.count(RemediationOutcome::kEscalatedRateLimit), 2u);
  EXPECT_EQ(r.count(RemediationOutcome::kDryRun), 3u);
}

TEST_F(RemediatorTest, CooldownIsPerEntity) {
  Remediator& r = Make(Policy(""), true);  // cooldown 15m by default
  EXPECT_EQ(r.Handle(Alert("a.example"), {}).outcome, RemediationOutcome::kDryRun);
  clock_.Advance(5 * kMinute);
  const ActionOutcome o = r.Handle(Alert("a.example"), {});
  EXPECT_EQ(o.outcome, RemediationOutcome::kSkippedCooldown);
  EXPECT_NE(o.reason.find("ran on a.example 5m ago (cooldown 15m)"), std::string::npos) << o.reason;
  EXPECT_EQ(r.Handle(Alert("b.example"), {}).outcome, RemediationOutcome::kDryRun);
  clock_.Advance(10 * kMinute);  // 15m after a's run
  EXPECT_EQ(r.Handle(Alert("a.example"), {}).outcome, RemediationOutcome::kDryRun);
  ExpectAudit({"dry_run", "skipped_cooldown", "dry_run", "dry_run"});
  EXPECT_TRUE(escalated_.empty());  // a cooldown skip is not an escalation
}

TEST_F(RemediatorTest, BlastRadiusCapsDistinctEntitiesPerHour) {
  Remediator& r = Make(Policy("    cooldown: 0\n    rate_limit: 100\n"), true);  // max 3
  for (const char* e : {"a.example", "b.example", "c.example"})
    EXPECT_EQ(r.Handle(Alert(e), {}).outcome, RemediationOutcome::kDryRun) << e;
  clock_.Advance(kMinute);
  ActionOutcome o = r.Handle(Alert("d.example"), {});
  EXPECT_EQ(o.outcome, RemediationOutcome::kEscalatedBlastRadius);
  EXPECT_NE(o.reason.find("already touched 3 distinct entities in the last hour "
                          "(a.example, b.example, c.example; max_entities 3)"),
            std::string::npos)
      << o.reason;
  EXPECT_FALSE(Exists(Ran("d.example")));
  // An entity already touched this hour is not a new one.
  EXPECT_EQ(r.Handle(Alert("a.example"), {}).outcome, RemediationOutcome::kDryRun);
  // An incident wider than the cap is refused outright.
  RemediationContext wide;
  wide.blast_radius = 4;
  o = r.Handle(Alert("b.example"), wide);
  EXPECT_EQ(o.outcome, RemediationOutcome::kEscalatedBlastRadius);
  EXPECT_NE(o.reason.find("touches 4 entities"), std::string::npos) << o.reason;
  clock_.Advance(kHour);
  EXPECT_EQ(r.Handle(Alert("d.example"), {}).outcome, RemediationOutcome::kDryRun);
  ExpectAudit({"dry_run", "dry_run", "dry_run", "escalated_blast_radius", "dry_run",
               "escalated_blast_radius", "dry_run"});
  EXPECT_EQ(escalated_, std::vector<std::string>({"d.example:escalated_blast_radius",
                                                  "b.example:escalated_blast_radius"}));
}

TEST_F(RemediatorTest, NoPolicyUnclearAndEscalateRulesGoToAHuman) {
  Remediator& r = Make(R"(actions:
  one:
    kind: command
    command: [/bin/true]
  two:
    kind: command
    command: [/bin/true]
rules:
  - match: {class: [nxdomain_spike]}
    action: one
  - match: {class: "*", severity: [page]}
    action: two
  - match: {class: [tunnelling]}
    action: escalate
)",
                       true);
  Decision lat = Alert("192.0.2.1", "latency_rise");
  lat.severity = "ticket";
  ActionOutcome o = r.Handle(lat, {});
  EXPECT_EQ(o.outcome, RemediationOutcome::kEscalatedNoPolicy);
  EXPECT_EQ(o.reason.rfind("no policy for class latency_rise", 0), 0u) << o.reason;
  o = r.Handle(Alert("example.com"), {});
  EXPECT_EQ(o.outcome, RemediationOutcome::kEscalatedUnclear);
  EXPECT_NE(o.reason.find("policy unclear: rules 1 and 2"), std::string::npos) << o.reason;
  EXPECT_EQ(o.action, "");
  Decision tun = Alert("t.example", "tunnelling");
  tun.severity = "ticket";
  EXPECT_EQ(r.Handle(tun, {}).outcome, RemediationOutcome::kEscalatedByRule);
  const auto records =
      ExpectAudit({"escalated_no_policy", "escalated_unclear", "escalated_by_rule"});
  EXPECT_EQ(records[1]["rules"], json::array({1, 2}));
  EXPECT_EQ(records[1]["action"], "");
  EXPECT_EQ(escalated_.size(), 3u);
}

TEST_F(RemediatorTest, NonAlertsAreSkippedWithoutARecord) {
  Remediator& r = Make(Policy(""), true);
  Decision d = Alert("example.com");
  d.alert = false;
  EXPECT_EQ(r.Handle(d, {}).outcome, RemediationOutcome::kSkippedNoAlert);
  EXPECT_EQ(r.count(RemediationOutcome::kSkippedNoAlert), 1u);
  ExpectAudit({});
  EXPECT_TRUE(r.Recent(10).empty());
}

TEST_F(RemediatorTest, UnsafeEntityIsRefusedBeforeAnythingRuns) {
  Remediator& r = Make(Policy("    dry_run: false\n"), true);
  for (const char* bad : {"-rf", "x.example; touch pwned", "$(touch pwned)", ""}) {
    const ActionOutcome o = r.Handle(Alert(bad), {});
    EXPECT_EQ(o.outcome, RemediationOutcome::kEscalatedPrecondition) << bad;
    ASSERT_EQ(o.preconditions.size(), 1u);
    EXPECT_EQ(o.preconditions[0].check, "safe_arguments");
    EXPECT_FALSE(o.executed);
  }
  EXPECT_FALSE(Exists("pwned"));
  ExpectAudit(std::vector<std::string>(4, "escalated_precondition"));
}

TEST_F(RemediatorTest, RecentIsNewestFirstJson) {
  Remediator& r = Make(Policy("    cooldown: 0\n"), true);
  r.Handle(Alert("a.example"), {});
  clock_.Advance(kSecond);
  r.Handle(Alert("b.example", "dga"), {});
  const auto recent = r.Recent(5);
  ASSERT_EQ(recent.size(), 2u);
  const json newest = json::parse(recent[0]);
  EXPECT_EQ(newest["entity"], "b.example");
  EXPECT_EQ(newest["outcome"], "escalated_no_policy");
  EXPECT_EQ(newest["audit_seq"], 2);
  EXPECT_EQ(json::parse(recent[1])["outcome"], "dry_run");
  EXPECT_EQ(r.Recent(1).size(), 1u);
  const auto counts = r.Counts();
  EXPECT_EQ(counts[static_cast<size_t>(RemediationOutcome::kDryRun)], 1u);
  EXPECT_EQ(counts[static_cast<size_t>(RemediationOutcome::kEscalatedNoPolicy)], 1u);
  EXPECT_EQ(r.audit_errors(), 0u);
}

TEST(RemediationOutcome, NamesAreStable) {
  const std::vector<std::string> expected = {"dry_run",
                                             "succeeded",
                                             "failed",
                                             "timed_out",
                                             "escalated_no_policy",
                                             "escalated_unclear",
                                             "escalated_by_rule",
                                             "escalated_precondition",
                                             "escalated_rate_limit",
                                             "escalated_blast_radius",
                                             "skipped_cooldown",
                                             "skipped_no_alert"};
  ASSERT_EQ(expected.size(), kRemediationOutcomeCount);
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(RemediationOutcomeName(static_cast<RemediationOutcome>(i)), expected[i]);
}

}  // namespace
}  // namespace dnsight
