// Prompt ensembles, raw scores and top-k against independent references: every prompt's text
// embedding from the plain-loop reference (naive_clip.h, itself checked against OpenAI's outputs
// in variants_test.cc), combined by OpenAI's formula written out here (Prompt_Engineering_for_
// ImageNet.ipynb: normalise each prompt's embedding, mean over the templates, normalise), then
// logits = exp(logit_scale) * cosine and a softmax over all labels. The library, its batch path
// and the CLI's --json output must agree with it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "conformance/naive_clip.h"
#include "conformance/reference.h"
#include "e2e/run_cli.h"
#include "safetensors/safetensors.h"
#include "util/mapped_file.h"
#include "zeroshot/zeroshot.h"

namespace zeroshot {
namespace {

using nlohmann::json;

// Scores and cosines: 1e-5 absolute (measured: at most ~3e-7). Logits are exp(logit_scale) (100
// for tiny-clip) times the cosine, so the same agreement is 1e-5 * exp(logit_scale) on them: one
// float32 rounding of a cosine (~6e-8) is already ~6e-6 on a logit (measured: at most ~7e-6).
constexpr double kTol = 1e-5;

const Model& tiny() {
  static const Model model = Model::load({.repo = testing::kTinyClip});
  return model;
}

const testing::NaiveClip& naive() {
  static const auto config = family::clip::parse_clip_config(
      util::read_file(testing::kTinyClip + "/config.json"), "config.json");
  static const auto weights = safetensors::File::open(testing::kTinyClip + "/model.safetensors");
  static const testing::NaiveClip clip(config, weights.tensors());
  return clip;
}

// Every "{label}" of the template replaced by the label (written independently of the library).
std::string fill(const std::string& tmpl, const std::string& label) {
  std::string out = tmpl;
  for (std::size_t pos = 0; (pos = out.find("{label}", pos)) != std::string::npos;
       pos += label.size())
    out.replace(pos, 7, label);
  return out;
}

// OpenAI's zeroshot_classifier: per label, the normalised mean of the normalised prompt
// embeddings. -> [labels][dim]
std::vector<std::vector<double>> reference_classifier(const std::vector<std::string>& labels,
                                                      const std::vector<std::string>& templates) {
  std::vector<std::vector<double>> out;
  for (const auto& label : labels) {
    std::vector<double> mean;
    for (const auto& tmpl : templates) {
      const auto e = naive().text(tiny().tokenize(fill(tmpl, label)));  // L2-normalised
      mean.resize(e.size());
      for (std::size_t k = 0; k < e.size(); ++k) mean[k] += e[k] / templates.size();
    }
    double norm = 0;
    for (double x : mean) norm += x * x;
    for (double& x : mean) x /= std::sqrt(norm);
    out.push_back(mean);
  }
  return out;
}

struct Expected {
  double score, logit, cosine;
};

// label -> what the reference gives for this image (softmax over all labels).
std::map<std::string, Expected> reference_scores(const std::vector<float>& image,
                                                 const std::vector<std::string>& labels,
                                                 const std::vector<std::string>& templates) {
  const auto classifier = reference_classifier(labels, templates);
  std::vector<double> cosines, logits;
  for (const auto& text : classifier) {
    double c = 0;
    for (std::size_t k = 0; k < text.size(); ++k) c += image[k] * text[k];
    cosines.push_back(c);
    logits.push_back(static_cast<double>(tiny().logit_scale()) * c);
  }
  const double max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (double l : logits) sum += std::exp(l - max);
  std::map<std::string, Expected> out;
  for (std::size_t i = 0; i < labels.size(); ++i)
    out[labels[i]] = {std::exp(logits[i] - max) / sum, logits[i], cosines[i]};
  return out;
}

void expect_matches(const std::vector<LabelScore>& got, const std::map<std::string, Expected>& want,
                    std::size_t count) {
  ASSERT_EQ(got.size(), count);
  const double logit_tol = kTol * tiny().logit_scale();
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(got[i].label);
    const auto& e = want.at(got[i].label);
    EXPECT_NEAR(got[i].score, e.score, kTol);
    EXPECT_NEAR(got[i].cosine, e.cosine, kTol);
    EXPECT_NEAR(got[i].logit, e.logit, logit_tol);
    if (i > 0) {
      EXPECT_GE(got[i - 1].score, got[i].score);
    }
  }
}

std::vector<LabelScore> from_json(const json& results) {
  std::vector<LabelScore> out;
  for (const auto& r : results)
    out.push_back({r["label"].get<std::string>(), r["score"].get<float>(), r.value("logit", 0.0f),
                   r.value("cosine", 0.0f)});
  return out;
}

const std::vector<std::string> kLabels = {"a dog", "a cat", "a horse", "a red sports car",
                                          "an empty white room"};
const std::vector<std::string> kImages = {"scene_640x480.png", "odd_225x301.png",
                                          "noise_257x263.png"};

std::vector<std::string> mixed_templates() {
  auto t = template_set("openai-imagenet-7");
  t.push_back("{label}, {label}!");  // two placeholders
  return t;
}

TEST(Ensemble, LibraryMatchesOpenAiFormulaOverPlainReference) {
  for (const auto& templates : {mixed_templates(), template_set("openai-imagenet-80"),
                                std::vector<std::string>{"{label}"}}) {
    SCOPED_TRACE(std::to_string(templates.size()) + " templates");
    for (const auto& file : kImages) {
      SCOPED_TRACE(file);
      const auto image = Image::from_file(testing::image_path(file));
      const auto want = reference_scores(tiny().embed_image(image), kLabels, templates);
      expect_matches(tiny().classify(image, kLabels, {.templates = templates}), want,
                     kLabels.size());
    }
  }
}

TEST(Ensemble, BatchMatchesReferenceForEveryImage) {
  const auto templates = mixed_templates();
  std::vector<Image> images;
  for (const auto& file : kImages) images.push_back(Image::from_file(testing::image_path(file)));
  const auto batch = tiny().classify_batch(images, kLabels, {.templates = templates});
  ASSERT_EQ(batch.size(), images.size());
  for (std::size_t i = 0; i < images.size(); ++i) {
    SCOPED_TRACE(kImages[i]);
    expect_matches(batch[i], reference_scores(tiny().embed_image(images[i]), kLabels, templates),
                   kLabels.size());
  }
}

// Ensembled label embeddings are cached per (templates, label): repeated calls, other template
// lists over the same labels, and a model without a cache all give the reference.
TEST(Ensemble, CachedEnsemblesAreKeyedByTheirTemplates) {
  const auto image = Image::from_file(testing::image_path("scene_640x480.png"));
  const auto embedding = tiny().embed_image(image);
  const std::vector<std::string> a = {"a photo of {label}", "a drawing of {label}"};
  const std::vector<std::string> b = {"a photo of {label}", "a painting of {label}"};
  const std::vector<std::string> c = {"a drawing of {label}", "a photo of {label}"};
  const auto uncached = Model::load({.repo = testing::kTinyClip, .text_cache_entries = 0});
  for (const auto* templates : {&a, &b, &a, &c, &b}) {
    const auto want = reference_scores(embedding, kLabels, *templates);
    expect_matches(tiny().classify(image, kLabels, {.templates = *templates}), want,
                   kLabels.size());
    expect_matches(uncached.classify(image, kLabels, {.templates = *templates}), want,
                   kLabels.size());
  }
  // A label list that differs in one label reuses the others' cached entries correctly.
  auto more = kLabels;
  more.push_back("a bowl of fruit");
  expect_matches(tiny().classify(image, more, {.templates = a}),
                 reference_scores(embedding, more, a), more.size());
}

TEST(Ensemble, OneTemplateIsExactlyTheSingleTemplatePath) {
  const auto image = Image::from_file(testing::image_path("scene_640x480.png"));
  const auto single = tiny().classify(image, kLabels, {.prompt_template = "a photo of {label}"});
  const auto list = tiny().classify(image, kLabels, {.templates = {"a photo of {label}"}});
  ASSERT_EQ(single.size(), list.size());
  for (std::size_t i = 0; i < single.size(); ++i) {
    EXPECT_EQ(single[i].label, list[i].label);
    EXPECT_EQ(single[i].score, list[i].score);
    EXPECT_EQ(single[i].logit, list[i].logit);
  }
}

TEST(Ensemble, FreeFunctionsTakeTemplates) {
  const auto image = Image::from_file(testing::image_path("scene_640x480.png"));
  const auto templates = mixed_templates();
  const auto want = reference_scores(tiny().embed_image(image), kLabels, templates);
  expect_matches(classify(image, kLabels, {.repo = testing::kTinyClip, .templates = templates}),
                 want, kLabels.size());
}

TEST(Ensemble, CliJsonMatchesReference) {
  const std::string file = "scene_640x480.png";
  const auto image = Image::from_file(testing::image_path(file));
  // --template, --templates and --templates-file add up, in that order.
  const auto dir = std::filesystem::temp_directory_path() / "zs_ensemble_cli";
  std::filesystem::create_directories(dir);
  const auto templates_file = (dir / "templates.txt").string();
  {
    std::ofstream out(templates_file);
    out << "# my templates\r\n\r\na blurry photo of {label}.\r\n{label}, {label}!\n";
  }
  std::vector<std::string> templates = {"a photo of {label}"};
  for (const auto& t : template_set("openai-imagenet-7")) templates.push_back(t);
  templates.push_back("a blurry photo of {label}.");
  templates.push_back("{label}, {label}!");
  const auto want = reference_scores(tiny().embed_image(image), kLabels, templates);
  const std::vector<std::string> options = {
      "--repo",      testing::kTinyClip,  "--template",       "a photo of {label}",
      "--templates", "openai-imagenet-7", "--templates-file", templates_file};

  std::vector<std::string> args = {"classify", "--json", "--raw"};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back(testing::image_path(file));
  args.insert(args.end(), kLabels.begin(), kLabels.end());
  auto r = testing::run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_matches(from_json(json::parse(r.out)), want, kLabels.size());

  // Batch mode: one JSON line per image, in order (a path given twice is one input, so the
  // second image is another file).
  const std::string other = "scene_gray_L.png";
  const auto want_other = reference_scores(
      tiny().embed_image(Image::from_file(testing::image_path(other))), kLabels, templates);
  args = {"classify", "--raw", "-q"};
  args.insert(args.end(), options.begin(), options.end());
  for (const auto& l : kLabels) args.insert(args.end(), {"-l", l});
  args.insert(args.end(), {testing::image_path(file), testing::image_path(other)});
  r = testing::run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count)
    expect_matches(from_json(json::parse(line)["results"]), count == 0 ? want : want_other,
                   kLabels.size());
  EXPECT_EQ(count, 2);

