#include "store/offline_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/time_util.h"
#include "unit/temp_dir.h"

namespace dnsight {
namespace {

using test_support::TempDir;
namespace fs = std::filesystem;

constexpr int64_t kSec = 1'000'000'000;
const int64_t kT0 = *ParseRfc3339("2026-11-23T10:00:00Z");

OfflineBlock MakeBlock(int64_t window_end, std::vector<std::string> entities, double base) {
  OfflineBlock b;
  b.view = "client";
  b.version = "v1";
  b.feature_names = {"queries_1m", "nxdomain_ratio_1m"};
  for (size_t i = 0; i < entities.size(); ++i) b.window_end_ns.push_back(window_end);
  b.entities = std::move(entities);
  for (size_t f = 0; f < 2; ++f)
    for (size_t r = 0; r < b.rows(); ++r)
      b.values.push_back(base + 10.0 * f + static_cast<double>(r));
  return b;
}

std::vector<OfflineBlock> ScanAll(const OfflineStore& s, OfflineScanStats* stats = nullptr) {
  std::vector<OfflineBlock> out;
  EXPECT_TRUE(s.Scan(
                   "client", INT64_MIN, INT64_MAX,
                   [&](const OfflineBlock& b) {
                     out.push_back(b);
                     return Status::Ok();
                   },
                   stats)
                  .ok());
  return out;
}

std::unique_ptr<OfflineStore> OpenStore(const std::string& dir) {
  OfflineOptions o;
  o.dir = dir;
  auto s = OfflineStore::Open(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s.value());
}

TEST(OfflineBlockCodec, RoundTripsIncludingNaNAndNegativeDeltas) {
  OfflineBlock b = MakeBlock(kT0, {"192.0.2.1", "192.0.2.2", "a,\"b\""}, 1);
  b.window_end_ns[1] = kT0 - 7 * kSec;  // not monotonic
  b.values[4] = std::nan("");
  auto d = DecodeBlockPayload("client", EncodeBlockPayload(b));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->version, "v1");
  EXPECT_EQ(d->feature_names, b.feature_names);
  EXPECT_EQ(d->window_end_ns, b.window_end_ns);
  EXPECT_EQ(d->entities, b.entities);
  ASSERT_EQ(d->values.size(), b.values.size());
  for (size_t i = 0; i < b.values.size(); ++i) {
    if (std::isnan(b.values[i]))
      EXPECT_TRUE(std::isnan(d->values[i]));
    else
      EXPECT_EQ(d->values[i], b.values[i]);
  }
}

TEST(OfflineBlockCodec, RejectsEveryTruncationAndOversizedCounts) {
  const std::string bytes = EncodeBlockPayload(MakeBlock(kT0, {"a", "b"}, 1));
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(DecodeBlockPayload("client", bytes.substr(0, n)).ok()) << "length " << n;
  std::string extra = bytes + "x";
  EXPECT_FALSE(DecodeBlockPayload("client", extra).ok());
  // A corrupted feature count is an error, not a crash or a huge allocation.
  std::string huge = bytes;
  huge[3] = '\xff';  // inside the feature-count varint (after "\x02v1")
  EXPECT_FALSE(DecodeBlockPayload("client", huge).ok());
}

TEST(OfflineStore, AppendsAndScansAcrossReopen) {
  TempDir dir;
  {
    auto s = OpenStore(dir.path());
    ASSERT_TRUE(s->Append(MakeBlock(kT0 + 10 * kSec, {"a", "b"}, 1)).ok());
    ASSERT_TRUE(s->Append(MakeBlock(kT0 + 20 * kSec, {"a"}, 5)).ok());
  }
  auto s = OpenStore(dir.path());
  ASSERT_TRUE(s->Append(MakeBlock(kT0 + 30 * kSec, {"c"}, 9)).ok());
  OfflineScanStats stats;
  const auto blocks = ScanAll(*s, &stats);
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(stats.rows, 4u);
  EXPECT_EQ(stats.corrupt_blocks, 0u);
  EXPECT_EQ(blocks[0].entities, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(blocks[0].value(1, 1), 12.0);  // base 1 + 10 × feature 1 + row 1
  EXPECT_EQ(blocks[2].entities[0], "c");
  EXPECT_EQ(s->Views(), std::vector<std::string>{"client"});
}

TEST(OfflineStore, PartitionsByWindowEndWithBoundaryInEarlierHour) {
  TempDir dir;
  auto s = OpenStore(dir.path());
  OfflineBlock b = MakeBlock(kT0, {"a", "b", "c"}, 1);
  b.window_end_ns = {kT0, kT0 + 1, kT0 + 3600 * kSec + 1};
  ASSERT_TRUE(s->Append(b).ok());
  std::vector<std::string> files;
  for (const auto& f : fs::directory_iterator(dir / "client")) files.push_back(f.path().filename());
  std::sort(files.begin(), files.end());
  // A window ending exactly at 10:00 belongs to the 09:00 hour.
  EXPECT_EQ(files, (std::vector<std::string>{"20261123T0900Z.dnsb", "20261123T1000Z.dnsb",
                                             "20261123T1100Z.dnsb"}));
  // A scan of [10:00:00.000000001, 11:00] reads only what can hold such rows.
  size_t rows = 0;
  ASSERT_TRUE(s->Scan("client", kT0 + 1, kT0 + 3600 * kSec, [&](const OfflineBlock& blk) {
                 rows += blk.rows();
                 return Status::Ok();
               }).ok());
  EXPECT_GE(rows, 1u);
  EXPECT_LE(rows, 2u);
}

TEST(OfflineStore, TornTailIsSkippedByReadersAndCutByTheNextWriter) {
  TempDir dir;
  std::string file;
  {
    auto s = OpenStore(dir.path());
    ASSERT_TRUE(s->Append(MakeBlock(kT0 + 10 * kSec, {"a"}, 1)).ok());
    ASSERT_TRUE(s->Append(MakeBlock(kT0 + 20 * kSec, {"b"}, 2)).ok());
    file = (dir / "client/20261123T1000Z.dnsb");
  }
  const auto full = fs::file_size(file);
  // Simulate a crash in the middle of the second block's write.
  fs::resize_file(file, full - 5);
  auto s = OpenStore(dir.path());
  OfflineScanStats stats;
  auto blocks = ScanAll(*s, &stats);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].entities[0], "a");
  EXPECT_EQ(stats.corrupt_blocks, 1u);
  // The writer repairs the file, so a new block is readable after the good one.
  ASSERT_TRUE(s->Append(MakeBlock(kT0 + 30 * kSec, {"c"}, 3)).ok());
  stats = {};
  blocks = ScanAll(*s, &stats);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[1].entities[0], "c");
  EXPECT_EQ(stats.corrupt_blocks, 0u);
}

