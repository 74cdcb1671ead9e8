// OnlineStore: the record codec, and both backends against one shared set of behavioural
// tests (OnlineStoreBehaviourTest, instantiated for Embedded and Redis), plus what is
// particular to each backend: corrupt values at open and kill -9 durability for the
// embedded store; corrupt values in Redis, the stored layout, SELECT, unix sockets, a
// flushed script, and a stopped or stalled server for the Redis store.
//
// The Redis tests start a real redis-server on a free loopback port (no persistence, data
// under a temporary directory) and kill it at the end; they are skipped when redis-server
// is not installed.
#include "dnsight/online_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/serial.h"
#include "unit/temp_dir.h"

extern char** environ;

namespace dnsight {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;

std::vector<double> Features(double seed, size_t n = 50) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = seed + static_cast<double>(i) * 0.5;
  return v;
}

OnlineRecord Record(std::string view, std::string entity, int64_t window_end_ns,
                    std::vector<double> values, std::string version = "fc37609342a29496") {
  OnlineRecord r;
  r.view = std::move(view);
  r.entity = std::move(entity);
  r.version = std::move(version);
  r.window_end_ns = window_end_ns;
  r.values = std::move(values);
  return r;
}

// Equality that also holds for NaN and tells -0.0 from 0.0.
void ExpectSameRecord(const OnlineRecord& got, const OnlineRecord& want) {
  EXPECT_EQ(got.view, want.view);
  EXPECT_EQ(got.entity, want.entity);
  EXPECT_EQ(got.version, want.version);
  EXPECT_EQ(got.window_end_ns, want.window_end_ns);
  ASSERT_EQ(got.values.size(), want.values.size());
  for (size_t i = 0; i < got.values.size(); ++i) {
    EXPECT_EQ(std::memcmp(&got.values[i], &want.values[i], sizeof(double)), 0)
        << "value " << i << ": " << got.values[i] << " vs " << want.values[i];
  }
}

std::optional<OnlineRecord> GetOrFail(OnlineStore& store, std::string_view view,
                                      const std::string& entity) {
  Result<std::optional<OnlineRecord>> r = store.Get(view, entity);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return std::nullopt;
  return std::move(r).value();
}

// ---------------------------------------------------------------------------------------
// Codec

std::string WithChecksum(std::string body) {
  const uint64_t sum = XXH3_64bits(body.data(), body.size());
  for (int i = 0; i < 8; ++i) body.push_back(static_cast<char>((sum >> (8 * i)) & 0xff));
  return body;
}

TEST(OnlineRecordCodecTest, RoundTrips) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (const OnlineRecord& want :
       {Record("server", "192.0.2.1", 1795428310000000000, {812, 0.02, nan, -0.0, inf, -inf}),
        Record("client", "", 0, {}),
        Record("client", "x", std::numeric_limits<int64_t>::min(), {1}, ""),
        Record("client", "x", std::numeric_limits<int64_t>::max(), Features(3, 2000),
               std::string(64, 'v'))}) {
    const std::string bytes = EncodeOnlineRecord(want);
    Result<OnlineRecord> got = DecodeOnlineRecord(want.view, want.entity, bytes);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectSameRecord(*got, want);
  }
}

TEST(OnlineRecordCodecTest, EveryBitFlipIsRejected) {
  const std::string good = EncodeOnlineRecord(Record("v", "e", 1234567, Features(1, 8)));
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      EXPECT_FALSE(DecodeOnlineRecord("v", "e", bad).ok()) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(OnlineRecordCodecTest, TruncatedOrOversizedIsRejected) {
  const std::string good = EncodeOnlineRecord(Record("v", "e", 1234567, Features(1, 8)));
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeOnlineRecord("v", "e", good.substr(0, n)).ok()) << "length " << n;
  }
  EXPECT_FALSE(DecodeOnlineRecord("v", "e", good + '\0').ok());
  EXPECT_FALSE(DecodeOnlineRecord("v", "e", good + good).ok());
}