  // label: the reference's best.
  args = {"label", "--json"};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back(testing::image_path(file));
  args.insert(args.end(), kLabels.begin(), kLabels.end());
  r = testing::run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto best = std::max_element(want.begin(), want.end(), [](const auto& a, const auto& b) {
    return a.second.score < b.second.score;
  });
  EXPECT_EQ(json::parse(r.out)["label"], best->first);
  std::filesystem::remove_all(dir);
}

// --raw / LabelScore::logit and ::cosine against OpenAI's logits of the fixture, where the
// reference label set used one template (the tolerance of tests/fixtures/README.md: logits 1e-2
// at scale 100), and against the plain reference's cosine at kTol.
TEST(Raw, LogitsAndCosinesMatchReference) {
  std::size_t sets = 0;
  for (const auto& set : testing::reference()["label_sets"]) {
    if (set["template"].is_null()) continue;
    SCOPED_TRACE(set["name"].get<std::string>());
    ++sets;
    const std::vector<std::string> labels = set["labels"];
    const std::string tmpl = set["template"];
    for (const auto& file : kImages) {
      SCOPED_TRACE(file);
      const auto image = Image::from_file(testing::image_path(file));
      const auto got = tiny().classify(image, labels, {.prompt_template = tmpl});
      const auto& expected = testing::per_image(set, file);
      const auto want = reference_scores(tiny().embed_image(image), labels, {tmpl});
      ASSERT_EQ(got.size(), labels.size());
      for (const auto& s : got) {
        SCOPED_TRACE(s.label);
        const auto i = static_cast<std::size_t>(std::find(labels.begin(), labels.end(), s.label) -
                                                labels.begin());
        EXPECT_NEAR(s.logit, expected["logits"][i].get<double>(), 1e-2);
        EXPECT_NEAR(s.logit, tiny().logit_scale() * s.cosine, 1e-6 * tiny().logit_scale());
        EXPECT_NEAR(s.cosine, want.at(s.label).cosine, kTol);
        EXPECT_NEAR(s.score, expected["probs"][i].get<double>(), 1e-4);
      }
    }
  }
  EXPECT_GE(sets, 2u) << "no templated label set of the reference was compared";
}

