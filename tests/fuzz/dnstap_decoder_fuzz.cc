// Fuzzes DnstapDecoder on arbitrary frame payloads (protobuf parsing, field validation,
// DNS wire parsing and matching). All message types are ingested, so every path runs; a
// small matcher table makes eviction happen too. Each input may hold several frames,
// split on the 4-byte separator "\xff\x00\xff\x00", so query/response pairing is reached.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "ingest/dnstap_decoder.h"

namespace {

class NullSink : public dnsight::ObservationSink {
 public:
  void OnObservation(const dnsight::RawDnsObservation& obs) override {
    for (char c : obs.qname) sum += static_cast<uint8_t>(c);
  }
  void OnMalformed(std::string_view reason, std::span<const uint8_t> sample) override {
    sum += reason.size();
    for (uint8_t b : sample) sum += b;
  }
  uint64_t sum = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr uint8_t kSeparator[4] = {0xff, 0x00, 0xff, 0x00};
  NullSink sink;
  dnsight::DnstapDecoder::Options options;
  options.message_types = dnsight::kDnstapAllTypes;
  options.matcher.max_pending = 4;
  options.matcher.timeout_ns = 1'000'000'000;
  options.expire_interval_ns = 1;
  dnsight::DnstapDecoder decoder(options, sink);
  const uint8_t* p = data;
  const uint8_t* end = data + size;
  while (true) {
    const uint8_t* next = end;
    for (const uint8_t* q = p; q + 4 <= end; ++q) {
      if (std::memcmp(q, kSeparator, 4) == 0) {
        next = q;
        break;
      }
    }
    decoder.Decode({p, static_cast<size_t>(next - p)});
    if (next == end) break;
    p = next + 4;
  }
  decoder.Expire();
  decoder.Flush();
  const dnsight::DnstapDecoderCounters& c = decoder.counters();
  if (c.malformed_total() + c.filtered + c.queries + c.responses != c.frames) __builtin_trap();
  return sink.sum == UINT64_MAX ? 1 : 0;
}
