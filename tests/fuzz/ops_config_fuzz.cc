// libFuzzer target: the operations inputs. The first byte picks one:
//   0  an `alerts:` section (ParseAlertConfig)
//   1  a remediation policy file (RemediationPolicy::Parse)
//   2  a feedback body or feedback-file line (ParseFeedbackJson)
// Config parsers may only fail with a ConfigError; the feedback parser with a Status.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "act/alert_config.h"
#include "act/feedback.h"
#include "act/remediation_policy.h"
#include "engine/config.h"

namespace {

[[noreturn]] void Throw(const std::string& message) {
  throw dnsight::ConfigError(message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 8192) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      try {
        YAML::Node root = YAML::Load(text);
        dnsight::ParseAlertConfig(dnsight::YamlNode(root, "fuzz.yaml", "alerts", Throw));
      } catch (const dnsight::ConfigError&) {
      } catch (const YAML::Exception&) {
      }
      break;
    case 1:
      try {
        dnsight::RemediationPolicy::Parse(text, "fuzz.yaml");
      } catch (const dnsight::ConfigError&) {
      }
      break;
    default: {
      dnsight::Feedback f;
      if (dnsight::ParseFeedbackJson(text, {}, &f).ok()) {
        std::string out;
        dnsight::AppendFeedbackJson(f, &out);
      }
      break;
    }
  }
  return 0;
}
