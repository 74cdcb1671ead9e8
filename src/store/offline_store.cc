#include "store/offline_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/int_math.h"
#include "common/serial.h"
#include "common/time_util.h"

namespace dnsight {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kMagic = 0x31425344;  // "DSB1" little-endian
constexpr size_t kHeaderBytes = 16;
// Bounds for untrusted payloads: a block is one closed pane of one view.
constexpr uint64_t kMaxPayloadBytes = 1ull << 30;
constexpr uint64_t kMaxRows = 1ull << 24;
constexpr uint64_t kMaxFeatures = 1ull << 16;
constexpr uint64_t kMaxStringBytes = 4096;

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetLe(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}
bool GetString(SerialReader& in, std::string* out) {
  uint64_t n = 0;
  std::string_view s;
  if (!in.Varint(&n) || n > kMaxStringBytes || !in.Bytes(n, &s)) return false;
  out->assign(s);
  return true;
}

// Partition file name: the UTC start, e.g. "20261123T10Z" for hourly partitions, or
// "20261123T1030Z" when partitions are not whole hours.
std::string PartitionName(int64_t start_ns) {
  std::string t = FormatRfc3339(start_ns);  // 2026-11-23T10:30:00Z
  std::string out;
  for (char c : t.substr(0, 16))
    if (c != '-' && c != ':') out.push_back(c);
  return out + "Z.dnsb";
}

std::optional<int64_t> ParsePartitionName(const std::string& name) {
  // 20261123T1030Z.dnsb
  if (name.size() != 19 || name.substr(13) != "Z.dnsb") return std::nullopt;
  const std::string rfc = name.substr(0, 4) + "-" + name.substr(4, 2) + "-" + name.substr(6, 2) +
                          "T" + name.substr(9, 2) + ":" + name.substr(11, 2) + ":00Z";
  return ParseRfc3339(rfc);
}

struct FrameHeader {
  uint64_t payload_bytes = 0;
  uint64_t checksum = 0;
};

// Reads complete, checked blocks from an open file descriptor.
// Returns the offset just after the last good block.
template <typename Fn>
Result<uint64_t> ReadBlocks(int fd, std::string_view view, Fn&& fn, OfflineScanStats* stats) {
  uint64_t offset = 0;
  std::string compressed, payload;
  char header[kHeaderBytes];
  while (true) {
    const ssize_t n = ::pread(fd, header, kHeaderBytes, static_cast<off_t>(offset));
    if (n == 0) break;
    if (n != static_cast<ssize_t>(kHeaderBytes) || GetLe(header, 4) != kMagic) {
      if (stats) ++stats->corrupt_blocks;
      break;
    }
    const uint64_t len = GetLe(header + 4, 4);
    const uint64_t sum = GetLe(header + 8, 8);
    if (len > kMaxPayloadBytes) {
      if (stats) ++stats->corrupt_blocks;
      break;
    }
    compressed.resize(len);
    if (::pread(fd, compressed.data(), len, static_cast<off_t>(offset + kHeaderBytes)) !=
            static_cast<ssize_t>(len) ||
        XXH3_64bits(compressed.data(), len) != sum) {
      if (stats) ++stats->corrupt_blocks;
      break;
    }
    const unsigned long long raw = ZSTD_getFrameContentSize(compressed.data(), len);
    if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN ||
        raw > kMaxPayloadBytes) {
      if (stats) ++stats->corrupt_blocks;
      break;
    }
    payload.resize(raw);
    const size_t got = ZSTD_decompress(payload.data(), raw, compressed.data(), len);
    if (ZSTD_isError(got) || got != raw) {
      if (stats) ++stats->corrupt_blocks;
      break;
    }
    auto block = DecodeBlockPayload(view, payload);
    if (!block.ok()) {
      if (stats) ++stats->corrupt_blocks;
      break;
    }
    offset += kHeaderBytes + len;
    if (stats) {
      ++stats->blocks;
      stats->rows += block->rows();
    }
    if (Status s = fn(*block); !s.ok()) return s;
  }
  return offset;
}

}  // namespace

