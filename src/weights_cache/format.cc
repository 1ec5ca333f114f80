#include "weights_cache/format.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

namespace zeroshot::weights_cache::format {

namespace {

constexpr char kMagic[8] = {'Z', 'S', 'P', 'R', 'E', 'P', '0', '1'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kChecksumOffset = 64;

std::uint64_t round_up(std::uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

template <typename T>
void put(std::vector<std::byte>& out, std::size_t at, T value) {
  std::memcpy(out.data() + at, &value, sizeof value);
}

template <typename T>
T get(std::span<const std::byte> in, std::size_t at) {
  T value;
  std::memcpy(&value, in.data() + at, sizeof value);
  return value;
}

}  // namespace

std::uint64_t checksum(const void* data, std::size_t bytes) { return XXH3_64bits(data, bytes); }

std::string hex128(const std::string& text) {
  const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (const std::uint64_t part : {h.high64, h.low64})
    for (int shift = 60; shift >= 0; shift -= 4) hex += digits[(part >> shift) & 0xF];
  return hex;
}

void lay_out(Header& header) {
  header.header_bytes =
      round_up(kFixedBytes + kSlotBytes * header.slots.size() + header.description.size());
  std::uint64_t at = header.header_bytes;
  for (Slot& slot : header.slots) {
    slot.offset = at;
    at = round_up(at + slot.bytes);
  }
  header.file_size = at;
}

std::vector<std::byte> encode(const Header& header) {
  std::vector<std::byte> out(header.header_bytes);
  std::memcpy(out.data(), kMagic, sizeof kMagic);
  put<std::uint32_t>(out, 8, kVersion);
  put<std::uint32_t>(out, 12, static_cast<std::uint32_t>(header.slots.size()));
  put<std::uint64_t>(out, 16, header.file_size);
  put<std::uint64_t>(out, 24, header.header_bytes);
  std::memcpy(out.data() + 32, header.key.data(), std::min<std::size_t>(header.key.size(), 32));
  put<std::uint32_t>(out, 72, static_cast<std::uint32_t>(header.description.size()));
  std::size_t at = kFixedBytes;
  for (const Slot& slot : header.slots) {
    put(out, at, slot.offset);
    put(out, at + 8, slot.bytes);
    put(out, at + 16, slot.layout_hash);
    put(out, at + 24, slot.checksum);
    at += kSlotBytes;
  }
  std::memcpy(out.data() + at, header.description.data(), header.description.size());
  const std::size_t used = at + header.description.size();
  put<std::uint64_t>(out, kChecksumOffset, checksum(out.data(), used));
  return out;
}

std::optional<Header> decode(std::span<const std::byte> start, std::uint64_t file_size) {
  if (start.size() < kFixedBytes || std::memcmp(start.data(), kMagic, sizeof kMagic) != 0 ||
      get<std::uint32_t>(start, 8) != kVersion) {
    return std::nullopt;
  }
  Header header;
  const auto count = get<std::uint32_t>(start, 12);
  header.file_size = get<std::uint64_t>(start, 16);
  header.header_bytes = get<std::uint64_t>(start, 24);
  const auto description_bytes = get<std::uint32_t>(start, 72);
  const std::uint64_t used =
      kFixedBytes + kSlotBytes * std::uint64_t{count} + std::uint64_t{description_bytes};
  if (header.file_size != file_size || used > header.header_bytes ||
      header.header_bytes > file_size || used > start.size()) {
    return std::nullopt;
  }
  std::vector<std::byte> copy(start.begin(), start.begin() + static_cast<std::ptrdiff_t>(used));
  const auto stored_checksum = get<std::uint64_t>(start, kChecksumOffset);
  put<std::uint64_t>(copy, kChecksumOffset, 0);
  if (checksum(copy.data(), copy.size()) != stored_checksum) return std::nullopt;
  header.key.assign(reinterpret_cast<const char*>(start.data()) + 32, 32);
  std::size_t at = kFixedBytes;
  for (std::uint32_t i = 0; i < count; ++i, at += kSlotBytes) {
    Slot slot{get<std::uint64_t>(start, at), get<std::uint64_t>(start, at + 8),
              get<std::uint64_t>(start, at + 16), get<std::uint64_t>(start, at + 24)};
    if (slot.offset < header.header_bytes || slot.offset % kAlign != 0 || slot.bytes > file_size ||
        slot.offset > file_size - slot.bytes) {
      return std::nullopt;
    }
    header.slots.push_back(slot);
  }
  header.description.assign(reinterpret_cast<const char*>(start.data()) + at, description_bytes);
  return header;
}

std::string description_value(const std::string& description, const std::string& name) {
  const std::string prefix = name + "=";
  std::size_t at = 0;
  while (at < description.size()) {
    std::size_t end = description.find('\n', at);
    if (end == std::string::npos) end = description.size();
    if (description.compare(at, prefix.size(), prefix) == 0)
      return description.substr(at + prefix.size(), end - at - prefix.size());
    at = end + 1;
  }
  return "";
}

}  // namespace zeroshot::weights_cache::format
