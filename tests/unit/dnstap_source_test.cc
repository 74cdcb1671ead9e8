// dnstap sources end to end: files (our test encoder and libfstrm's file writer), unix
// sockets (libfstrm's unix writer, hand-rolled clients, misbehaving clients, limits) and
// TCP on a port picked by the kernel.
#include "ingest/dnstap_source.h"

#include <fstrm.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "dnstap.pb.h"

namespace dnsight {
namespace {

namespace fs = std::filesystem;

// --- Frame and message builders ----------------------------------------------------

std::string Be32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (24 - 8 * i));
  return s;
}
std::string DataFrame(const std::string& p) {
  return Be32(static_cast<uint32_t>(p.size())) + p;
}
std::string ControlFrame(uint32_t type, const std::vector<std::string>& cts = {}) {
  std::string body = Be32(type);
  for (const std::string& ct : cts) body += Be32(1) + Be32(static_cast<uint32_t>(ct.size())) + ct;
  return Be32(0) + Be32(static_cast<uint32_t>(body.size())) + body;
}
constexpr uint32_t kAccept = 1, kStart = 2, kStop = 3, kReady = 4, kFinish = 5;
const std::string kCt(kDnstapContentType);

std::string DnsMessage(uint16_t id, const std::string& label, bool response, uint8_t rcode) {
  std::string s;
  auto put16 = [&s](uint16_t v) {
    s.push_back(static_cast<char>(v >> 8));
    s.push_back(static_cast<char>(v));
  };
  put16(id);
  put16(response ? static_cast<uint16_t>(0x8180 | rcode) : 0x0100);
  put16(1);
  put16(0);
  put16(0);
  put16(0);
  for (const std::string& l : {label, std::string("example"), std::string("test")}) {
    s.push_back(static_cast<char>(l.size()));
    s += l;
  }
  s.push_back('\0');
  put16(1);
  put16(1);
  return s;
}

constexpr int64_t kT0 = 1'700'000'000'000'000'000;

