#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/time_util.h"
#include "serve/http_api.h"
#include "unit/temp_dir.h"

namespace dnsight {
namespace {

using nlohmann::json;
using test_support::TempDir;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'795'000'000 * kSec;  // 2026-11-18T11:06:40Z, a window end

RegisteredView View(std::string name, std::string version, std::vector<std::string> features,
                    int64_t ttl_ns) {
  RegisteredView v;
  v.name = std::move(name);
  v.version = std::move(version);
  v.entity = "client";
  v.owner = "dns-team";
  v.description = "per-client query features";
  v.ttl_ns = ttl_ns;
  v.feature_names = std::move(features);
  v.registered_at_ns = 1;
  v.lineage.sources = {"jsonl:/var/log/dns.jsonl"};
  return v;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto reg = Registry::Open(dir_ / "registry");
    ASSERT_TRUE(reg.ok()) << reg.status().ToString();
    registry_ = std::move(reg.value());
    auto store = OpenEmbeddedOnlineStore(dir_ / "online");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    online_ = std::move(store.value());
    OfflineOptions oo;
    oo.dir = dir_ / "offline";
    auto offline = OfflineStore::Open(oo);
    ASSERT_TRUE(offline.ok()) << offline.status().ToString();
    offline_ = std::move(offline.value());
    auto audit = AuditLog::Open(audit_path_);
    ASSERT_TRUE(audit.ok()) << audit.status().ToString();
    audit_ = std::move(audit.value());
    service_ = std::make_unique<FeatureService>(*registry_, *online_, clock_);

    ASSERT_TRUE(
        registry_->Register(View("client", "v1", {"queries_1m", "nx_ratio"}, 60 * kSec)).ok());
    RegisteredView secret = View("secret", "s1", {"score"}, 0);
    secret.sensitivity = "sensitive";
    secret.allowed_roles = {"trainer"};
    ASSERT_TRUE(registry_->Register(secret).ok());
    const std::vector<OnlineRecord> records = {
        {"client", "192.0.2.7", "v1", kT0, {12, std::nan("")}},
        {"client", "192.0.2.8", "v1", kT0 - 10 * kSec, {3, 0.5}},
        {"secret", "192.0.2.7", "s1", kT0, {0.9}},
    };
    ASSERT_TRUE(online_->Put(records).ok());
    OfflineBlock block;
    block.view = "client";
    block.version = "v1";
    block.feature_names = {"queries_1m", "nx_ratio"};
    block.window_end_ns = {kT0 - 60 * kSec, kT0};
    block.entities = {"192.0.2.7", "192.0.2.7"};
    block.values = {5, 12, 0.1, 0.2};  // feature-major
    ASSERT_TRUE(offline_->Append(block).ok());
    clock_.Set(kT0 + 2 * kSec);
  }

  void TearDown() override {
    if (api_) api_->Stop();
  }

  static std::vector<ApiToken> Tokens() {
    return {{"alice", Role::kReader, Sha256Hex("reader-token")},
            {"model-training", Role::kTrainer, Sha256Hex("trainer-token")},
            {"ops", Role::kAdmin, Sha256Hex("admin-token")}};
  }

  void Start(ApiConfig config = {}, HttpApiLimits limits = {}, bool with_offline = true) {
    if (config.listen.empty()) config.listen = "127.0.0.1:0";
    api_ = std::make_unique<HttpApi>(config, *service_, *registry_,
                                     with_offline ? offline_.get() : nullptr,
                                     Authenticator(Tokens()), *audit_, clock_, limits);
    Status s = api_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_GT(api_->port(), 0);
  }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", api_->port());
    c.set_read_timeout(10, 0);
    return c;
  }

  httplib::Result Post(const std::string& path, const std::string& body, const std::string& token,
                       const std::string& type = "application/json") {
    auto c = Client();
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return c.Post(path.c_str(), h, body, type.c_str());
  }
  httplib::Result Get(const std::string& path, const std::string& token) {
    auto c = Client();
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return c.Get(path.c_str(), h);
  }

