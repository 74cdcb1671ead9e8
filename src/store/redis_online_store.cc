// Redis online store: hiredis, one blocking connection.
//
// Layout: one hash per (view, entity) at "<prefix><view>\x1f<entity>" with two fields,
//   w  window_end_ns as signed decimal text (readable with redis-cli)
//   r  EncodeOnlineRecord bytes
// Put runs kPutScript per record (EVALSHA; SCRIPT LOAD at connect, and again if the server
// forgot it). The script writes both fields only when the incoming window end is not older
// than w, so "newer window wins" holds atomically against any number of writers, in this
// process or others. Commands are pipelined, kPipelineChunk per round trip.
//
// Reads trust nothing: a value that DecodeOnlineRecord rejects, or a key of the wrong type,
// reads as absent and is counted (the first is logged, the total at close).
//
// Failures: an I/O error or a timeout (RedisOptions::timeout_ms, for connect and for each
// reply) drops the connection and returns Unavailable; the next call reconnects. When a
// connection kept from an earlier call turns out closed by the peer (the server restarted,
// or dropped it as idle), the call reconnects and runs once more: both operations are
// idempotent under newer-wins, so the retry cannot undo anything. Durability of a Put that
// returned OK is whatever the server is configured for (AOF, fsync policy).
//
// Thread-safety: thread-safe. One mutex serialises the round trips on the one connection,
// so concurrent callers queue; a call holds it for one chunk at a time.
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dnsight/online_store.h"

namespace dnsight {
namespace {

constexpr char kKeySeparator = '\x1f';
// DecodeOnlineRecord (online_record.cc) rejects longer versions, so Put must not store one.
constexpr size_t kMaxVersionBytes = 64;
// Commands per round trip: bounds the client buffers (~0.5 KB a record at 50 features)
// while keeping the round-trip count low.
constexpr size_t kPipelineChunk = 512;

// KEYS[1] record key; ARGV[1] window_end_ns as signed decimal; ARGV[2] record bytes.
// Lua numbers are doubles, exact only up to 2^53, so each window end is compared as two
// exact parts (the 10 high and 9 low decimal digits). A stored w that does not parse is
// treated as absent, so a damaged key heals on the next write.
constexpr std::string_view kPutScript = R"lua(
local function parts(s)
  local neg = string.sub(s, 1, 1) == '-'
  if neg then s = string.sub(s, 2) end
  if #s == 0 or #s > 19 or string.find(s, '%D') then return nil end
  s = string.rep('0', 19 - #s) .. s
  local hi, lo = tonumber(string.sub(s, 1, 10)), tonumber(string.sub(s, 11))
  if neg then return -hi, -lo end
  return hi, lo
end
local new_hi, new_lo = parts(ARGV[1])
if not new_hi then return redis.error_reply('dnsight: bad window_end') end
local old = redis.call('HGET', KEYS[1], 'w')
if old then
  local old_hi, old_lo = parts(old)
  if old_hi and (new_hi < old_hi or (new_hi == old_hi and new_lo < old_lo)) then return 0 end
end
redis.call('HSET', KEYS[1], 'w', ARGV[1], 'r', ARGV[2])
return 1
)lua";

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// hiredis writes with write(2), so writing to a socket the server has closed raises
// SIGPIPE, whose default action ends the process. This blocks SIGPIPE in the calling thread
// for the scope and discards one that the scope raised; hiredis still reports EPIPE.
// The process-wide disposition is left alone.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~ScopedSigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec no_wait{};
        sigtimedwait(&sigpipe_, nullptr, &no_wait);
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t sigpipe_;
  sigset_t previous_;
  bool was_pending_ = false;
};

// How one exchange with the server ended. `status` is OK or the first error. `broken`: the
// connection is unusable and must be dropped. `peer_closed`: it broke because the server
// closed it (not a timeout), so a fresh connection may succeed at once.
// `script_missing`: the server answered NOSCRIPT (restarted, or SCRIPT FLUSH).
struct Exchange {
  Status status;
  bool broken = false;
  bool peer_closed = false;
  bool script_missing = false;
};

timeval ToTimeval(int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

std::string MakeKey(std::string_view prefix, std::string_view view, std::string_view entity) {
  std::string key;
  key.reserve(prefix.size() + view.size() + 1 + entity.size());
  key.append(prefix);
  key.append(view);
  key.push_back(kKeySeparator);
  key.append(entity);
  return key;
}

// Printable form of untrusted text for a log line.
std::string Printable(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(static_cast<uint8_t>(c)));
      out.append(buf);
    }
  }
  return out;
}

