// The recurrent and normalization layers, embedding and their gradient
// helpers parse, verify and print back the same, also through the generic
// form.
// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// CHECK-LABEL: func.func @layers
func.func @layers(%s: tensor<?x28x28xf32>, %wih: tensor<64x28xf32>, %whh: tensor<64x16xf32>,
                  %b: tensor<64xf32>, %gih: tensor<48x28xf32>, %ghh: tensor<48x16xf32>,
                  %gb: tensor<48xf32>, %w: tensor<16xf32>, %ids: tensor<?x12xui8>,
                  %table: tensor<256x16xf32>, %d: tensor<?x5x8xf64>, %dw: tensor<8xf64>,
                  %ix: tensor<?xi32>, %t64: tensor<7x8xf64>) -> tensor<?x28x16xf32> {
  // CHECK: kiln.lstm %{{.*}} : (tensor<?x28x28xf32>, tensor<64x28xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x28x16xf32>
  %0 = kiln.lstm %s, %wih, %whh, %b, %b : (tensor<?x28x28xf32>, tensor<64x28xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x28x16xf32>
  // CHECK: kiln.gru %{{.*}} : (tensor<?x28x28xf32>, tensor<48x28xf32>, tensor<48x16xf32>, tensor<48xf32>, tensor<48xf32>) -> tensor<?x28x16xf32>
  %1 = kiln.gru %s, %gih, %ghh, %gb, %gb : (tensor<?x28x28xf32>, tensor<48x28xf32>, tensor<48x16xf32>, tensor<48xf32>, tensor<48xf32>) -> tensor<?x28x16xf32>
  // CHECK: kiln.layer_norm %{{.*}}, %{{.*}}, %{{.*}} eps 1.000000e-05 : (tensor<?x28x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<?x28x16xf32>
  %2 = kiln.layer_norm %1, %w, %w eps 1.0e-5 : (tensor<?x28x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<?x28x16xf32>
  // CHECK: kiln.layer_norm %{{.*}}, %{{.*}}, %{{.*}} eps 1.000000e-03 : (tensor<?x5x8xf64>, tensor<8xf64>, tensor<8xf64>) -> tensor<?x5x8xf64>
  %3 = kiln.layer_norm %d, %dw, %dw eps 0.001 : (tensor<?x5x8xf64>, tensor<8xf64>, tensor<8xf64>) -> tensor<?x5x8xf64>
  // CHECK: kiln.embedding %{{.*}}, %{{.*}} : (tensor<?x12xui8>, tensor<256x16xf32>) -> tensor<?x12x16xf32>
  %4 = kiln.embedding %ids, %table : (tensor<?x12xui8>, tensor<256x16xf32>) -> tensor<?x12x16xf32>
  // CHECK: kiln.embedding %{{.*}}, %{{.*}} : (tensor<?xi32>, tensor<7x8xf64>) -> tensor<?x8xf64>
  %5 = kiln.embedding %ix, %t64 : (tensor<?xi32>, tensor<7x8xf64>) -> tensor<?x8xf64>
  return %2 : tensor<?x28x16xf32>
}

// CHECK-LABEL: func.func @gradients
func.func @gradients(%gates: tensor<?x5x32xf32>, %g: tensor<?x5x8xf32>, %whh: tensor<32x8xf32>,
                     %xg: tensor<?x5x24xf32>, %hg: tensor<?x5x24xf32>, %ghh: tensor<24x8xf32>,
                     %e: tensor<?x12x16xf32>, %ids: tensor<?x12xui8>) -> tensor<256x16xf32> {
  // CHECK: kiln.lstm_step_grad %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x5x32xf32>, tensor<?x5x8xf32>, tensor<32x8xf32>) -> tensor<?x5x32xf32>
  %0 = kiln.lstm_step_grad %gates, %g, %whh : (tensor<?x5x32xf32>, tensor<?x5x8xf32>, tensor<32x8xf32>) -> tensor<?x5x32xf32>
  // CHECK: kiln.gru_step_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x5x24xf32>, tensor<?x5x24xf32>, tensor<?x5x8xf32>, tensor<?x5x8xf32>, tensor<24x8xf32>) -> tensor<?x5x32xf32>
  %1 = kiln.gru_step_grad %xg, %hg, %g, %g, %ghh : (tensor<?x5x24xf32>, tensor<?x5x24xf32>, tensor<?x5x8xf32>, tensor<?x5x8xf32>, tensor<24x8xf32>) -> tensor<?x5x32xf32>
  // CHECK: kiln.embedding_grad %{{.*}}, %{{.*}} : (tensor<?x12x16xf32>, tensor<?x12xui8>) -> tensor<256x16xf32>
  %2 = kiln.embedding_grad %e, %ids : (tensor<?x12x16xf32>, tensor<?x12xui8>) -> tensor<256x16xf32>
  return %2 : tensor<256x16xf32>
}
