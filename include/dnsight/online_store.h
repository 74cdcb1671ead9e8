// OnlineStore: the latest feature vector for each (view, entity).
//
// A record is what the engine emitted when the entity's most recent pane closed: the
// view version that produced it, the window end (event time) and one value per feature,
// parallel to the feature names that the registry holds for that version. Values that are
// undefined (a mean of nothing) are NaN.
//
// Writes replace the stored record only when the incoming window_end_ns is not older than
// the stored one, so a replay or a backfill of old history never overwrites fresher
// values. TTL and staleness are applied by the reader (see serving.h); the store keeps
// what it was given until it is overwritten or deleted.
//
// Implementations: embedded (RocksDB, persisted under a directory; the default) and
// Redis (hiredis). Both are thread-safe: Put and Get may be called concurrently from any
// thread. A Put that has returned OK is durable against a crash of this process.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/status.h"

namespace dnsight {

struct OnlineRecord {
  std::string view;
  std::string entity;   // the entity as text, e.g. "192.0.2.7" or "example.com"
  std::string version;  // view version that computed the values
  int64_t window_end_ns = 0;
  std::vector<double> values;
};

class OnlineStore {
 public:
  virtual ~OnlineStore() = default;

  // Stores each record unless a record with a newer window_end_ns is already there.
  virtual Status Put(std::span<const OnlineRecord> records) = 0;

  // One lookup per entity of one view. (*out)[i] is empty when entities[i] has no record.
  virtual Status MultiGet(std::string_view view, std::span<const std::string> entities,
                          std::vector<std::optional<OnlineRecord>>* out) = 0;

  // Convenience wrapper over MultiGet for a single entity.
  Result<std::optional<OnlineRecord>> Get(std::string_view view, const std::string& entity);

  // Short name for logs and /metrics ("embedded", "redis").
  virtual std::string_view Kind() const = 0;
};

// Opens (creating if needed) the embedded store under `dir`.
Result<std::unique_ptr<OnlineStore>> OpenEmbeddedOnlineStore(const std::string& dir);

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;  // used instead of host:port when set
  int db = 0;
  std::string key_prefix = "dnsight:";
  int timeout_ms = 2000;
};

// Connects to Redis. Keys are "<prefix><view>\x1f<entity>".
Result<std::unique_ptr<OnlineStore>> OpenRedisOnlineStore(const RedisOptions& options);

// Record encoding shared by the backends: a versioned, checksummed byte string.
// DecodeOnlineRecord rejects anything malformed (the bytes are untrusted in Redis).
std::string EncodeOnlineRecord(const OnlineRecord& r);
Result<OnlineRecord> DecodeOnlineRecord(std::string_view view, std::string_view entity,
                                        std::string_view bytes);

}  // namespace dnsight
