// dnsight_http_load: open-loop load generator for the serving API.
//
// Sends POST /v1/features/get (or /v1/features/batch with --batch N > 1) at a fixed rate
// for a fixed time over K keep-alive connections, one thread each. `--method GET --path P`
// sends GET P instead, with no body: the same schedule against a reference server (a static
// file behind nginx, say), so both sides are driven by the same client. Request i of the run
// is scheduled at start + i / qps and connection i % K sends it. Latency is measured from
// the scheduled time, not from when the request actually went out, so a server that
// stalls is charged for the requests that should have been sent meanwhile (no
// coordinated omission). If a connection falls behind, it sends its late requests back
// to back until it catches up.
//
//   dnsight_http_load --url http://127.0.0.1:8080 --qps 2000 --seconds 30
//       --connections 8 --entities-file clients.txt --views client --token $TOKEN
//
// Prints achieved QPS, status counts, response body sizes and latency percentiles. 404
// (entity absent from every view) is counted apart from errors. Exit status 1 when any
// request failed. The process asks for a 1 us timer slack, so sleeping until a send time
// overshoots by microseconds rather than the default 50 us.
#include <httplib.h>
#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string url = "http://127.0.0.1:8080";
  double qps = 1000;
  double seconds = 10;
  int connections = 4;
  std::string entities_file;
  int batch = 1;
  std::vector<std::string> views{"client"};
  std::string token;
  bool insecure = false;        // https: skip certificate verification
  std::string method = "POST";  // POST: the feature API; GET: --path, no body
  std::string path;             // "" = /v1/features/get or /v1/features/batch
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "dnsight_http_load: %s\n"
               "usage: dnsight_http_load [--url http(s)://host:port] [--qps N] [--seconds S]\n"
               "         [--connections K] [--entities-file PATH] [--batch N]\n"
               "         [--views a,b] [--token T] [--insecure]\n"
               "         [--method POST|GET] [--path /request/path]\n",
               why);
  std::exit(2);
}

std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    if (comma != 0) out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--insecure") {
      o.insecure = true;
      continue;
    }
    if (i + 1 >= argc) Usage("missing value");
    const char* v = argv[++i];
    if (arg == "--url")
      o.url = v;
    else if (arg == "--qps")
      o.qps = std::atof(v);
    else if (arg == "--seconds")
      o.seconds = std::atof(v);
    else if (arg == "--connections")
      o.connections = std::atoi(v);
    else if (arg == "--entities-file")
      o.entities_file = v;
    else if (arg == "--batch")
      o.batch = std::atoi(v);
    else if (arg == "--views")
      o.views = SplitComma(v);
    else if (arg == "--token")
      o.token = v;
    else if (arg == "--method")
      o.method = v;
    else if (arg == "--path")
      o.path = v;
    else
      Usage(("unknown option " + std::string(arg)).c_str());
  }
  if (o.qps <= 0 || o.seconds <= 0 || o.connections <= 0 || o.batch <= 0 || o.views.empty())
    Usage("qps, seconds, connections and batch must be positive; views non-empty");
  if (o.method != "POST" && o.method != "GET") Usage("--method is POST or GET");
  if (o.method == "GET" && o.path.empty()) Usage("--method GET needs --path");
  return o;
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out->push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) continue;  // entities never hold controls
    out->push_back(c);
  }
  out->push_back('"');
}

std::string Body(const Options& o, const std::vector<std::string>& entities, size_t first) {
  std::string b = "{\"views\":[";
  for (size_t i = 0; i < o.views.size(); ++i) {
    if (i) b.push_back(',');
    AppendJsonString(o.views[i], &b);
  }
  b.append("],");
  if (o.batch == 1) {
    b.append("\"entity\":");
    AppendJsonString(entities[first % entities.size()], &b);
  } else {
    b.append("\"entities\":[");
    for (int i = 0; i < o.batch; ++i) {
      if (i) b.push_back(',');
      AppendJsonString(entities[(first + static_cast<size_t>(i)) % entities.size()], &b);
    }
    b.push_back(']');
  }
  b.push_back('}');
  return b;
}

struct ThreadResult {
  std::vector<int64_t> latency_ns;  // from the scheduled send time
  uint64_t ok = 0;
  uint64_t not_found = 0;
  uint64_t http_errors = 0;
  uint64_t transport_errors = 0;
  uint64_t body_bytes = 0;  // response bodies, summed
  Clock::time_point last_done;
};