TEST(TopK, KeepsTheBestKWithScoresOverAllLabels) {
  const auto image = Image::from_file(testing::image_path("scene_640x480.png"));
  const auto templates = mixed_templates();
  const auto full = tiny().classify(image, kLabels, {.templates = templates});
  const auto want = reference_scores(tiny().embed_image(image), kLabels, templates);
  for (int k : {1, 2, 4, 5, 9}) {
    SCOPED_TRACE(k);
    const auto top = tiny().classify(image, kLabels, {.templates = templates, .top_k = k});
    const auto n = std::min<std::size_t>(static_cast<std::size_t>(k), kLabels.size());
    ASSERT_EQ(top.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_EQ(top[i].label, full[i].label);
      EXPECT_EQ(top[i].score, full[i].score);  // not renormalised over the K
    }
    expect_matches(top, want, n);
    const auto batch =
        tiny().classify_batch(std::span(&image, 1), kLabels, {.templates = templates, .top_k = k});
    ASSERT_EQ(batch.at(0).size(), n);
  }
  double sum = 0;
  for (const auto& s : full) sum += s.score;
  EXPECT_NEAR(sum, 1.0, 1e-5);

  // The CLI: --top-k 2 prints the full run's best two.
  std::vector<std::string> args = {"classify",
                                   "--json",
                                   "--repo",
                                   testing::kTinyClip,
                                   "--top-k",
                                   "2",
                                   "--templates",
                                   "openai-imagenet-7",
                                   testing::image_path("scene_640x480.png")};
  args.insert(args.end(), kLabels.begin(), kLabels.end());
  auto r = testing::run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto cli_full =
      tiny().classify(image, kLabels, {.templates = template_set("openai-imagenet-7")});
  const auto got = json::parse(r.out);
  ASSERT_EQ(got.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(got[i]["label"], cli_full[i].label);
    EXPECT_NEAR(got[i]["score"].get<double>(), cli_full[i].score, 1e-7);
    EXPECT_FALSE(got[i].contains("logit"));  // only with --raw
  }
}

