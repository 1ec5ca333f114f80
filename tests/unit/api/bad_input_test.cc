// Bad-input classes at the public API (docs/ERRORS.md): labels and templates, and broken model
// folders. Each case asserts the ErrorCode and that the message names the offending thing.
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "support/expect_error.h"
#include "zeroshot/error.h"
#include "zeroshot/model.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using Clock = std::chrono::steady_clock;

const std::string kTiny = std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip";
const std::string kImage = std::string(ZEROSHOT_FIXTURES) + "/images/small_100x80.png";

const Model& tiny() {
  static const Model model = Model::load({.repo = kTiny});
  return model;
}

const Image& image() {
  static const Image img = Image::from_file(kImage);
  return img;
}

long peak_rss_mb() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

// ---- Labels and templates --------------------------------------------------------------------

TEST(ApiBadInput, EmptyLabelList) {
  const std::vector<std::string> none;
  expect_error([&] { tiny().classify(image(), none); }, ErrorCode::kInvalidArgument, {"no labels"});
  expect_error([&] { tiny().label(image(), none); }, ErrorCode::kInvalidArgument, {"no labels"});
}

TEST(ApiBadInput, EmptyLabelIsAValidPrompt) {
  // As in Hugging Face (and the golden references): an empty label is scored like any other; with
  // a template it leaves the template's text, verbatim it is <|startoftext|><|endoftext|>.
  const std::vector<std::string> labels = {"a dog", "", "a cat"};
  const auto scores = tiny().classify(image(), labels);
  ASSERT_EQ(scores.size(), 3u);
  bool found = false;
  for (const auto& s : scores) found = found || (s.label.empty() && s.score > 0);
  EXPECT_TRUE(found);
  EXPECT_EQ(tiny().tokenize("").size(), 2u);
  EXPECT_EQ(tiny().classify(image(), labels, {.prompt_template = std::nullopt}).size(), 3u);
}

TEST(ApiBadInput, InvalidUtf8Label) {
  const std::vector<std::string> labels = {"a dog",
                                           "a c\xff"
                                           "at"};
  // The message names the label by position (the bytes themselves are not printable).
  expect_error([&] { tiny().classify(image(), labels); }, ErrorCode::kInvalidArgument,
               {"label 2 of 2", "UTF-8", "byte offset"});
  expect_error([&] { tiny().embed_text("caf\xc3"); }, ErrorCode::kInvalidArgument, {"UTF-8"});
}

TEST(ApiBadInput, TemplateWithoutPlaceholder) {
  const std::vector<std::string> labels = {"dog", "cat"};
  for (const std::string t : {"a photo", "", "{Label}", "{ label }", "{label"}) {
    SCOPED_TRACE(t);
    expect_error([&] { tiny().classify(image(), labels, {.prompt_template = t}); },
                 ErrorCode::kInvalidArgument, {"\"" + t + "\"", "{label}"});
  }
}

// The scores of `labels` under `options` equal those of the given verbatim prompts.
void expect_same_scores(const std::vector<std::string>& labels, const ClassifyOptions& options,
                        const std::vector<std::string>& prompts) {
  const auto templated = tiny().classify(image(), labels, options);
  const auto verbatim = tiny().classify(image(), prompts, {.prompt_template = std::nullopt});
  ASSERT_EQ(templated.size(), verbatim.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    float a = -1, b = -2;
    for (const auto& s : templated) {
      if (s.label == labels[i]) a = s.score;
    }
    for (const auto& s : verbatim) {
      if (s.label == prompts[i]) b = s.score;
    }
    EXPECT_EQ(a, b) << labels[i] << " vs " << prompts[i];
  }
}

TEST(ApiBadInput, EveryPlaceholderIsReplacedAndBracesAreVerbatim) {
  const std::vector<std::string> labels = {"dog", "cat", "car"};
  expect_same_scores(labels, {.prompt_template = "{label} and {label}, a {label}"},
                     {"dog and dog, a dog", "cat and cat, a cat", "car and car, a car"});
  expect_same_scores(labels, {.prompt_template = "{{label}} {x} }{ {label"},
                     {"{dog} {x} }{ {label", "{cat} {x} }{ {label", "{car} {x} }{ {label"});
  // A label containing "{label}" is not expanded again.
  expect_same_scores({"{label}", "cat"}, {.prompt_template = "a photo of {label}"},
                     {"a photo of {label}", "a photo of cat"});
}