  static std::string ErrorOf(const httplib::Result& r) {
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded() || !j.contains("error")) return "<no error field: " + r->body + ">";
    return j["error"].get<std::string>();
  }

  std::vector<json> AuditLines() {
    std::vector<json> out;
    for (const auto& l : ReadLines(audit_path_)) out.push_back(json::parse(l));
    return out;
  }

  TempDir dir_;
  std::string audit_path_ = dir_ / "audit.jsonl";
  ManualClock clock_{0};
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<OnlineStore> online_;
  std::unique_ptr<OfflineStore> offline_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<FeatureService> service_;
  std::unique_ptr<HttpApi> api_;
};

TEST(ListenAddress, Parses) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(ParseListenAddress("127.0.0.1:8080", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(ParseListenAddress("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  EXPECT_FALSE(ParseListenAddress("localhost", &host, &port).ok());
  EXPECT_FALSE(ParseListenAddress("localhost:99999", &host, &port).ok());
  EXPECT_FALSE(ParseListenAddress("localhost:8x", &host, &port).ok());
  EXPECT_FALSE(ParseListenAddress("[::1]8080", &host, &port).ok());
}

TEST_F(HttpApiTest, HealthNeedsNoToken) {
  Start();
  auto r = Get("/v1/health", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["status"], "ok");
}

TEST_F(HttpApiTest, GetFreshFeatures) {
  Start();
  auto r = Post("/v1/features/get", R"({"views":["client"],"entity":"192.0.2.7"})", "reader-token");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  const json j = json::parse(r->body);
  EXPECT_EQ(j["entity"], "192.0.2.7");
  const json& v = j["views"]["client"];
  EXPECT_EQ(v["status"], "fresh");
  EXPECT_EQ(v["version"], "v1");
  EXPECT_EQ(v["window_end"], "2026-11-18T11:06:40Z");
  EXPECT_EQ(v["staleness_ms"], 2000);
  EXPECT_EQ(v["features"]["queries_1m"]["value"], 12);
  EXPECT_EQ(v["features"]["queries_1m"]["staleness_ms"], 2000);
  EXPECT_TRUE(v["features"]["nx_ratio"]["value"].is_null()) << "NaN is served as null";
}

TEST_F(HttpApiTest, ExpiredValuesAreWithheldAndMarked) {
  Start();
  clock_.Set(kT0 + 61 * kSec);
  auto r = Post("/v1/features/get", R"({"views":["client"],"entity":"192.0.2.7"})", "reader-token");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json v = json::parse(r->body)["views"]["client"];
  EXPECT_EQ(v["status"], "expired");
  EXPECT_EQ(v["staleness_ms"], 61000);
  EXPECT_TRUE(v["features"]["queries_1m"]["value"].is_null());
}

TEST_F(HttpApiTest, Authentication) {
  Start();
  const std::string body = R"({"views":["client"],"entity":"192.0.2.7"})";
  auto none = Post("/v1/features/get", body, "");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(ErrorOf(none), "missing bearer token");
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  auto bad = Post("/v1/features/get", body, "guess");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 401);
  EXPECT_EQ(ErrorOf(bad), "unknown token");
  auto list = Get("/v1/views", "");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 401);
  EXPECT_EQ(api_->counters().unauthenticated.load(), 3u);
  // Failed authentications are audited too, without a principal.
  const auto lines = AuditLines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["who"], "");
  EXPECT_EQ(lines[0]["status"], 401);
  EXPECT_EQ(lines[0]["action"], "get");
}

