#include "safetensors/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "zeroshot/error.h"

namespace zeroshot::safetensors {
namespace {

// Headers of real CLIP checkpoints are tens of kilobytes (HF's reader allows 100 MB, meant for
// LLMs with tens of thousands of tensors). Parsed JSON takes up to ~10x its text in memory, so this
// bound also bounds the memory a hostile header can make us allocate (docs/ERRORS.md).
constexpr std::uint64_t kMaxHeaderBytes = 16ull << 20;
// Containers may nest as {"name": {"shape": [...]}} and no deeper; refusing deeper nesting while
// parsing keeps "[[[[..." from costing memory or time.
constexpr int kMaxJsonDepth = 2;
// More dimensions than any real tensor; keeps numel overflow checks simple.
constexpr std::size_t kMaxRank = 8;

struct DTypeInfo {
  const char* name;
  std::size_t bytes;
  tensor::DType dtype;
};

constexpr DTypeInfo kDTypes[] = {
    {"F32", 4, tensor::DType::kF32},       {"F16", 2, tensor::DType::kF16},
    {"BF16", 2, tensor::DType::kBF16},     {"F64", 8, tensor::DType::kOther},
    {"I64", 8, tensor::DType::kOther},     {"I32", 4, tensor::DType::kOther},
    {"I16", 2, tensor::DType::kOther},     {"I8", 1, tensor::DType::kOther},
    {"U64", 8, tensor::DType::kOther},     {"U32", 4, tensor::DType::kOther},
    {"U16", 2, tensor::DType::kOther},     {"U8", 1, tensor::DType::kOther},
    {"BOOL", 1, tensor::DType::kOther},    {"F8_E4M3", 1, tensor::DType::kOther},
    {"F8_E5M2", 1, tensor::DType::kOther},
};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::kModelInvalid, path + ": invalid safetensors file: " + what);
}

const DTypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : kDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}

std::uint64_t as_index(const nlohmann::json& v, const std::string& path, const std::string& what) {
  if (!v.is_number_unsigned()) fail(path, what + " must be a non-negative integer");
  return v.get<std::uint64_t>();
}

}  // namespace

File File::open(const std::string& path) {
  File file;
  file.mapping_ = std::make_shared<const util::MappedFile>(path);
  auto bytes = file.mapping_->bytes();
  if (bytes.size() < 8) fail(path, "file is " + std::to_string(bytes.size()) + " bytes, too short");
  const std::uint64_t header_len = read_u64_le(bytes.data());
  if (header_len > bytes.size() - 8) {
    fail(path, "header length " + std::to_string(header_len) + " exceeds the file size " +
                   std::to_string(bytes.size()));
  }
  if (header_len > kMaxHeaderBytes) {
    fail(path, "header length " + std::to_string(header_len) + " exceeds the limit of " +
                   std::to_string(kMaxHeaderBytes) + " bytes");
  }
  const char* header_text = reinterpret_cast<const char*>(bytes.data() + 8);
  // Thrown from the parser callback to stop at the first too-deep container (no memory, no time
  // spent on the rest); nlohmann's parser is exception-safe.
  struct TooDeep {};
  auto limit_depth = [](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    using Event = nlohmann::json::parse_event_t;
    if ((event == Event::object_start || event == Event::array_start) && depth > kMaxJsonDepth)
      throw TooDeep{};
    return true;
  };
  nlohmann::json header;
  bool too_deep = false;
  try {
    header = nlohmann::json::parse(header_text, header_text + header_len, limit_depth,
                                   /*allow_exceptions=*/false);
  } catch (const TooDeep&) {
    too_deep = true;
  }
  if (too_deep) fail(path, "header nests deeper than {\"name\": {\"shape\": [...]}}");
  if (header.is_discarded()) fail(path, "header is not valid JSON");
  if (!header.is_object()) fail(path, "header is not a JSON object");

  const std::byte* data = bytes.data() + 8 + header_len;
  const std::uint64_t data_size = bytes.size() - 8 - header_len;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // [begin, end) of each tensor

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(path, "__metadata__ is not an object");
      for (const auto& [key, value] : entry.items())
        if (value.is_string()) file.metadata_[key] = value.get<std::string>();
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object()) fail(path, where + " is not an object");
    auto dtype_it = entry.find("dtype");
    auto shape_it = entry.find("shape");
    auto offsets_it = entry.find("data_offsets");
    if (dtype_it == entry.end() || !dtype_it->is_string()) fail(path, where + " has no dtype");
    if (shape_it == entry.end() || !shape_it->is_array()) fail(path, where + " has no shape");
    if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2)
      fail(path, where + " has no data_offsets [begin, end]");

    const std::string dtype_name = dtype_it->get<std::string>();
    const DTypeInfo* dtype = find_dtype(dtype_name);
    if (dtype == nullptr) fail(path, where + " has unknown dtype '" + dtype_name + "'");
    if (shape_it->size() > kMaxRank) fail(path, where + " has more than 8 dimensions");

    tensor::View view;
    view.dtype = dtype->dtype;
    view.dtype_name = dtype_name;
    std::uint64_t numel = 1;
    for (const auto& dim : *shape_it) {
      std::uint64_t d = as_index(dim, path, where + " shape entries");
      if (d != 0 && numel > std::numeric_limits<std::uint64_t>::max() / d / 8)
        fail(path, where + " shape is absurdly large");
      numel *= d;
      if (d > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail(path, where + " shape is absurdly large");
      view.shape.push_back(static_cast<std::int64_t>(d));
    }
    const std::uint64_t begin = as_index((*offsets_it)[0], path, where + " data_offsets");
    const std::uint64_t end = as_index((*offsets_it)[1], path, where + " data_offsets");
    if (begin > end || end > data_size) {
      fail(path, where + " data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                     "] lie outside the " + std::to_string(data_size) + "-byte data section");
    }
    if (end - begin != numel * dtype->bytes) {
      fail(path, where + " holds " + std::to_string(end - begin) + " bytes, but " + dtype_name +
                     " " + tensor::shape_string(view.shape) + " needs " +
                     std::to_string(numel * dtype->bytes));
    }
    view.data = data + begin;
    view.nbytes = static_cast<std::size_t>(end - begin);
    if (end > begin) ranges.emplace_back(begin, end);
    file.tensors_.emplace(name, std::move(view));
  }

  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) fail(path, "two tensors' data overlap");
  }
  return file;
}

}  // namespace zeroshot::safetensors
