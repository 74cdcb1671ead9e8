#include "hosting/host_metrics.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

namespace dnsight {
namespace {

constexpr int64_t kNs = 1'000'000'000;

HostSnapshot Scrape(int64_t ts_s, const std::string& text) {
  HostSnapshot s;
  s.ts_ns = ts_s * kNs;
  PromParseStats stats;
  EXPECT_TRUE(ParsePromText(text, &s.samples, &stats).ok());
  EXPECT_EQ(stats.malformed_lines, 0u)
      << stats.first_error << " at line " << stats.first_error_line;
  return s;
}

double Feature(const std::vector<double>& row, HostFeature f) {
  return row.at(static_cast<size_t>(f));
}

// Two scrapes ten seconds apart of a two-cpu node. The expected features, worked out by
// hand, are in TwoScrapes below.
const char kPrev[] = R"(# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="user"} 100
node_cpu_seconds_total{cpu="0",mode="system"} 50
node_cpu_seconds_total{cpu="0",mode="idle"} 1000
node_cpu_seconds_total{cpu="0",mode="iowait"} 10
node_cpu_seconds_total{cpu="0",mode="steal"} 5
node_cpu_seconds_total{cpu="1",mode="user"} 200
node_cpu_seconds_total{cpu="1",mode="system"} 60
node_cpu_seconds_total{cpu="1",mode="idle"} 900
node_cpu_seconds_total{cpu="1",mode="iowait"} 20
node_cpu_seconds_total{cpu="1",mode="steal"} 5
node_load1 2.5
node_memory_MemTotal_bytes 8e+09
node_memory_MemAvailable_bytes 4e+09
node_pressure_memory_waiting_seconds_total 100
node_disk_io_time_seconds_total{device="sda"} 50
node_disk_io_time_seconds_total{device="sdb"} 10
node_disk_io_time_weighted_seconds_total{device="sda"} 100
node_disk_io_time_weighted_seconds_total{device="sdb"} 20
node_filefd_allocated 1400
node_filefd_maximum 100000
node_netstat_Tcp_RetransSegs 1000
node_netstat_Tcp_OutSegs 50000
node_network_receive_drop_total{device="eth0"} 5
node_network_transmit_drop_total{device="eth0"} 0
node_network_receive_drop_total{device="eth1"} 2
node_network_transmit_drop_total{device="eth1"} 1
node_network_receive_drop_total{device="lo"} 0
node_network_transmit_drop_total{device="lo"} 0
node_systemd_service_restarts_total{name="nginx.service"} 2
node_systemd_service_restarts_total{name="sshd.service"} 0
node_boot_time_seconds 1.795e+09
process_start_time_seconds 1.7954e+09
)";

// Label order differs from kPrev on purpose: series are matched by label set.
const char kCur[] = R"(node_cpu_seconds_total{mode="user",cpu="0"} 104
node_cpu_seconds_total{cpu="0",mode="system"} 51
node_cpu_seconds_total{cpu="0",mode="idle"} 1013
node_cpu_seconds_total{cpu="0",mode="iowait"} 11
node_cpu_seconds_total{cpu="0",mode="steal"} 6
node_cpu_seconds_total{cpu="1",mode="user"} 206
node_cpu_seconds_total{cpu="1",mode="system"} 62
node_cpu_seconds_total{cpu="1",mode="idle"} 910
node_cpu_seconds_total{cpu="1",mode="iowait"} 20
node_cpu_seconds_total{cpu="1",mode="steal"} 7
node_load1 3
node_memory_MemTotal_bytes 8e+09
node_memory_MemAvailable_bytes 2e+09
node_pressure_memory_waiting_seconds_total 100.5
node_disk_io_time_seconds_total{device="sda"} 55
node_disk_io_time_seconds_total{device="sdb"} 19
node_disk_io_time_weighted_seconds_total{device="sda"} 130
node_disk_io_time_weighted_seconds_total{device="sdb"} 25
node_filefd_allocated 1536
node_filefd_maximum 100000
node_netstat_Tcp_RetransSegs 1010
node_netstat_Tcp_OutSegs 52000
node_network_receive_drop_total{device="eth0"} 8
node_network_transmit_drop_total{device="eth0"} 1
node_network_receive_drop_total{device="eth1"} 3
node_network_transmit_drop_total{device="eth1"} 1
node_network_receive_drop_total{device="lo"} 100
node_network_transmit_drop_total{device="lo"} 0
node_systemd_service_restarts_total{name="nginx.service"} 3
node_systemd_service_restarts_total{name="sshd.service"} 0
node_boot_time_seconds 1.795e+09
process_start_time_seconds 1.7954e+09
)";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(HostMetrics, FeatureNamesAreStable) {
  EXPECT_EQ(HostFeatureNames(),
            (std::vector<std::string>{
                "cpu_steal_ratio", "cpu_iowait_ratio", "load1_per_core", "memory_pressure",
                "memory_psi_waiting_ratio", "disk_io_busy_ratio", "disk_io_wait_s", "open_fds",
                "open_fds_ratio", "tcp_retrans_ratio", "net_drops_per_s", "restarts"}));
  EXPECT_EQ(HostFeatureNames().size(), static_cast<size_t>(HostFeature::kCount));
}

