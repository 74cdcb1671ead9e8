// libFuzzer target: arbitrary text as a dnsight.yaml. The only acceptable failure is a
// ConfigError (a clear message); anything else escaping is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 8192) return 0;
  try {
    dnsight::ParseConfig(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  } catch (const dnsight::ConfigError&) {
  }
  return 0;
}
