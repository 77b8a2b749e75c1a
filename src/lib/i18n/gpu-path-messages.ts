/** The GPU report's line on the kernel paths chosen at load (webgpu/device.ts kernelPaths). */
export const gpuPathEn = {
	'gpu.paths': 'Kernel paths',
	'gpu.paths.f16': 'f16 storage (attention, GEMV, GEMM), f32 accumulation',
	'gpu.paths.f32': 'f32',
	'gpu.paths.subgroups': 'subgroups',
	'gpu.paths.noSubgroups': 'no subgroups'
};

export const gpuPathJa: typeof gpuPathEn = {
	'gpu.paths': 'カーネルの経路',
	'gpu.paths.f16': 'f16 で保持（アテンション・GEMV・GEMM）、f32 で累積',
	'gpu.paths.f32': 'f32',
	'gpu.paths.subgroups': 'サブグループ',
	'gpu.paths.noSubgroups': 'サブグループなし'
};