TEST(OfflineStore, FlippedBytesNeverCrashAndNeverYieldWrongRows) {
  TempDir dir;
  std::string file;
  {
    auto s = OpenStore(dir.path());
    ASSERT_TRUE(s->Append(MakeBlock(kT0 + 10 * kSec, {"a", "b"}, 1)).ok());
    file = dir / "client/20261123T1000Z.dnsb";
  }
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    {
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out << bad;
    }
    OfflineOptions o;
    o.dir = dir.path();
    auto s = OfflineStore::Open(o);
    ASSERT_TRUE(s.ok());
    OfflineScanStats stats;
    const auto blocks = ScanAll(**s, &stats);
    // The checksum covers the payload; header damage stops the scan. Either way no
    // damaged block is handed out.
    EXPECT_TRUE(blocks.empty()) << "byte " << i;
    EXPECT_EQ(stats.corrupt_blocks, 1u) << "byte " << i;
  }
}

TEST(OfflineStore, RetentionDeletesWholeExpiredPartitions) {
  TempDir dir;
  auto s = OpenStore(dir.path());
  for (int h = 0; h < 4; ++h)
    ASSERT_TRUE(s->Append(MakeBlock(kT0 + h * 3600 * kSec + 10 * kSec, {"a"}, h)).ok());
  // Now 13:00:10, retention 2h: partitions that ended before 11:00:10 go (10:00-11:00).
  auto removed = s->EnforceRetention("client", 2 * 3600 * kSec, kT0 + 3 * 3600 * kSec + 10 * kSec);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  const auto blocks = ScanAll(*s);
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0].window_end_ns[0], kT0 + 3600 * kSec + 10 * kSec);
}

TEST(OfflineStore, SecondWriterOfAPartitionIsRefused) {
  TempDir dir;
  auto a = OpenStore(dir.path());
  auto b = OpenStore(dir.path());
  ASSERT_TRUE(a->Append(MakeBlock(kT0 + 10 * kSec, {"a"}, 1)).ok());
  const Status s = b->Append(MakeBlock(kT0 + 20 * kSec, {"b"}, 1));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
}

TEST(OfflineStore, RejectsMismatchedColumns) {
  TempDir dir;
  auto s = OpenStore(dir.path());
  OfflineBlock b = MakeBlock(kT0, {"a"}, 1);
  b.values.pop_back();
  EXPECT_EQ(s->Append(b).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnsight
