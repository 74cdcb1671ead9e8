// Cross-checks PcapSource against tshark on real captures of DNS tunnelling tools
// (../shared/data/pcap beside the checkout; skipped when absent, or without tshark).
//
// For every file, tshark and PcapSource must agree exactly on: the number of DNS queries
// and responses, the count of each qname among queries and among responses, the rcode of
// each response, which responses were paired with a query, and each pair's latency to
// the nanosecond.
//
// How tshark is asked, and why:
//  - Display filter "dns && (udp.port == 53 || tcp.port == 53)": PcapSource treats only
//    port-53 traffic as DNS (the default dns_ports), while tshark also decodes DNS on
//    5353 (mDNS), 5355 (LLMNR) and heuristically elsewhere. All frames in these captures
//    are IPv4/UDP port 53, so the restriction drops nothing today; it keeps the
//    comparison honest if a capture with mDNS is added.
//  - "-T ek -x -J dns": per packet one JSON line holding the dns fields and their raw
//    bytes. Names are compared through dns.qry.name's raw wire bytes, decoded here into
//    the same presentation form ParseDnsMessage produces: tshark's own text of a name
//    replaces every byte that is not valid UTF-8 by U+FFFD, which loses the bytes that
//    iodine's binary-safe encodings put in labels, so comparing that text would either
//    fail or need the same loss applied to our side.
//  - tshark's dns.flags.rcode is the 4-bit header rcode; PcapSource folds in an EDNS
//    extended rcode. No response in these captures carries a nonzero extended rcode, so
//    equality is expected; a file that did would show up here as a mismatch.
//  - tshark pairs a response with the query of the same transaction id in the same UDP
//    conversation (dns.response_to, dns.time). PcapSource also requires qtype and qname
//    to match; for these files the pairings are the same, so the matched count and the
//    multiset of (qname, latency) must be equal.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ingest/pcap_source.h"

namespace dnsight {
namespace {

namespace fs = std::filesystem;

fs::path CaptureDir() {
  return fs::path(DNSIGHT_SOURCE_DIR) / ".." / "shared" / "data" / "pcap";
}

bool HaveTshark() {
  return std::system("tshark --version > /dev/null 2>&1") == 0;
}

std::string Lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return s;
}

// The presentation form ParseDnsMessage documents: printable bytes except '.' and '\'
// as they are, everything else as \DDD; labels joined by '.', no trailing dot.
bool WireNameToText(const std::string& hex, std::string* out) {
  std::vector<uint8_t> b;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    b.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  out->clear();
  size_t p = 0;
  while (p < b.size() && b[p] != 0) {
    const size_t len = b[p];
    if (len > 63 || p + 1 + len > b.size()) return false;
    if (!out->empty()) out->push_back('.');
    for (size_t i = 0; i < len; ++i) {
      const uint8_t c = b[p + 1 + i];
      if (c >= 0x21 && c <= 0x7e && c != '.' && c != '\\') {
        out->push_back(static_cast<char>(c));
      } else {
        char esc[5];
        std::snprintf(esc, sizeof esc, "\\%03u", c);
        out->append(esc);
      }
    }
    p += 1 + len;
  }
  return p < b.size();
}

struct Summary {
  int queries = 0;
  int responses = 0;
  int matched = 0;
  std::map<std::string, int> query_names;
  std::map<std::string, int> response_names;
  std::map<int, int> rcodes;
  std::vector<std::pair<std::string, int64_t>> latencies;  // (qname, ns), sorted
};

// "0.002529000" -> 2529000 ns, exactly.
int64_t SecondsToNs(std::string_view s) {
  const size_t dot = s.find('.');
  int64_t sec = std::stoll(std::string(s.substr(0, dot)));
  int64_t frac = 0;
  int digits = 0;
  if (dot != std::string_view::npos) {
    for (char c : s.substr(dot + 1)) {
      if (digits == 9) break;
      frac = frac * 10 + (c - '0');
      ++digits;
    }
  }
  for (; digits < 9; ++digits) frac *= 10;
  return sec * 1'000'000'000 + frac;
}

// A field that tshark writes as a value, or as an array of values when it repeats.
std::string FirstString(simdjson::dom::object dns, const char* key) {
  simdjson::dom::element e;
  if (dns[key].get(e) != simdjson::SUCCESS) return {};
  if (e.is_array()) {
    for (simdjson::dom::element x : e.get_array())
      return std::string(std::string_view(x.get_string()));
    return {};
  }
  if (e.is_bool()) return bool(e) ? "1" : "0";
  std::string_view sv;
  if (e.get(sv) == simdjson::SUCCESS) return std::string(sv);
  return {};
}

bool TsharkSummary(const fs::path& file, Summary* out, std::string* error) {
  const std::string cmd =
      "tshark -n -r '" + file.string() +
      "' -Y 'dns && (udp.port == 53 || tcp.port == 53)' -T ek -x -J dns 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    *error = "popen failed";
    return false;
  }
  std::string all;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) all.append(buf, n);
  if (pclose(pipe) != 0) {
    *error = "tshark failed";
    return false;
  }
  simdjson::dom::parser parser;
  size_t start = 0;
  while (start < all.size()) {
    size_t end = all.find('\n', start);
    if (end == std::string::npos) end = all.size();
    const std::string line = all.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line.rfind("{\"index\"", 0) == 0) continue;
    simdjson::dom::element doc;
    if (parser.parse(line).get(doc) != simdjson::SUCCESS) {
      *error = "bad tshark json: " + line.substr(0, 200);
      return false;
    }
    simdjson::dom::object dns;
    if (doc["layers"]["dns"].get(dns) != simdjson::SUCCESS) continue;
    std::string name;
    if (!WireNameToText(FirstString(dns, "dns_dns_qry_name_raw"), &name)) {
      *error = "undecodable qname in tshark output";
      return false;
    }
    name = Lower(name);
    if (FirstString(dns, "dns_dns_flags_response") == "1") {
      ++out->responses;
      ++out->response_names[name];
      ++out->rcodes[std::stoi(FirstString(dns, "dns_dns_flags_rcode"))];
      const std::string time = FirstString(dns, "dns_dns_time");
      if (!time.empty()) {
        ++out->matched;
        out->latencies.emplace_back(name, SecondsToNs(time));
      }
    } else {
      ++out->queries;
      ++out->query_names[name];
    }
  }
  std::sort(out->latencies.begin(), out->latencies.end());
  return true;
}