TEST(ApiBadInput, OneMegabyteLabelIsTruncatedToTheModelsPositions) {
  std::string huge;
  while (huge.size() < (1u << 20)) huge += "small dog ";
  const auto start = Clock::now();
  const auto scores = tiny().classify(image(), std::vector<std::string>{huge, "a cat"});
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(60));
  ASSERT_EQ(scores.size(), 2u);
  // Only the first 75 tokens count: 3 of the template, then 36 repeats of "small dog".
  std::string head;
  for (int i = 0; i < 40; ++i) head += "small dog ";
  // Same ids, so the same embedding up to float rounding (oneDNN may pick another kernel split
  // for buffers at other addresses).
  const auto a = tiny().embed_text("a photo of " + huge),
             b = tiny().embed_text("a photo of " + head);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6);
  EXPECT_EQ(tiny().tokenize("a photo of " + huge), tiny().tokenize("a photo of " + head));
  EXPECT_EQ(tiny().tokenize(huge).size(), 77u);
}

TEST(ApiBadInput, TenThousandLabels) {
  std::vector<std::string> labels;
  for (int i = 0; i < 10000; ++i) labels.push_back("object number " + std::to_string(i));
  const long rss_before = peak_rss_mb();
  const auto start = Clock::now();
  const auto scores = tiny().classify(image(), labels);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(250));
  EXPECT_LT(peak_rss_mb() - rss_before, 256) << "MB of peak RSS added";
  ASSERT_EQ(scores.size(), labels.size());
  double sum = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    sum += scores[i].score;
    if (i > 0) {
      EXPECT_GE(scores[i - 1].score, scores[i].score);
    }
  }
  EXPECT_NEAR(sum, 1.0, 1e-3);
}

// ---- Models ----------------------------------------------------------------------------------

