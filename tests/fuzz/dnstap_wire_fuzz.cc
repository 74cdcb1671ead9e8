// Differential libFuzzer target: ParseDnstapFrame against libprotobuf's
// dnstap::Dnstap::ParsePartialFromArray on arbitrary bytes. Aborts when they disagree on
// acceptance or on any field the reader reports (has_ flag or value), and when a byte
// view points outside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "dnstap.pb.h"
#include "ingest/dnstap_wire.h"

namespace {

std::string_view View(std::span<const uint8_t> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

void Check(bool same) {
  if (!same) std::abort();
}

void CheckBytes(bool has, std::span<const uint8_t> mine, bool their_has, const std::string& theirs,
                const uint8_t* data, size_t size) {
  Check(has == their_has && View(mine) == theirs);
  Check(mine.empty() || (mine.data() >= data && mine.data() + mine.size() <= data + size));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dnstap::Dnstap* const reference = new dnstap::Dnstap();
  dnsight::DnstapFields f;
  const bool ok = dnsight::ParseDnstapFrame({data, size}, &f);
  Check(ok == reference->ParsePartialFromArray(data, static_cast<int>(size)));
  if (!ok) return 0;
  const dnstap::Message& m = reference->message();
  Check(f.has_message == reference->has_message());
  Check(f.has_type == m.has_type() && f.type == m.type());
  Check(f.has_socket_family == m.has_socket_family() &&
        static_cast<int>(f.socket_family) == m.socket_family());
  Check(f.has_socket_protocol == m.has_socket_protocol() &&
        static_cast<int>(f.socket_protocol) == m.socket_protocol());
  CheckBytes(f.has_query_address, f.query_address, m.has_query_address(), m.query_address(), data,
             size);
  CheckBytes(f.has_response_address, f.response_address, m.has_response_address(),
             m.response_address(), data, size);
  Check(f.has_query_port == m.has_query_port() && f.query_port == m.query_port());
  Check(f.has_response_port == m.has_response_port() && f.response_port == m.response_port());
  Check(f.has_query_time_sec == m.has_query_time_sec() && f.query_time_sec == m.query_time_sec());
  Check(f.has_query_time_nsec == m.has_query_time_nsec() &&
        f.query_time_nsec == m.query_time_nsec());
  Check(f.has_response_time_sec == m.has_response_time_sec() &&
        f.response_time_sec == m.response_time_sec());
  Check(f.has_response_time_nsec == m.has_response_time_nsec() &&
        f.response_time_nsec == m.response_time_nsec());
  CheckBytes(f.has_query_message, f.query_message, m.has_query_message(), m.query_message(), data,
             size);
  CheckBytes(f.has_response_message, f.response_message, m.has_response_message(),
             m.response_message(), data, size);
  return 0;
}