// Transaction i of stream `stream`: a CLIENT_QUERY and its CLIENT_RESPONSE (rcode 3 for
// every third), 1 ms apart. Client ports differ per stream so keys never collide.
std::string TapFrame(int stream, int i, bool response) {
  dnstap::Dnstap d;
  d.set_type(dnstap::Dnstap::MESSAGE);
  dnstap::Message* m = d.mutable_message();
  m->set_type(response ? dnstap::Message::CLIENT_RESPONSE : dnstap::Message::CLIENT_QUERY);
  m->set_socket_family(dnstap::INET);
  m->set_socket_protocol(dnstap::UDP);
  m->set_query_address(std::string("\x7f\x00\x00\x01", 4));
  m->set_response_address(std::string("\x7f\x00\x00\x02", 4));
  m->set_query_port(static_cast<uint32_t>(10000 + stream));
  m->set_response_port(53);
  const int64_t t = kT0 + i * 10'000'000 + (response ? 1'000'000 : 0);
  const std::string wire =
      DnsMessage(static_cast<uint16_t>(i), "n" + std::to_string(i), response, i % 3 == 0 ? 3 : 0);
  if (response) {
    m->set_response_time_sec(static_cast<uint64_t>(t / 1'000'000'000));
    m->set_response_time_nsec(static_cast<uint32_t>(t % 1'000'000'000));
    m->set_response_message(wire);
  } else {
    m->set_query_time_sec(static_cast<uint64_t>(t / 1'000'000'000));
    m->set_query_time_nsec(static_cast<uint32_t>(t % 1'000'000'000));
    m->set_query_message(wire);
  }
  return d.SerializeAsString();
}

std::vector<std::string> Transactions(int stream, int n) {
  std::vector<std::string> frames;
  for (int i = 0; i < n; ++i) {
    frames.push_back(TapFrame(stream, i, false));
    frames.push_back(TapFrame(stream, i, true));
  }
  return frames;
}

std::string FileBytes(const std::vector<std::string>& frames) {
  std::string s = ControlFrame(kStart, {kCt});
  for (const std::string& f : frames) s += DataFrame(f);
  return s + ControlFrame(kStop);
}

// --- Sink and helpers ----------------------------------------------------------------

class RecordingSink : public ObservationSink {
 public:
  void OnObservation(const RawDnsObservation& obs) override {
    observations.push_back(obs);
    qnames.emplace_back(obs.qname);
    observations.back().qname = {};
  }
  void OnMalformed(std::string_view reason, std::span<const uint8_t>) override {
    malformed.emplace_back(reason);
  }
  int answered() const {
    int n = 0;
    for (const RawDnsObservation& o : observations) n += o.rcode >= 0 && o.query_time_ns >= 0;
    return n;
  }
  std::vector<RawDnsObservation> observations;
  std::vector<std::string> qnames;
  std::vector<std::string> malformed;
};

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "dnsight-dnstap-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Path(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

bool WaitFor(const std::function<bool()>& pred, int timeout_ms = 10000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

size_t Err(const DnstapSourceCounters& c, FstrmError e) {
  return c.protocol_errors[static_cast<size_t>(e)];
}

// Runs a source on a thread; stops and joins on destruction.
template <typename Source>
class Running {
 public:
  Running(Source& source, RecordingSink& sink) : source_(source) {
    thread_ = std::thread([this, &sink] { status_ = source_.Run(sink); });
  }
  ~Running() { Stop(); }
  Status Stop() {
    if (thread_.joinable()) {
      source_.RequestStop();
      thread_.join();
    }
    return status_;
  }

 private:
  Source& source_;
  std::thread thread_;
  Status status_;
};

// A hand-rolled blocking Frame Streams client.
class RawClient {
 public:
  static RawClient Unix(const std::string& path) {
    RawClient c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.data(), path.size());
    c.connected_ = ::connect(c.fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    return c;
  }
  static RawClient Tcp(uint16_t port) {
    RawClient c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c.connected_ = ::connect(c.fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    return c;
  }
  RawClient(RawClient&& o) noexcept : fd_(o.fd_), connected_(o.connected_) { o.fd_ = -1; }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }

  bool Send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads exactly n bytes; fewer on EOF/timeout.
  std::string Read(size_t n, int timeout_ms = 5000) {
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    out.resize(got);
    return out;
  }
  // True if the peer closed the connection (EOF) within the timeout.
  bool ClosedByPeer(int timeout_ms = 5000) {
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[256];
    for (;;) {
      const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
    }
  }
  // READY -> expect ACCEPT -> START.
  bool Handshake() {
    if (!Send(ControlFrame(kReady, {"application/x-other", kCt}))) return false;
    const std::string accept = ControlFrame(kAccept, {kCt});
    return Read(accept.size()) == accept && Send(ControlFrame(kStart, {kCt}));
  }
  // STOP -> expect FINISH.
  bool Stop() {
    const std::string finish = ControlFrame(kFinish);
    return Send(ControlFrame(kStop)) && Read(finish.size()) == finish;
  }

 private:
  explicit RawClient(int fd) : fd_(fd) {}
  int fd_;
  bool connected_ = false;
};

// --- libfstrm writers ------------------------------------------------------------------

fstrm_writer_options* WriterOptions() {
  fstrm_writer_options* wopt = fstrm_writer_options_init();
  fstrm_writer_options_add_content_type(wopt, kCt.data(), kCt.size());
  return wopt;
}

bool WriteAll(fstrm_writer* w, const std::vector<std::string>& frames) {
  if (w == nullptr || fstrm_writer_open(w) != fstrm_res_success) return false;
  for (const std::string& f : frames) {
    if (fstrm_writer_write(w, f.data(), f.size()) != fstrm_res_success) return false;
  }
  return fstrm_writer_close(w) == fstrm_res_success;
}

bool LibfstrmFile(const std::string& path, const std::vector<std::string>& frames) {
  fstrm_file_options* fopt = fstrm_file_options_init();
  fstrm_file_options_set_file_path(fopt, path.c_str());
  fstrm_writer_options* wopt = WriterOptions();
  fstrm_writer* w = fstrm_file_writer_init(fopt, wopt);
  const bool ok = WriteAll(w, frames);
  fstrm_writer_destroy(&w);
  fstrm_writer_options_destroy(&wopt);
  fstrm_file_options_destroy(&fopt);
  return ok;
}

bool LibfstrmUnix(const std::string& path, const std::vector<std::string>& frames) {
  fstrm_unix_writer_options* uopt = fstrm_unix_writer_options_init();
  fstrm_unix_writer_options_set_socket_path(uopt, path.c_str());
  fstrm_writer_options* wopt = WriterOptions();
  fstrm_writer* w = fstrm_unix_writer_init(uopt, wopt);
  const bool ok = WriteAll(w, frames);
  fstrm_writer_destroy(&w);
  fstrm_writer_options_destroy(&wopt);
  fstrm_unix_writer_options_destroy(&uopt);
  return ok;
}

bool LibfstrmTcp(uint16_t port, const std::vector<std::string>& frames) {
  fstrm_tcp_writer_options* topt = fstrm_tcp_writer_options_init();
  fstrm_tcp_writer_options_set_socket_address(topt, "127.0.0.1");
  fstrm_tcp_writer_options_set_socket_port(topt, std::to_string(port).c_str());
  fstrm_writer_options* wopt = WriterOptions();
  fstrm_writer* w = fstrm_tcp_writer_init(topt, wopt);
  const bool ok = WriteAll(w, frames);
  fstrm_writer_destroy(&w);
  fstrm_writer_options_destroy(&wopt);
  fstrm_tcp_writer_options_destroy(&topt);
  return ok;
}

void ExpectTransactions(const RecordingSink& sink, int n) {
  ASSERT_EQ(sink.observations.size(), static_cast<size_t>(n));
  int nxdomain = 0;
  for (size_t i = 0; i < sink.observations.size(); ++i) {
    const RawDnsObservation& o = sink.observations[i];
    EXPECT_EQ(o.response_time_ns - o.query_time_ns, 1'000'000) << sink.qnames[i];
    EXPECT_EQ(o.client.ToString(), "127.0.0.1");
    EXPECT_EQ(o.server.ToString(), "127.0.0.2");
    nxdomain += o.rcode == 3;
  }
  EXPECT_EQ(nxdomain, (n + 2) / 3);
  EXPECT_TRUE(sink.malformed.empty());
}

// --- File source -------------------------------------------------------------------------

TEST(DnstapFileSourceTest, ReadsAHandEncodedFile) {
  TempDir dir;
  const std::string path = dir.Path("a.fstrm");
  WriteFile(path, FileBytes(Transactions(0, 50)));
  DnstapSourceOptions o;
  o.read_chunk_size = 333;  // frames straddle reads
  DnstapFileSource source(path, o);
  EXPECT_EQ(source.Describe(), "dnstap-file:" + path);
  RecordingSink sink;
  ASSERT_TRUE(source.Run(sink).ok());
  ExpectTransactions(sink, 50);
  const DnstapSourceCounters c = source.counters();
  EXPECT_EQ(c.data_frames, 100u);
  EXPECT_EQ(c.control_frames, 2u);
  EXPECT_EQ(c.streams_started, 1u);
  EXPECT_EQ(c.streams_stopped, 1u);
  EXPECT_EQ(c.bytes_read, fs::file_size(path));
  EXPECT_EQ(c.decoder.queries, 50u);
  EXPECT_EQ(c.matcher.matched, 50u);
}

TEST(DnstapFileSourceTest, ReadsAFileWrittenByLibfstrm) {
  TempDir dir;
  const std::string path = dir.Path("libfstrm.fstrm");
  ASSERT_TRUE(LibfstrmFile(path, Transactions(0, 20)));
  DnstapFileSource source(path);
  RecordingSink sink;
  ASSERT_TRUE(source.Run(sink).ok());
  ExpectTransactions(sink, 20);
  EXPECT_EQ(sink.qnames[0], "n0.example.test");
}

TEST(DnstapFileSourceTest, OversizedFrameStopsWithAClearError) {
  TempDir dir;
  const std::string path = dir.Path("big.fstrm");
  std::vector<std::string> frames = Transactions(0, 3);
  frames.push_back(std::string(5000, 'x'));
  for (const std::string& f : Transactions(1, 3)) frames.push_back(f);
  WriteFile(path, FileBytes(frames));
  DnstapSourceOptions o;
  o.max_frame_size = 4096;
  DnstapFileSource source(path, o);
  RecordingSink sink;
  const Status s = source.Run(sink);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("frame_too_large: ", 0), 0u) << s.message();
  EXPECT_NE(s.message().find(path), std::string::npos);
  EXPECT_EQ(sink.malformed, std::vector<std::string>{"frame_too_large"});
  EXPECT_EQ(sink.observations.size(), 3u);  // what came before is kept
  EXPECT_EQ(Err(source.counters(), FstrmError::kFrameTooLarge), 1u);
}

TEST(DnstapFileSourceTest, TruncatedTailIsReportedNotFatal) {
  TempDir dir;
  const std::string path = dir.Path("cut.fstrm");
  std::string bytes = FileBytes(Transactions(0, 5));
  bytes.resize(bytes.size() - ControlFrame(kStop).size() - 7);  // into the last frame
  WriteFile(path, bytes);
  DnstapFileSource source(path);
  RecordingSink sink;
  ASSERT_TRUE(source.Run(sink).ok());
  EXPECT_EQ(sink.malformed, std::vector<std::string>{"truncated_frame"});
  // Four matched transactions, and the query whose response was cut off, unanswered.
  EXPECT_EQ(sink.observations.size(), 5u);
  EXPECT_EQ(sink.answered(), 4);
  EXPECT_EQ(Err(source.counters(), FstrmError::kTruncatedFrame), 1u);

  // Cut at a frame boundary: only the STOP is missing, which is counted, not reported.
  bytes = FileBytes(Transactions(0, 5));
  bytes.resize(bytes.size() - ControlFrame(kStop).size());
  WriteFile(path, bytes);
  DnstapFileSource source2(path);
  RecordingSink sink2;
  ASSERT_TRUE(source2.Run(sink2).ok());
  EXPECT_TRUE(sink2.malformed.empty());
  EXPECT_EQ(sink2.answered(), 5);
  EXPECT_EQ(Err(source2.counters(), FstrmError::kMissingStop), 1u);
}

TEST(DnstapFileSourceTest, BadPayloadsAreCountedAndSkipped) {
  TempDir dir;
  const std::string path = dir.Path("mixed.fstrm");
  std::vector<std::string> frames = Transactions(0, 2);
  frames.insert(frames.begin() + 1, std::string("\xff\xff\xff", 3));
  WriteFile(path, FileBytes(frames));
  DnstapFileSource source(path);
  RecordingSink sink;
  ASSERT_TRUE(source.Run(sink).ok());
  EXPECT_EQ(sink.malformed, std::vector<std::string>{"bad_protobuf"});
  EXPECT_EQ(sink.answered(), 2);
  EXPECT_EQ(source.counters().decoder.malformed_total(), 1u);
}

TEST(DnstapFileSourceTest, WrongContentTypeAndMissingFile) {
  TempDir dir;
  const std::string path = dir.Path("other.fstrm");
  WriteFile(path, ControlFrame(kStart, {"protobuf:other.Thing"}) + DataFrame("x"));
  DnstapFileSource source(path);
  RecordingSink sink;
  const Status s = source.Run(sink);
  EXPECT_EQ(s.message().rfind("wrong_content_type: ", 0), 0u) << s.message();

  DnstapFileSource missing(dir.Path("does-not-exist"));
  const Status m = missing.Run(sink);
  EXPECT_EQ(m.code(), StatusCode::kIoError);
  EXPECT_NE(m.message().find("does-not-exist"), std::string::npos);
}

// --- Unix socket source ------------------------------------------------------------------

TEST(DnstapUnixSourceTest, LibfstrmUnixWriterBidirectional) {
  TempDir dir;
  const std::string path = dir.Path("dnstap.sock");
  DnstapUnixSource source(path);
  ASSERT_TRUE(source.Listen().ok());
  ASSERT_TRUE(fs::is_socket(path));
  RecordingSink sink;
  {
    Running<DnstapUnixSource> running(source, sink);
    ASSERT_TRUE(LibfstrmUnix(path, Transactions(0, 30)));
    ASSERT_TRUE(WaitFor([&] {
      const DnstapSourceCounters c = source.counters();
      return c.streams_stopped == 1 && c.active_connections == 0;
    }));
    ASSERT_TRUE(running.Stop().ok());
  }
  ExpectTransactions(sink, 30);
  const DnstapSourceCounters c = source.counters();
  EXPECT_EQ(c.connections_accepted, 1u);
  EXPECT_EQ(c.connections_closed, 1u);
  EXPECT_EQ(c.connections_failed, 0u);
  EXPECT_EQ(c.control_frames, 3u);  // READY, START, STOP
  EXPECT_FALSE(fs::exists(path));   // removed when Run() ends
}

TEST(DnstapUnixSourceTest, ConcurrentClientsAndMisbehavingOnes) {
  TempDir dir;
  const std::string path = dir.Path("dnstap.sock");
  DnstapSourceOptions o;
  o.max_frame_size = 8192;
  DnstapUnixSource source(path, o);
  ASSERT_TRUE(source.Listen().ok());
  RecordingSink sink;
  Running<DnstapUnixSource> running(source, sink);

  RawClient a = RawClient::Unix(path), b = RawClient::Unix(path);
  ASSERT_TRUE(a.connected() && b.connected());
  ASSERT_TRUE(a.Handshake());
  ASSERT_TRUE(b.Handshake());
  const std::vector<std::string> fa = Transactions(1, 40), fb = Transactions(2, 40);
  // Interleaved, and split mid-frame, so both decoders hold partial frames at once.
  for (size_t i = 0; i < fa.size(); ++i) {
    const std::string x = DataFrame(fa[i]), y = DataFrame(fb[i]);
    ASSERT_TRUE(a.Send(x.substr(0, 5)));
    ASSERT_TRUE(b.Send(y.substr(0, 9)));
    ASSERT_TRUE(a.Send(x.substr(5)));
    ASSERT_TRUE(b.Send(y.substr(9)));
  }

  RawClient wrong = RawClient::Unix(path);
  ASSERT_TRUE(wrong.Send(ControlFrame(kReady, {"protobuf:not.Dnstap"})));
  EXPECT_TRUE(wrong.ClosedByPeer());
  RawClient big = RawClient::Unix(path);
  ASSERT_TRUE(big.Send(ControlFrame(kStart, {kCt}) + Be32(1u << 30)));
  EXPECT_TRUE(big.ClosedByPeer());
  RawClient junk = RawClient::Unix(path);
  ASSERT_TRUE(junk.Send(Be32(0) + Be32(8) + Be32(77) + Be32(0)));
  EXPECT_TRUE(junk.ClosedByPeer());

  ASSERT_TRUE(a.Stop());
  ASSERT_TRUE(b.Stop());
  EXPECT_TRUE(a.ClosedByPeer());
  ASSERT_TRUE(WaitFor([&] { return source.counters().active_connections == 0; }));
  ASSERT_TRUE(running.Stop().ok());

  const DnstapSourceCounters c = source.counters();
  EXPECT_EQ(sink.answered(), 80);
  EXPECT_EQ(sink.observations.size(), 80u);
  EXPECT_EQ(c.connections_accepted, 5u);
  EXPECT_EQ(c.connections_failed, 3u);
  EXPECT_EQ(Err(c, FstrmError::kWrongContentType), 1u);
  EXPECT_EQ(Err(c, FstrmError::kFrameTooLarge), 1u);
  EXPECT_EQ(Err(c, FstrmError::kBadControlType), 1u);
  std::map<std::string, int> reasons;
  for (const std::string& r : sink.malformed) ++reasons[r];
  EXPECT_EQ(reasons,
            (std::map<std::string, int>{
                {"bad_control_type", 1}, {"frame_too_large", 1}, {"wrong_content_type", 1}}));
}

TEST(DnstapUnixSourceTest, ConnectionLimit) {
  TempDir dir;
  const std::string path = dir.Path("dnstap.sock");
  DnstapSourceOptions o;
  o.max_connections = 1;
  DnstapUnixSource source(path, o);
  RecordingSink sink;
  Running<DnstapUnixSource> running(source, sink);
  ASSERT_TRUE(WaitFor([&] { return fs::exists(path); }));
  RawClient first = RawClient::Unix(path);
  ASSERT_TRUE(first.Handshake());
  RawClient second = RawClient::Unix(path);
  EXPECT_TRUE(second.ClosedByPeer());
  ASSERT_TRUE(first.Send(DataFrame(TapFrame(0, 0, false)) + DataFrame(TapFrame(0, 0, true))));
  ASSERT_TRUE(first.Stop());
  ASSERT_TRUE(WaitFor([&] { return source.counters().active_connections == 0; }));
  running.Stop();
  EXPECT_EQ(source.counters().connections_rejected, 1u);
  EXPECT_EQ(sink.answered(), 1);
}

TEST(DnstapUnixSourceTest, StopDrainsWhatWasSentAndFlushes) {
  TempDir dir;
  const std::string path = dir.Path("dnstap.sock");
  DnstapUnixSource source(path);
  ASSERT_TRUE(source.Listen().ok());
  RecordingSink sink;
  Running<DnstapUnixSource> running(source, sink);
  RawClient client = RawClient::Unix(path);
  ASSERT_TRUE(client.Handshake());
  std::string bytes;
  for (const std::string& f : Transactions(0, 10)) bytes += DataFrame(f);
  bytes += DataFrame(TapFrame(0, 10, false));  // a query whose response never comes
  ASSERT_TRUE(client.Send(bytes));
  // No STOP: the writer is still connected when the source is told to stop.
  ASSERT_TRUE(running.Stop().ok());
  EXPECT_EQ(sink.observations.size(), 11u);
  EXPECT_EQ(sink.answered(), 10);
  EXPECT_EQ(source.counters().matcher.unanswered, 1u);
  EXPECT_TRUE(client.ClosedByPeer());
}

TEST(DnstapUnixSourceTest, SocketPathHandling) {
  TempDir dir;
  // A stale socket file (bound, nobody listening) is replaced.
  const std::string stale = dir.Path("stale.sock");
  {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, stale.data(), stale.size());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ::close(fd);
  }
  DnstapUnixSource source(stale);
  EXPECT_TRUE(source.Listen().ok());
  // A live one is not stolen.
  DnstapUnixSource second(stale);
  EXPECT_EQ(second.Listen().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(fs::is_socket(stale));
  // A regular file is never removed.
  const std::string regular = dir.Path("data.txt");
  WriteFile(regular, "keep me");
  DnstapUnixSource third(regular);
  EXPECT_FALSE(third.Listen().ok());
  EXPECT_TRUE(fs::is_regular_file(regular));
  DnstapUnixSource too_long(std::string(200, 'x'));
  EXPECT_EQ(too_long.Listen().code(), StatusCode::kInvalidArgument);
}

TEST(DnstapUnixSourceTest, IdleStopIsPrompt) {
  TempDir dir;
  DnstapSourceOptions o;
  o.poll_timeout_ms = 60'000;  // the stop must not wait for this
  DnstapUnixSource source(dir.Path("idle.sock"), o);
  RecordingSink sink;
  Running<DnstapUnixSource> running(source, sink);
  ASSERT_TRUE(WaitFor([&] { return fs::exists(dir.Path("idle.sock")); }));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(running.Stop().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(sink.observations.empty());
}

// --- TCP source ---------------------------------------------------------------------------

TEST(DnstapTcpSourceTest, LibfstrmTcpWriterOnAKernelPickedPort) {
  DnstapTcpSource source("127.0.0.1", 0);
  EXPECT_EQ(source.port(), 0);
  ASSERT_TRUE(source.Listen().ok());
  const uint16_t port = source.port();
  ASSERT_NE(port, 0);
  EXPECT_EQ(source.Describe(), "dnstap-tcp:127.0.0.1:" + std::to_string(port));
  RecordingSink sink;
  {
    Running<DnstapTcpSource> running(source, sink);
    ASSERT_TRUE(LibfstrmTcp(port, Transactions(0, 25)));
    ASSERT_TRUE(WaitFor([&] {
      const DnstapSourceCounters c = source.counters();
      return c.streams_stopped == 1 && c.active_connections == 0;
    }));
    ASSERT_TRUE(running.Stop().ok());
  }
  ExpectTransactions(sink, 25);
}

TEST(DnstapTcpSourceTest, UnidirectionalClientGetsNoReplies) {
  DnstapTcpSource source("127.0.0.1", 0);
  ASSERT_TRUE(source.Listen().ok());
  RecordingSink sink;
  Running<DnstapTcpSource> running(source, sink);
  RawClient client = RawClient::Tcp(source.port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send(FileBytes(Transactions(0, 5))));
  // The server hangs up after STOP without sending anything (no FINISH unasked).
  EXPECT_EQ(client.Read(1), "");
  ASSERT_TRUE(WaitFor([&] { return source.counters().active_connections == 0; }));
  running.Stop();
  ExpectTransactions(sink, 5);
}

TEST(DnstapTcpSourceTest, BadBindAddress) {
  DnstapTcpSource source("not-an-address", 0);
  RecordingSink sink;
  EXPECT_EQ(source.Run(sink).code(), StatusCode::kInvalidArgument);
  DnstapTcpSource v6("::1", 0);
  if (v6.Listen().ok()) {
    EXPECT_NE(v6.port(), 0);
    EXPECT_EQ(v6.Describe().rfind("dnstap-tcp:[::1]:", 0), 0u);
  }
}

}  // namespace
}  // namespace dnsight