TEST_F(HttpApiTest, ErrorsAreJsonWithAReason) {
  Start();
  auto unknown =
      Post("/v1/features/get", R"({"views":["client","nope"],"entity":"x"})", "reader-token");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(ErrorOf(unknown), "unknown view 'nope'");

  auto absent =
      Post("/v1/features/get", R"({"views":["client"],"entity":"203.0.113.1"})", "reader-token");
  ASSERT_TRUE(absent);
  EXPECT_EQ(absent->status, 404);
  EXPECT_EQ(ErrorOf(absent), "entity '203.0.113.1' has no features in client");

  auto malformed = Post("/v1/features/get", R"({"views":["client"],)", "reader-token");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_NE(
      ErrorOf(malformed).find("malformed JSON: parse error at line 1, column 21: syntax error"),
      std::string::npos)
      << ErrorOf(malformed);

  auto wrong_type = Post("/v1/features/get", R"({"views":"client","entity":"x"})", "reader-token");
  ASSERT_TRUE(wrong_type);
  EXPECT_EQ(wrong_type->status, 400);
  EXPECT_EQ(ErrorOf(wrong_type), "'views' must be an array of strings");

  auto no_entity = Post("/v1/features/get", R"({"views":["client"]})", "reader-token");
  ASSERT_TRUE(no_entity);
  EXPECT_EQ(no_entity->status, 400);
  EXPECT_EQ(ErrorOf(no_entity), "missing field 'entity' (a string)");

  auto not_object = Post("/v1/features/get", "[1]", "reader-token");
  ASSERT_TRUE(not_object);
  EXPECT_EQ(not_object->status, 400);
  EXPECT_EQ(ErrorOf(not_object), "the request body must be a JSON object");

  auto no_route = Get("/v2/nothing", "reader-token");
  ASSERT_TRUE(no_route);
  EXPECT_EQ(no_route->status, 404);
  EXPECT_EQ(ErrorOf(no_route), "no such endpoint: GET /v2/nothing");
}

TEST_F(HttpApiTest, BatchMarksAbsentEntitiesAndIsLimited) {
  HttpApiLimits limits;
  limits.max_batch_entities = 3;
  Start({}, limits);
  auto r =
      Post("/v1/features/batch",
           R"({"views":["client"],"entities":["192.0.2.7","nobody","192.0.2.8"]})", "reader-token");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  ASSERT_EQ(j["results"].size(), 3u);
  EXPECT_EQ(j["results"][0]["found"], true);
  EXPECT_EQ(j["results"][1]["entity"], "nobody");
  EXPECT_EQ(j["results"][1]["found"], false);
  EXPECT_EQ(j["results"][1]["views"]["client"]["status"], "absent");
  EXPECT_EQ(j["results"][2]["views"]["client"]["features"]["nx_ratio"]["value"], 0.5);
  EXPECT_EQ(j["results"][2]["views"]["client"]["staleness_ms"], 12000);

  auto big = Post("/v1/features/batch", R"({"views":["client"],"entities":["a","b","c","d"]})",
                  "reader-token");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(ErrorOf(big), "batch of 4 entities is over the limit of 3");
}

TEST_F(HttpApiTest, OversizedBodyIsRejected) {
  HttpApiLimits limits;
  limits.max_body_bytes = 1024;
  Start({}, limits);
  const std::string body = R"({"views":["client"],"entity":")" + std::string(2000, 'x') + R"("})";
  auto r = Post("/v1/features/get", body, "reader-token");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(ErrorOf(r), "request body over the limit of 1024 bytes");
}