void RunConnection(const Options& o, const std::vector<std::string>& entities, int index,
                   Clock::time_point start, uint64_t total, ThreadResult* out) {
  httplib::Client cli(o.url);
  cli.set_keep_alive(true);
  cli.set_tcp_nodelay(true);
  cli.set_connection_timeout(5, 0);
  cli.set_read_timeout(30, 0);
  if (o.insecure) cli.enable_server_certificate_verification(false);
  httplib::Headers headers;
  if (!o.token.empty()) headers.emplace("Authorization", "Bearer " + o.token);
  const std::string path = !o.path.empty() ? o.path
                           : o.batch == 1  ? "/v1/features/get"
                                           : "/v1/features/batch";
  const bool get = o.method == "GET";
  const double period_ns = 1e9 / o.qps;
  const auto k = static_cast<uint64_t>(o.connections);
  out->latency_ns.reserve(total / k + 1);
  for (uint64_t i = static_cast<uint64_t>(index); i < total; i += k) {
    const auto scheduled =
        start + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(i) * period_ns));
    std::this_thread::sleep_until(scheduled);
    auto res = get ? cli.Get(path, headers)
                   : cli.Post(path, headers, Body(o, entities, i * static_cast<uint64_t>(o.batch)),
                              "application/json");
    const auto done = Clock::now();
    out->latency_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(done - scheduled).count());
    out->last_done = done;
    if (!res) {
      ++out->transport_errors;
      if (out->transport_errors <= 3)
        std::fprintf(stderr, "connection %d: %s\n", index, httplib::to_string(res.error()).c_str());
    } else if (res->status == 200) {
      ++out->ok;
      out->body_bytes += res->body.size();
    } else if (res->status == 404) {
      ++out->not_found;
    } else {
      ++out->http_errors;
      if (out->http_errors <= 3)
        std::fprintf(stderr, "connection %d: HTTP %d %s", index, res->status, res->body.c_str());
    }
  }
}

double Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto idx = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  idx = std::clamp<size_t>(idx, 1, sorted.size()) - 1;
  return static_cast<double>(sorted[idx]) / 1e3;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);  // ns; inherited by the threads below
  std::vector<std::string> entities;
  if (!o.entities_file.empty()) {
    std::ifstream in(o.entities_file);
    if (!in) Usage(("cannot read " + o.entities_file).c_str());
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) entities.push_back(line);
    if (entities.empty()) Usage("the entities file is empty");
  } else {
    for (int i = 0; i < 256; ++i) entities.push_back("192.0.2." + std::to_string(i));
  }

  const auto total = static_cast<uint64_t>(o.qps * o.seconds);
  std::vector<ThreadResult> results(static_cast<size_t>(o.connections));
  // Leave the threads a moment to start before the first scheduled send.
  const auto start = Clock::now() + std::chrono::milliseconds(50);
  std::vector<std::thread> threads;
  for (int k = 0; k < o.connections; ++k)
    threads.emplace_back(RunConnection, std::cref(o), std::cref(entities), k, start, total,
                         &results[static_cast<size_t>(k)]);
  for (auto& t : threads) t.join();

  std::vector<int64_t> all;
  ThreadResult sum;
  sum.last_done = start;
  for (auto& r : results) {
    all.insert(all.end(), r.latency_ns.begin(), r.latency_ns.end());
    sum.ok += r.ok;
    sum.not_found += r.not_found;
    sum.http_errors += r.http_errors;
    sum.transport_errors += r.transport_errors;
    sum.body_bytes += r.body_bytes;
    sum.last_done = std::max(sum.last_done, r.last_done);
  }
  std::sort(all.begin(), all.end());
  const double elapsed = std::chrono::duration<double>(sum.last_done - start).count();
  if (o.method == "GET")
    std::printf("target %.0f req/s for %.1f s over %d connections, GET %s\n", o.qps, o.seconds,
                o.connections, o.path.c_str());
  else
    std::printf("target %.0f req/s for %.1f s over %d connections, batch %d, views %zu\n", o.qps,
                o.seconds, o.connections, o.batch, o.views.size());
  const double achieved = elapsed > 0 ? static_cast<double>(all.size()) / elapsed : 0.0;
  if (o.method == "GET")
    std::printf("sent %zu in %.2f s: achieved %.0f req/s\n", all.size(), elapsed, achieved);
  else
    std::printf("sent %zu in %.2f s: achieved %.0f req/s (%.0f entities/s)\n", all.size(), elapsed,
                achieved, achieved * o.batch);
  std::printf("status: ok %" PRIu64 ", not found %" PRIu64 ", http errors %" PRIu64
              ", transport errors %" PRIu64 "\n",
              sum.ok, sum.not_found, sum.http_errors, sum.transport_errors);
  std::printf("response body: %.0f bytes on average (200s)\n",
              sum.ok > 0 ? static_cast<double>(sum.body_bytes) / static_cast<double>(sum.ok) : 0.0);
  std::printf(
      "latency from scheduled send (us): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
      Percentile(all, 0.50), Percentile(all, 0.90), Percentile(all, 0.99), Percentile(all, 0.999),
      all.empty() ? 0.0 : static_cast<double>(all.back()) / 1e3);
  return sum.http_errors + sum.transport_errors > 0 ? 1 : 0;
}
