/** Messages of the export actions (GGUF for llama.cpp / Ollama, zips with a README). */
export const exportEn = {
	'export.gguf': 'Export for llama.cpp / Ollama (GGUF)',
	'export.ggufButton': 'GGUF (llama.cpp / Ollama)',
	'export.ggufDtype': 'GGUF export (llama.cpp / Ollama): tensors',
	'export.ggufF16': 'F16 (half the size)',
	'export.ggufF32': 'F32 (exact)',
	'export.ggufHelp':
		'A zip with adapter.gguf, an Ollama Modelfile and a README with the llama-cli and ollama commands.',
	'export.failed': 'Export failed: {error}',
	'export.datasetZip': 'ZIP + README'
};

export const exportJa: Record<keyof typeof exportEn, string> = {
	'export.gguf': 'llama.cpp / Ollama 用に書き出す（GGUF）',
	'export.ggufButton': 'GGUF（llama.cpp / Ollama）',
	'export.ggufDtype': 'GGUF 書き出し（llama.cpp / Ollama）のテンソル',
	'export.ggufF16': 'F16（サイズ半分）',
	'export.ggufF32': 'F32（誤差なし）',
	'export.ggufHelp':
		'adapter.gguf、Ollama の Modelfile、llama-cli と ollama のコマンドを書いた README を zip にまとめます。',
	'export.failed': '書き出しに失敗しました: {error}',
	'export.datasetZip': 'ZIP + README'
};