TEST_F(HttpApiTest, SensitiveViewOnlyForAllowedRoles) {
  Start();
  const std::string body = R"({"views":["secret"],"entity":"192.0.2.7"})";
  auto reader = Post("/v1/features/get", body, "reader-token");
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->status, 403);
  EXPECT_EQ(ErrorOf(reader), "view 'secret' is sensitive; role 'reader' may not read it");
  auto trainer = Post("/v1/features/get", body, "trainer-token");
  ASSERT_TRUE(trainer);
  EXPECT_EQ(trainer->status, 200) << trainer->body;
  EXPECT_EQ(json::parse(trainer->body)["views"]["secret"]["features"]["score"]["value"], 0.9);
  auto admin = Post("/v1/features/get", body, "admin-token");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->status, 200);

  // Listed for the reader, but marked unreadable.
  auto list = Get("/v1/views", "reader-token");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200);
  const json views = json::parse(list->body)["views"];
  ASSERT_EQ(views.size(), 2u);
  EXPECT_EQ(views[0]["name"], "client");
  EXPECT_EQ(views[0]["readable"], true);
  EXPECT_EQ(views[0]["ttl"], "1m");
  EXPECT_EQ(views[0]["features"], json::array({"queries_1m", "nx_ratio"}));
  EXPECT_EQ(views[1]["name"], "secret");
  EXPECT_EQ(views[1]["readable"], false);
  EXPECT_EQ(views[1]["sensitivity"], "sensitive");
}

TEST_F(HttpApiTest, AuditRecordsOnePerViewWithEntityCounts) {
  Start();
  ASSERT_EQ(
      Post("/v1/features/batch",
           R"({"views":["client","secret"],"entities":["192.0.2.7","192.0.2.8"]})", "trainer-token")
          ->status,
      200);
  ASSERT_EQ(Post("/v1/features/get", R"({"views":["secret"],"entity":"192.0.2.7"})", "reader-token")
                ->status,
            403);
  const auto lines = AuditLines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["who"], "model-training");
  EXPECT_EQ(lines[0]["role"], "trainer");
  EXPECT_EQ(lines[0]["action"], "batch_get");
  EXPECT_EQ(lines[0]["view"], "client");
  EXPECT_EQ(lines[0]["entities"], 2);
  EXPECT_EQ(lines[0]["status"], 200);
  EXPECT_EQ(lines[0]["ts"], "2026-11-18T11:06:42Z");
  EXPECT_EQ(lines[0]["remote"], "127.0.0.1");
  EXPECT_EQ(lines[1]["view"], "secret");
  EXPECT_EQ(lines[1]["entities"], 2);
  EXPECT_EQ(lines[2]["who"], "alice");
  EXPECT_EQ(lines[2]["action"], "get");
  EXPECT_EQ(lines[2]["view"], "secret");
  EXPECT_EQ(lines[2]["entities"], 1);
  EXPECT_EQ(lines[2]["status"], 403);
  EXPECT_EQ(audit_->records_written(), 3u);
}

TEST_F(HttpApiTest, HistoricalNeedsTrainerAndJoinsPointInTime) {
  Start();
  const std::string body = R"({"views":["client"],"rows":[
      {"entity":"192.0.2.7","timestamp":"2026-11-18T11:06:20Z","label":1},
      {"entity":"192.0.2.7","timestamp":)" +
                           std::to_string(kT0) + R"(,"label":"fraud"},
      {"entity":"nobody","timestamp":"2026-11-18T11:06:20Z"}]})";
  auto reader = Post("/v1/features/historical", body, "reader-token");
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->status, 403);
  EXPECT_EQ(ErrorOf(reader), "role 'reader' may not run point-in-time retrieval (needs trainer)");

  auto r = Post("/v1/features/historical", body, "trainer-token");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/x-ndjson");
  std::istringstream in(r->body);
  std::vector<json> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["client__queries_1m"], 5);  // the window that ended 40 s before
  EXPECT_EQ(rows[0]["label"], "1");
  EXPECT_EQ(rows[1]["client__queries_1m"], 12);  // window end == timestamp counts
  EXPECT_EQ(rows[1]["label"], "fraud");
  EXPECT_TRUE(rows[2]["client__queries_1m"].is_null());

  const auto lines = AuditLines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["status"], 403);
  EXPECT_EQ(lines[1]["action"], "historical");
  EXPECT_EQ(lines[1]["view"], "client");
  EXPECT_EQ(lines[1]["entities"], 3);
  EXPECT_EQ(lines[1]["status"], 200);
}