TEST(HostMetrics, TwoScrapes) {
  const HostSnapshot prev = Scrape(1000, kPrev);
  const HostSnapshot cur = Scrape(1010, kCur);
  std::vector<double> row;
  DeriveHostFeatures(&prev, cur, &row);
  ASSERT_EQ(row.size(), 12u);
  // cpu0 moved 4+1+13+1+1 = 20 s, cpu1 6+2+10+0+2 = 20 s: 40 s in all; steal 1+2, iowait 1+0.
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kCpuStealRatio), 3.0 / 40);
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kCpuIowaitRatio), 1.0 / 40);
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kLoad1PerCore), 3.0 / 2);
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kMemoryPressure), 1 - 2e9 / 8e9);
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kMemoryPsiWaitingRatio), 0.5 / 10);
  // sda busy 5 s of 10, sdb 9 s of 10: the busiest device.
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kDiskIoBusyRatio), 0.9);
  // Weighted: sda 30 s / 10 s, sdb 5 s / 10 s.
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kDiskIoWaitS), 3.0);
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kOpenFds), 1536);
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kOpenFdsRatio), 1536.0 / 100000);
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kTcpRetransRatio), 10.0 / 2000);
  // eth0 3 + 1, eth1 1 + 0 drops in 10 s; lo's 100 do not count.
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kNetDropsPerS), 5.0 / 10);
  // nginx restarted once.
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kRestarts), 1);
}

TEST(HostMetrics, FirstScrapeHasGaugesOnly) {
  const HostSnapshot cur = Scrape(1010, kCur);
  std::vector<double> row = {1, 2, 3};  // replaced
  DeriveHostFeatures(nullptr, cur, &row);
  ASSERT_EQ(row.size(), 12u);
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kLoad1PerCore), 1.5);
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kMemoryPressure), 0.75);
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kOpenFds), 1536);
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kOpenFdsRatio), 0.01536);
  for (HostFeature f : {HostFeature::kCpuStealRatio, HostFeature::kCpuIowaitRatio,
                        HostFeature::kMemoryPsiWaitingRatio, HostFeature::kDiskIoBusyRatio,
                        HostFeature::kDiskIoWaitS, HostFeature::kTcpRetransRatio,
                        HostFeature::kNetDropsPerS, HostFeature::kRestarts})
    EXPECT_TRUE(std::isnan(Feature(row, f))) << static_cast<size_t>(f);
}

