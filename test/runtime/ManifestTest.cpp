// The manifest: round trip, and a precise error for every malformed field.
#include "runtime/Manifest.h"

#include "TestUtil.h"

#include <nlohmann/json.hpp>

using namespace kiln::runtime;
using kiln::runtime::test::contains;
using nlohmann::json;

namespace {

json fashion() {
  return json::parse(R"({
    "model": "FashionMLP",
    "inputs":  [{"name":"image","dtype":"u8","shape":[-1,28,28]}],
    "targets": [{"name":"label","dtype":"i64","shape":[-1]}],
    "outputs": [{"name":"logits","dtype":"f32","shape":[-1,10]}],
    "params":  [{"name":"net.0.weight","dtype":"f32","shape":[256,784],
                 "init":{"kind":"uniform","a":-0.0357,"b":0.0357}},
                {"name":"net.0.bias","dtype":"f32","shape":[256],"init":{"kind":"zeros"}}],
    "loss": true,
    "metrics": ["accuracy"],
    "train": {"optimizer":"SGD","lr":0.1,"momentum":0,"weight_decay":0,"beta1":0.9,
              "beta2":0.999,"eps":1e-8,"batch":64,"epochs":3,"seed":42,"shuffle":true},
    "flops_per_sample": 0, "entry_points": ["forward","loss"] })");
}

std::string errorOf(const json &j) { return Manifest::fromJson(j.dump()).error; }

TEST(ManifestTest, ParsesTheDocumentedExample) {
  Result<Manifest> m = Manifest::fromJson(fashion().dump());
  ASSERT_TRUE(m.ok()) << m.error;
  EXPECT_EQ(m.value.model, "FashionMLP");
  EXPECT_EQ(m.value.inputs[0].sampleShape(), (std::vector<int64_t>{28, 28}));
  EXPECT_EQ(m.value.params[0].init.kind, InitSpec::Kind::Uniform);
  EXPECT_DOUBLE_EQ(m.value.params[0].init.b, 0.0357);
  EXPECT_TRUE(m.value.hasTrain);
  EXPECT_EQ(m.value.train.seed, 42u);
  EXPECT_TRUE(m.value.hasEntryPoint("loss"));
  EXPECT_FALSE(m.value.hasEntryPoint("train_step"));
}

TEST(ManifestTest, RoundTrip) {
  Manifest m = Manifest::fromJson(fashion().dump()).value;
  m.scalarDType = DType::F64;
  m.hasArena = true;
  m.arenaPerSampleBytes = 1234;
  m.train.seed = UINT64_MAX;
  m.train.optimizer = kiln::OptimizerKind::RMSprop;
  m.train.alpha = 0.9;
  m.train.clipGradNorm = 0.5;
  m.train.scheduler = kiln::SchedulerKind::CosineAnnealingLR;
  m.train.tMax = 7;
  m.train.etaMin = 1e-4;
  Result<Manifest> back = Manifest::fromJson(m.toJson());
  ASSERT_TRUE(back.ok()) << back.error;
  EXPECT_EQ(back.value.toJson(), m.toJson());
  EXPECT_EQ(back.value.train.seed, UINT64_MAX);
  EXPECT_EQ(back.value.train.optimizer, kiln::OptimizerKind::RMSprop);
  EXPECT_EQ(back.value.train.scheduler, kiln::SchedulerKind::CosineAnnealingLR);
  EXPECT_EQ(back.value.train.tMax, 7);
  EXPECT_EQ(back.value.train.clipGradNorm, 0.5);
  EXPECT_EQ(back.value.scalarDType, DType::F64);
}

TEST(ManifestTest, OptionalPartsMayBeAbsent) {
  json j = fashion();
  j.erase("train");
  j.erase("flops_per_sample");
  j["unknown_future_field"] = 1;
  Result<Manifest> m = Manifest::fromJson(j.dump());
  ASSERT_TRUE(m.ok()) << m.error;
  EXPECT_FALSE(m.value.hasTrain);
  EXPECT_EQ(m.value.train.batch, 64);
}