TEST_F(HttpApiTest, HistoricalFromCsvSpine) {
  Start();
  const std::string csv = "entity,timestamp,label\n192.0.2.7,2026-11-18T11:07:20Z,0\n";
  auto r = Post("/v1/features/historical?views=client", csv, "admin-token", "text/csv");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/csv");
  EXPECT_EQ(r->body.substr(0, r->body.find('\n')),
            "entity,timestamp,label,client__window_end,client__queries_1m,client__nx_ratio");
  EXPECT_NE(r->body.find(",12,0.2"), std::string::npos) << r->body;

  auto bad = Post("/v1/features/historical?views=client", "entity\nx\n", "admin-token", "text/csv");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(ErrorOf(bad).rfind("spine: ", 0), 0u) << ErrorOf(bad);

  auto no_views = Post("/v1/features/historical", csv, "admin-token", "text/csv");
  ASSERT_TRUE(no_views);
  EXPECT_EQ(no_views->status, 400);
}

TEST_F(HttpApiTest, HistoricalWithoutOfflineStoreIs503) {
  Start({}, {}, /*with_offline=*/false);
  auto r = Post("/v1/features/historical",
                R"({"views":["client"],"rows":[{"entity":"a","timestamp":1}]})", "trainer-token");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
}

TEST_F(HttpApiTest, RegisterDescribeAndDiff) {
  Start();
  RegisteredView v2 = View("client", "v2", {"queries_1m", "nx_ratio", "ttl_mean"}, 120 * kSec);
  v2.registered_at_ns = 0;  // set by the server
  const std::string body = RegisteredViewToJson(v2);
  auto reader = Post("/v1/views", body, "reader-token");
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->status, 403);
  auto added = Post("/v1/views", body, "admin-token");
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 200) << added->body;
  EXPECT_EQ(json::parse(added->body)["new"], true);
  EXPECT_EQ(json::parse(added->body)["version"], "v2");
  auto again = Post("/v1/views", body, "admin-token");
  ASSERT_TRUE(again);
  EXPECT_EQ(json::parse(again->body)["new"], false);
  auto invalid = Post("/v1/views", R"({"name":"x"})", "admin-token");
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->status, 400);

  auto d = Get("/v1/views/client", "reader-token");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->status, 200) << d->body;
  const json j = json::parse(d->body);
  EXPECT_EQ(j["version"], "v2");
  ASSERT_EQ(j["versions"].size(), 2u);
  EXPECT_EQ(j["versions"][0]["version"], "v1");
  EXPECT_EQ(j["versions"][0]["lineage"]["sources"], json::array({"jsonl:/var/log/dns.jsonl"}));
  EXPECT_EQ(j["latest"]["registered_at_ns"], kT0 + 2 * kSec);

  auto diff = Get("/v1/views/client/diff?from=v1&to=v2", "reader-token");
  ASSERT_TRUE(diff);
  ASSERT_EQ(diff->status, 200) << diff->body;
  EXPECT_NE(diff->body.find("ttl: 1m -> 2m"), std::string::npos) << diff->body;
  EXPECT_NE(diff->body.find("+ ttl_mean"), std::string::npos) << diff->body;
  auto default_diff = Get("/v1/views/client/diff", "reader-token");
  ASSERT_TRUE(default_diff);
  EXPECT_EQ(default_diff->body, diff->body);
  auto missing = Get("/v1/views/client/diff?from=v7", "reader-token");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto unknown = Get("/v1/views/nope", "reader-token");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(ErrorOf(unknown), "unknown view 'nope'");

  // The registration is visible to reads at once (the service's cache was invalidated).
  ASSERT_TRUE(
      online_->Put(std::vector<OnlineRecord>{{"client", "192.0.2.9", "v2", kT0 + kSec, {1, 2, 3}}})
          .ok());
  auto r = Post("/v1/features/get", R"({"views":["client"],"entity":"192.0.2.9"})", "reader-token");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["views"]["client"]["features"]["ttl_mean"]["value"], 3);
}

