#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "serve/audit_log.h"
#include "unit/temp_dir.h"

namespace dnsight {
namespace {

using nlohmann::json;
using test_support::TempDir;

TEST(AuditLog, OneJsonLinePerRecord) {
  AuditRecord r;
  r.ts_ns = 1'795'000'000'123'000'000;
  r.who = "alice \"the\" reader";
  r.role = "reader";
  r.action = "get";
  r.view = "client";
  r.entities = 3;
  r.status = 200;
  r.remote = "::1";
  std::string line;
  AppendAuditJson(r, &line);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const json j = json::parse(line);
  EXPECT_EQ(j["ts"], "2026-11-18T11:06:40.123Z");
  EXPECT_EQ(j["who"], "alice \"the\" reader");
  EXPECT_EQ(j["entities"], 3);
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["remote"], "::1");
}

TEST(AuditLog, ConcurrentAppendsNeverInterleave) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  auto log = AuditLog::Open(path);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  constexpr int kThreads = 4, kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      const std::string who = "thread-" + std::to_string(t) + std::string(200, 'x');
      for (int i = 0; i < kPerThread; ++i) {
        AuditRecord r;
        r.who = who;
        r.action = "batch_get";
        r.entities = static_cast<uint64_t>(i);
        r.status = 200;
        ASSERT_TRUE((*log)->Append(r).ok());
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ((*log)->records_written(), uint64_t{kThreads * kPerThread});
  std::ifstream in(path);
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    const json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "line " << lines << ": " << line;
    EXPECT_EQ(j["action"], "batch_get");
  }
  EXPECT_EQ(lines, kThreads * kPerThread);
}

TEST(AuditLog, ReopenAppends) {
  TempDir dir;
  const std::string path = dir / "audit.jsonl";
  for (int round = 0; round < 2; ++round) {
    auto log = AuditLog::Open(path);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append(AuditRecord{}).ok());
  }
  std::ifstream in(path);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, 2);
}

TEST(AuditLog, ErrorsAreReported) {
  EXPECT_EQ(AuditLog::Open("/nonexistent-dir/audit.jsonl").status().code(), StatusCode::kIoError);
  auto full = AuditLog::Open("/dev/full");
  if (!full.ok()) GTEST_SKIP() << "/dev/full not available";
  EXPECT_EQ((*full)->Append(AuditRecord{}).code(), StatusCode::kIoError);
  EXPECT_EQ((*full)->write_errors(), 1u);
}

}  // namespace
}  // namespace dnsight