std::string EncodeBlockPayload(const OfflineBlock& b) {
  std::string out;
  out.reserve(64 + b.rows() * (16 + 8 * b.feature_names.size()));
  PutString(&out, b.version);
  PutVarint(&out, b.feature_names.size());
  for (const auto& n : b.feature_names) PutString(&out, n);
  PutVarint(&out, b.rows());
  int64_t prev = 0;
  for (int64_t w : b.window_end_ns) {
    PutVarint(&out,
              ZigZag(static_cast<int64_t>(static_cast<uint64_t>(w) - static_cast<uint64_t>(prev))));
    prev = w;
  }
  for (const auto& e : b.entities) PutString(&out, e);
  for (double v : b.values) PutF64(&out, v);
  return out;
}

Result<OfflineBlock> DecodeBlockPayload(std::string_view view, std::string_view bytes) {
  SerialReader in{bytes};
  OfflineBlock b;
  b.view = view;
  uint64_t features = 0, rows = 0;
  if (!GetString(in, &b.version) || !in.Varint(&features) || features > kMaxFeatures)
    return Status::InvalidArgument("offline block: bad header");
  b.feature_names.resize(features);
  for (auto& n : b.feature_names)
    if (!GetString(in, &n)) return Status::InvalidArgument("offline block: bad feature name");
  if (!in.Varint(&rows) || rows > kMaxRows || rows > in.in.size())
    return Status::InvalidArgument("offline block: bad row count");
  b.window_end_ns.resize(rows);
  int64_t prev = 0;
  for (auto& w : b.window_end_ns) {
    uint64_t d = 0;
    if (!in.Varint(&d)) return Status::InvalidArgument("offline block: bad window column");
    prev = static_cast<int64_t>(static_cast<uint64_t>(prev) + static_cast<uint64_t>(UnZigZag(d)));
    w = prev;
  }
  b.entities.resize(rows);
  for (auto& e : b.entities)
    if (!GetString(in, &e)) return Status::InvalidArgument("offline block: bad entity column");
  if (in.in.size() != rows * features * 8)
    return Status::InvalidArgument("offline block: value columns do not match the counts");
  b.values.resize(rows * features);
  for (auto& v : b.values) in.F64(&v);
  return b;
}

struct OfflineStore::OpenFile {
  int fd = -1;
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};

Result<std::unique_ptr<OfflineStore>> OfflineStore::Open(const OfflineOptions& options) {
  if (options.partition_ns <= 0 || options.partition_ns % 60'000'000'000 != 0)
    return Status::InvalidArgument("offline partition must be a whole number of minutes");
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec)
    return Status::IoError("offline store: cannot create " + options.dir + ": " + ec.message());
  return std::unique_ptr<OfflineStore>(new OfflineStore(options));
}

OfflineStore::OfflineStore(OfflineOptions o) : opt_(std::move(o)) {}
OfflineStore::~OfflineStore() = default;

Result<OfflineStore::OpenFile*> OfflineStore::FileFor(std::string_view view, int64_t start) {
  auto key = std::make_pair(std::string(view), start);
  auto it = open_.find(key);
  if (it != open_.end()) return it->second.get();
  const fs::path dir = fs::path(opt_.dir) / std::string(view);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("offline store: cannot create " + dir.string());
  const fs::path path = dir / PartitionName(start);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return Status::IoError("offline store: cannot open " + path.string() + ": " +
                           std::strerror(errno));
  auto file = std::make_unique<OpenFile>();
  file->fd = fd;
  // One writer per partition file: a second process (a backfill over a range a live run
  // is writing) would interleave blocks.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    return Status::Unavailable("offline store: " + path.string() +
                               " is being written by another process");
  // A crash may have left a torn block at the end: cut it off before appending.
  auto good = ReadBlocks(
      fd, view, [](const OfflineBlock&) { return Status::Ok(); }, nullptr);
  if (!good.ok()) return good.status();
  struct stat st {};
  if (::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) != *good) {
    if (::ftruncate(fd, static_cast<off_t>(*good)) != 0)
      return Status::IoError("offline store: cannot repair " + path.string());
  }
  if (::lseek(fd, 0, SEEK_END) < 0) return Status::IoError("offline store: seek failed");
  // Bound open descriptors: partitions are written in time order, so close old ones.
  while (open_.size() >= 64) open_.erase(open_.begin());
  OpenFile* raw = file.get();
  open_.emplace(std::move(key), std::move(file));
  return raw;
}