TEST_F(HttpApiTest, KeepAliveConnectionServesManyRequests) {
  Start();
  auto c = Client();
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);  // the request goes out in two writes: no Nagle delay
  httplib::Headers h{{"Authorization", "Bearer reader-token"}};
  for (int i = 0; i < 50; ++i) {
    auto r = c.Post("/v1/features/get", h, R"({"views":["client"],"entity":"192.0.2.7"})",
                    "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
  }
}

TEST_F(HttpApiTest, FeatureReadsFailWhenTheAuditLogCannotBeWritten) {
  auto full = AuditLog::Open("/dev/full");
  if (!full.ok()) GTEST_SKIP() << "/dev/full not available";
  audit_ = std::move(full.value());
  Start();
  auto r = Post("/v1/features/get", R"({"views":["client"],"entity":"192.0.2.7"})", "reader-token");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(ErrorOf(r), "audit log unavailable; request refused");
  EXPECT_EQ(r->body.find("queries_1m"), std::string::npos);
  auto list = Get("/v1/views", "reader-token");  // not a feature read: still answered
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_EQ(api_->counters().audit_failures.load(), 2u);
}

TEST_F(HttpApiTest, ConcurrentReadsWhileViewsAreRegistered) {
  ApiConfig config;
  config.threads = 4;
  Start(config);
  constexpr int kClients = 3, kRequests = 40;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t)
    clients.emplace_back([&] {
      auto c = Client();
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);
      httplib::Headers h{{"Authorization", "Bearer trainer-token"}};
      for (int i = 0; i < kRequests; ++i) {
        auto r = c.Post("/v1/features/batch", h,
                        R"({"views":["client","secret"],"entities":["192.0.2.7","192.0.2.8"]})",
                        "application/json");
        if (r && r->status == 200) ok.fetch_add(1);
      }
    });
  for (int i = 0; i < 10; ++i) {
    RegisteredView v = View("client", "v1", {"queries_1m", "nx_ratio"}, (60 + i) * kSec);
    auto r = Post("/v1/views", RegisteredViewToJson(v), "admin-token");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  EXPECT_EQ(AuditLines().size(), size_t{kClients * kRequests * 2 + 10});
}

TEST_F(HttpApiTest, StartFailsOnBadTlsFiles) {
  ApiConfig config;
  config.listen = "127.0.0.1:0";
  config.tls_cert = dir_ / "missing.pem";
  config.tls_key = dir_ / "missing.key";
  HttpApi api(config, *service_, *registry_, offline_.get(), Authenticator(Tokens()), *audit_,
              clock_);
  Status s = api.Start();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  config.tls_key.clear();
  HttpApi half(config, *service_, *registry_, offline_.get(), Authenticator(Tokens()), *audit_,
               clock_);
  EXPECT_FALSE(half.Start().ok());
}

TEST_F(HttpApiTest, Https) {
  const std::string cert = dir_ / "cert.pem", key = dir_ / "key.pem";
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
      " -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  if (std::system("command -v openssl >/dev/null 2>&1") != 0 || std::system(cmd.c_str()) != 0)
    GTEST_SKIP() << "openssl CLI not available";
  ApiConfig config;
  config.tls_cert = cert;
  config.tls_key = key;
  Start(config);
  EXPECT_TRUE(api_->tls());
  httplib::SSLClient c("127.0.0.1", api_->port());
  c.enable_server_certificate_verification(false);
  c.set_read_timeout(10, 0);
  httplib::Headers h{{"Authorization", "Bearer reader-token"}};
  auto r = c.Post("/v1/features/get", h, R"({"views":["client"],"entity":"192.0.2.7"})",
                  "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["views"]["client"]["status"], "fresh");
  // Plain HTTP to the TLS port does not get an answer.
  auto plain = Client().Get("/v1/health");
  EXPECT_TRUE(!plain || plain->status != 200);
}

}  // namespace
}  // namespace dnsight