// A model folder: links to the fixture's files, except those the test rewrites.
class BrokenModel : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("zs_model_bad_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const auto& entry : fs::directory_iterator(kTiny))
      fs::create_symlink(entry.path(), dir_ / entry.path().filename());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string read(const std::string& name) {
    std::ifstream in(kTiny + "/" + name, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  void write(const std::string& name, const std::string& bytes) {
    fs::remove(dir_ / name);
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
  }
  // Replaces the first `from` (same length as `to`, so offsets stay valid) in a copy of `name`.
  void patch(const std::string& name, const std::string& from, const std::string& to) {
    std::string bytes = read(name);
    auto pos = bytes.find(from);
    ASSERT_NE(pos, std::string::npos) << from;
    bytes.replace(pos, from.size(), to);
    write(name, bytes);
  }
  std::string load_error(ErrorCode code, const std::vector<std::string>& fragments) {
    return expect_error([&] { Model::load({.repo = dir_.string()}); }, code, fragments);
  }

  fs::path dir_;
};

TEST_F(BrokenModel, MissingFolder) {
  const std::string missing = (dir_ / "nope").string();
  expect_error([&] { Model::load({.repo = missing}); }, ErrorCode::kModelNotFound, {missing});
}

TEST_F(BrokenModel, MissingFiles) {
  for (const char* name : {"config.json", "model.safetensors", "preprocessor_config.json"}) {
    SCOPED_TRACE(name);
    const auto saved = dir_ / (std::string(name) + ".away");
    fs::rename(dir_ / name, saved);
    load_error(ErrorCode::kModelNotFound, {name});
    fs::rename(saved, dir_ / name);
  }
  // The tokenizer: tokenizer.json, or else vocab.json + merges.txt.
  fs::remove(dir_ / "tokenizer.json");
  fs::remove(dir_ / "merges.txt");
  load_error(ErrorCode::kModelNotFound, {"tokenizer"});
}

TEST_F(BrokenModel, TruncatedConfig) {
  const std::string config = read("config.json");
  write("config.json", config.substr(0, config.size() / 2));
  load_error(ErrorCode::kModelInvalid, {"config.json", "JSON"});
}

TEST_F(BrokenModel, MalformedPreprocessorConfig) {
  write("preprocessor_config.json", "{\"size\": ");
  load_error(ErrorCode::kModelInvalid, {"preprocessor_config.json", "JSON"});
}

TEST_F(BrokenModel, AbsurdConfigValues) {
  for (const auto& [from, to, field] : std::vector<std::array<std::string, 3>>{
           {"\"num_hidden_layers\": 2", "\"num_hidden_layers\": -2", "num_hidden_layers"},
           {"\"hidden_size\": 16", "\"hidden_size\": 0 ", "hidden_size"},
           {"\"projection_dim\": 24", "\"projection_dim\": 1e9", "projection_dim"},
           {"\"patch_size\": 32", "\"patch_size\": 3.5", "patch_size"},
           {"\"image_size\": 224", "\"image_size\": \"x\"", "image_size"}}) {
    SCOPED_TRACE(to);
    patch("config.json", from, to);
    load_error(ErrorCode::kModelInvalid, {"config.json", field});
  }
}

TEST_F(BrokenModel, ShapeDisagreesWithConfig) {
  // The vision width doubled in the config (heads still divide it): the weights are 64 wide.
  patch("config.json", "\"hidden_size\": 64", "\"hidden_size\": 32");
  load_error(ErrorCode::kModelInvalid, {"model.safetensors", "vision_model"});
}

TEST_F(BrokenModel, CropDisagreesWithImageSize) {
  patch("preprocessor_config.json", "\"height\": 224", "\"height\": 225");
  load_error(ErrorCode::kModelInvalid, {"preprocessor_config.json", "image_size"});
}

TEST_F(BrokenModel, SafetensorsHeaderBeyondTheFile) {
  std::string bytes = read("model.safetensors");
  bytes[6] = '\x01';  // header length + 2^48
  write("model.safetensors", bytes);
  load_error(ErrorCode::kModelInvalid, {"model.safetensors", "exceeds the file size"});
}

TEST_F(BrokenModel, SafetensorsOutOfRangeOffsets) {
  // logit_scale's [0,4] becomes [9,4]: begin past end.
  patch("model.safetensors", "\"data_offsets\":[0,4]", "\"data_offsets\":[9,4]");
  load_error(ErrorCode::kModelInvalid, {"model.safetensors", "logit_scale", "outside"});
}

TEST_F(BrokenModel, SafetensorsOverlappingOffsets) {
  // The position embedding moved from [4,4932] to [0,4928]: same size, over logit_scale.
  patch("model.safetensors", "\"data_offsets\":[4,4932]", "\"data_offsets\":[0,4928]");
  load_error(ErrorCode::kModelInvalid, {"model.safetensors", "overlap"});
}

TEST_F(BrokenModel, SafetensorsUnknownDtype) {
  patch("model.safetensors", "\"F32\"", "\"Q32\"");
  load_error(ErrorCode::kModelInvalid, {"model.safetensors", "unknown dtype 'Q32'"});
}

TEST_F(BrokenModel, SafetensorsMissingTensor) {
  patch("model.safetensors", "\"logit_scale\"", "\"logit_scalf\"");
  load_error(ErrorCode::kModelInvalid, {"model.safetensors", "logit_scale"});
}

TEST_F(BrokenModel, SafetensorsTruncatedData) {
  const std::string bytes = read("model.safetensors");
  write("model.safetensors", bytes.substr(0, bytes.size() - 1000));
  load_error(ErrorCode::kModelInvalid, {"model.safetensors"});
}

TEST_F(BrokenModel, MalformedTokenizer) {
  write("tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": [");
  load_error(ErrorCode::kModelInvalid, {"tokenizer.json"});
}

}  // namespace
}  // namespace zeroshot
