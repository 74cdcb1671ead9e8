// Embedded online store: RocksDB for durability, an in-memory index for reads.
//
// Every accepted record is written to RocksDB first (default WriteOptions: the WAL is on,
// so a Put that returned OK survives kill -9 of the process; it is not fsynced, so a power
// loss may lose the last writes) and then to a sharded in-memory index holding the decoded
// latest record of every key. The index is loaded from RocksDB at open and serves every
// read, so MultiGet never touches disk. The cost is that the whole store lives in memory
// too: about 8 bytes per value plus ~150 bytes per (view, entity).
//
// RocksDB key: view '\x1f' entity. Value: EncodeOnlineRecord. Values that do not decode
// at open (a disk fault, a foreign writer) are skipped, counted and logged once.
//
// Thread-safety: Put and MultiGet may be called from any thread. Puts are serialised by
// write_mu_ (RocksDB serialises its writes anyway), which makes "compare with the stored
// window end, then write" atomic. Readers take only the mutex of the index shard they read.
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dnsight/online_store.h"

namespace dnsight {
namespace {

constexpr char kKeySeparator = '\x1f';
// Enough shards that two threads rarely meet on one mutex; each is a small hash map.
constexpr size_t kIndexShards = 64;
// DecodeOnlineRecord (online_record.cc) rejects longer versions, so Put must not store one.
constexpr size_t kMaxVersionBytes = 64;

void AppendKey(std::string_view view, std::string_view entity, std::string* key) {
  key->assign(view);
  key->push_back(kKeySeparator);
  key->append(entity);
}

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return Status::Unavailable(what + ": " + s.ToString());
  }
  return Status::IoError(what + ": " + s.ToString());
}

Status ValidateRecord(const OnlineRecord& r) {
  if (r.view.find(kKeySeparator) != std::string::npos) {
    return Status::InvalidArgument("online store: view name contains \\x1f");
  }
  if (r.version.size() > kMaxVersionBytes) {
    return Status::InvalidArgument("online store: version longer than 64 bytes");
  }
  return Status::Ok();
}

class EmbeddedOnlineStore final : public OnlineStore {
 public:
  static Result<std::unique_ptr<OnlineStore>> Open(const std::string& dir);

  ~EmbeddedOnlineStore() override {
    const rocksdb::Status s = db_->Close();
    if (!s.ok()) {
      std::fprintf(stderr, "dnsight: embedded online store %s: close: %s\n", dir_.c_str(),
                   s.ToString().c_str());
    }
  }
  EmbeddedOnlineStore(const EmbeddedOnlineStore&) = delete;
  EmbeddedOnlineStore& operator=(const EmbeddedOnlineStore&) = delete;

  Status Put(std::span<const OnlineRecord> records) override;
  Status MultiGet(std::string_view view, std::span<const std::string> entities,
                  std::vector<std::optional<OnlineRecord>>* out) override;
  std::string_view Kind() const override { return "embedded"; }

 private:
  // The latest record of one key; view and entity are in the key.
  struct Entry {
    std::string version;
    int64_t window_end_ns = 0;
    std::vector<double> values;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry> entries;  // guarded by mu
  };

  EmbeddedOnlineStore(std::string dir, std::unique_ptr<rocksdb::DB> db)
      : dir_(std::move(dir)), db_(std::move(db)) {}

  Shard& ShardFor(std::string_view key) {
    return shards_[std::hash<std::string_view>{}(key) % kIndexShards];
  }
  std::optional<int64_t> IndexedWindowEnd(const std::string& key);
  Status LoadIndex();

  const std::string dir_;
  const std::unique_ptr<rocksdb::DB> db_;
  std::mutex write_mu_;  // held for the whole of Put
  std::array<Shard, kIndexShards> shards_;
};

Result<std::unique_ptr<OnlineStore>> EmbeddedOnlineStore::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("online store " + dir + ": " + ec.message());

  rocksdb::Options options;
  options.create_if_missing = true;
  // Reads are served from the index, so RocksDB only absorbs writes and the scan at open:
  // small memtables and few background threads keep its footprint modest.
  options.write_buffer_size = 16 << 20;
  options.max_write_buffer_number = 2;
  options.max_background_jobs = 2;
  options.max_total_wal_size = 64 << 20;
  options.keep_log_file_num = 4;
  options.max_open_files = 256;

  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) return FromRocks(s, "online store " + dir + ": open");
  std::unique_ptr<EmbeddedOnlineStore> store(
      new EmbeddedOnlineStore(dir, std::unique_ptr<rocksdb::DB>(raw)));
  if (Status loaded = store->LoadIndex(); !loaded.ok()) return loaded;
  return std::unique_ptr<OnlineStore>(std::move(store));
}