TEST(TopK, NonPositiveIsAnError) {
  const auto image = Image::from_file(testing::image_path("scene_640x480.png"));
  try {
    tiny().classify(image, kLabels, {.top_k = -1});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("top_k"), std::string::npos) << e.what();
  }
  for (const char* k : {"0", "-3"}) {
    auto r = testing::run_cli({"classify", "--repo", testing::kTinyClip, "--top-k", k,
                               testing::image_path("scene_640x480.png"), "a", "b"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--top-k"), std::string::npos) << r.err;
  }
}

TEST(Raw, TextOutputHasScoreLogitCosineColumns) {
  const auto image = Image::from_file(testing::image_path("scene_640x480.png"));
  const auto want = tiny().classify(image, kLabels);
  std::vector<std::string> args = {"classify", "--raw", "--repo", testing::kTinyClip,
                                   testing::image_path("scene_640x480.png")};
  args.insert(args.end(), kLabels.begin(), kLabels.end());
  auto r = testing::run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(want.size(), kLabels.size());
  std::istringstream lines(r.out);
  for (const auto& s : want) {
    double score = 0, logit = 0, cosine = 0;
    std::string line;
    ASSERT_TRUE(std::getline(lines, line));
    std::istringstream fields(line);
    fields >> score >> logit >> cosine;
    std::string label;
    std::getline(fields >> std::ws, label);
    EXPECT_EQ(label, s.label);
    EXPECT_NEAR(score, s.score, 1e-4);
    EXPECT_NEAR(logit, s.logit, 1e-4);
    EXPECT_NEAR(cosine, s.cosine, 1e-4);
  }
  std::string extra;
  EXPECT_FALSE(std::getline(lines, extra)) << "a line more than the labels: " << extra;
}

}  // namespace
}  // namespace zeroshot