class SummarySink : public ObservationSink {
 public:
  void OnObservation(const RawDnsObservation& o) override {
    const std::string name = Lower(std::string(o.qname));
    if (o.query_time_ns >= 0) {
      ++s.queries;
      ++s.query_names[name];
    }
    if (o.response_time_ns >= 0) {
      ++s.responses;
      ++s.response_names[name];
      ++s.rcodes[o.rcode];
    }
    if (o.query_time_ns >= 0 && o.response_time_ns >= 0) {
      ++s.matched;
      s.latencies.emplace_back(name, o.response_time_ns - o.query_time_ns);
    }
  }
  void OnMalformed(std::string_view reason, std::span<const uint8_t>) override {
    malformed.emplace_back(reason);
  }
  Summary s;
  std::vector<std::string> malformed;
};

TEST(PcapConformanceTest, AgreesWithTshark) {
  const fs::path dir = CaptureDir();
  if (!fs::is_directory(dir)) GTEST_SKIP() << "no shared captures at " << dir;
  if (!HaveTshark()) GTEST_SKIP() << "tshark not installed";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".pcap") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) GTEST_SKIP() << "no .pcap files in " << dir;

  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    Summary expected;
    std::string error;
    ASSERT_TRUE(TsharkSummary(file, &expected, &error)) << error;

    PcapSourceOptions options;
    options.file_path = file.string();
    PcapSource source(options);
    SummarySink sink;
    const Status s = source.Run(sink);
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::sort(sink.s.latencies.begin(), sink.s.latencies.end());

    EXPECT_EQ(sink.s.queries, expected.queries);
    EXPECT_EQ(sink.s.responses, expected.responses);
    EXPECT_EQ(sink.s.matched, expected.matched);
    EXPECT_EQ(sink.s.query_names, expected.query_names);
    EXPECT_EQ(sink.s.response_names, expected.response_names);
    EXPECT_EQ(sink.s.rcodes, expected.rcodes);
    EXPECT_EQ(sink.s.latencies, expected.latencies);
    EXPECT_TRUE(sink.malformed.empty());
    const PcapSourceCounters c = source.counters();
    EXPECT_EQ(c.dns_queries, static_cast<uint64_t>(expected.queries));
    EXPECT_EQ(c.dns_responses, static_cast<uint64_t>(expected.responses));
    EXPECT_EQ(c.malformed, 0u);
    std::printf("[ tshark   ] %-18s queries=%d responses=%d matched=%d qnames=%zu rcodes=",
                file.filename().string().c_str(), expected.queries, expected.responses,
                expected.matched, expected.query_names.size());
    for (const auto& [rcode, count] : expected.rcodes) std::printf("%d:%d ", rcode, count);
    std::printf("packets=%llu non_dns=%llu\n", static_cast<unsigned long long>(c.packets),
                static_cast<unsigned long long>(c.non_dns));
  }
}

}  // namespace
}  // namespace dnsight
