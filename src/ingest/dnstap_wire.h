// ParseDnstapFrame: a zero-copy reader of the protobuf wire format for exactly the
// dnstap.Dnstap fields DnstapDecoder uses (dnstap.proto).
//
// Contract: for every byte string, ParseDnstapFrame accepts exactly the frames that
// libprotobuf's dnstap::Dnstap::ParsePartialFromArray (3.21) accepts, and the fields it
// reports are those the generated accessors would return. tests/unit/dnstap_wire_test.cc
// and tests/fuzz/dnstap_wire_fuzz.cc check this against the generated code (rerun them
// when libprotobuf is upgraded). Replicated protobuf semantics:
//   - Wire types 0, 1, 2, 3/4 (groups) and 5; 6 and 7 fail. Field number 0 fails.
//   - Tags are varints of at most 5 bytes, keeping the low 32 bits; other varints take
//     at most 10 bytes (a uint32 field keeps the low 32 bits); a length takes at most 5
//     bytes and must be <= INT_MAX - 16 and fit in the enclosing message. Anything
//     truncated fails, including a field that runs past the end of its sub-message.
//   - A field with a wire type other than its declared one is an unknown field: skipped.
//   - An unknown group is skipped to the end-group tag of the same field number; any
//     other end-group tag (at the top level, inside a sub-message, or with a different
//     field number), and a tag of 0, fail.
//   - Scalar and bytes fields: the last occurrence wins. Dnstap.message given several
//     times is merged: later occurrences overwrite the fields they carry.
//   - Enum fields are set only when the low 32 bits of the varint, read as an int32,
//     name a declared value; otherwise (proto2: kept as an unknown field) the field keeps
//     its previous state.
//   - Sub-messages (Dnstap.message, Message.policy) are validated as messages even when
//     their fields are not used. Nesting of sub-messages and groups is limited to 100
//     levels below the top level. Policy.type (a proto2 string) is not checked for UTF-8.
//   - Required fields (Dnstap.type, Message.type) are not enforced (a partial parse).
//
// Lifetime: the byte views in DnstapFields point into the frame; they are valid as long
// as the frame's bytes are. Thread-safety: pure function; no allocation.
#pragma once

#include <cstdint>
#include <span>

namespace dnsight {

// Values of dnstap.SocketFamily.
enum class DnstapSocketFamily : int32_t {
  kInet = 1,
  kInet6 = 2,
};

// Values of dnstap.SocketProtocol.
enum class DnstapSocketProtocol : int32_t {
  kUdp = 1,
  kTcp = 2,
  kDot = 3,
  kDoh = 4,
  kDnsCryptUdp = 5,
  kDnsCryptTcp = 6,
  kDoq = 7,
};

// The fields of one dnstap.Dnstap frame that dnsight reads: has_x and x are what the
// generated has_x() and x() would return. Unset fields hold the proto2 defaults (0, empty,
// and for an enum its first declared value). The flags come first and together so that
// resetting the struct, once per frame, is a few wide stores.
struct DnstapFields {
  bool has_message = false;  // Dnstap.message; the rest are fields of that Message
  bool has_type = false;
  bool has_socket_family = false;
  bool has_socket_protocol = false;
  bool has_query_address = false;
  bool has_response_address = false;
  bool has_query_port = false;
  bool has_response_port = false;
  bool has_query_time_sec = false;
  bool has_query_time_nsec = false;
  bool has_response_time_sec = false;
  bool has_response_time_nsec = false;
  bool has_query_message = false;
  bool has_response_message = false;

  int32_t type = 1;  // a Message.Type value, 1..14
  DnstapSocketFamily socket_family = DnstapSocketFamily::kInet;
  DnstapSocketProtocol socket_protocol = DnstapSocketProtocol::kUdp;
  uint32_t query_port = 0;
  uint32_t response_port = 0;
  uint32_t query_time_nsec = 0;
  uint32_t response_time_nsec = 0;
  uint64_t query_time_sec = 0;
  uint64_t response_time_sec = 0;
  std::span<const uint8_t> query_address;
  std::span<const uint8_t> response_address;
  std::span<const uint8_t> query_message;  // DNS wire format
  std::span<const uint8_t> response_message;
};

// Parses one serialized dnstap.Dnstap. Returns false when the bytes are not a valid
// protobuf of that type (exactly when ParsePartialFromArray fails; a frame longer than
// INT_MAX, which that API cannot take, also fails). *out is reset first; after a failure
// it holds a partial result and must not be used.
// REQUIRES: out != nullptr.
bool ParseDnstapFrame(std::span<const uint8_t> frame, DnstapFields* out);

}  // namespace dnsight