// Bodies that pass the checksum but lie about their structure: the bounds checks behind the
// checksum must catch them (Redis values are untrusted, and anyone can compute XXH3).
TEST(OnlineRecordCodecTest, MalformedBodyWithValidChecksumIsRejected) {
  auto body = [](uint8_t format, uint64_t version_len, std::string_view version,
                 uint64_t window_end, uint64_t n, size_t values_written) {
    std::string b;
    b.push_back(static_cast<char>(format));
    PutVarint(&b, version_len);
    b.append(version);
    PutVarint(&b, window_end);
    PutVarint(&b, n);
    for (size_t i = 0; i < values_written; ++i) PutF64(&b, 1.0);
    return b;
  };
  // The helper itself builds a valid record when told the truth.
  ASSERT_TRUE(DecodeOnlineRecord("v", "e", WithChecksum(body(1, 3, "abc", 5, 2, 2))).ok());

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"unknown format", body(2, 3, "abc", 5, 2, 2)},
      {"version longer than 64", body(1, 65, std::string(65, 'v'), 5, 0, 0)},
      {"version length past the end", body(1, 1000, "abc", 5, 0, 0)},
      {"fewer values than n", body(1, 3, "abc", 5, 3, 2)},
      {"more values than n", body(1, 3, "abc", 5, 1, 2)},
      {"n beyond any view", body(1, 3, "abc", 5, uint64_t{1} << 40, 0)},
      {"n that overflows n*8", body(1, 3, "abc", 5, uint64_t{1} << 61, 0)},
      {"varint runs off the end", std::string(1, '\x01') + std::string(5, '\xff')},
      {"empty body", ""},
  };
  for (const auto& [name, bytes] : cases) {
    Result<OnlineRecord> r = DecodeOnlineRecord("v", "e", WithChecksum(bytes));
    EXPECT_FALSE(r.ok()) << name;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << name;
    }
  }
}

// ---------------------------------------------------------------------------------------
// A real redis-server, owned by the test: killed and reaped whatever the outcome.

