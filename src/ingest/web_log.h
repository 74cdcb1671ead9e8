// Web server telemetry lines: access logs (combined-style text or JSON) and nginx error
// logs. Pure parsing: one line in, one record or one reason token out.
//
// Access lines (ParseAccessLine) in WebLogFormat::kCombined:
//   [vhost[:port] ]client ident user [dd/Mon/yyyy:HH:MM:SS +hhmm] "request" status bytes
//   ["referer" "user-agent"] [anything without '='] [key=value | key="value"]...
// which covers nginx `combined` and `main`, Apache `common`, `combined` and
// `vhost_combined`. The extras keys are listed in src/ingest/README.md; unknown keys and
// bare words are ignored. In WebLogFormat::kJson a line is one JSON object (nginx
// `log_format ... escape=json`); numbers may be JSON numbers or strings.
//
// Error lines (ParseNginxErrorLine): `yyyy/mm/dd HH:MM:SS [level] pid#tid: message`.
//
// Failures return Status::InvalidArgument whose message is exactly one reason token, to
// be used as a counter label:
//   line_too_long    the line is longer than kMaxWebLineBytes
//   truncated        the line ends before a required part (or is empty)
//   bad_time         unparseable, impossible, or outside 1970..2200
//   bad_request_line the request field is not a double-quoted string
//   bad_status       status is not an integer in 100..599
//   bad_number       a numeric field is not a finite non-negative number in range
//   bad_address      the client is neither an IP address nor "-"
//   bad_field        a field has the wrong JSON type, a vhost or node holds characters a
//                    host name cannot, or an error line lacks its `[level] pid#tid:`
//   field_too_long   vhost or node longer than kMaxHostNameBytes
//   bad_json         not one well-formed JSON object (including invalid UTF-8)
//   missing_field    a JSON line without a time or a status
// On failure *out is left valid but unspecified.
//
// Lifetime: `line` is only read during the call; outputs own their strings.
// Thread-safety: the functions are reentrant; JSON parsing uses a parser per thread.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "dnsight/ip_address.h"
#include "dnsight/status.h"

namespace dnsight {

// Longer lines are rejected as "line_too_long" before any parsing.
inline constexpr size_t kMaxWebLineBytes = 64 * 1024;
// A DNS name's limit; longer vhost or node values are "field_too_long".
inline constexpr size_t kMaxHostNameBytes = 253;

enum class WebLogFormat : uint8_t { kCombined, kJson };
// "combined" or "json"; false (and *out untouched) for anything else.
bool ParseWebLogFormat(std::string_view name, WebLogFormat* out);

enum class CacheStatus : uint8_t { kUnknown, kHit, kMiss, kOther };

struct WebRequest {
  int64_t ts_ns = 0;    // UTC nanoseconds
  std::string vhost;    // lowercase, port and trailing dot stripped; "" when absent
  std::string node;     // edge node named in the line; "" when absent
  std::string method;   // A-Z then A-Z, '-', '_' (≤ 32 bytes); "" when the request has none
  uint16_t status = 0;  // 100..599
  double request_time_s = std::numeric_limits<double>::quiet_NaN();
  // Summed over the upstreams tried; NaN when no upstream answered or the field is absent.
  double upstream_time_s = std::numeric_limits<double>::quiet_NaN();
  uint16_t upstream_status = 0;   // the last upstream's status; 0 when absent
  bool upstream_timeout = false;  // some upstream said 504, or 504 with an upstream involved
  CacheStatus cache = CacheStatus::kUnknown;
  int64_t bytes_sent = -1;      // body bytes; "-" counts as 0; -1 when absent (JSON)
  int64_t request_length = -1;  // request bytes including headers; -1 when absent
  bool tls_handshake_failed = false;
  IpAddress client;  // empty when the line has "-" (or a unix socket)
};

// Parses one access-log line (without its newline).
Status ParseAccessLine(std::string_view line, WebLogFormat format, WebRequest* out);

struct WebErrorEvent {
  int64_t ts_ns = 0;
  // A client TLS handshake failed: "SSL_do_handshake() failed", "peer closed connection
  // in SSL handshake", or anything "while SSL handshaking" (but not "... to upstream").
  bool tls_handshake_failure = false;
  std::string node;   // error lines do not name the node: always ""
  std::string vhost;  // from `host: "..."`, else `server: name` when it is a name; or ""
};

// Parses one nginx error-log line. nginx writes local time; utc_offset_s is that zone's
// offset east of UTC (3600 for +01:00), subtracted to get UTC.
Status ParseNginxErrorLine(std::string_view line, int64_t utc_offset_s, WebErrorEvent* out);

}  // namespace dnsight
