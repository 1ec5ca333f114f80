// The layout of a prepared-weights file (private to weights_cache/). Native byte order: the file
// is only valid on the machine kind that wrote it (its key holds the ISA) anyway.
//   0   magic "ZSPREP01"             8   u32 format version      12  u32 slot count
//   16  u64 file size                24  u64 header bytes (the first slot's offset)
//   32  key: 32 hex digits (the file name's stem)
//   64  u64 checksum of the header (this field zero)              72  u32 description bytes
//   80  slots: {u64 offset, u64 bytes, u64 layout hash, u64 checksum of the bytes} each
//   then the description ("name=value" lines: source, identity, tower, precision, signature);
//   zero padding to the header size (a multiple of 4096), then each slot at a 4096-aligned offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace zeroshot::weights_cache::format {

inline constexpr std::size_t kAlign = 4096;
inline constexpr std::size_t kFixedBytes = 80;
inline constexpr std::size_t kSlotBytes = 32;
inline constexpr const char* kSuffix = ".zsw";
inline constexpr const char* kTemporaryInfix = ".zsw.tmp.";

struct Slot {
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
  std::uint64_t layout_hash = 0;
  std::uint64_t checksum = 0;
  bool operator==(const Slot&) const = default;
};

struct Header {
  std::string key;  // 32 hex digits
  std::uint64_t file_size = 0;
  std::uint64_t header_bytes = 0;
  std::vector<Slot> slots;
  std::string description;
};

std::uint64_t checksum(const void* data, std::size_t bytes);  // XXH3-64
std::string hex128(const std::string& text);                  // XXH3-128 as 32 hex digits

// Sets header_bytes, every slot's offset and file_size from the slots' sizes and the description.
void lay_out(Header& header);
// The header's bytes (header_bytes of them, checksummed).
std::vector<std::byte> encode(const Header& header);
// The header at the start of a file of `file_size` bytes (`start` holds at least its first
// header_bytes, or all of a shorter file), or nullopt when it is not a valid header of ours.
std::optional<Header> decode(std::span<const std::byte> start, std::uint64_t file_size);

// The value of "name=value" in a description, or "".
std::string description_value(const std::string& description, const std::string& name);

}  // namespace zeroshot::weights_cache::format