std::string FindProgram(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    for (std::string d; std::getline(ss, d, ':');) dirs.push_back(d);
  }
  dirs.insert(dirs.end(), {"/usr/bin", "/usr/sbin", "/usr/local/bin"});
  for (const std::string& d : dirs) {
    const fs::path p = fs::path(d) / name;
    if (!d.empty() && ::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    port = ntohs(sa.sin_port);
  }
  ::close(fd);
  return port;
}

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using RawConnection = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisServer {
 public:
  RedisServer() = default;
  ~RedisServer() { Stop(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  static bool Installed() { return !FindProgram("redis-server").empty(); }

  // Starts on a new free port, or on the previous one when restarting. True once it
  // answers PING.
  bool Start() {
    if (dir_ == nullptr) dir_ = std::make_unique<TempDir>();
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (port_ == 0 || (attempt > 0 && !restarting_)) port_ = FreePort();
      if (Launch()) {
        restarting_ = true;
        return true;
      }
      Stop();
    }
    return false;
  }

  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);  // also ends a paused server
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void Pause() { ::kill(pid_, SIGSTOP); }
  void Resume() { ::kill(pid_, SIGCONT); }

  int port() const { return port_; }
  std::string unix_socket() const { return dir_->path() + "/redis.sock"; }

  RedisOptions Options(std::string key_prefix = "dnsight:") const {
    RedisOptions o;
    o.host = "127.0.0.1";
    o.port = port_;
    o.key_prefix = std::move(key_prefix);
    return o;
  }

  // A direct connection, for writing what the store never would.
  RawConnection Connect() const {
    timeval tv{1, 0};
    RawConnection c(redisConnectWithTimeout("127.0.0.1", port_, tv));
    if (c != nullptr && c->err != 0) c.reset();
    return c;
  }

 private:
  bool Launch() {
    const std::string program = FindProgram("redis-server");
    const std::string port = std::to_string(port_);
    const std::string sock = unix_socket();
    const std::string log = dir_->path() + "/redis.log";
    std::vector<std::string> args = {
        program,      "--port",       port, "--bind",           "127.0.0.1", "--save",
        "",           "--appendonly", "no", "--daemonize",      "no",        "--dir",
        dir_->path(), "--unixsocket", sock, "--unixsocketperm", "700"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Prepared before fork: the parent may have threads (RocksDB's), so the child only
    // calls async-signal-safe functions.
    const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_ = ::fork();
    if (pid_ == 0) {
      if (log_fd >= 0) {
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (log_fd >= 0) ::close(log_fd);
    if (pid_ < 0) return false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {  // exited: port taken, bad flag
        pid_ = -1;
        return false;
      }
      if (RawConnection c = Connect()) {
        Reply r(static_cast<redisReply*>(redisCommand(c.get(), "PING")));
        if (r != nullptr && r->type == REDIS_REPLY_STATUS) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::unique_ptr<TempDir> dir_;
  int port_ = 0;
  bool restarting_ = false;
  pid_t pid_ = -1;
};

// ---------------------------------------------------------------------------------------
// Behaviour shared by both backends.

enum class Backend { kEmbedded, kRedis };

// Where a test's stores live: a directory or a redis server (with a key prefix of the
// test's own). Stores opened on the same backing see the same data.
class Backing {
 public:
  virtual ~Backing() = default;
  virtual Result<std::unique_ptr<OnlineStore>> Open() = 0;
};

class EmbeddedBacking final : public Backing {
 public:
  Result<std::unique_ptr<OnlineStore>> Open() override {
    return OpenEmbeddedOnlineStore(dir_.path() + "/online");
  }

 private:
  TempDir dir_;
};

class RedisBacking final : public Backing {
 public:
  explicit RedisBacking(RedisOptions options) : options_(std::move(options)) {}
  Result<std::unique_ptr<OnlineStore>> Open() override { return OpenRedisOnlineStore(options_); }

 private:
  RedisOptions options_;
};

class OnlineStoreBehaviourTest : public ::testing::TestWithParam<Backend> {
 protected:
  static void TearDownTestSuite() { shared_redis_.reset(); }

  void SetUp() override {
    if (GetParam() == Backend::kEmbedded) {
      backing_ = std::make_unique<EmbeddedBacking>();
    } else {
      if (!RedisServer::Installed()) GTEST_SKIP() << "redis-server not installed";
      if (shared_redis_ == nullptr) {
        auto server = std::make_unique<RedisServer>();
        ASSERT_TRUE(server->Start()) << "redis-server did not start";
        shared_redis_ = std::move(server);
      }
      static int next_prefix = 0;
      backing_ = std::make_unique<RedisBacking>(
          shared_redis_->Options("test" + std::to_string(++next_prefix) + ":"));
    }
    store_ = OpenStore();
  }

  std::unique_ptr<OnlineStore> OpenStore() {
    Result<std::unique_ptr<OnlineStore>> store = backing_->Open();
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  void PutOrFail(std::vector<OnlineRecord> records) {
    const Status s = store_->Put(records);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  static std::unique_ptr<RedisServer> shared_redis_;
  std::unique_ptr<Backing> backing_;
  std::unique_ptr<OnlineStore> store_;
};

std::unique_ptr<RedisServer> OnlineStoreBehaviourTest::shared_redis_;

TEST_P(OnlineStoreBehaviourTest, KindNamesTheBackend) {
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->Kind(), GetParam() == Backend::kEmbedded ? "embedded" : "redis");
}

TEST_P(OnlineStoreBehaviourTest, PutThenGetRoundTrips) {
  ASSERT_NE(store_, nullptr);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<OnlineRecord> records = {
      Record("server", "192.0.2.1", 1795428310000000000, {812, 0.02, nan, -0.0, 14.7}),
      Record("domain", "example.com", 1795428310000000000, Features(7)),
      // Entities are untrusted text: separators, NUL and non-ASCII must round-trip.
      Record("domain",
             std::string("a\x1f"
                         "b\0c",
                         5),
             1, {1}),
      Record("domain",
             "b\xc3\xbc\xc3\x9f"
             "e.de",
             2, {}),
      Record("domain", "", 3, {3}),
  };
  PutOrFail(records);
  for (const OnlineRecord& want : records) {
    std::optional<OnlineRecord> got = GetOrFail(*store_, want.view, want.entity);
    ASSERT_TRUE(got.has_value()) << want.entity;
    ExpectSameRecord(*got, want);
  }
}

TEST_P(OnlineStoreBehaviourTest, NewerWindowReplacesAndOlderIsIgnored) {
  ASSERT_NE(store_, nullptr);
  PutOrFail({Record("v", "e", 100, {1})});
  PutOrFail({Record("v", "e", 99, {2})});  // a replay of older history
  EXPECT_EQ(GetOrFail(*store_, "v", "e")->values, std::vector<double>{1});
  PutOrFail({Record("v", "e", 100, {3}, "0000000000000002")});  // same window: replaces
  std::optional<OnlineRecord> same = GetOrFail(*store_, "v", "e");
  EXPECT_EQ(same->values, std::vector<double>{3});
  EXPECT_EQ(same->version, "0000000000000002");
  PutOrFail({Record("v", "e", 101, {4})});
  std::optional<OnlineRecord> newer = GetOrFail(*store_, "v", "e");
  EXPECT_EQ(newer->values, std::vector<double>{4});
  EXPECT_EQ(newer->window_end_ns, 101);
}

// Window ends are nanoseconds near 2^60: a comparison through doubles would see these as
// equal. Negative ends (before 1970) and the int64 extremes order correctly too.
TEST_P(OnlineStoreBehaviourTest, WindowEndsCompareExactly) {
  ASSERT_NE(store_, nullptr);
  PutOrFail({Record("v", "big", 1795428310000000001, {1})});
  PutOrFail({Record("v", "big", 1795428310000000000, {2})});
  EXPECT_EQ(GetOrFail(*store_, "v", "big")->values, std::vector<double>{1});

  PutOrFail({Record("v", "neg", -5, {1})});
  PutOrFail({Record("v", "neg", -10, {2})});
  EXPECT_EQ(GetOrFail(*store_, "v", "neg")->values, std::vector<double>{1});
  PutOrFail({Record("v", "neg", -4, {3})});
  EXPECT_EQ(GetOrFail(*store_, "v", "neg")->values, std::vector<double>{3});
  PutOrFail({Record("v", "neg", 0, {4})});
  EXPECT_EQ(GetOrFail(*store_, "v", "neg")->values, std::vector<double>{4});

  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  PutOrFail({Record("v", "ext", kMin, {1})});
  PutOrFail({Record("v", "ext", kMin + 1, {2})});
  EXPECT_EQ(GetOrFail(*store_, "v", "ext")->values, std::vector<double>{2});
  PutOrFail({Record("v", "ext", kMax, {3})});
  PutOrFail({Record("v", "ext", kMax - 1, {4})});
  EXPECT_EQ(GetOrFail(*store_, "v", "ext")->values, std::vector<double>{3});
}

TEST_P(OnlineStoreBehaviourTest, OneBatchKeepsTheNewestPerKey) {
  ASSERT_NE(store_, nullptr);
  PutOrFail({Record("v", "a", 10, {1}), Record("v", "a", 5, {2}), Record("v", "b", 1, {3}),
             Record("v", "b", 2, {4})});
  EXPECT_EQ(GetOrFail(*store_, "v", "a")->values, std::vector<double>{1});
  EXPECT_EQ(GetOrFail(*store_, "v", "b")->values, std::vector<double>{4});
}

TEST_P(OnlineStoreBehaviourTest, MultiGetReportsAbsentEntities) {
  ASSERT_NE(store_, nullptr);
  PutOrFail({Record("v", "e1", 1, {1}), Record("v", "e3", 3, {3}), Record("other", "e0", 1, {9})});
  const std::vector<std::string> entities = {"e0", "e1", "e2", "e3", "e1"};
  std::vector<std::optional<OnlineRecord>> out(7, Record("junk", "junk", 0, {}));
  ASSERT_TRUE(store_->MultiGet("v", entities, &out).ok());
  ASSERT_EQ(out.size(), entities.size());
  EXPECT_FALSE(out[0].has_value());  // present in another view only
  ASSERT_TRUE(out[1].has_value());
  EXPECT_EQ(out[1]->entity, "e1");
  EXPECT_EQ(out[1]->values, std::vector<double>{1});
  EXPECT_FALSE(out[2].has_value());
  ASSERT_TRUE(out[3].has_value());
  EXPECT_EQ(out[3]->window_end_ns, 3);
  ASSERT_TRUE(out[4].has_value());
  EXPECT_EQ(out[4]->entity, "e1");

  ASSERT_TRUE(store_->MultiGet("v", {}, &out).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(store_->MultiGet("nope", entities, &out).ok());
  for (const auto& r : out) EXPECT_FALSE(r.has_value());
}

TEST_P(OnlineStoreBehaviourTest, ManyRecordsInOneCall) {
  ASSERT_NE(store_, nullptr);
  constexpr int kN = 2000;  // more than one pipeline chunk
  std::vector<OnlineRecord> records;
  std::vector<std::string> entities;
  for (int i = 0; i < kN; ++i) {
    entities.push_back("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256));
    records.push_back(Record("client", entities.back(), i, Features(i)));
  }
  PutOrFail(records);
  std::vector<std::optional<OnlineRecord>> out;
  ASSERT_TRUE(store_->MultiGet("client", entities, &out).ok());
  ASSERT_EQ(out.size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(out[i].has_value()) << i;
    ExpectSameRecord(*out[i], records[i]);
  }
}

TEST_P(OnlineStoreBehaviourTest, SurvivesReopen) {
  ASSERT_NE(store_, nullptr);
  PutOrFail({Record("v", "e", 10, Features(1)), Record("v", "f", 20, Features(2))});
  store_.reset();
  store_ = OpenStore();
  ASSERT_NE(store_, nullptr);
  std::optional<OnlineRecord> e = GetOrFail(*store_, "v", "e");
  ASSERT_TRUE(e.has_value());
  ExpectSameRecord(*e, Record("v", "e", 10, Features(1)));
  // Newer-wins still holds against what was loaded.
  PutOrFail({Record("v", "f", 19, {0})});
  EXPECT_EQ(GetOrFail(*store_, "v", "f")->window_end_ns, 20);
}

TEST_P(OnlineStoreBehaviourTest, RejectsWhatCouldNotBeReadBack) {
  ASSERT_NE(store_, nullptr);
  const std::vector<OnlineRecord> bad_view = {
      Record("a\x1f"
             "b",
             "c", 1, {1})};
  EXPECT_EQ(store_->Put(bad_view).code(), StatusCode::kInvalidArgument);
  const std::vector<OnlineRecord> long_version = {Record("v", "e", 1, {1}, std::string(65, 'x'))};
  EXPECT_EQ(store_->Put(long_version).code(), StatusCode::kInvalidArgument);
  std::vector<std::optional<OnlineRecord>> out;
  const std::vector<std::string> entities = {"c"};
  EXPECT_EQ(store_
                ->MultiGet("a\x1f"
                           "b",
                           entities, &out)
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->Put({}).ok());
}

// Two writers interleave window ends (one even, one odd) over the same entities while two
// readers check that every record they see is whole (values match its window end) and that
// an entity's window end never goes back.
TEST_P(OnlineStoreBehaviourTest, ConcurrentWritersAndReaders) {
  ASSERT_NE(store_, nullptr);
  constexpr int kEntities = 20;
  constexpr int kRounds = 100;
  std::vector<std::string> entities;
  for (int i = 0; i < kEntities; ++i) entities.push_back("e" + std::to_string(i));
  std::atomic<int> writers_left{2};
  std::atomic<int> errors{0};
  std::atomic<int> torn{0};
  std::atomic<int> went_back{0};
  std::atomic<long> reads{0};

  auto writer = [&](int parity) {
    for (int round = 0; round < kRounds; ++round) {
      const int64_t w = round * 2 + parity;
      std::vector<OnlineRecord> batch;
      for (const std::string& e : entities) {
        batch.push_back(Record("v", e, w, {static_cast<double>(w), 2.0 * static_cast<double>(w)}));
      }
      if (!store_->Put(batch).ok()) ++errors;
    }
    --writers_left;
  };
  auto reader = [&] {
    std::vector<int64_t> last(kEntities, std::numeric_limits<int64_t>::min());
    std::vector<std::optional<OnlineRecord>> out;
    do {
      if (!store_->MultiGet("v", entities, &out).ok()) {
        ++errors;
        continue;
      }
      ++reads;
      for (int i = 0; i < kEntities; ++i) {
        if (!out[i].has_value()) continue;
        const OnlineRecord& r = *out[i];
        const double w = static_cast<double>(r.window_end_ns);
        if (r.values.size() != 2 || r.values[0] != w || r.values[1] != 2 * w) ++torn;
        if (r.window_end_ns < last[i]) ++went_back;
        last[i] = r.window_end_ns;
      }
    } while (writers_left.load() > 0);
  };
  std::vector<std::thread> threads;
  threads.emplace_back(writer, 0);
  threads.emplace_back(writer, 1);
  threads.emplace_back(reader);
  threads.emplace_back(reader);
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(went_back.load(), 0);
  EXPECT_GT(reads.load(), 0);
  for (const std::string& e : entities) {
    EXPECT_EQ(GetOrFail(*store_, "v", e)->window_end_ns, 2 * (kRounds - 1) + 1) << e;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, OnlineStoreBehaviourTest,
                         ::testing::Values(Backend::kEmbedded, Backend::kRedis),
                         [](const ::testing::TestParamInfo<Backend>& backend) {
                           return backend.param == Backend::kEmbedded ? "Embedded" : "Redis";
                         });

// ---------------------------------------------------------------------------------------
// Embedded store only.

TEST(EmbeddedOnlineStoreTest, CorruptValuesAreSkippedAtOpen) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/online";
  {
    auto store = OpenEmbeddedOnlineStore(dir);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE(
        (*store)->Put(std::vector{Record("v", "good", 5, {1}), Record("v", "bad", 5, {2})}).ok());
  }
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string flipped = EncodeOnlineRecord(Record("v", "bad", 5, {2}));
    flipped[3] = static_cast<char>(flipped[3] ^ 0x10);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(),
                        "v\x1f"
                        "bad",
                        flipped)
                    .ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "no separator", "x").ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(),
                        "v\x1f"
                        "empty",
                        "")
                    .ok());
    ASSERT_TRUE(db->Close().ok());
  }
  auto store = OpenEmbeddedOnlineStore(dir);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(GetOrFail(**store, "v", "good").has_value());
  EXPECT_FALSE(GetOrFail(**store, "v", "bad").has_value());
  EXPECT_FALSE(GetOrFail(**store, "v", "empty").has_value());
  // A skipped key takes the next write, whatever its window end.
  ASSERT_TRUE((*store)->Put(std::vector{Record("v", "bad", 1, {3})}).ok());
  EXPECT_EQ(GetOrFail(**store, "v", "bad")->values, std::vector<double>{3});
}

TEST(EmbeddedOnlineStoreTest, OpenErrorsAreStatusesNotCrashes) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/online";
  auto first = OpenEmbeddedOnlineStore(dir);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = OpenEmbeddedOnlineStore(dir);  // RocksDB's lock: one owner per directory
  EXPECT_FALSE(second.ok());

  const std::string file = tmp.path() + "/a-file";
  std::fclose(std::fopen(file.c_str(), "w"));
  auto on_file = OpenEmbeddedOnlineStore(file);
  EXPECT_FALSE(on_file.ok());
}

constexpr char kCrashDirEnv[] = "DNSIGHT_ONLINE_STORE_CRASH_DIR";
constexpr int kCrashRecords = 1000;

// Runs only as the child of PutThatReturnedOkSurvivesKill9: writes, then dies without
// closing anything.
TEST(EmbeddedOnlineStoreCrashChild, PutThenKill9) {
  const char* dir = std::getenv(kCrashDirEnv);
  if (dir == nullptr) GTEST_SKIP() << "runs only as the child of PutThatReturnedOkSurvivesKill9";
  auto store = OpenEmbeddedOnlineStore(dir);
  if (!store.ok()) ::_exit(2);
  for (int batch = 0; batch < 10; ++batch) {
    std::vector<OnlineRecord> records;
    for (int i = 0; i < kCrashRecords / 10; ++i) {
      const int n = batch * (kCrashRecords / 10) + i;
      records.push_back(Record("v", "e" + std::to_string(n), n, Features(n)));
    }
    if (!(*store)->Put(records).ok()) ::_exit(3);
  }
  ::raise(SIGKILL);
}

TEST(EmbeddedOnlineStoreTest, PutThatReturnedOkSurvivesKill9) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/online";
  // The child is this test binary, re-executed to run only the crash child test, so it
  // starts with no threads and no RocksDB state inherited from this process.
  std::string filter = "--gtest_filter=EmbeddedOnlineStoreCrashChild.PutThenKill9";
  std::string program = "/proc/self/exe";
  std::vector<char*> argv = {program.data(), filter.data(), nullptr};
  std::vector<std::string> env_strings = {std::string(kCrashDirEnv) + "=" + dir};
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  envp.push_back(nullptr);
  const std::string log = tmp.path() + "/child.log";
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child did not die of SIGKILL after writing; status " << status;

  auto store = OpenEmbeddedOnlineStore(dir);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (int n = 0; n < kCrashRecords; ++n) {
    std::optional<OnlineRecord> r = GetOrFail(**store, "v", "e" + std::to_string(n));
    ASSERT_TRUE(r.has_value()) << "record " << n << " lost";
    ExpectSameRecord(*r, Record("v", "e" + std::to_string(n), n, Features(n)));
  }
}

// ---------------------------------------------------------------------------------------
// Redis store only. Each test has its own server, since some stop or pause it.

class RedisOnlineStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::Installed()) GTEST_SKIP() << "redis-server not installed";
    ASSERT_TRUE(server_.Start()) << "redis-server did not start";
  }

  std::unique_ptr<OnlineStore> Open(const RedisOptions& options) {
    auto store = OpenRedisOnlineStore(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  Reply Command(redisContext* c, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    return Reply(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data())));
  }

  RedisServer server_;
};