TEST(ManifestTest, RejectsEveryMalformedField) {
  EXPECT_EQ(Manifest::fromJson("{").error, "manifest: invalid JSON");
  EXPECT_EQ(Manifest::fromJson("[]").error, "manifest: manifest: expected a JSON object");
  auto broken = [](auto edit) {
    json j = fashion();
    edit(j);
    return errorOf(j);
  };
  EXPECT_EQ(broken([](json &j) { j.erase("model"); }),
            "manifest: missing field \"model\"");
  EXPECT_EQ(broken([](json &j) { j["inputs"][0]["dtype"] = "f16"; }),
            "manifest: inputs[0].dtype: unknown dtype \"f16\" (f32, f64, i32, i64, u8)");
  EXPECT_TRUE(contains(broken([](json &j) { j["inputs"][0]["shape"] = {28, 28}; }),
                       "must start with -1"));
  EXPECT_TRUE(contains(broken([](json &j) { j["outputs"][0]["shape"] = {-1, -1}; }),
                       "outputs[0].shape[1]: expected an integer >= 0"));
  EXPECT_TRUE(contains(broken([](json &j) { j["params"][0]["shape"] = {-1, 3}; }),
                       "params[0].shape[0]"));
  EXPECT_TRUE(contains(broken([](json &j) { j["params"][0]["shape"] = {1ll << 40, 1ll << 40}; }),
                       "too many elements"));
  EXPECT_TRUE(contains(broken([](json &j) { j["params"][0]["shape"] = "x"; }),
                       "expected an array"));
  EXPECT_TRUE(contains(broken([](json &j) { j["params"][0]["init"]["kind"] = "xavier"; }),
                       "unknown init"));
  EXPECT_TRUE(contains(broken([](json &j) { j["params"][0]["init"].erase("b"); }),
                       "missing field \"b\""));
  EXPECT_TRUE(contains(broken([](json &j) { j["params"][0]["init"]["a"] = 1; }),
                       "low (a) is above high (b)"));
  EXPECT_TRUE(contains(broken([](json &j) { j["params"][1]["name"] = "net.0.weight"; }),
                       "declared twice"));
  EXPECT_TRUE(contains(broken([](json &j) { j["targets"][0]["name"] = "image"; }),
                       "declared twice"));
  EXPECT_TRUE(contains(broken([](json &j) { j["loss"] = 1; }), "expected true or false"));
  EXPECT_TRUE(contains(broken([](json &j) { j["metrics"] = {1}; }), "metrics[0]"));
  EXPECT_TRUE(contains(broken([](json &j) { j["train"]["optimizer"] = "Adagrad"; }),
                       "unknown optimizer"));
  EXPECT_TRUE(contains(broken([](json &j) { j["train"]["scheduler"] = "OneCycleLR"; }),
                       "unknown scheduler"));
  EXPECT_TRUE(contains(broken([](json &j) { j["train"]["step_size"] = 0; }),
                       "train.step_size"));
  EXPECT_TRUE(contains(broken([](json &j) { j["train"]["clip_grad_norm"] = -1; }),
                       "train.clip_grad_norm"));
  EXPECT_TRUE(contains(broken([](json &j) { j["train"]["nesterov"] = 1; }),
                       "expected true or false"));
  EXPECT_TRUE(contains(broken([](json &j) { j["train"]["batch"] = 0; }), "train.batch"));
  EXPECT_TRUE(contains(broken([](json &j) { j["train"]["batch"] = 2.5; }),
                       "train.batch: expected an integer"));
  EXPECT_TRUE(contains(broken([](json &j) { j["train"]["seed"] = -1; }), "train.seed"));
  EXPECT_TRUE(contains(broken([](json &j) { j["entry_points"] = {"forward"}; }),
                       "\"loss\" is missing"));
  EXPECT_TRUE(contains(broken([](json &j) { j["entry_points"] = {"loss"}; }),
                       "\"forward\" is missing"));
  EXPECT_TRUE(contains(broken([](json &j) { j["entry_points"] = {"forward", "loss", "x"}; }),
                       "unknown entry point"));
  EXPECT_TRUE(contains(broken([](json &j) { j["inputs"] = json::array(); }),
                       "at least one input"));
  EXPECT_TRUE(contains(broken([](json &j) { j["scalar_dtype"] = "i32"; }), "scalar_dtype"));
}

} // namespace

TEST(ManifestTest, CudaTargetAndKernels) {
  json j = fashion();
  Result<Manifest> cpu = Manifest::fromJson(j.dump());
  ASSERT_TRUE(cpu.ok()) << cpu.error;
  EXPECT_EQ(cpu.value.target, "cpu");
  EXPECT_EQ(cpu.value.toJson().find("\"target\""), std::string::npos); // a CPU manifest is unchanged
  j["target"] = "cuda";
  j["gpu_arch"] = "sm_90";
  j["kernels"] = {"train_step_matmul0_net_0", "forward_elementwise0_y"};
  Result<Manifest> m = Manifest::fromJson(j.dump());
  ASSERT_TRUE(m.ok()) << m.error;
  EXPECT_EQ(m.value.target, "cuda");
  EXPECT_EQ(m.value.gpuArch, "sm_90");
  ASSERT_EQ(m.value.kernels.size(), 2u);
  EXPECT_EQ(m.value.kernels[1], "forward_elementwise0_y");
  Result<Manifest> back = Manifest::fromJson(m.value.toJson());
  ASSERT_TRUE(back.ok()) << back.error;
  EXPECT_EQ(back.value.kernels, m.value.kernels);
  EXPECT_EQ(back.value.target, "cuda");
  j["target"] = "tpu";
  EXPECT_NE(errorOf(j).find("\"target\" must be \"cpu\" or \"cuda\""), std::string::npos);
  j["target"] = "cuda";
  j["kernels"] = {1, 2};
  EXPECT_NE(errorOf(j).find("\"kernels\" must be an array of names"), std::string::npos);
}
