// libFuzzer target: the general tokenizer.json engine (tokenizer::JsonTokenizer). An input that
// starts with '{' is a tokenizer.json to load (then a few fixed texts are encoded with it);
// any other input is a text, encoded with one of the fixture files (fixtures/tokenizer_json and
// CLIP's tokenizer.json) chosen by its first byte.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/json_tokenizer.h"
#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace {

using zeroshot::ErrorCode;
using zeroshot::tokenizer::JsonTokenizer;

struct Fixture {
  JsonTokenizer tok;
  int vocab;      // ids must be below this
  int exact_len;  // Fixed padding: every encoding has this length; else -1
  int max_len;    // truncation: no encoding is longer
};

const std::vector<Fixture>& fixtures() {
  static const std::vector<Fixture> all = [] {
    const std::string dir = std::string(ZEROSHOT_FIXTURES);
    auto load = [&](const std::string& path) {
      return JsonTokenizer::from_json(zeroshot::util::read_file(dir + path), path);
    };
    std::vector<Fixture> f;
    f.push_back({load("/tokenizer_json/bpe_byte_level.json"), 1 << 16, 64, 64});
    f.push_back({load("/tokenizer_json/bpe_byte_fallback.json"), 1 << 16, 64, 64});
    f.push_back({load("/tokenizer_json/wordpiece.json"), 1 << 16, -1, 64});
    f.push_back({load("/tokenizer_json/unigram.json"), 1 << 16, -1, 64});
    f.push_back({load("/models/tiny-clip/tokenizer.json"), 49408, -1, 1 << 30});
    return f;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixtures();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!input.empty() && input[0] == '{') {
    try {
      const auto tok = JsonTokenizer::from_json(input, "fuzz/tokenizer.json");
      for (const char* text : {"", "a photo of a dog", "  Hello\tWORLD  ",
                               "caf\xc3\xa9 \xf0\x9f\x90\xb6", "<s></s>[CLS]<unk>"}) {
        try {
          const auto ids = tok.encode(text);
          for (const int id : ids)
            if (id < 0) std::abort();
          const auto padded = tok.with_truncation(8).with_padding(8, 0).encode(text);
          if (padded.size() < 8) std::abort();  // more only if the template adds > 8
        } catch (const zeroshot::Error& e) {
          // A file may lack what a text needs (a Unigram without unk_id).
          if (e.code() != ErrorCode::kInvalidArgument) std::abort();
        }
      }
    } catch (const zeroshot::Error& e) {
      if (e.code() != ErrorCode::kModelInvalid) std::abort();
      if (std::string(e.what()).find("fuzz/tokenizer.json") == std::string::npos) std::abort();
    }
    return 0;
  }
  const auto& all = fixtures();
  const Fixture& f = all[size == 0 ? 0 : data[0] % all.size()];
  try {
    const auto ids = f.tok.encode(input);
    if (f.exact_len >= 0 && ids.size() != static_cast<std::size_t>(f.exact_len)) std::abort();
    if (ids.size() > static_cast<std::size_t>(f.max_len)) std::abort();
    for (const int id : ids)
      if (id < 0 || id >= f.vocab) std::abort();
  } catch (const zeroshot::Error& e) {
    if (e.code() != ErrorCode::kInvalidArgument) std::abort();  // only invalid UTF-8
  }
  return 0;
}