TEST_F(RedisOnlineStoreTest, StoredLayoutIsAHashOfWindowEndAndRecord) {
  auto store = Open(server_.Options("p:"));
  ASSERT_NE(store, nullptr);
  const OnlineRecord record = Record("client", "192.0.2.7", -1795428310000000000, Features(1));
  ASSERT_TRUE(store->Put(std::vector{record}).ok());
  RawConnection c = server_.Connect();
  ASSERT_NE(c, nullptr);
  const std::string key =
      "p:client\x1f"
      "192.0.2.7";
  Reply w = Command(c.get(), {"HGET", key, "w"});
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(w->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(w->str, w->len), "-1795428310000000000");
  Reply r = Command(c.get(), {"HGET", key, "r"});
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(r->str, r->len), EncodeOnlineRecord(record));
}

TEST_F(RedisOnlineStoreTest, CorruptValuesReadAsAbsent) {
  auto store = Open(server_.Options("p:"));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put(std::vector{Record("v", "good", 1, {1})}).ok());
  RawConnection c = server_.Connect();
  ASSERT_NE(c, nullptr);
  std::string flipped = EncodeOnlineRecord(Record("v", "flipped", 1, Features(1)));
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 1);
  ASSERT_NE(Command(c.get(), {"HSET",
                              "p:v\x1f"
                              "flipped",
                              "w", "1", "r", flipped}),
            nullptr);
  ASSERT_NE(Command(c.get(), {"HSET",
                              "p:v\x1f"
                              "garbage",
                              "w", "1", "r", "garbage"}),
            nullptr);
  ASSERT_NE(Command(c.get(), {"HSET",
                              "p:v\x1f"
                              "empty",
                              "w", "1", "r", ""}),
            nullptr);
  ASSERT_NE(Command(c.get(), {"HSET",
                              "p:v\x1f"
                              "no-r",
                              "w", "1"}),
            nullptr);
  ASSERT_NE(Command(c.get(), {"SET",
                              "p:v\x1f"
                              "string",
                              "not a hash"}),
            nullptr);
  ASSERT_NE(Command(c.get(), {"RPUSH",
                              "p:v\x1f"
                              "list",
                              "a"}),
            nullptr);

  const std::vector<std::string> entities = {"flipped", "garbage", "empty", "no-r",
                                             "string",  "list",    "good"};
  std::vector<std::optional<OnlineRecord>> out;
  const Status s = store->MultiGet("v", entities, &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(out.size(), entities.size());
  for (size_t i = 0; i + 1 < entities.size(); ++i) {
    EXPECT_FALSE(out[i].has_value()) << entities[i];
  }
  EXPECT_TRUE(out.back().has_value());

  // A stored window end that does not parse does not block the next write.
  ASSERT_NE(Command(c.get(), {"HSET",
                              "p:v\x1f"
                              "garbage",
                              "w", "12x"}),
            nullptr);
  ASSERT_TRUE(store->Put(std::vector{Record("v", "garbage", 1, {5})}).ok());
  EXPECT_EQ(GetOrFail(*store, "v", "garbage")->values, std::vector<double>{5});
  // A key of another type makes Put fail, cleanly, and the store goes on working.
  EXPECT_FALSE(store->Put(std::vector{Record("v", "string", 1, {5})}).ok());
  EXPECT_TRUE(store->Put(std::vector{Record("v", "good", 2, {2})}).ok());
}

