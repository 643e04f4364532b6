#include "frontend/MLIRGen.h"

#include "ir/DTypes.h"
#include "ir/KilnAttrs.h"
#include "ir/KilnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace kiln {
namespace {

class Generator {
public:
  Generator(MLIRContext &context, const Model &model)
      : context(context), model(model), builder(&context) {}

  OwningOpRef<ModuleOp> run() {
    OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc(SourceLoc{1, 1}));
    (*module)->setAttr(ir::kModelAttrName, builder.getStringAttr(model.name));
    (*module)->setAttr(ir::kTrainAttrName, trainAttr());
    builder.setInsertionPointToEnd(module->getBody());

    std::vector<int> outputs;
    for (const NamedValue &output : model.outputs)
      outputs.push_back(output.node);
    auto forward = buildFunction("forward", concat(model.inputs, model.params), outputs,
                                 /*withInit=*/true);
    ir::setEntry(forward, ir::Entry::Forward);
    for (auto [i, output] : llvm::enumerate(model.outputs))
      forward.setResultAttr(i, ir::kRoleAttrName, ir::OutputAttr::get(&context, output.name));

    if (model.loss >= 0 || !model.metrics.empty()) {
      std::vector<int> results;
      if (model.loss >= 0)
        results.push_back(model.loss);
      for (const NamedValue &metric : model.metrics)
        results.push_back(metric.node);
      auto loss = buildFunction(
          "loss", concat(concat(model.inputs, model.targets), model.params), results);
      ir::setEntry(loss, ir::Entry::Loss);
      unsigned next = 0;
      if (model.loss >= 0)
        loss.setResultAttr(next++, ir::kRoleAttrName, ir::LossAttr::get(&context));
      for (const NamedValue &metric : model.metrics)
        loss.setResultAttr(next++, ir::kRoleAttrName, ir::MetricAttr::get(&context, metric.name));
    }