namespace dnsight {
namespace {

class HttpDetectionTest : public HttpApiTest {
 protected:
  void StartWithDetection() {
    ApiConfig config;
    config.listen = "127.0.0.1:0";
    api_ = std::make_unique<HttpApi>(config, *service_, *registry_, offline_.get(),
                                     Authenticator(Tokens()), *audit_, clock_);
    api_->AttachDetection(&decisions_, &changes_);
    ASSERT_TRUE(api_->Start().ok());
  }
  Decision Make(const std::string& klass, int64_t ts) {
    Decision d;
    d.id = "dec-" + std::to_string(ts);
    d.klass = klass;
    d.ts_ns = ts;
    d.alert = true;
    d.entity = "192.0.2.11";
    return d;
  }
  DecisionLog decisions_{3};
  ChangeEvents changes_;
};

TEST_F(HttpDetectionTest, RecentDecisionsFilteredBySinceAndClass) {
  StartWithDetection();
  decisions_.Append(Make("latency_rise", kT0));
  decisions_.Append(Make("dga", kT0 + kSec));
  decisions_.Append(Make("latency_rise", kT0 + 2 * kSec));
  decisions_.Append(Make("latency_rise", kT0 + 3 * kSec));  // the ring holds 3: first dropped
  auto r = Get("/v1/decisions", "reader-token");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  ASSERT_EQ(j["decisions"].size(), 3u);
  EXPECT_EQ(j["decisions"][0]["class"], "dga");
  r = Get("/v1/decisions?class=latency_rise&since=" + FormatRfc3339(kT0 + 3 * kSec),
          "reader-token");
  ASSERT_EQ(r->status, 200);
  j = json::parse(r->body);
  ASSERT_EQ(j["decisions"].size(), 1u);
  EXPECT_EQ(j["decisions"][0]["ts_ns"], kT0 + 3 * kSec);
  EXPECT_EQ(Get("/v1/decisions?since=yesterday", "reader-token")->status, 400);
  EXPECT_EQ(Get("/v1/decisions", "")->status, 401);
}

TEST_F(HttpDetectionTest, ChangeEventsNeedAdminAndAreValidated) {
  StartWithDetection();
  const std::string window =
      R"({"events":[{"ts":"2026-11-23T10:00:00Z","kind":"maintenance_start","scope":{"kind":"resolver","value":"192.0.2.11"},"id":"mw-1"},
          {"ts":"2026-11-23T11:00:00Z","kind":"maintenance_end","scope":{"kind":"resolver","value":"192.0.2.11"},"id":"mw-1"}]})";
  EXPECT_EQ(Post("/v1/changes", window, "reader-token")->status, 403);
  auto r = Post("/v1/changes", window, "admin-token");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["accepted"], 2);
  const std::string scope[] = {"192.0.2.11"};
  EXPECT_TRUE(changes_.MaintenanceAt(scope, *ParseRfc3339("2026-11-23T10:30:00Z")));
  EXPECT_FALSE(changes_.MaintenanceAt(scope, *ParseRfc3339("2026-11-23T11:00:00Z")));
  r = Post("/v1/changes", R"({"ts":"2026-11-23T10:00:00Z","kind":"reboot"})", "admin-token");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(ErrorOf(r), "change event 0: unknown_kind");
}

TEST_F(HttpApiTest, DetectionEndpointsWithoutDetectionAre503) {
  Start();
  EXPECT_EQ(Get("/v1/decisions", "reader-token")->status, 503);
  EXPECT_EQ(Post("/v1/changes", "{}", "admin-token")->status, 503);
}

}  // namespace
}  // namespace dnsight
