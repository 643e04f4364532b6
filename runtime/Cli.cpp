// Dispatch, flags and help of the executable's command line.
#include "runtime/gpu/CudaRuntime.h"
#include "runtime/Cli.h"

#include "common/ExecutableFlags.h"

#include "runtime/Args.h"
#include "runtime/Bench.h"
#include "runtime/Commands.h"
#include "runtime/Manifest.h"
#include "runtime/Signals.h"
#include "runtime/data/DataFiles.h"
#include "runtime/data/DataWriters.h"
#include "runtime/data/FileUtil.h"
#include "runtime/kernels/ThreadPool.h"
#include "runtime/parallel/Mpi.h"
#include "runtime/train/TensorBoard.h"

#include <algorithm>
#include <cstdio>
#include <new>
#include <set>
#include <sys/stat.h>

namespace kiln::runtime {

namespace {

const char *const kDataHelp =
    "Data files: IDX (gzipped or not), .npy or .csv (one sample a row); the\n"
    "first dimension counts samples, the rest must equal the declared shape.\n"
    "Values convert to the declared dtype only where none can change.\n";

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// A --target cuda executable needs the driver and a GPU before any entry
/// point runs; without them it exits 2 with one line.
void startCudaDevice(const Manifest &m) {
  if (m.target != "cuda")
    return;
  std::string error;
  if (!gpu::startDevice(error))
    inputError(error);
}

std::string describe(const char *kind, const TensorSpec &s) {
  return std::string(kind) + " " + dtypeName(s.dtype) + shapeString(s.shape);
}

/// The flags of a command: built-in ones first, then one per input/target.
std::vector<FlagSpec> commandFlags(const Manifest &m, const std::string &cmd) {
  int64_t batch = m.train.batch;
  std::vector<FlagSpec> f;
  if (cmd == "eval" || cmd == "predict")
    f.push_back({"weights", "FILE", "parameters (safetensors)", true});
  if (cmd == "predict")
    f.push_back({"output", "FILE", m.outputs.size() == 1
                                       ? "where to write the output (.npy or .csv)"
                                       : "outputs go to FILE with .NAME inserted "
                                         "before the extension (.npy or .csv)",
                 true});
  if (cmd == "train") {
    f.push_back({"epochs", "E", "passes over the data, counting the whole run (default " +
                                    std::to_string(m.train.epochs) + ")"});
    f.push_back({"lr", "X", "learning rate (default " + number(m.train.lr) + ")"});
    f.push_back({"seed", "S", "seed of initialization and shuffling (default " +
                                  std::to_string(m.train.seed) + ")"});
    f.push_back({"init", "FILE", "start from these parameters (safetensors)"});
    f.push_back({"save", "FILE", "write a checkpoint after every epoch and at the end: "
                                 "the parameters, optimizer state and position (safetensors)"});
    f.push_back({"resume", "FILE", "continue the run a --save checkpoint stopped, exactly"});
    f.push_back({"metrics", "FILE", "write loss and metrics per step and per epoch (JSON lines)"});
    f.push_back({"tensorboard", "DIR", "write TensorBoard event files to DIR/train and "
                                       "DIR/validation"});
    f.push_back({"val-every", "K", "also validate every K steps (with --val-* files)"});
    f.push_back({"threads", "T", "threads for matrix products (default: one per core, "
                                 "shared among the MPI ranks on a machine; "
                                 "results do not depend on it)"});
  }
  if (cmd != "info")
    f.push_back({"batch", "B", "samples per batch (default " + std::to_string(batch) + ")"});
  if (cmd == "info")
    f.push_back({"json", "", "print the manifest as JSON"});

  // The names the compiler keeps from inputs and targets (a model built by
  // an older compiler may still use one: refused here too).
  std::set<std::string> builtIn(std::begin(kExecutableFlags), std::end(kExecutableFlags));
  for (const FlagSpec &s : f)
    if (!builtIn.count(s.name)) // a new flag must be added there, or models could shadow it
      runError("internal error: the flag --" + s.name +
               " is missing from common/ExecutableFlags.h");
  auto addData = [&](const char *kind, const std::vector<TensorSpec> &specs) {
    for (const TensorSpec &s : specs) {
      if (builtIn.count(s.name))
        runError("the model's " + std::string(kind) + " '" + s.name +
                 "' has the name of the built-in flag --" + s.name +
                 "; rename it in the model file");
      f.push_back({s.name, "FILE", describe(kind, s), true});
    }
  };
  if (cmd != "info")
    addData("input", m.inputs);
  if (cmd == "train" || cmd == "eval")
    addData("target", m.targets);
  if (cmd == "train") // the validation set: a --val- twin of each
    for (const auto *group : {&m.inputs, &m.targets})
      for (const TensorSpec &s : *group) {
        std::string name = "val-" + s.name;
        if (builtIn.count(name))
          runError("the model's " + std::string(group == &m.inputs ? "input" : "target") +
                   " '" + s.name + "' would have the validation flag --" + name +
                   ", which is a built-in flag; rename it in the model file");
        f.push_back({name, "FILE", "validation " + describe(group == &m.inputs ? "input" :
                                                            "target", s)});
      }
  return f;
}

void printCommandHelp(const std::string &prog, const std::string &cmd,
                      const std::vector<FlagSpec> &flags) {
  std::string usage = "usage: " + prog + " " + cmd;
  for (const FlagSpec &f : flags) {
    std::string one = "--" + f.name + (f.metavar.empty() ? "" : " " + f.metavar);
    usage += f.required ? " " + one : " [" + one + "]";
  }
  std::printf("%s\n\nflags:\n", usage.c_str());
  size_t width = 0;
  for (const FlagSpec &f : flags)
    width = std::max(width, f.name.size() + f.metavar.size() + 3);
  for (const FlagSpec &f : flags) {
    std::string left = "--" + f.name + (f.metavar.empty() ? "" : " " + f.metavar);
    std::printf("  %-*s  %s\n", int(width), left.c_str(), f.help.c_str());
  }
  if (cmd != "info")
    std::printf("\n%s", kDataHelp);
}

void printHelp(const std::string &prog, const Manifest &m) {
  std::printf(
               "usage: %s <command> [flags]\n\n"
               "%s, compiled by Kiln.\n\n"
               "commands:\n"
               "  train     train the parameters\n"
               "  eval      print the loss and metrics over a data set\n"
               "  predict   write the model's outputs for a data set\n"
               "  info      describe the model: tensors, parameters, FLOPs, defaults\n"
               "  bench     time the model's entry points on random data (for benchmarking)\n\n"
               "Run '%s COMMAND --help' for a command's flags.\n",
               prog.c_str(), m.model.c_str(), prog.c_str());
}

DataFiles dataFlags(const Manifest &m, const ParsedFlags &flags, bool targets) {
  DataFiles files;
  for (const TensorSpec &s : m.inputs)
    files[s.name] = flags.get(s.name);
  if (targets)
    for (const TensorSpec &s : m.targets)
      files[s.name] = flags.get(s.name);
  return files;
}

/// The --val-NAME files: all of them or none.
DataFiles validationFlags(const Manifest &m, const ParsedFlags &flags) {
  DataFiles files;
  std::string given, missing;
  for (const auto *group : {&m.inputs, &m.targets})
    for (const TensorSpec &s : *group) {
      std::string flag = "val-" + s.name;
      if (flags.has(flag)) {
        files[s.name] = flags.get(flag);
        given = flag;
      } else if (missing.empty()) {
        missing = flag;
      }
    }
  if (!files.empty() && !missing.empty())
    usageError("--" + given + " needs --" + missing + " too: the validation set has a file "
               "for every input and target");
  return files;
}

/// A file a command reads or writes, and the flag that names it.
struct FileArg {
  std::string flag, path;
};

/// Before any work: every output must be writable under the output rule
/// (resolveOutputPath: a regular file, a new name, or a link to one), and no
/// output may be an input or another output (same file, however named), so
/// nothing a command reads is truncated or replaced by what it writes.
/// `--resume W --save W` is allowed: the checkpoint is read whole before
/// training, and each save replaces it atomically (continuing in place).
void checkFiles(const std::vector<FileArg> &inputs, const std::vector<FileArg> &outputs) {
  std::vector<std::pair<const FileArg *, std::string>> seen;
  for (const FileArg &in : inputs) {
    struct stat st;
    if (stat(in.path.c_str(), &st) == 0) // a missing input fails when it is read
      seen.push_back({&in, fileIdentity(in.path)});
  }
  size_t numInputs = seen.size();
  for (const FileArg &out : outputs) {
    std::string error;
    std::string target = resolveOutputPath(out.path, error);
    if (target.empty())
      inputError(error);
    std::string id = fileIdentity(target);
    for (size_t i = 0; i < seen.size(); ++i) {
      const FileArg &other = *seen[i].first;
      if (seen[i].second != id || (out.flag == "save" && other.flag == "resume"))
        continue;
      inputError("--" + out.flag + " " + out.path + " and --" + other.flag + " " + other.path +
                 " are the same file: " +
                 (i < numInputs ? "an output may not overwrite an input"
                                : "two outputs may not share one"));
    }
    seen.push_back({&out, id});
  }
}


int64_t batchFlag(const Manifest &m, const ParsedFlags &flags) {
  return flags.has("batch") ? parseIntFlag("batch", flags.get("batch"), 1) : m.train.batch;
}

int dispatch(const std::string &prog, const Manifest &m, const EntryPoints &ep,
             const std::vector<std::string> &args) {
  if (args.empty())
    throw CliError(2, false, "missing command: train, eval, predict or info (try '" +
                                 prog + " --help')");
  const std::string &cmd = args[0];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    printHelp(prog, m);
    return 0;
  }
  if (cmd == "bench") { // a tool for benchmarking, with flags of its own: Bench.h
    try {
      startCudaDevice(m);
      runBench(prog, m, ep, std::vector<std::string>(args.begin() + 1, args.end()));
    } catch (CliError &e) {
      if (!e.usage)
        throw;
      throw CliError(e.status, false,
                     cmd + ": " + e.what() + " (try '" + prog + " " + cmd + " --help')");
    }
    return 0;
  }
  if (cmd != "train" && cmd != "eval" && cmd != "predict" && cmd != "info")
    throw CliError(2, false, "unknown command '" + cmd + "' (try '" + prog + " --help')");