TEST(HostMetrics, CounterResetsGiveNaNNotNegative) {
  const HostSnapshot prev = Scrape(1000, kPrev);
  std::string text = Replace(kCur, "{cpu=\"0\",mode=\"idle\"} 1013", "{cpu=\"0\",mode=\"idle\"} 3");
  text = Replace(text, "{device=\"sdb\"} 19", "{device=\"sdb\"} 1");
  text = Replace(text, "node_netstat_Tcp_OutSegs 52000", "node_netstat_Tcp_OutSegs 10");
  text = Replace(text, "receive_drop_total{device=\"eth1\"} 3",
                 "receive_drop_total{device=\"eth1\"} 0");
  text = Replace(text, "waiting_seconds_total 100.5", "waiting_seconds_total 1");
  const HostSnapshot cur = Scrape(1010, text);
  std::vector<double> row;
  DeriveHostFeatures(&prev, cur, &row);
  EXPECT_TRUE(std::isnan(Feature(row, HostFeature::kCpuStealRatio)));
  EXPECT_TRUE(std::isnan(Feature(row, HostFeature::kCpuIowaitRatio)));
  EXPECT_TRUE(std::isnan(Feature(row, HostFeature::kDiskIoBusyRatio)));
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kDiskIoWaitS), 3.0);  // weighted did not reset
  EXPECT_TRUE(std::isnan(Feature(row, HostFeature::kTcpRetransRatio)));
  EXPECT_TRUE(std::isnan(Feature(row, HostFeature::kNetDropsPerS)));
  EXPECT_TRUE(std::isnan(Feature(row, HostFeature::kMemoryPsiWaitingRatio)));
  for (double v : row) {
    EXPECT_FALSE(v < 0);
  }
}

TEST(HostMetrics, RestartsFromBootTimeProcessStartAndResetCounters) {
  const HostSnapshot prev = Scrape(1000, kPrev);
  std::string text = Replace(kCur, "node_boot_time_seconds 1.795e+09",
                             "node_boot_time_seconds 1.7950036e+09");  // an hour later
  text = Replace(text, "process_start_time_seconds 1.7954e+09",
                 "process_start_time_seconds 1.79541e+09");
  // sshd's counter was reset and has counted 2 since.
  text = Replace(text, "{name=\"nginx.service\"} 3", "{name=\"nginx.service\"} 2");
  text = Replace(text, "{name=\"sshd.service\"} 0", "{name=\"sshd.service\"} 2");
  text += "kube_pod_container_status_restarts_total{pod=\"a\"} 4\n";  // new series: ignored
  const HostSnapshot cur = Scrape(1010, text);
  std::vector<double> row;
  DeriveHostFeatures(&prev, cur, &row);
  // reboot 1 + exporter restart 1 + sshd 2 + nginx 0.
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kRestarts), 4);

  // A boot time that moves by under a second is clock adjustment, not a reboot.
  const HostSnapshot cur2 = Scrape(1010, Replace(kCur, "node_boot_time_seconds 1.795e+09",
                                                 "node_boot_time_seconds 1.7950000005e+09"));
  DeriveHostFeatures(&prev, cur2, &row);
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kRestarts), 1);  // nginx only
}

TEST(HostMetrics, MissingInputsAndNoElapsedTime) {
  const HostSnapshot prev = Scrape(1000, "node_load1 1\n");
  const HostSnapshot cur = Scrape(1010,
                                  "node_load1 1\nnode_memory_MemTotal_bytes 0\n"
                                  "node_memory_MemAvailable_bytes 0\n");
  std::vector<double> row;
  DeriveHostFeatures(&prev, cur, &row);
  ASSERT_EQ(row.size(), 12u);
  EXPECT_TRUE(std::isnan(Feature(row, HostFeature::kLoad1PerCore)));    // no cpus known
  EXPECT_TRUE(std::isnan(Feature(row, HostFeature::kMemoryPressure)));  // MemTotal 0
  EXPECT_TRUE(std::isnan(Feature(row, HostFeature::kMemoryPsiWaitingRatio)));
  EXPECT_TRUE(std::isnan(Feature(row, HostFeature::kOpenFds)));
  EXPECT_TRUE(std::isnan(Feature(row, HostFeature::kNetDropsPerS)));
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kRestarts), 0);

  // The same timestamp twice: no rates, but restarts still count.
  const HostSnapshot a = Scrape(1000, kPrev);
  const HostSnapshot b = Scrape(1000, kCur);
  DeriveHostFeatures(&a, b, &row);
  EXPECT_TRUE(std::isnan(Feature(row, HostFeature::kCpuStealRatio)));
  EXPECT_TRUE(std::isnan(Feature(row, HostFeature::kDiskIoBusyRatio)));
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kRestarts), 1);
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kLoad1PerCore), 1.5);

  // No time in any mode: the ratio is unknown, not 0/0.
  const HostSnapshot idle = Scrape(1010, kPrev);
  DeriveHostFeatures(&a, idle, &row);
  EXPECT_TRUE(std::isnan(Feature(row, HostFeature::kCpuStealRatio)));
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kNetDropsPerS), 0);
  EXPECT_DOUBLE_EQ(Feature(row, HostFeature::kRestarts), 0);
}