Status EmbeddedOnlineStore::LoadIndex() {
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;  // one sequential scan; nothing will be read again
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options));
  uint64_t loaded = 0;
  uint64_t corrupt = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    const size_t sep = key.find(kKeySeparator);
    if (sep == std::string_view::npos) {
      ++corrupt;
      continue;
    }
    Result<OnlineRecord> record =
        DecodeOnlineRecord(key.substr(0, sep), key.substr(sep + 1),
                           std::string_view(it->value().data(), it->value().size()));
    if (!record.ok()) {
      ++corrupt;
      continue;
    }
    Entry entry{std::move(record->version), record->window_end_ns, std::move(record->values)};
    Shard& shard = ShardFor(key);
    std::lock_guard lock(shard.mu);
    shard.entries.insert_or_assign(std::string(key), std::move(entry));
    ++loaded;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "online store " + dir_ + ": load");
  if (corrupt > 0) {
    std::fprintf(stderr,
                 "dnsight: embedded online store %s: skipped %llu corrupt records, loaded %llu\n",
                 dir_.c_str(), static_cast<unsigned long long>(corrupt),
                 static_cast<unsigned long long>(loaded));
  }
  return Status::Ok();
}

std::optional<int64_t> EmbeddedOnlineStore::IndexedWindowEnd(const std::string& key) {
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  const auto it = shard.entries.find(key);
  if (it == shard.entries.end()) return std::nullopt;
  return it->second.window_end_ns;
}

Status EmbeddedOnlineStore::Put(std::span<const OnlineRecord> records) {
  for (const OnlineRecord& r : records) {
    if (Status s = ValidateRecord(r); !s.ok()) return s;
  }
  std::lock_guard write_lock(write_mu_);
  rocksdb::WriteBatch batch;
  // Accepted records in input order; a key accepted twice keeps the later (not older) one.
  std::vector<std::pair<std::string, const OnlineRecord*>> accepted;
  // Window ends accepted earlier in this call: the index does not know them yet.
  std::unordered_map<std::string, int64_t> pending;
  std::string key;
  for (const OnlineRecord& r : records) {
    AppendKey(r.view, r.entity, &key);
    const auto in_batch = pending.find(key);
    const std::optional<int64_t> current = in_batch != pending.end()
                                               ? std::optional<int64_t>(in_batch->second)
                                               : IndexedWindowEnd(key);
    if (current.has_value() && r.window_end_ns < *current) continue;
    const rocksdb::Status s = batch.Put(key, EncodeOnlineRecord(r));
    if (!s.ok()) return FromRocks(s, "online store " + dir_ + ": batch");
    pending.insert_or_assign(key, r.window_end_ns);
    accepted.emplace_back(key, &r);
  }
  if (accepted.empty()) return Status::Ok();
  const rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return FromRocks(s, "online store " + dir_ + ": write");
  for (auto& [accepted_key, r] : accepted) {
    Entry entry{r->version, r->window_end_ns, r->values};
    Shard& shard = ShardFor(accepted_key);
    std::lock_guard lock(shard.mu);
    shard.entries.insert_or_assign(std::move(accepted_key), std::move(entry));
  }
  return Status::Ok();
}

Status EmbeddedOnlineStore::MultiGet(std::string_view view, std::span<const std::string> entities,
                                     std::vector<std::optional<OnlineRecord>>* out) {
  if (view.find(kKeySeparator) != std::string_view::npos) {
    return Status::InvalidArgument("online store: view name contains \\x1f");
  }
  out->clear();
  out->resize(entities.size());
  std::string key;
  for (size_t i = 0; i < entities.size(); ++i) {
    AppendKey(view, entities[i], &key);
    Shard& shard = ShardFor(key);
    OnlineRecord record;
    {
      std::lock_guard lock(shard.mu);
      const auto it = shard.entries.find(key);
      if (it == shard.entries.end()) continue;
      record.version = it->second.version;
      record.window_end_ns = it->second.window_end_ns;
      record.values = it->second.values;
    }
    record.view = view;
    record.entity = entities[i];
    (*out)[i] = std::move(record);
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<OnlineStore>> OpenEmbeddedOnlineStore(const std::string& dir) {
  return EmbeddedOnlineStore::Open(dir);
}

}  // namespace dnsight