  std::vector<FlagSpec> specs = commandFlags(m, cmd);
  ParsedFlags flags;
  try {
    flags = parseFlags(std::vector<std::string>(args.begin() + 1, args.end()), specs);
  } catch (CliError &e) {
    throw CliError(e.status, false,
                   cmd + ": " + e.what() + " (try '" + prog + " " + cmd + " --help')");
  }
  if (flags.help) {
    printCommandHelp(prog, cmd, specs);
    return 0;
  }

  try {
    if (std::string e = checkDataLimitEnvironment(); !e.empty())
      inputError(e);
    installSignalHandlers();
    threadPool().setThreads(0); // every core, unless train's --threads says otherwise
    if (cmd != "info") {
      startCudaDevice(m);
      startProcesses(); // under mpirun, one rank of a data-parallel run
      threadPool().setThreads(processes().threads);
    }
    if (cmd == "info") {
      runInfo(m, flags.has("json"));
    } else if (cmd == "eval") {
      EvalOptions o;
      o.weights = flags.get("weights");
      o.data = dataFlags(m, flags, true);
      o.batch = batchFlag(m, flags);
      std::vector<FileArg> inputs = {{"weights", o.weights}};
      for (const auto &[name, path] : o.data)
        inputs.push_back({name, path});
      checkFiles(inputs, {});
      runEval(m, ep, o);
    } else if (cmd == "predict") {
      PredictOptions o;
      o.weights = flags.get("weights");
      o.output = flags.get("output");
      if (!isWritableDataPath(o.output))
        usageError("--output: '" + o.output + "' must end in .npy or .csv");
      o.data = dataFlags(m, flags, false);
      o.batch = batchFlag(m, flags);
      std::vector<FileArg> inputs = {{"weights", o.weights}}, outputs;
      for (const auto &[name, path] : o.data)
        inputs.push_back({name, path});
      for (const TensorSpec &s : m.outputs)
        outputs.push_back({"output", outputPath(o.output, s.name, m.outputs.size())});
      checkFiles(inputs, outputs);
      runPredict(m, ep, o);
    } else {
      TrainOptions o;
      o.data = dataFlags(m, flags, true);
      o.valData = validationFlags(m, flags);
      if (flags.has("batch"))
        o.batch = parseIntFlag("batch", flags.get("batch"), 1);
      if (flags.has("epochs"))
        o.epochs = parseIntFlag("epochs", flags.get("epochs"), 0);
      if (flags.has("lr"))
        o.lr = parseRealFlag("lr", flags.get("lr"), 0);
      if (flags.has("seed"))
        o.seed = parseSeedFlag("seed", flags.get("seed"));
      o.threads = flags.has("threads") ? parseIntFlag("threads", flags.get("threads"), 1)
                                       : processes().threads;
      if (flags.has("val-every")) {
        o.valEvery = parseIntFlag("val-every", flags.get("val-every"), 1);
        if (o.valData.empty())
          usageError("--val-every needs a validation set (--val-" + m.inputs[0].name +
                     " FILE ...)");
      }
      threadPool().setThreads(static_cast<int>(o.threads));
      const std::pair<const char *, std::string *> paths[] = {
          {"init", &o.init},       {"save", &o.save},
          {"resume", &o.resume},   {"metrics", &o.metrics},
          {"tensorboard", &o.tensorboard}};
      for (const auto &[name, field] : paths)
        if (flags.has(name))
          *field = flags.get(name);
      if (!o.init.empty() && !o.resume.empty())
        usageError("--init and --resume exclude each other: --resume continues a run "
                   "from its checkpoint, --init starts a new one from parameters");
      std::vector<FileArg> inputs, outputs;
      for (const auto &[name, path] : o.data)
        inputs.push_back({name, path});
      for (const auto &[name, path] : o.valData)
        inputs.push_back({"val-" + name, path});
      if (!o.init.empty())
        inputs.push_back({"init", o.init});
      if (!o.resume.empty())
        inputs.push_back({"resume", o.resume});
      if (!o.save.empty())
        outputs.push_back({"save", o.save});
      if (!o.metrics.empty())
        outputs.push_back({"metrics", o.metrics});
      checkFiles(inputs, outputs);
      if (!o.tensorboard.empty() && processes().rank == 0)
        if (std::string e = makeDirectories(o.tensorboard); !e.empty())
          inputError(e);
      runTrain(m, ep, o);
    }
  } catch (CliError &e) {
    if (!e.usage)
      throw;
    throw CliError(e.status, false,
                   cmd + ": " + e.what() + " (try '" + prog + " " + cmd + " --help')");
  }
  return 0;
}

} // namespace

