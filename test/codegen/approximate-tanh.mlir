// kiln-approximate-tanh: f32 tanh becomes arith ops (a clamped rational
// function) that LLVM vectorizes; f64 tanh stays a libm call.
// RUN: kiln-opt %s --kiln-approximate-tanh | FileCheck %s

// CHECK-LABEL: func.func @tanh_f32
// CHECK-NOT: math.tanh
// CHECK: arith.divf
// CHECK: return
func.func @tanh_f32(%x: f32) -> f32 {
  %y = math.tanh %x : f32
  return %y : f32
}

// CHECK-LABEL: func.func @tanh_f64
// CHECK: math.tanh %{{.*}} : f64
func.func @tanh_f64(%x: f64) -> f64 {
  %y = math.tanh %x : f64
  return %y : f64
}
