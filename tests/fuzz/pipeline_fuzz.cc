// libFuzzer target: the window engine under arbitrary event times.
//
// The input is a thread count byte, then 6-byte events: client, qname, flags, a signed
// 16-bit time step, and a TTL byte. Flag bit 0 turns the step into a jump of up to ~18
// hours (ahead, or back with bit 1), so the watermark leaps, events go late, panes,
// coarse blocks and entities expire mid-stream. The pipeline must never crash or touch
// freed state (AddressSanitizer), whatever the order of times; every row must name a
// known view and carry one value per feature.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "engine/config.h"
#include "engine/pipeline.h"

namespace {

constexpr int64_t kSec = 1'000'000'000;

const char* kConfig = R"(
engine:
  pane: 10s
  coarse_pane: 1m
  fine_window_limit: 1m
  watermark_delay: 2s
  allowed_lateness: 30s
  batch_size: 7
views:
  - name: c
    entity: client
    windows: [10s, 1m, 5m, 30m]
    aggregations:
      - {name: n, kind: count}
      - {name: names, kind: distinct, field: qname}
      - {name: top, kind: topk, field: qname, k: 3}
      - {name: ttl, kind: quantiles, field: ttl, quantiles: [0.5]}
      - {name: ttl_mean, kind: mean, field: ttl}
    transforms:
      - {feature: n_1m, kinds: [ewma, delta_1d, slope]}
  - name: d
    entity: registered_domain
    windows: [1m, 30m]
    aggregations:
      - {name: n, kind: count}
      - {name: clients, kind: topk, field: client, k: 2}
)";

struct CheckingSink : dnsight::RowSink {
  void WriteRows(const std::vector<dnsight::FeatureView>& views,
                 std::span<const dnsight::FeatureRow> rows) override {
    for (const dnsight::FeatureRow& r : rows) {
      if (r.view >= views.size() || r.values.size() != views[r.view].feature_names.size())
        std::abort();
    }
  }
  void WriteLate(const dnsight::DnsEventBatch&, const dnsight::DnsEvent&, int64_t) override {}
  void WriteDeadLetter(std::string_view, std::string_view, std::span<const uint8_t>) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 6 * 2000 + 1) return 0;
  static const dnsight::EngineConfig base = dnsight::ParseConfig(kConfig, "fuzz.yaml");
  dnsight::EngineConfig cfg = base;
  cfg.engine.threads = 1 + data[0] % 3;
  CheckingSink sink;
  dnsight::Pipeline pipeline(cfg, sink);
  dnsight::ObservationSink& in = pipeline.AddSource("fuzz");
  int64_t t = 1'795'428'000 * kSec;
  for (size_t i = 1; i + 6 <= size; i += 6) {
    const uint8_t client = data[i], qname = data[i + 1], flags = data[i + 2];
    const auto step = static_cast<int16_t>(data[i + 3] | (data[i + 4] << 8));
    if (flags & 1) {
      const int64_t jump = static_cast<int64_t>(static_cast<uint16_t>(step)) * kSec;
      t += (flags & 2) ? -jump : jump;
    } else {
      t += static_cast<int64_t>(step) * (kSec / 64);
    }
    dnsight::RawDnsObservation obs;
    obs.query_time_ns = t;
    const uint8_t addr[4] = {192, 0, 2, static_cast<uint8_t>(client % 16)};
    obs.client = dnsight::IpAddress::V4(addr);
    const std::string name =
        "n" + std::to_string(qname % 40) + ".d" + std::to_string(qname % 5) + ".example.com";
    obs.qname = name;
    obs.qtype = 1;
    obs.rcode = 0;
    obs.min_ttl = data[i + 5];
    in.OnObservation(obs);
  }
  pipeline.Finish();
  return 0;
}
