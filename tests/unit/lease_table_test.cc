#include "features/lease_table.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/time_util.h"
#include "engine/config.h"
#include "unit/temp_dir.h"

namespace dnsight {
namespace {

const int64_t kT0 = *ParseRfc3339("2026-11-23T10:00:00Z");
constexpr int64_t kMin = 60'000'000'000;

IpAddress Ip(const char* s) {
  return *IpAddress::Parse(s);
}

TEST(LeaseTable, ResolvesByTimeWithHalfOpenIntervalsAndLatestStartWinning) {
  LeaseTable t;
  ASSERT_TRUE(
      t.AddJsonLine(
           R"({"ip":"10.0.0.5","device":"laptop","from":"2026-11-23T10:00:00Z","to":"2026-11-23T11:00:00Z"})")
          .ok());
  ASSERT_TRUE(
      t.AddJsonLine(R"({"ip":"10.0.0.5","device":"phone","from":"2026-11-23T11:00:00Z"})").ok());
  // An overlapping lease that started later wins while it lasts.
  ASSERT_TRUE(
      t.AddJsonLine(
           R"({"ip":"10.0.0.5","device":"tablet","from":"2026-11-23T10:30:00Z","to":"2026-11-23T10:40:00Z"})")
          .ok());
  t.Seal();
  const IpAddress ip = Ip("10.0.0.5");
  EXPECT_EQ(t.Resolve(ip, kT0 - 1), "");
  EXPECT_EQ(t.Resolve(ip, kT0), "laptop");
  EXPECT_EQ(t.Resolve(ip, kT0 + 35 * kMin), "tablet");
  EXPECT_EQ(t.Resolve(ip, kT0 + 45 * kMin), "laptop");  // the earlier, longer lease again
  EXPECT_EQ(t.Resolve(ip, kT0 + 60 * kMin - 1), "laptop");
  EXPECT_EQ(t.Resolve(ip, kT0 + 60 * kMin), "phone");    // [from, to): 11:00 is phone's
  EXPECT_EQ(t.Resolve(ip, kT0 + 1000 * kMin), "phone");  // open lease
  EXPECT_EQ(t.Resolve(Ip("10.0.0.6"), kT0), "");
  EXPECT_EQ(t.leases(), 3u);
}

TEST(LeaseTable, CountsAndSamplesMalformedLines) {
  LeaseTable t;
  EXPECT_EQ(t.AddJsonLine("{").message(), "bad_json");
  EXPECT_EQ(t.AddJsonLine(R"({"device":"x","from":1})").message(), "missing_ip");
  EXPECT_EQ(t.AddJsonLine(R"({"ip":"999.1.1.1","device":"x","from":1})").message(), "bad_ip");
  EXPECT_EQ(t.AddJsonLine(R"({"ip":"10.0.0.1","device":"","from":1})").message(), "bad_device");
  EXPECT_EQ(t.AddJsonLine(R"({"ip":"10.0.0.1","device":"x","from":"noon"})").message(), "bad_from");
  EXPECT_EQ(t.AddJsonLine(R"({"ip":"10.0.0.1","device":"x","from":5,"to":5})").message(),
            "empty_interval");
  EXPECT_EQ(t.rejected(), 6u);
  EXPECT_EQ(t.rejected_samples().size(), 5u);
  EXPECT_EQ(t.leases(), 0u);
}

TEST(LeaseTable, DeviceEntityFollowsTheLeaseAcrossAddressChanges) {
  test_support::TempDir dir;
  {
    std::ofstream f(dir / "leases.jsonl");
    f << R"({"ip":"10.0.0.5","device":"laptop","from":"2026-11-23T10:00:00Z","to":"2026-11-23T11:00:00Z"})"
      << "\n"
      << R"({"ip":"10.0.0.9","device":"laptop","from":"2026-11-23T11:00:00Z"})"
      << "\n"
      << "garbage\n";
  }
  const EngineConfig cfg = ParseConfig("leases: {files: [" + (dir / "leases.jsonl") +
                                           "]}\nviews:\n  - {name: dev, entity: device, windows: "
                                           "[1m], aggregations: [{name: q, kind: count}]}\n",
                                       "t.yaml");
  ASSERT_EQ(cfg.lease_table->leases(), 2u);
  EXPECT_EQ(cfg.lease_table->rejected(), 1u);
  const FeatureView& v = cfg.views[0];
  DnsEventBatch b;
  DnsEvent e{};
  e.client = Ip("10.0.0.5");
  e.ts_ns = kT0 + 5 * kMin;
  std::string k1, k2, k3;
  v.EntityKey(b, e, &k1);
  e.client = Ip("10.0.0.9");
  e.ts_ns = kT0 + 65 * kMin;
  v.EntityKey(b, e, &k2);
  e.ts_ns = kT0 + 5 * kMin;  // 10.0.0.9 was not leased yet
  v.EntityKey(b, e, &k3);
  EXPECT_EQ(k1, k2);
  EXPECT_EQ(v.EntityText(k1), "laptop");
  EXPECT_EQ(v.EntityText(k3), "unleased:10.0.0.9");
}

TEST(LeaseTable, DeviceViewWithoutLeasesIsAConfigError) {
  EXPECT_THROW(ParseConfig("views:\n  - {name: dev, entity: device, windows: [1m], aggregations: "
                           "[{name: q, kind: count}]}\n",
                           "t.yaml"),
               ConfigError);
}

}  // namespace
}  // namespace dnsight