// Error replies that mean "try again later" rather than "this request is wrong".
bool IsTransientServerError(std::string_view message) {
  for (std::string_view prefix : {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "OOM"}) {
    if (message.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

class RedisOnlineStore final : public OnlineStore {
 public:
  static Result<std::unique_ptr<OnlineStore>> Open(const RedisOptions& options);

  ~RedisOnlineStore() override {
    const uint64_t corrupt = corrupt_values_.load(std::memory_order_relaxed);
    if (corrupt > 0) {
      std::fprintf(stderr, "dnsight: redis online store %s: %llu corrupt values read as absent\n",
                   endpoint_.c_str(), static_cast<unsigned long long>(corrupt));
    }
  }
  RedisOnlineStore(const RedisOnlineStore&) = delete;
  RedisOnlineStore& operator=(const RedisOnlineStore&) = delete;

  Status Put(std::span<const OnlineRecord> records) override;
  Status MultiGet(std::string_view view, std::span<const std::string> entities,
                  std::vector<std::optional<OnlineRecord>>* out) override;
  std::string_view Kind() const override { return "redis"; }

 private:
  explicit RedisOnlineStore(const RedisOptions& options)
      : options_(options),
        endpoint_(options.unix_socket.empty() ? options.host + ":" + std::to_string(options.port)
                                              : options.unix_socket) {}

  // Runs `exchange` on a live connection under mu_, connecting first if there is none.
  // See the file comment for when it reconnects and runs it a second time.
  Status Run(const std::function<Exchange(redisContext*)>& exchange);
  // REQUIRES: mu_ held.
  Status ConnectLocked();
  // Sends a single command and waits for its reply. REQUIRES: mu_ held.
  Exchange Call(redisContext* c, std::initializer_list<std::string_view> args,
                ReplyPtr* reply) const;
  Exchange LoadScript(redisContext* c);  // REQUIRES: mu_ held
  // The exchange result for a connection-level failure of `c`; errno as the call left it.
  Exchange ConnectionFailure(const redisContext* c, int saved_errno) const;
  Exchange PutChunk(redisContext* c, std::span<const OnlineRecord> records) const;
  Exchange GetChunk(redisContext* c, std::string_view view, std::span<const std::string> entities,
                    std::optional<OnlineRecord>* out);
  void CountCorrupt(std::string_view view, std::string_view entity, std::string_view why);

  const RedisOptions options_;
  const std::string endpoint_;  // for messages: host:port or the socket path
  std::mutex mu_;
  ContextPtr context_;      // guarded by mu_; null while disconnected
  std::string script_sha_;  // guarded by mu_
  std::atomic<uint64_t> corrupt_values_{0};
};

Result<std::unique_ptr<OnlineStore>> RedisOnlineStore::Open(const RedisOptions& options) {
  if (options.unix_socket.empty() && (options.port <= 0 || options.port > 65535)) {
    return Status::InvalidArgument("redis: port out of range: " + std::to_string(options.port));
  }
  if (options.db < 0) return Status::InvalidArgument("redis: negative db");
  std::unique_ptr<RedisOnlineStore> store(new RedisOnlineStore(options));
  {
    ScopedSigpipeBlock no_sigpipe;
    std::lock_guard lock(store->mu_);
    if (Status s = store->ConnectLocked(); !s.ok()) return s;
  }
  return std::unique_ptr<OnlineStore>(std::move(store));
}

Exchange RedisOnlineStore::ConnectionFailure(const redisContext* c, int saved_errno) const {
  Exchange e;
  e.broken = true;
  std::string what = c->errstr;
  if (c->err == REDIS_ERR_EOF) {
    e.peer_closed = true;
  } else if (c->err == REDIS_ERR_IO) {
    if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK) {
      what = "no reply within " + std::to_string(options_.timeout_ms) + " ms";
    } else if (saved_errno == EPIPE || saved_errno == ECONNRESET) {
      e.peer_closed = true;
    }
  }
  e.status = Status::Unavailable("redis " + endpoint_ + ": " + what);
  return e;
}

Exchange RedisOnlineStore::Call(redisContext* c, std::initializer_list<std::string_view> args,
                                ReplyPtr* reply) const {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (std::string_view a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  errno = 0;
  reply->reset(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
  if (*reply == nullptr) return ConnectionFailure(c, errno);
  Exchange e;
  if ((*reply)->type == REDIS_REPLY_ERROR) {
    const std::string message((*reply)->str, (*reply)->len);
    e.status = Status::IoError("redis " + endpoint_ + ": " + message);
  }
  return e;
}

Exchange RedisOnlineStore::LoadScript(redisContext* c) {
  ReplyPtr reply;
  Exchange e = Call(c, {"SCRIPT", "LOAD", kPutScript}, &reply);
  if (!e.status.ok()) return e;
  if (reply->type != REDIS_REPLY_STRING) {
    e.status = Status::IoError("redis " + endpoint_ + ": SCRIPT LOAD: unexpected reply");
    return e;
  }
  script_sha_.assign(reply->str, reply->len);
  return e;
}

Status RedisOnlineStore::ConnectLocked() {
  const timeval timeout = ToTimeval(options_.timeout_ms);
  const bool timed = options_.timeout_ms > 0;
  redisContext* raw = nullptr;
  if (!options_.unix_socket.empty()) {
    raw = timed ? redisConnectUnixWithTimeout(options_.unix_socket.c_str(), timeout)
                : redisConnectUnix(options_.unix_socket.c_str());
  } else {
    raw = timed ? redisConnectWithTimeout(options_.host.c_str(), options_.port, timeout)
                : redisConnect(options_.host.c_str(), options_.port);
  }
  ContextPtr c(raw);
  if (c == nullptr) return Status::Unavailable("redis " + endpoint_ + ": out of memory");
  if (c->err != 0) {
    return Status::Unavailable("redis " + endpoint_ + ": cannot connect: " + c->errstr);
  }
  if (timed && redisSetTimeout(c.get(), timeout) != REDIS_OK) {
    return Status::Unavailable("redis " + endpoint_ + ": cannot set timeout: " + c->errstr);
  }
  if (options_.db != 0) {
    ReplyPtr reply;
    const std::string db = std::to_string(options_.db);
    if (Exchange e = Call(c.get(), {"SELECT", db}, &reply); !e.status.ok()) return e.status;
  }
  if (Exchange e = LoadScript(c.get()); !e.status.ok()) return e.status;
  context_ = std::move(c);
  return Status::Ok();
}

Status RedisOnlineStore::Run(const std::function<Exchange(redisContext*)>& exchange) {
  ScopedSigpipeBlock no_sigpipe;
  std::lock_guard lock(mu_);
  for (int attempt = 0;; ++attempt) {
    const bool reused = context_ != nullptr;
    if (!reused) {
      if (Status s = ConnectLocked(); !s.ok()) return s;
    }
    const Exchange e = exchange(context_.get());
    if (!e.broken) return e.status;
    context_.reset();
    if (!reused || !e.peer_closed || attempt > 0) return e.status;
  }
}

Exchange RedisOnlineStore::PutChunk(redisContext* c, std::span<const OnlineRecord> records) const {
  for (const OnlineRecord& r : records) {
    const std::string key = MakeKey(options_.key_prefix, r.view, r.entity);
    const std::string window_end = std::to_string(r.window_end_ns);
    const std::string bytes = EncodeOnlineRecord(r);
    std::array<const char*, 6> argv = {"EVALSHA",  script_sha_.data(), "1",
                                       key.data(), window_end.data(),  bytes.data()};
    std::array<size_t, 6> lens = {7,          script_sha_.size(), 1,
                                  key.size(), window_end.size(),  bytes.size()};
    if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK) {
      return ConnectionFailure(c, errno);
    }
  }
  Exchange result;
  for (size_t i = 0; i < records.size(); ++i) {
    void* raw = nullptr;
    errno = 0;
    if (redisGetReply(c, &raw) != REDIS_OK) return ConnectionFailure(c, errno);
    const ReplyPtr reply(static_cast<redisReply*>(raw));
    if (reply->type != REDIS_REPLY_ERROR || !result.status.ok()) continue;
    const std::string message(reply->str, reply->len);
    if (message.starts_with("NOSCRIPT")) result.script_missing = true;
    const std::string text = "redis " + endpoint_ + ": put: " + message;
    result.status =
        IsTransientServerError(message) ? Status::Unavailable(text) : Status::IoError(text);
  }
  return result;
}

Status RedisOnlineStore::Put(std::span<const OnlineRecord> records) {
  for (const OnlineRecord& r : records) {
    if (r.view.find(kKeySeparator) != std::string::npos) {
      return Status::InvalidArgument("online store: view name contains \\x1f");
    }
    if (r.version.size() > kMaxVersionBytes) {
      return Status::InvalidArgument("online store: version longer than 64 bytes");
    }
  }
  for (size_t begin = 0; begin < records.size(); begin += kPipelineChunk) {
    const auto chunk = records.subspan(begin, std::min(kPipelineChunk, records.size() - begin));
    Status s = Run([&](redisContext* c) {
      Exchange e = PutChunk(c, chunk);
      if (!e.script_missing) return e;
      if (Exchange loaded = LoadScript(c); !loaded.status.ok()) return loaded;
      return PutChunk(c, chunk);
    });
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

void RedisOnlineStore::CountCorrupt(std::string_view view, std::string_view entity,
                                    std::string_view why) {
  if (corrupt_values_.fetch_add(1, std::memory_order_relaxed) == 0) {
    std::fprintf(stderr,
                 "dnsight: redis online store %s: view '%s' entity '%s': %s; read as absent "
                 "(further ones are counted, the total is logged at close)\n",
                 endpoint_.c_str(), Printable(view).c_str(), Printable(entity).c_str(),
                 Printable(why).c_str());
  }
}

Exchange RedisOnlineStore::GetChunk(redisContext* c, std::string_view view,
                                    std::span<const std::string> entities,
                                    std::optional<OnlineRecord>* out) {
  for (const std::string& entity : entities) {
    const std::string key = MakeKey(options_.key_prefix, view, entity);
    std::array<const char*, 3> argv = {"HGET", key.data(), "r"};
    std::array<size_t, 3> lens = {4, key.size(), 1};
    if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK) {
      return ConnectionFailure(c, errno);
    }
  }
  for (size_t i = 0; i < entities.size(); ++i) {
    void* raw = nullptr;
    errno = 0;
    if (redisGetReply(c, &raw) != REDIS_OK) return ConnectionFailure(c, errno);
    const ReplyPtr reply(static_cast<redisReply*>(raw));
    switch (reply->type) {
      case REDIS_REPLY_NIL:
        break;
      case REDIS_REPLY_STRING: {
        Result<OnlineRecord> record =
            DecodeOnlineRecord(view, entities[i], std::string_view(reply->str, reply->len));
        if (record.ok()) {
          out[i] = std::move(record).value();
        } else {
          CountCorrupt(view, entities[i], record.status().message());
        }
        break;
      }
      case REDIS_REPLY_ERROR:  // e.g. WRONGTYPE: someone else's key under our prefix
        CountCorrupt(view, entities[i], std::string_view(reply->str, reply->len));
        break;
      default:
        CountCorrupt(view, entities[i], "unexpected reply type");
        break;
    }
  }
  return Exchange{};
}

Status RedisOnlineStore::MultiGet(std::string_view view, std::span<const std::string> entities,
                                  std::vector<std::optional<OnlineRecord>>* out) {
  if (view.find(kKeySeparator) != std::string_view::npos) {
    return Status::InvalidArgument("online store: view name contains \\x1f");
  }
  out->clear();
  out->resize(entities.size());
  for (size_t begin = 0; begin < entities.size(); begin += kPipelineChunk) {
    const size_t n = std::min(kPipelineChunk, entities.size() - begin);
    Status s = Run([&](redisContext* c) {
      std::fill_n(out->begin() + static_cast<ptrdiff_t>(begin), n, std::nullopt);
      return GetChunk(c, view, entities.subspan(begin, n), out->data() + begin);
    });
    if (!s.ok()) {
      out->assign(entities.size(), std::nullopt);
      return s;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<OnlineStore>> OpenRedisOnlineStore(const RedisOptions& options) {
  return RedisOnlineStore::Open(options);
}

}  // namespace dnsight
