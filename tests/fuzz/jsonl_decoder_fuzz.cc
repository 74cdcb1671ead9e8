// libFuzzer target: one JSON line through the JSON-lines decoder and the normalizer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/jsonl_decoder.h"
#include "ingest/normalizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dnsight::JsonLinesDecoder decoder;
  static dnsight::EventNormalizer normalizer({});
  dnsight::RawDnsObservation obs;
  std::string_view reason;
  if (decoder.Decode({reinterpret_cast<const char*>(data), size}, 0, &obs, &reason)) {
    dnsight::DnsEventBatch batch;
    normalizer.Append(obs, &batch, &reason);
  }
  return 0;
}