// ---------------------------------------------------------------------------------------
// Against a real node_exporter, when the machine has one.

constexpr char kNodeExporter[] = "/usr/bin/prometheus-node-exporter";

uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = 0;
  socklen_t len = sizeof sa;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0)
    port = ntohs(sa.sin_port);
  ::close(fd);
  return port;
}

class NodeExporterProcess {
 public:
  NodeExporterProcess() = default;
  NodeExporterProcess(const NodeExporterProcess&) = delete;
  NodeExporterProcess& operator=(const NodeExporterProcess&) = delete;
  ~NodeExporterProcess() { Stop(); }

  // Starts it on 127.0.0.1:port; false when it exits or does not answer in time.
  bool Start(uint16_t port) {
    std::string program = kNodeExporter;
    std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port);
    std::vector<char*> argv = {program.data(), listen.data(), nullptr};
    // Opened before fork, so the child only calls async-signal-safe functions.
    const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    pid_ = ::fork();
    if (pid_ == 0) {
      if (null_fd >= 0) {
        ::dup2(null_fd, STDOUT_FILENO);
        ::dup2(null_fd, STDERR_FILENO);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (null_fd >= 0) ::close(null_fd);
    if (pid_ < 0) return false;
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (auto res = client.Get("/"); res && res->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

TEST(HostMetrics, RealNodeExporterScrapes) {
  if (::access(kNodeExporter, X_OK) != 0) GTEST_SKIP() << kNodeExporter << " is not installed";
  NodeExporterProcess exporter;
  uint16_t port = 0;
  bool started = false;
  for (int attempt = 0; attempt < 3 && !started; ++attempt) {
    port = FreePort();  // another process may take it before the exporter binds: retry
    started = port != 0 && exporter.Start(port);
  }
  ASSERT_TRUE(started) << "node_exporter did not start";
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30);
  const auto scrape = [&](HostSnapshot* snap) {
    snap->ts_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    auto res = client.Get("/metrics");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    ASSERT_EQ(res->status, 200);
    PromParseStats stats;
    ASSERT_TRUE(ParsePromText(res->body, &snap->samples, &stats).ok());
    EXPECT_EQ(stats.malformed_lines, 0u)
        << stats.first_error << " at line " << stats.first_error_line;
    EXPECT_GT(stats.samples, 100u);
  };
  HostSnapshot first, second;
  ASSERT_NO_FATAL_FAILURE(scrape(&first));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_NO_FATAL_FAILURE(scrape(&second));
  exporter.Stop();

  std::vector<double> row;
  DeriveHostFeatures(&first, second, &row);
  ASSERT_EQ(row.size(), static_cast<size_t>(HostFeature::kCount));
  for (HostFeature f : {HostFeature::kCpuStealRatio, HostFeature::kCpuIowaitRatio}) {
    const double v = Feature(row, f);
    EXPECT_TRUE(std::isfinite(v)) << HostFeatureNames()[static_cast<size_t>(f)];
    EXPECT_GE(v, 0);
    EXPECT_LE(v, 1);
  }
  EXPECT_GE(Feature(row, HostFeature::kLoad1PerCore), 0);
  EXPECT_GT(Feature(row, HostFeature::kMemoryPressure), 0);
  EXPECT_LT(Feature(row, HostFeature::kMemoryPressure), 1);
  EXPECT_GT(Feature(row, HostFeature::kOpenFds), 0);
  EXPECT_GE(Feature(row, HostFeature::kRestarts), 0);
}

}  // namespace
}  // namespace dnsight
