// OfflineStore: append-only feature history, columnar, compressed and partitioned by time.
//
// Layout: <dir>/<view>/<partition start, e.g. 20261123T10Z>.dnsb. A partition file holds
// the rows whose window ended in [start, start + partition). Each file is a sequence of
// self-checking blocks:
//
//   u32 magic "DSB1" | u32 payload length | u64 XXH3 of payload | payload (zstd)
//
// and a payload, once decompressed, is one block of rows in columnar form: the view
// version and feature names, then the window-end column (delta varints), the entity
// column (length-prefixed), and one little-endian f64 column per feature. A block is
// written with a single write(); when Append returns OK the block is in the file (and on
// disk when `sync` is set). A crash can leave only a torn last block: readers stop at the
// first block that does not check out and count it, and a writer that reopens the file
// cuts it off before appending, so acknowledged rows are never lost or corrupted.
//
// Retention is per view: EnforceRetention deletes whole partitions that ended before
// now - retention.
//
// Thread-safety: Append and EnforceRetention are serialized by one mutex; Scan is safe
// concurrently with them (it reads only complete, checked blocks).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/status.h"

namespace dnsight {

// One block of rows of one view version, columnar: value(f, r) = values[f * rows + r].
struct OfflineBlock {
  std::string view;
  std::string version;
  std::vector<std::string> feature_names;
  std::vector<int64_t> window_end_ns;
  std::vector<std::string> entities;
  std::vector<double> values;

  size_t rows() const { return entities.size(); }
  double value(size_t feature, size_t row) const { return values[feature * rows() + row]; }
};

// Encodes a block payload (before compression) and decodes it back. Decoding is strict:
// any bound or count that does not fit the bytes is an error (the bytes are untrusted).
std::string EncodeBlockPayload(const OfflineBlock& b);
Result<OfflineBlock> DecodeBlockPayload(std::string_view view, std::string_view bytes);

struct OfflineOptions {
  std::string dir;
  int64_t partition_ns = 3'600'000'000'000;  // one file per view per hour
  bool sync = false;  // fdatasync after each block: survives power loss, costs a disk flush
  int zstd_level = 3;
};

struct OfflineScanStats {
  uint64_t files = 0;
  uint64_t blocks = 0;
  uint64_t rows = 0;
  uint64_t corrupt_blocks = 0;  // torn or damaged blocks (the rest of that file is skipped)
};

class OfflineStore {
 public:
  static Result<std::unique_ptr<OfflineStore>> Open(const OfflineOptions& options);
  ~OfflineStore();
  OfflineStore(const OfflineStore&) = delete;
  OfflineStore& operator=(const OfflineStore&) = delete;

  // Appends the rows of `block`, split by partition. REQUIRES: values.size() ==
  // feature_names.size() * rows(), window_end_ns.size() == rows().
  Status Append(const OfflineBlock& block);

  // Calls fn for every stored block of `view` that has a row with window end in
  // [from_ns, to_ns), in partition order. Blocks are passed whole; callers filter rows.
  // Stops and returns fn's status when it is not OK.
  Status Scan(std::string_view view, int64_t from_ns, int64_t to_ns,
              const std::function<Status(const OfflineBlock&)>& fn,
              OfflineScanStats* stats = nullptr) const;

  // Deletes partitions of `view` that ended before now_ns - retention_ns. Returns how many.
  Result<int> EnforceRetention(std::string_view view, int64_t retention_ns, int64_t now_ns);

  // Views that have a directory in the store.
  std::vector<std::string> Views() const;

 private:
  explicit OfflineStore(OfflineOptions o);
  struct OpenFile;
  Result<OpenFile*> FileFor(std::string_view view, int64_t partition_start);

  OfflineOptions opt_;
  std::mutex mu_;
  std::map<std::pair<std::string, int64_t>, std::unique_ptr<OpenFile>> open_;
};

}  // namespace dnsight