TEST_F(RedisOnlineStoreTest, SelectsTheConfiguredDb) {
  RedisOptions in_db1 = server_.Options();
  in_db1.db = 1;
  auto store1 = Open(in_db1);
  auto store0 = Open(server_.Options());
  ASSERT_NE(store1, nullptr);
  ASSERT_NE(store0, nullptr);
  ASSERT_TRUE(store1->Put(std::vector{Record("v", "e", 1, {1})}).ok());
  EXPECT_TRUE(GetOrFail(*store1, "v", "e").has_value());
  EXPECT_FALSE(GetOrFail(*store0, "v", "e").has_value());

  RedisOptions bad_db = server_.Options();
  bad_db.db = 100000;
  EXPECT_FALSE(OpenRedisOnlineStore(bad_db).ok());
}

TEST_F(RedisOnlineStoreTest, ConnectsOverUnixSocket) {
  RedisOptions options = server_.Options();
  options.host = "unused.invalid";
  options.unix_socket = server_.unix_socket();
  auto store = Open(options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put(std::vector{Record("v", "e", 1, {1})}).ok());
  auto over_tcp = Open(server_.Options());
  ASSERT_NE(over_tcp, nullptr);
  EXPECT_TRUE(GetOrFail(*over_tcp, "v", "e").has_value());
}