    if (failed(verify(*module)))
      return nullptr;
    return module;
  }

private:
  static std::vector<int> concat(std::vector<int> a, const std::vector<int> &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  Location fileLoc(SourceLoc loc) {
    return FileLineColLoc::get(&context, model.file, loc.line, loc.col);
  }

  Location nodeLoc(const Node &node) {
    Location loc = fileLoc(node.loc);
    if (node.name.empty())
      return loc;
    return NameLoc::get(builder.getStringAttr(node.name), loc);
  }

  RankedTensorType tensorType(const TensorType &type) {
    SmallVector<int64_t> shape;
    for (int64_t size : type.shape)
      shape.push_back(size == kBatch ? ShapedType::kDynamic : size);
    return RankedTensorType::get(shape, ir::elementType(&context, type.dtype));
  }

  ir::InitAttrInterface initAttr(const Init &init) {
    switch (init.kind) {
    case Init::Zeros: return ir::ZerosAttr::get(&context);
    case Init::Ones: return ir::OnesAttr::get(&context);
    case Init::Uniform: return ir::UniformAttr::get(&context, init.a, init.b);
    case Init::Normal: return ir::NormalAttr::get(&context, init.a, init.b);
    }
    return {};
  }

  ir::TrainAttr trainAttr() {
    return ir::TrainAttr::get(&context, static_cast<const TrainSettings &>(model.train));
  }

  /// A function of the leaf nodes `args` computing the nodes `results`,
  /// emitting only the operations those results need. Arguments carry their
  /// roles; parameters their initializers only `withInit` (in @forward,
  /// where the manifest reads them: said once, not in every function).
  func::FuncOp buildFunction(StringRef name, const std::vector<int> &args,
                             const std::vector<int> &results, bool withInit = false) {
    SmallVector<Type> argTypes, resultTypes;
    for (int arg : args)
      argTypes.push_back(tensorType(model.nodes[arg].type));
    for (int result : results)
      resultTypes.push_back(tensorType(model.nodes[result].type));
    auto func = func::FuncOp::create(builder, fileLoc(SourceLoc{1, 1}), name,
                                     builder.getFunctionType(argTypes, resultTypes));
    Block *body = func.addEntryBlock();

    values.assign(model.nodes.size(), Value());
    batchSize = Value();
    for (auto [i, arg] : llvm::enumerate(args)) {
      const Node &node = model.nodes[arg];
      body->getArgument(i).setLoc(nodeLoc(node));
      values[arg] = body->getArgument(i);
      Attribute role = node.kind == OpKind::Input ? Attribute(ir::InputAttr::get(&context, node.name))
                       : node.kind == OpKind::Target
                           ? Attribute(ir::TargetAttr::get(&context, node.name))
                       : node.buffer
                           ? Attribute(ir::BufferAttr::get(
                                 &context, node.name,
                                 withInit ? initAttr(node.init) : ir::InitAttrInterface()))
                           : Attribute(ir::ParamAttr::get(
                                 &context, node.name,
                                 withInit ? initAttr(node.init) : ir::InitAttrInterface()));
      func.setArgAttr(i, ir::kRoleAttrName, role);
    }

    std::vector<bool> needed(model.nodes.size(), false);
    for (int result : results)
      needed[result] = true;
    for (int i = static_cast<int>(model.nodes.size()) - 1; i >= 0; --i)
      if (needed[i])
        for (int operand : model.nodes[i].operands)
          needed[operand] = true;

    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(body);
    for (size_t i = 0; i < model.nodes.size(); ++i)
      if (needed[i] && !values[i])
        values[i] = emit(model.nodes[i]);

    SmallVector<Value> returned;
    for (int result : results)
      returned.push_back(values[result]);
    func::ReturnOp::create(builder, func.getLoc(), returned);
    return func;
  }

  /// The run-time batch size, read off the first argument that has it.
  Value getBatchSize(Location loc) {
    if (batchSize)
      return batchSize;
    Block *body = builder.getInsertionBlock();
    for (BlockArgument arg : body->getArguments()) {
      auto type = cast<RankedTensorType>(arg.getType());
      if (type.getRank() > 0 && type.isDynamicDim(0)) {
        OpBuilder::InsertionGuard guard(builder);
        builder.setInsertionPointToStart(body);
        batchSize = tensor::DimOp::create(builder, loc, arg, 0);
        return batchSize;
      }
    }
    return {};
  }

  /// Emits one operation. Ops are built generically from their dialect name
  /// and inherent attributes, with Sema's result type, so any disagreement
  /// between Sema and the dialect shows up in the verifier, not as a crash.
  Value emit(const Node &node) {
    Location loc = nodeLoc(node);
    OperationState state(loc, "kiln." + node.op);
    RankedTensorType type = tensorType(node.type);
    state.addTypes(type);
    for (int operand : node.operands)
      state.addOperands(values[operand]);
    if (node.kind == OpKind::Constant)
      state.addAttribute("value", constantAttr(node, type));
    if (node.kind == OpKind::Fill) // the batch size, for its dynamic dimension
      for (size_t i = 0; i < type.getNumDynamicDims(); ++i)
        state.addOperands(getBatchSize(loc));
    for (const OpAttr &attr : node.attrs)
      state.addAttribute(attr.name, attribute(attr));
    Operation *op = builder.create(state);
    // An op with optional operand groups (dropout's seed and offset, which
    // the train step adds) gets its leading group from the language.
    if (auto groups = dyn_cast_or_null<DenseI32ArrayAttr>(
            op->getInherentAttr("operandSegmentSizes").value_or(Attribute()))) {
      SmallVector<int32_t> sizes(groups.size(), 0);
      sizes[0] = int32_t(op->getNumOperands());
      op->setInherentAttr(builder.getStringAttr("operandSegmentSizes"),
                          builder.getDenseI32ArrayAttr(sizes));
    }
    return op->getResult(0);
  }

  Attribute attribute(const OpAttr &attr) {
    switch (attr.kind) {
    case OpAttr::Int: return builder.getI64IntegerAttr(attr.ints[0]);
    case OpAttr::Ints: return builder.getDenseI64ArrayAttr(attr.ints);
    case OpAttr::Real: return builder.getF64FloatAttr(attr.real);
    case OpAttr::Bool: return builder.getBoolAttr(attr.ints[0] != 0);
    }
    return {};
  }

  DenseElementsAttr constantAttr(const Node &node, RankedTensorType type) {
    Type element = type.getElementType();
    if (auto floatType = dyn_cast<FloatType>(element)) {
      SmallVector<APFloat> data;
      for (double v : node.data) {
        APFloat value(v);
        bool lost;
        value.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
        data.push_back(value);
      }
      return DenseElementsAttr::get(type, data);
    }
    unsigned width = element.getIntOrFloatBitWidth();
    SmallVector<APInt> data;
    for (double v : node.data)
      data.push_back(APInt(width, static_cast<uint64_t>(static_cast<int64_t>(v)),
                           /*isSigned=*/true, /*implicitTrunc=*/true));
    return DenseElementsAttr::get(type, data);
  }

  MLIRContext &context;
  const Model &model;
  OpBuilder builder;
  std::vector<Value> values; // node index -> value in the function being built
  Value batchSize;
};

} // namespace

OwningOpRef<ModuleOp> mlirGen(MLIRContext &context, const Model &model) {
  context.loadDialect<ir::KilnDialect, func::FuncDialect, tensor::TensorDialect>();
  return Generator(context, model).run();
}

} // namespace kiln
