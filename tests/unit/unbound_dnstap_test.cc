// Integration: a real unbound (built with dnstap) logs client queries and responses to a
// DnstapUnixSource; kdig sends queries for local-data names (NOERROR), always_nxdomain
// and static-zone misses (NXDOMAIN) and a refused zone (REFUSED), over UDP and TCP. No
// network access is needed. Skipped when unbound or kdig is not installed.
//
// Sequence: the source listens first; unbound starts and its dnstap thread connects in
// the background (messages logged before that are dropped, so we wait for START); a
// probe query confirms unbound answers; then the real queries; then SIGTERM makes
// unbound send STOP, and the source is stopped and checked.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ingest/dnstap_source.h"
#include "unit/recording_sink.h"

namespace dnsight {
namespace {

using test_support::RecordingSink;

namespace fs = std::filesystem;

std::string FindProgram(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    for (std::string d; std::getline(ss, d, ':');) dirs.push_back(d);
  }
  dirs.insert(dirs.end(), {"/usr/sbin", "/usr/local/sbin", "/sbin"});
  for (const std::string& d : dirs) {
    const fs::path p = fs::path(d) / name;
    if (!d.empty() && ::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

// A port that was free a moment ago on 127.0.0.1 for both UDP and TCP.
uint16_t FreePort() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (::bind(tcp, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::getsockname(tcp, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      ::close(tcp);
      continue;
    }
    const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
    const bool udp_free = ::bind(udp, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(udp);
    ::close(tcp);
    if (udp_free) return ntohs(sa.sin_port);
  }
  return 0;
}

bool WaitFor(const std::function<bool()>& pred, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a command and returns its combined output (arguments are ours, never user input).
std::string Capture(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

std::string StatusOf(const std::string& kdig_output) {
  const size_t at = kdig_output.find("status: ");
  if (at == std::string::npos) return "";
  const size_t end = kdig_output.find_first_of(";\n", at);
  return kdig_output.substr(at + 8, end - at - 8);
}

// Owns the unbound child: always killed and reaped, whatever the test outcome.
class ChildProcess {
 public:
  ChildProcess(const std::string& program, const std::vector<std::string>& args,
               const std::string& log_path) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    // Everything the child touches is prepared before fork (the parent has threads).
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      if (log >= 0) {
        ::dup2(log, STDOUT_FILENO);
        ::dup2(log, STDERR_FILENO);
      }
      ::execv(program.c_str(), argv.data());
      ::_exit(127);
    }
    if (log >= 0) ::close(log);
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }
  bool running() {
    if (pid_ <= 0) return false;
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  // SIGTERM, then SIGKILL after timeout_ms. True if it exited on SIGTERM.
  bool Terminate(int timeout_ms) {
    if (pid_ <= 0) return false;
    ::kill(pid_, SIGTERM);
    const bool exited = WaitFor([this] { return !running(); }, timeout_ms);
    return exited;
  }

 private:
  pid_t pid_ = -1;
};

struct Query {
  std::string name;
  std::string type;
  bool tcp;
  std::string want_status;
};

TEST(UnboundDnstapTest, ClientQueriesAndResponsesFromRealUnbound) {
  const std::string unbound = FindProgram("unbound");
  const std::string kdig = FindProgram("kdig");
  if (unbound.empty() || kdig.empty()) GTEST_SKIP() << "unbound or kdig not installed";
  if (Capture(unbound + " -V").find("--enable-dnstap") == std::string::npos) {
    GTEST_SKIP() << "unbound built without dnstap";
  }

  std::string tmpl = (fs::temp_directory_path() / "dnsight-unbound-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  const std::string socket_path = (dir / "dnstap.sock").string();
  const std::string conf_path = (dir / "unbound.conf").string();
  const std::string log_path = (dir / "unbound.log").string();
  const uint16_t port = FreePort();
  ASSERT_NE(port, 0);

  std::ofstream(conf_path) << "server:\n"
                           << "  interface: 127.0.0.1\n"
                           << "  port: " << port << "\n"
                           << "  do-ip6: no\n"
                           << "  do-daemonize: no\n"
                           << "  chroot: \"\"\n"
                           << "  username: \"\"\n"
                           << "  directory: \"" << dir.string() << "\"\n"
                           << "  pidfile: \"" << (dir / "unbound.pid").string() << "\"\n"
                           << "  use-syslog: no\n"
                           << "  logfile: \"\"\n"
                           << "  verbosity: 1\n"
                           << "  num-threads: 1\n"
                           << "  module-config: \"iterator\"\n"
                           << "  local-zone: \"example.test.\" static\n"
                           << "  local-data: \"www.example.test. 300 IN A 192.0.2.1\"\n"
                           << "  local-data: \"www.example.test. 300 IN TXT \\\"hello\\\"\"\n"
                           << "  local-data: \"probe.example.test. 60 IN A 192.0.2.9\"\n"
                           << "  local-zone: \"nx.test.\" always_nxdomain\n"
                           << "  local-zone: \"refused.test.\" refuse\n"
                           << "remote-control:\n"
                           << "  control-enable: no\n"
                           << "dnstap:\n"
                           << "  dnstap-enable: yes\n"
                           << "  dnstap-socket-path: \"" << socket_path << "\"\n"
                           << "  dnstap-bidirectional: yes\n"
                           << "  dnstap-send-identity: yes\n"
                           << "  dnstap-send-version: yes\n"
                           << "  dnstap-log-client-query-messages: yes\n"
                           << "  dnstap-log-client-response-messages: yes\n";

  DnstapSourceOptions options;
  options.poll_timeout_ms = 50;
  DnstapUnixSource source(socket_path, options);
  ASSERT_TRUE(source.Listen().ok());
  RecordingSink sink;
  Status run_status;
  std::thread runner([&] { run_status = source.Run(sink); });
  struct Joiner {
    DnstapUnixSource& source;
    std::thread& thread;
    ~Joiner() {
      if (thread.joinable()) {
        source.RequestStop();
        thread.join();
      }
    }
  } joiner{source, runner};

  ChildProcess child(unbound, {"-d", "-c", conf_path}, log_path);
  ASSERT_TRUE(child.started());
  // unbound's dnstap thread connects in the background and drops messages until then.
  ASSERT_TRUE(
      WaitFor([&] { return source.counters().streams_started >= 1 || !child.running(); }, 20000))
      << ReadAll(log_path);
  ASSERT_TRUE(child.running()) << ReadAll(log_path);

  const std::string kdig_base =
      kdig + " @127.0.0.1 -p " + std::to_string(port) + " +retry=0 +timeout=2 ";
  ASSERT_TRUE(WaitFor(
      [&] { return StatusOf(Capture(kdig_base + "+notcp probe.example.test A")) == "NOERROR"; },
      20000))
      << ReadAll(log_path);

  const std::vector<Query> queries = {
      {"www.example.test", "A", false, "NOERROR"},
      {"www.example.test", "A", false, "NOERROR"},
      {"www.example.test", "A", true, "NOERROR"},
      {"www.example.test", "TXT", false, "NOERROR"},
      {"www.example.test", "TXT", false, "NOERROR"},
      {"www.example.test", "AAAA", false, "NOERROR"},  // NODATA
      {"missing.example.test", "A", false, "NXDOMAIN"},
      {"a.nx.test", "A", false, "NXDOMAIN"},
      {"b.nx.test", "A", false, "NXDOMAIN"},
      {"c.nx.test", "TXT", false, "NXDOMAIN"},
      {"d.nx.test", "A", true, "NXDOMAIN"},
      {"x.refused.test", "A", false, "REFUSED"},
  };
  for (const Query& q : queries) {
    const std::string out =
        Capture(kdig_base + (q.tcp ? "+tcp " : "+notcp ") + q.name + " " + q.type);
    ASSERT_EQ(StatusOf(out), q.want_status) << q.name << " " << q.type << "\n" << out;
  }

  // unbound's workers hand messages to the dnstap thread in batches or on a timer, and
  // whatever is still queued at shutdown is lost, so wait for every message (one query
  // and one response per kdig run, plus the successful probe) before stopping it.
  const uint64_t want_frames = 2 * (queries.size() + 1);
  const auto sent_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return source.counters().data_frames >= want_frames; }, 20000))
      << "dnstap frames received: " << source.counters().data_frames << " of " << want_frames
      << "\n"
      << ReadAll(log_path);
  std::printf("[          ] unbound delivered %llu dnstap frames %lld ms after the last query\n",
              static_cast<unsigned long long>(source.counters().data_frames),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - sent_at)
                                         .count()));

  // SIGTERM: unbound sends STOP and hangs up.
  ASSERT_TRUE(child.Terminate(15000)) << ReadAll(log_path);
  ASSERT_TRUE(WaitFor(
      [&] {
        const DnstapSourceCounters c = source.counters();
        return c.connections_closed >= 1 && c.active_connections == 0;
      },
      15000));
  source.RequestStop();
  runner.join();
  ASSERT_TRUE(run_status.ok()) << run_status.ToString();

  const DnstapSourceCounters c = source.counters();
  EXPECT_EQ(c.streams_stopped, 1u);
  EXPECT_EQ(c.connections_failed, 0u);
  EXPECT_EQ(c.decoder.malformed_total(), 0u);
  EXPECT_TRUE(sink.malformed.empty());
  EXPECT_EQ(c.matcher.unmatched_responses, 0u);
  EXPECT_EQ(c.matcher.unanswered, 0u);

  std::map<std::string, int> want_names, got_names;
  std::map<int, int> got_rcodes, got_qtypes;
  std::map<Transport, int> got_transports;
  for (const Query& q : queries) ++want_names[q.name];
  size_t probes = 0;
  for (const test_support::Seen& s : sink.seen) {
    const RawDnsObservation& o = s.obs;
    EXPECT_GE(o.rcode, 0) << s.qname;
    EXPECT_GE(o.query_time_ns, 0) << s.qname;
    EXPECT_GE(o.response_time_ns, o.query_time_ns) << s.qname;  // latency >= 0
    EXPECT_EQ(o.client.ToString(), "127.0.0.1");
    EXPECT_NE(o.client_port, 0);
    EXPECT_EQ(o.server.ToString(), "127.0.0.1");
    EXPECT_EQ(o.server_port, port);
    if (s.qname == "probe.example.test") {
      ++probes;
      continue;
    }
    ++got_names[s.qname];
    ++got_rcodes[o.rcode];
    ++got_qtypes[o.qtype];
    ++got_transports[o.transport];
  }
  EXPECT_GE(probes, 1u);
  EXPECT_EQ(sink.seen.size() - probes, queries.size());
  EXPECT_EQ(got_names, want_names);
  EXPECT_EQ(got_rcodes, (std::map<int, int>{{0, 6}, {3, 5}, {5, 1}}));
  EXPECT_EQ(got_qtypes, (std::map<int, int>{{1, 8}, {16, 3}, {28, 1}}));
  EXPECT_EQ(got_transports,
            (std::map<Transport, int>{{Transport::kUdp, 10}, {Transport::kTcp, 2}}));
  // unbound 1.17 sets only response_time on CLIENT_RESPONSE, so all latencies come from
  // pairing with CLIENT_QUERY.
  EXPECT_EQ(c.matcher.matched, sink.seen.size());
}

}  // namespace
}  // namespace dnsight