TEST_F(RedisOnlineStoreTest, ReloadsTheScriptAfterScriptFlush) {
  auto store = Open(server_.Options());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put(std::vector{Record("v", "e", 1, {1})}).ok());
  RawConnection c = server_.Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_NE(Command(c.get(), {"SCRIPT", "FLUSH"}), nullptr);
  const Status s = store->Put(std::vector{Record("v", "e", 2, {2})});
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(GetOrFail(*store, "v", "e")->values, std::vector<double>{2});
}

TEST_F(RedisOnlineStoreTest, StoppedServerGivesUnavailableAndRestartIsPickedUp) {
  auto store = Open(server_.Options());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put(std::vector{Record("v", "e", 1, {1})}).ok());
  server_.Stop();

  // One pipeline chunk of this (~8 MB) takes more than one write(2): the server's reset
  // lands between writes, and the next write would raise SIGPIPE.
  std::vector<OnlineRecord> many;
  for (int i = 0; i < 600; ++i) {
    many.push_back(Record("v", "e" + std::to_string(i), 2, Features(i, 2000)));
  }
  const Status put = store->Put(many);
  EXPECT_EQ(put.code(), StatusCode::kUnavailable) << put.ToString();
  Result<std::optional<OnlineRecord>> get = store->Get("v", "e");
  EXPECT_EQ(get.status().code(), StatusCode::kUnavailable) << get.status().ToString();
  std::vector<std::optional<OnlineRecord>> out;
  const std::vector<std::string> entities = {"e", "f"};
  EXPECT_EQ(store->MultiGet("v", entities, &out).code(), StatusCode::kUnavailable);
  EXPECT_EQ(OpenRedisOnlineStore(server_.Options()).status().code(), StatusCode::kUnavailable);

  // Same port again, empty (no persistence): the next call reconnects.
  ASSERT_TRUE(server_.Start());
  const Status again = store->Put(std::vector{Record("v", "e", 3, {3})});
  ASSERT_TRUE(again.ok()) << again.ToString();
  EXPECT_EQ(GetOrFail(*store, "v", "e")->values, std::vector<double>{3});
}