Status OfflineStore::Append(const OfflineBlock& block) {
  if (block.window_end_ns.size() != block.rows() ||
      block.values.size() != block.rows() * block.feature_names.size())
    return Status::InvalidArgument("offline store: block columns do not match");
  if (block.rows() == 0) return Status::Ok();
  // Group rows by partition (usually all rows of a block share one).
  std::map<int64_t, std::vector<size_t>> by_partition;
  for (size_t r = 0; r < block.rows(); ++r)
    by_partition[FloorDiv(block.window_end_ns[r] - 1, opt_.partition_ns) * opt_.partition_ns]
        .push_back(r);
  std::lock_guard lock(mu_);
  for (const auto& [start, rows] : by_partition) {
    const OfflineBlock* part = &block;
    OfflineBlock subset;
    if (rows.size() != block.rows()) {
      subset.version = block.version;
      subset.feature_names = block.feature_names;
      for (size_t r : rows) {
        subset.window_end_ns.push_back(block.window_end_ns[r]);
        subset.entities.push_back(block.entities[r]);
      }
      subset.values.resize(rows.size() * block.feature_names.size());
      for (size_t f = 0; f < block.feature_names.size(); ++f)
        for (size_t i = 0; i < rows.size(); ++i)
          subset.values[f * rows.size() + i] = block.value(f, rows[i]);
      part = &subset;
    }
    const std::string payload = EncodeBlockPayload(*part);
    std::string frame(kHeaderBytes + ZSTD_compressBound(payload.size()), '\0');
    const size_t clen = ZSTD_compress(frame.data() + kHeaderBytes, frame.size() - kHeaderBytes,
                                      payload.data(), payload.size(), opt_.zstd_level);
    if (ZSTD_isError(clen)) return Status::Internal("offline store: zstd failed");
    frame.resize(kHeaderBytes + clen);
    std::string header;
    PutU32(&header, kMagic);
    PutU32(&header, static_cast<uint32_t>(clen));
    PutU64(&header, XXH3_64bits(frame.data() + kHeaderBytes, clen));
    std::memcpy(frame.data(), header.data(), kHeaderBytes);
    auto file = FileFor(block.view, start);
    if (!file.ok()) return file.status();
    // One write() per block: a crash leaves either the whole block or a torn tail.
    size_t done = 0;
    while (done < frame.size()) {
      const ssize_t n = ::write((*file)->fd, frame.data() + done, frame.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        return Status::IoError(std::string("offline store: write: ") + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
    if (opt_.sync && ::fdatasync((*file)->fd) != 0)
      return Status::IoError(std::string("offline store: fdatasync: ") + std::strerror(errno));
  }
  return Status::Ok();
}

Status OfflineStore::Scan(std::string_view view, int64_t from_ns, int64_t to_ns,
                          const std::function<Status(const OfflineBlock&)>& fn,
                          OfflineScanStats* stats) const {
  const fs::path dir = fs::path(opt_.dir) / std::string(view);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::Ok();
  std::vector<std::pair<int64_t, fs::path>> parts;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    auto start = ParsePartitionName(f.path().filename().string());
    if (!start) continue;
    // Rows in [start, start + partition] by window end (ends are exclusive upper bounds
    // of windows, so a window ending exactly at the boundary belongs to the earlier file).
    if (*start + opt_.partition_ns < from_ns || *start >= to_ns) continue;
    parts.emplace_back(*start, f.path());
  }
  std::sort(parts.begin(), parts.end());
  for (const auto& [start, path] : parts) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::IoError("offline store: cannot open " + path.string());
    if (stats) ++stats->files;
    auto r = ReadBlocks(fd, view, fn, stats);
    ::close(fd);
    if (!r.ok()) return r.status();
  }
  return Status::Ok();
}

Result<int> OfflineStore::EnforceRetention(std::string_view view, int64_t retention_ns,
                                           int64_t now_ns) {
  if (retention_ns <= 0) return 0;
  const fs::path dir = fs::path(opt_.dir) / std::string(view);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  std::lock_guard lock(mu_);
  int removed = 0;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    auto start = ParsePartitionName(f.path().filename().string());
    if (!start || *start + opt_.partition_ns > now_ns - retention_ns) continue;
    open_.erase(std::make_pair(std::string(view), *start));
    if (fs::remove(f.path(), ec)) ++removed;
  }
  return removed;
}

std::vector<std::string> OfflineStore::Views() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(opt_.dir, ec))
    if (f.is_directory()) out.push_back(f.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace dnsight