int runCli(int argc, char **argv, const EntryPoints &ep) {
  std::string prog = argc > 0 && argv[0] ? argv[0] : "kiln-model";
  prog = prog.substr(prog.find_last_of('/') + 1);
  try {
    Result<Manifest> m = Manifest::fromJson(ep.manifestJson ? ep.manifestJson : "");
    if (!m.ok())
      runError("this executable's embedded manifest is invalid: " + m.error);
    if (!ep.forward)
      runError("this executable lacks kiln_forward");
    std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
    int status = dispatch(prog, m.value, ep, args);
    std::fflush(stdout);
    finishProcesses();
    return status;
  } catch (const CliError &e) {
    std::fflush(stdout);
    if (processes().size > 1) {
      // Every rank stops after the same step on an interrupt and says so
      // once; any other error is this rank's alone: it ends the whole run.
      if (e.interrupt) {
        if (processes().rank == 0)
          std::fprintf(stderr, "%s: %s\n", prog.c_str(), e.what());
        finishProcesses();
        return e.status;
      }
      std::fprintf(stderr, "%s: error: rank %d of %d: %s\n", prog.c_str(), processes().rank,
                   processes().size, e.what());
      abortProcesses(e.status);
    }
    std::fprintf(stderr, e.interrupt ? "%s: %s\n" : "%s: error: %s\n", prog.c_str(), e.what());
    finishProcesses(); // mpirun -np 1
    return e.status;
  } catch (const std::bad_alloc &) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: out of memory\n", prog.c_str());
  } catch (const std::exception &e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: %s\n", prog.c_str(), e.what());
  }
  if (processes().size > 1)
    abortProcesses(1);
  finishProcesses();
  return 1;
}

} // namespace kiln::runtime