TEST_F(RedisOnlineStoreTest, ServerRestartBetweenCallsIsInvisible) {
  auto store = Open(server_.Options());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put(std::vector{Record("v", "e", 1, {1})}).ok());
  server_.Stop();
  ASSERT_TRUE(server_.Start());
  // The kept connection is dead; the call notices, reconnects and runs again.
  const Status s = store->Put(std::vector{Record("v", "e", 2, {2})});
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(RedisOnlineStoreTest, StalledServerTimesOut) {
  RedisOptions options = server_.Options();
  options.timeout_ms = 200;
  auto store = Open(options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put(std::vector{Record("v", "e", 1, {1})}).ok());
  server_.Pause();
  const auto start = std::chrono::steady_clock::now();
  Result<std::optional<OnlineRecord>> get = store->Get("v", "e");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  server_.Resume();
  EXPECT_EQ(get.status().code(), StatusCode::kUnavailable) << get.status().ToString();
  EXPECT_NE(get.status().message().find("no reply within 200 ms"), std::string::npos)
      << get.status().message();
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  std::optional<OnlineRecord> after = GetOrFail(*store, "v", "e");
  EXPECT_TRUE(after.has_value());
}

TEST_F(RedisOnlineStoreTest, UnreachableServerFailsToOpen) {
  RedisOptions options = server_.Options();
  server_.Stop();
  EXPECT_EQ(OpenRedisOnlineStore(options).status().code(), StatusCode::kUnavailable);
  options.unix_socket = "/nonexistent/redis.sock";
  EXPECT_EQ(OpenRedisOnlineStore(options).status().code(), StatusCode::kUnavailable);
  options.unix_socket.clear();
  options.port = 70000;
  EXPECT_EQ(OpenRedisOnlineStore(options).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnsight
